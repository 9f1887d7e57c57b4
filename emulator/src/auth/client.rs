//! Which `OAuth2` client is calling: HTTP Basic for confidential clients, `client_id` in the
//! form for native apps.

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine;
use uuid::Uuid;

use crate::config::{Client, Config};
use crate::error::OAuthError;

/// Credentials from an `Authorization: Basic` header, if one is present and well formed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The calling client, authenticated: a confidential client must prove its secret, a native
/// client only names itself.
pub(crate) fn authenticate<'a>(
    config: &'a Config,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<&'a Client, OAuthError> {
    if let Some((id, secret)) = basic_credentials(headers) {
        let client = find(config, &id)?;
        return match &client.secret {
            Some(expected) if *expected == secret => Ok(client),
            _ => Err(OAuthError::invalid_client("client authentication failed")),
        };
    }
    let id = form
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_client("no client authentication given"))?;
    let client = find(config, id)?;
    if client.secret.is_some() {
        return Err(OAuthError::invalid_client(
            "a confidential client must authenticate with HTTP Basic",
        ));
    }
    Ok(client)
}

fn find<'a>(config: &'a Config, id: &str) -> Result<&'a Client, OAuthError> {
    let id = Uuid::parse_str(id).map_err(|_| OAuthError::invalid_client("unknown client"))?;
    config
        .clients
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))
}
