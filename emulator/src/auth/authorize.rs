//! `GET /v2/oauth2/authorize`: approves at once as the configured identity and redirects with
//! `code` and `state`, so the native-app login runs headless in tests.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::issue::{principal_of_identity, record_consents};
use crate::error::OAuthError;
use crate::scope;
use crate::store::{AuthCode, Session, Shared, secret_string};

pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match approve(&shared, &q) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(err) => err.into_response(),
    }
}

fn list(q: &HashMap<String, String>, key: &str) -> Vec<String> {
    q.get(key)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn approve(shared: &Shared, q: &HashMap<String, String>) -> Result<String, OAuthError> {
    let config = &shared.config;
    let client_id = q
        .get("client_id")
        .and_then(|c| Uuid::parse_str(c).ok())
        .ok_or_else(|| OAuthError::invalid_request("missing or malformed `client_id`"))?;
    if !config.clients.iter().any(|c| c.id == client_id) {
        return Err(OAuthError::invalid_client("unknown client"));
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Err(OAuthError::invalid_request(
            "`response_type` must be `code`",
        ));
    }
    let challenge = match (q.get("code_challenge"), q.get("code_challenge_method")) {
        (Some(c), Some(m)) if m == "S256" => Some(c.clone()),
        (Some(_), _) => {
            return Err(OAuthError::invalid_request(
                "`code_challenge_method` must be `S256`",
            ));
        }
        (None, _) => None,
    };
    let scope_text = q.get("scope").cloned().unwrap_or_default();
    let scopes = scope::parse(&scope_text)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_scope("missing or malformed `scope`"))?;
    let wanted = list(q, "session_required_identities");
    let identity = wanted
        .iter()
        .find_map(|w| config.find_identity(w))
        .or_else(|| config.default_login())
        .ok_or_else(|| OAuthError::invalid_request("the emulator has no identity to log in as"))?;
    let principal = principal_of_identity(identity);
    let session = Session {
        domains: list(q, "session_required_single_domain")
            .into_iter()
            .filter(|d| d.eq_ignore_ascii_case(&principal.domain))
            .collect(),
        policies: list(q, "session_required_policies"),
        mfa: q
            .get("session_required_mfa")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes")),
    };
    let redirect_uri = q
        .get("redirect_uri")
        .cloned()
        .unwrap_or_else(|| format!("{}/v2/web/auth-code", shared.base_url()));
    let mut location = url::Url::parse(&redirect_uri)
        .map_err(|_| OAuthError::invalid_request("`redirect_uri` is not a URL"))?;
    let code = secret_string(30);
    {
        let mut store = shared.store();
        record_consents(&mut store, principal.id, client_id, &scopes);
        store.codes.insert(
            code.clone(),
            AuthCode {
                principal,
                client_id,
                redirect_uri,
                scope: scope_text,
                code_challenge: challenge,
                offline: q.get("access_type").map(String::as_str) == Some("offline"),
                session,
            },
        );
    }
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", q.get("state").map_or("_default", String::as_str));
    Ok(location.to_string())
}

/// The page the default redirect lands on; shows the code to paste.
pub(crate) async fn show_code(Query(q): Query<HashMap<String, String>>) -> Response {
    let code: String = q
        .get("code")
        .map(|c| c.chars().filter(char::is_ascii_alphanumeric).collect())
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html><body><p>Native App Authorization Code</p>\
             <code id=\"auth-code\">{code}</code></body></html>"
        ),
    )
        .into_response()
}
