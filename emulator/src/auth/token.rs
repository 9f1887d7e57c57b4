//! `POST /v2/oauth2/token`: authorization code (PKCE), refresh token (optional rotation) and
//! client credentials.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::client::authenticate;
use super::issue::{Grant, access_token_entry, issue_tokens, principal_of_client, record_consents};
use crate::error::OAuthError;
use crate::scope;
use crate::store::{RefreshToken, Session, Shared, secret_string};

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let result = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => authorization_code(&shared, &headers, &form),
        Some("refresh_token") => refresh(&shared, &headers, &form),
        Some("client_credentials") => client_credentials(&shared, &headers, &form),
        Some(other) => Err(OAuthError::unsupported_grant_type(format!(
            "grant type `{other}` is not supported"
        ))),
        None => Err(OAuthError::invalid_request("missing `grant_type`")),
    };
    match result {
        Ok(body) => Json(body).into_response(),
        Err(err) => err.into_response(),
    }
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, OAuthError> {
    form.get(name)
        .map(String::as_str)
        .ok_or_else(|| OAuthError::invalid_request(format!("missing `{name}`")))
}

/// The S256 challenge of a PKCE verifier.
pub(crate) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn authorization_code(
    shared: &Shared,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<serde_json::Value, OAuthError> {
    let client = authenticate(&shared.config, headers, form)?;
    let code = field(form, "code")?;
    let mut store = shared.store();
    let record = store.codes.remove(code).ok_or_else(|| {
        OAuthError::invalid_grant("authorization code is invalid or already used")
    })?;
    if record.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "authorization code was issued to another client",
        ));
    }
    if form
        .get("redirect_uri")
        .is_some_and(|r| *r != record.redirect_uri)
    {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorize request",
        ));
    }
    match (&record.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !valid_verifier(verifier) || s256(verifier) != *challenge {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("missing code_verifier")),
        (None, _) if client.secret.is_none() => {
            return Err(OAuthError::invalid_grant("a native client must use PKCE"));
        }
        (None, _) => {}
    }
    let scopes = scope::parse(&record.scope)
        .ok_or_else(|| OAuthError::invalid_scope("malformed scope string"))?;
    Ok(issue_tokens(
        shared,
        &mut store,
        &Grant {
            principal: &record.principal,
            client_id: client.id,
            scopes: &scopes,
            offline: record.offline,
            session: &record.session,
            state: None,
        },
    ))
}

fn refresh(
    shared: &Shared,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<serde_json::Value, OAuthError> {
    let client = authenticate(&shared.config, headers, form)?;
    let presented = field(form, "refresh_token")?;
    let mut store = shared.store();
    let record: RefreshToken = store
        .refresh_tokens
        .get(presented)
        .filter(|r| r.active && r.client_id == client.id)
        .cloned()
        .ok_or_else(|| {
            OAuthError::invalid_grant("refresh token is invalid, revoked or already used")
        })?;
    let returned = if shared.config.rotate_refresh_tokens {
        if let Some(old) = store.refresh_tokens.get_mut(presented) {
            old.active = false;
        }
        let new = format!("RT{}", secret_string(46));
        store.refresh_tokens.insert(new.clone(), record.clone());
        new
    } else {
        presented.to_owned()
    };
    let mut body = access_token_entry(
        shared,
        &mut store,
        &record.principal,
        record.client_id,
        &record.resource_server,
        &record.scopes,
        &record.session,
        Some(&returned),
    );
    if let serde_json::Value::Object(map) = &mut body {
        map.insert("state".to_owned(), serde_json::json!("_default"));
        map.insert("other_tokens".to_owned(), serde_json::json!([]));
    }
    Ok(body)
}

fn client_credentials(
    shared: &Shared,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<serde_json::Value, OAuthError> {
    let client = authenticate(&shared.config, headers, form)?;
    if client.secret.is_none() {
        return Err(OAuthError::invalid_client(
            "client_credentials needs a confidential client",
        ));
    }
    let scope_text = form
        .get("scope")
        .map_or(scope::TRANSFER_SCOPE, String::as_str);
    let scopes = scope::parse(scope_text)
        .ok_or_else(|| OAuthError::invalid_scope("malformed scope string"))?;
    let principal = principal_of_client(client);
    let mut store = shared.store();
    record_consents(&mut store, principal.id, client.id, &scopes);
    Ok(issue_tokens(
        shared,
        &mut store,
        &Grant {
            principal: &principal,
            client_id: client.id,
            scopes: &scopes,
            offline: false,
            session: &Session::default(),
            state: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_alphabet_and_length_are_checked() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
    }
}
