//! Minting tokens: one access token per resource server, the §1.4 response shape.

use base64::Engine;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::{Client, Identity};
use crate::scope::{self, AUTH_RS, Scope};
use crate::store::{AccessToken, Principal, RefreshToken, Session, Shared, Store, secret_string};

/// The principal a person logs in as.
pub(crate) fn principal_of_identity(identity: &Identity) -> Principal {
    Principal {
        id: identity.id,
        username: identity.username.clone(),
        name: identity.name.clone(),
        email: identity.email.clone(),
        domain: identity.domain(),
    }
}

/// The principal a confidential client acts as in the client-credentials grant.
pub(crate) fn principal_of_client(client: &Client) -> Principal {
    Principal {
        id: client.id,
        username: client.username(),
        name: client.name.clone(),
        email: None,
        domain: "clients.auth.globus.org".to_owned(),
    }
}

/// Records the `data_access` consents a scope request carries.
pub(crate) fn record_consents(store: &mut Store, identity: Uuid, client: Uuid, scopes: &[Scope]) {
    for s in scopes {
        for dep in &s.dependencies {
            if let Some(collection) = scope::data_access_collection(&dep.base) {
                store.consents.insert((identity, client, collection));
            }
        }
    }
}

/// What a grant hands out.
pub(crate) struct Grant<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) client_id: Uuid,
    pub(crate) scopes: &'a [Scope],
    pub(crate) offline: bool,
    pub(crate) session: &'a Session,
    pub(crate) state: Option<&'a str>,
}

/// Issues tokens for every resource server the scopes name; returns the token response.
pub(crate) fn issue_tokens(shared: &Shared, store: &mut Store, grant: &Grant<'_>) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for s in grant.scopes {
        let rs = s.resource_server();
        match groups.iter_mut().find(|(r, _)| *r == rs) {
            Some((_, list)) => list.push(s.base.clone()),
            None => groups.push((rs, vec![s.base.clone()])),
        }
    }
    let openid = grant.scopes.iter().any(|s| s.base == "openid");
    if openid && let Some(pos) = groups.iter().position(|(rs, _)| rs == AUTH_RS) {
        let auth = groups.remove(pos);
        groups.insert(0, auth);
    }
    let mut tokens: Vec<Value> = groups
        .iter()
        .map(|(rs, scopes)| {
            let refresh = grant.offline.then(|| {
                let rt = format!("RT{}", secret_string(46));
                store.refresh_tokens.insert(
                    rt.clone(),
                    RefreshToken {
                        principal: grant.principal.clone(),
                        client_id: grant.client_id,
                        scopes: scopes.clone(),
                        resource_server: rs.clone(),
                        active: true,
                        session: grant.session.clone(),
                    },
                );
                rt
            });
            access_token_entry(
                shared,
                store,
                grant.principal,
                grant.client_id,
                rs,
                scopes,
                grant.session,
                refresh.as_deref(),
            )
        })
        .collect();
    if tokens.is_empty() {
        return json!({});
    }
    let mut top = tokens.remove(0);
    if let Value::Object(map) = &mut top {
        if openid {
            map.insert(
                "id_token".to_owned(),
                json!(id_token(
                    grant.principal,
                    grant.client_id,
                    shared.config.expires_in
                )),
            );
        }
        map.insert("state".to_owned(), json!(grant.state.unwrap_or("_default")));
        map.insert("other_tokens".to_owned(), Value::Array(tokens));
    }
    top
}

/// Issues one access token and returns its response entry.
#[allow(clippy::too_many_arguments)]
pub(crate) fn access_token_entry(
    shared: &Shared,
    store: &mut Store,
    principal: &Principal,
    client_id: Uuid,
    resource_server: &str,
    scopes: &[String],
    session: &Session,
    refresh_token: Option<&str>,
) -> Value {
    let at = format!("AT{}", secret_string(46));
    let now = Utc::now();
    let expires_in = shared.config.expires_in;
    store.access_tokens.insert(
        at.clone(),
        AccessToken {
            principal: principal.clone(),
            client_id,
            scopes: scopes.to_vec(),
            resource_server: resource_server.to_owned(),
            issued_at: now,
            expires_at: now + Duration::seconds(i64::try_from(expires_in).unwrap_or(i64::MAX / 2)),
            revoked: false,
            session: session.clone(),
        },
    );
    json!({
        "access_token": at,
        "scope": scopes.join(" "),
        "expires_in": expires_in,
        "token_type": "Bearer",
        "resource_server": resource_server,
        "refresh_token": refresh_token,
    })
}

/// An unsigned `OpenID` Connect `id_token` (`alg: none`): enough for clients reading `sub`.
fn id_token(principal: &Principal, client_id: Uuid, expires_in: u64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = Utc::now().timestamp();
    let header = json!({"alg": "none", "typ": "JWT"});
    let claims = json!({
        "sub": principal.id,
        "preferred_username": principal.username,
        "name": principal.name,
        "email": principal.email,
        "identity_provider": principal.domain,
        "iss": "https://auth.globus.org",
        "aud": client_id,
        "iat": now,
        "exp": now.saturating_add(i64::try_from(expires_in).unwrap_or(0)),
        "identity_set": [{"sub": principal.id, "username": principal.username}],
    });
    format!(
        "{}.{}.",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    )
}
