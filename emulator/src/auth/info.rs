//! Token revocation, introspection, validation, userinfo and identity lookup.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client::authenticate;
use crate::store::{Principal, Shared};

pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(err) = authenticate(&shared.config, &headers, &form) {
        return err.into_response();
    }
    if let Some(token) = form.get("token") {
        let mut store = shared.store();
        if let Some(rt) = store.refresh_tokens.get_mut(token) {
            rt.active = false;
        }
        if let Some(at) = store.access_tokens.get_mut(token) {
            at.revoked = true;
        }
    }
    Json(json!({"active": false})).into_response()
}

/// What introspection knows about an active token.
fn describe(shared: &Shared, token: &str) -> Option<(Principal, String, uuid::Uuid, i64, i64)> {
    let store = shared.store();
    if let Some(at) = store.access_tokens.get(token).filter(|t| t.is_active()) {
        return Some((
            at.principal.clone(),
            at.scopes.join(" "),
            at.client_id,
            at.expires_at.timestamp(),
            at.issued_at.timestamp(),
        ));
    }
    store
        .refresh_tokens
        .get(token)
        .filter(|t| t.active)
        .map(|rt| {
            let now = chrono::Utc::now().timestamp();
            (
                rt.principal.clone(),
                rt.scopes.join(" "),
                rt.client_id,
                now + 15_552_000,
                now,
            )
        })
}

pub(crate) async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    match authenticate(&shared.config, &headers, &form) {
        Ok(client) if client.secret.is_some() => {}
        Ok(_) => {
            return crate::error::OAuthError::invalid_client(
                "introspection needs a confidential client",
            )
            .into_response();
        }
        Err(err) => return err.into_response(),
    }
    let Some((p, scope, client_id, exp, iat)) =
        form.get("token").and_then(|t| describe(&shared, t))
    else {
        return Json(json!({"active": false})).into_response();
    };
    let mut body = json!({
        "active": true, "token_type": "Bearer", "scope": scope, "client_id": client_id,
        "username": p.username, "name": p.name, "email": p.email,
        "exp": exp, "iat": iat, "nbf": iat, "sub": p.id,
        "aud": ["auth.globus.org", client_id], "iss": "https://auth.globus.org",
    });
    if form
        .get("include")
        .is_some_and(|i| i.split(',').any(|x| x == "identity_set"))
        && let Value::Object(map) = &mut body
    {
        map.insert("identity_set".to_owned(), json!([p.id]));
    }
    Json(body).into_response()
}

pub(crate) async fn validate(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let active = form
        .get("token")
        .is_some_and(|t| describe(&shared, t).is_some());
    Json(json!({"active": active})).into_response()
}

fn bearer_principal(shared: &Shared, headers: &HeaderMap) -> Option<Principal> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    let store = shared.store();
    store
        .access_tokens
        .get(token.trim())
        .filter(|t| t.is_active())
        .map(|t| t.principal.clone())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "errors": [{"status": "401", "id": uuid::Uuid::new_v4(), "code": "UNAUTHORIZED",
                        "detail": "Call must be authenticated", "title": "Unauthorized"}],
            "error_description": "Unauthorized", "error": "unauthorized"
        })),
    )
        .into_response()
}

pub(crate) async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(p) = bearer_principal(&shared, &headers) else {
        return unauthorized();
    };
    Json(json!({
        "sub": p.id, "preferred_username": p.username, "name": p.name, "email": p.email,
        "identity_provider": p.domain, "identity_provider_display_name": p.domain,
        "organization": Value::Null,
        "identity_set": [{"sub": p.id, "username": p.username, "name": p.name, "email": p.email,
                          "identity_provider": p.domain}],
    }))
    .into_response()
}

pub(crate) async fn identities(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if bearer_principal(&shared, &headers).is_none() {
        return unauthorized();
    }
    let wanted: Vec<&str> = q
        .get("ids")
        .or_else(|| q.get("usernames"))
        .map(|v| v.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let found: Vec<Value> = wanted
        .iter()
        .filter_map(|w| shared.config.find_identity(w))
        .map(|i| {
            json!({"id": i.id, "username": i.username, "name": i.name, "email": i.email,
                   "identity_provider": i.domain(), "organization": Value::Null,
                   "status": "used", "identity_type": "login"})
        })
        .collect();
    Json(json!({"identities": found})).into_response()
}
