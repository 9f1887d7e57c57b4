//! Login checks: the token store is there and private, its refresh token still works, and
//! which collections the login consented to.

use std::collections::BTreeMap;

use chrono::DateTime;

use super::CheckResult;
use crate::config::Config;
use crate::env;
use crate::globus::scopes::TRANSFER_RESOURCE_SERVER;
use crate::globus::setup::{self, collection_names};
use crate::globus::{ClientSecret, Credentials, GlobusClient, RetryPolicy};
use crate::tokens::{StoredLogin, TokenStore};

/// Client credentials from the given environment, when both variables are set.
fn client_credentials(process_env: &BTreeMap<String, String>) -> Option<(String, String)> {
    let get = |k: &str| process_env.get(k).filter(|v| !v.is_empty()).cloned();
    Some((get(env::GSTAGE_CLIENT_ID)?, get(env::GSTAGE_CLIENT_SECRET)?))
}

/// The token store of the user in `process_env` (its `XDG_CONFIG_HOME`, else the passwd home).
fn store(process_env: &BTreeMap<String, String>) -> Result<TokenStore, crate::tokens::Error> {
    match process_env
        .get(env::XDG_CONFIG_HOME)
        .map(std::path::PathBuf::from)
    {
        Some(dir) if dir.is_absolute() => {
            Ok(TokenStore::at(dir.join("gstage").join("tokens.json")))
        }
        _ => TokenStore::default_location(),
    }
}

/// Checks the store: present, owned by the user, mode 0600; lists its consents. `None` when
/// there is no usable login.
pub fn check_store(
    process_env: &BTreeMap<String, String>,
    out: &mut Vec<CheckResult>,
) -> Option<StoredLogin> {
    if let Some((id, _)) = client_credentials(process_env) {
        out.push(CheckResult::pass(
            "globus credentials",
            format!("service identity `{id}` from `GSTAGE_CLIENT_ID`; no token store is used"),
        ));
        return None;
    }
    let store = match store(process_env) {
        Ok(s) => s,
        Err(e) => {
            out.push(CheckResult::from_error(
                "token store",
                &e.to_string(),
                "set `XDG_CONFIG_HOME`",
            ));
            return None;
        }
    };
    let path = store.path().display().to_string();
    match store.load() {
        Ok(Some(login)) => {
            let who = login
                .identity
                .as_ref()
                .map(|i| i.username.clone().unwrap_or_else(|| i.id.clone()))
                .map(|w| format!("; logged in as `{w}`"))
                .unwrap_or_default();
            out.push(CheckResult::pass(
                "token store",
                format!("`{path}`, mode 0600, yours{who}"),
            ));
            if login.tokens.contains_key(TRANSFER_RESOURCE_SERVER) {
                Some(login)
            } else {
                out.push(CheckResult::fail(
                    "transfer token",
                    "the stored login holds no Transfer token",
                    "log in again with `gstage login`",
                ));
                None
            }
        }
        Ok(None) => {
            out.push(CheckResult::fail(
                "token store",
                format!("not logged in: no token store at `{path}`"),
                "run `gstage login`",
            ));
            None
        }
        Err(e) => {
            out.push(CheckResult::from_error(
                "token store",
                &e.to_string(),
                "remove the store and run `gstage login`",
            ));
            None
        }
    }
}

/// The client the remaining checks use: no retries (a doctor reports, it does not wait), short
/// timeouts.
pub fn client(
    config: &Config,
    process_env: &BTreeMap<String, String>,
) -> Result<GlobusClient, crate::globus::Error> {
    let credentials = match client_credentials(process_env) {
        Some((id, secret)) => Credentials::Client {
            id,
            secret: ClientSecret::new(secret),
        },
        None => Credentials::Store(store(process_env)?),
    };
    GlobusClient::builder()
        .auth_url(config.globus.auth_url.clone())
        .transfer_url(config.globus.transfer_url.clone())
        .maybe_client_id(config.globus.client_id.clone())
        .collection_names(collection_names(config))
        .data_access_collections(
            setup::configured_collections(config)
                .iter()
                .map(ToString::to_string)
                .collect(),
        )
        .credentials(credentials)
        .retry_policy(RetryPolicy::none())
        .timeout(std::time::Duration::from_secs(20))
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
}

/// Refreshes the Transfer token now, proving the refresh token works, and lists consents.
pub async fn check_refresh(
    client: &GlobusClient,
    login: Option<&StoredLogin>,
    out: &mut Vec<CheckResult>,
) {
    let Some(login) = login else {
        return;
    };
    match client.renew(TRANSFER_RESOURCE_SERVER).await {
        Ok(expires) => {
            let until = DateTime::from_timestamp(expires, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| expires.to_string());
            out.push(CheckResult::pass(
                "token refresh",
                format!("the refresh token works; new access token valid until {until}"),
            ));
        }
        Err(e) => out.push(CheckResult::from_error(
            "token refresh",
            &e.to_string(),
            "log in again with `gstage login`",
        )),
    }
    let names = client.collection_names();
    let consented: Vec<String> = login
        .consented_collections
        .iter()
        .map(|id| {
            names
                .get(&id.to_ascii_lowercase())
                .and_then(|n| n.alias.clone().or_else(|| n.display_name.clone()))
                .map_or_else(|| format!("`{id}`"), |a| format!("`{a}`"))
        })
        .collect();
    out.push(CheckResult::pass(
        "consents",
        if consented.is_empty() {
            "the login holds no collection data_access consents".to_owned()
        } else {
            format!("data_access consented for {}", consented.join(", "))
        },
    ));
}
