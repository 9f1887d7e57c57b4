//! The test-control surface: faults, token fixtures, task state, counters. Offered both as
//! methods on [`crate::Emulator`] and as HTTP under `/_emulator/` (for the binary).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{issue_tokens, principal_of_identity};
use crate::error::Error;
use crate::faults::FaultRule;
use crate::scope;
use crate::store::{Session, Shared};
use crate::task::{TaskSnapshot, TaskStatus};

/// Tokens minted directly for an identity (a test fixture shortcut past the login flow).
#[derive(Clone)]
pub struct MintedTokens {
    /// The identity the tokens act for.
    pub identity_id: Uuid,
    /// Access token of the first resource server.
    pub access_token: String,
    /// Its refresh token.
    pub refresh_token: String,
    /// The whole token response, with `other_tokens`.
    pub response: Value,
}

impl std::fmt::Debug for MintedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedTokens")
            .field("identity_id", &self.identity_id)
            .field("access_token", &"****")
            .field("refresh_token", &"****")
            .finish_non_exhaustive()
    }
}

pub(crate) fn mint(
    shared: &Shared,
    identity: &str,
    scopes: &str,
    client_id: Option<Uuid>,
) -> Result<MintedTokens, Error> {
    let who = shared.config.find_identity(identity).ok_or_else(|| {
        Error::NotFound(format!("no identity `{identity}` in the emulator config"))
    })?;
    let client_id = client_id
        .or_else(|| {
            let clients = &shared.config.clients;
            clients
                .iter()
                .find(|c| c.secret.is_none())
                .or_else(|| clients.first())
                .map(|c| c.id)
        })
        .ok_or_else(|| Error::NotFound("the emulator config has no client".to_owned()))?;
    let parsed = scope::parse(scopes)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::NotFound(format!("scope string `{scopes}` is empty or malformed")))?;
    let principal = principal_of_identity(who);
    let mut store = shared.store();
    crate::auth::record_consents(&mut store, principal.id, client_id, &parsed);
    let response = issue_tokens(
        shared,
        &mut store,
        &crate::auth::Grant {
            principal: &principal,
            client_id,
            scopes: &parsed,
            offline: true,
            session: &Session::default(),
            state: None,
        },
    );
    let field = |k: &str| {
        response
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(MintedTokens {
        identity_id: principal.id,
        access_token: field("access_token"),
        refresh_token: field("refresh_token"),
        response,
    })
}

pub(crate) fn revoke(shared: &Shared, token: &str) -> bool {
    let mut store = shared.store();
    let mut found = false;
    if let Some(rt) = store.refresh_tokens.get_mut(token) {
        rt.active = false;
        found = true;
    }
    if let Some(at) = store.access_tokens.get_mut(token) {
        at.revoked = true;
        found = true;
    }
    found
}

pub(crate) fn expire_access_tokens(shared: &Shared) {
    let mut store = shared.store();
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    for t in store.access_tokens.values_mut() {
        t.expires_at = past;
    }
}

pub(crate) fn set_task_status(shared: &Shared, id: Uuid, status: TaskStatus) -> Result<(), Error> {
    {
        let mut store = shared.store();
        let task = store
            .task_mut(id)
            .ok_or_else(|| Error::NotFound(format!("no task `{id}`")))?;
        if task.status.is_finished() {
            return Err(Error::NotFound(format!("task `{id}` has already finished")));
        }
        match status {
            TaskStatus::Inactive => {
                task.status = TaskStatus::Inactive;
                task.nice_status = Some("CREDENTIAL_EXPIRED".to_owned());
                task.event(
                    "INACTIVE",
                    "task is inactive",
                    "Credentials for a collection expired; the task waits until they are renewed",
                    true,
                );
            }
            TaskStatus::Active => {
                task.status = TaskStatus::Active;
                task.nice_status = Some(if task.running { "OK" } else { "Queued" }.to_owned());
            }
            TaskStatus::Succeeded | TaskStatus::Failed => {
                return Err(Error::NotFound(
                    "a task can only be set ACTIVE or INACTIVE; cancel it to fail it".to_owned(),
                ));
            }
        }
    }
    shared.wakeup.notify_waiters();
    Ok(())
}

pub(crate) fn tasks(shared: &Shared) -> Vec<TaskSnapshot> {
    shared
        .store()
        .tasks
        .iter()
        .map(TaskSnapshot::from)
        .collect()
}

/// Routes under `/_emulator/`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/stats", get(stats_h))
        .route("/_emulator/requests", get(requests_h))
        .route("/_emulator/tasks", get(tasks_h))
        .route("/_emulator/tasks/{id}/status", post(task_status_h))
        .route(
            "/_emulator/faults",
            post(add_fault_h).delete(clear_faults_h),
        )
        .route("/_emulator/revoke", post(revoke_h))
        .route("/_emulator/expire_tokens", post(expire_h))
        .route("/_emulator/tokens", post(mint_h))
        .route("/_emulator/consents", post(consent_h))
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

async fn stats_h(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(s.store().stats))
}

async fn requests_h(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(s.store().log))
}

async fn tasks_h(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(tasks(&s)))
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

async fn task_status_h(
    State(s): State<Arc<Shared>>,
    Path(id): Path<Uuid>,
    Json(body): Json<StatusBody>,
) -> Response {
    let status = match body.status.as_str() {
        "ACTIVE" => TaskStatus::Active,
        "INACTIVE" => TaskStatus::Inactive,
        _ => return problem(StatusCode::BAD_REQUEST, "status must be ACTIVE or INACTIVE"),
    };
    match set_task_status(&s, id, status) {
        Ok(()) => Json(json!({"task_id": id, "status": body.status})).into_response(),
        Err(e) => problem(StatusCode::NOT_FOUND, &e.to_string()),
    }
}

async fn add_fault_h(State(s): State<Arc<Shared>>, Json(rule): Json<FaultRule>) -> Json<Value> {
    s.faults().add(rule);
    Json(json!({"added": true}))
}

async fn clear_faults_h(State(s): State<Arc<Shared>>) -> Json<Value> {
    s.faults().clear();
    Json(json!({"cleared": true}))
}

#[derive(Deserialize)]
struct RevokeBody {
    token: String,
}

async fn revoke_h(State(s): State<Arc<Shared>>, Json(body): Json<RevokeBody>) -> Json<Value> {
    Json(json!({"revoked": revoke(&s, &body.token)}))
}

async fn expire_h(State(s): State<Arc<Shared>>) -> Json<Value> {
    expire_access_tokens(&s);
    Json(json!({"expired": true}))
}

#[derive(Deserialize)]
struct MintBody {
    identity: String,
    scopes: String,
    #[serde(default)]
    client_id: Option<Uuid>,
}

async fn mint_h(State(s): State<Arc<Shared>>, Json(body): Json<MintBody>) -> Response {
    match mint(&s, &body.identity, &body.scopes, body.client_id) {
        Ok(m) => Json(m.response).into_response(),
        Err(e) => problem(StatusCode::NOT_FOUND, &e.to_string()),
    }
}

#[derive(Deserialize)]
#[allow(clippy::struct_field_names)] // the JSON keys name what each id is
struct ConsentBody {
    identity_id: Uuid,
    client_id: Uuid,
    collection_id: Uuid,
}

async fn consent_h(State(s): State<Arc<Shared>>, Json(b): Json<ConsentBody>) -> Json<Value> {
    s.store()
        .consents
        .insert((b.identity_id, b.client_id, b.collection_id));
    Json(json!({"granted": true}))
}
