//! `gstage logout`: revokes the stored tokens at Globus Auth and deletes the token store.

use anyhow::Result;

use super::Context;
use crate::cli::Format;
use crate::config::Config;
use crate::globus::setup;
use crate::globus::{Credentials, GlobusClient};
use crate::tokens::TokenStore;

/// Runs `gstage logout`. Revocation failures are reported but do not keep the store: the user
/// asked for the tokens to be gone from this machine.
pub fn run(ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    super::block_on(logout(ctx.format == Format::Json, &config))?
}

async fn logout(json: bool, config: &Config) -> Result<()> {
    let store = TokenStore::default_location()?;
    let login = {
        let _lock = store.lock()?;
        let login = store.load()?;
        if login.is_some() {
            store.remove()?;
        }
        login
    };
    let Some(login) = login else {
        if json {
            println!(r#"{{"logged_out": false, "revoked": 0}}"#);
        } else {
            println!("not logged in; nothing to do");
        }
        return Ok(());
    };
    let client: GlobusClient = GlobusClient::builder()
        .auth_url(config.globus.auth_url.clone())
        .transfer_url(config.globus.transfer_url.clone())
        .maybe_client_id(login.client_id.clone().or(config.globus.client_id.clone()))
        .collection_names(setup::collection_names(config))
        .credentials(Credentials::None)
        .build()?;
    let mut revoked = 0;
    let mut failed = 0;
    for t in login.tokens.values() {
        if let Some(rt) = &t.refresh_token {
            match client.revoke_refresh_token(rt).await {
                Ok(()) => revoked += 1,
                Err(e) => {
                    failed += 1;
                    eprintln!(
                        "warning: cannot revoke the `{}` refresh token: {e}",
                        t.resource_server
                    );
                }
            }
        }
        match client.revoke_access_token(&t.access_token).await {
            Ok(()) => revoked += 1,
            Err(e) => {
                failed += 1;
                eprintln!(
                    "warning: cannot revoke the `{}` access token: {e}",
                    t.resource_server
                );
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"logged_out": true, "revoked": revoked, "failed": failed, "store": store.path()})
        );
    } else {
        println!(
            "logged out: revoked {revoked} token{} and deleted `{}`{}",
            if revoked == 1 { "" } else { "s" },
            store.path().display(),
            if failed > 0 {
                format!("; {failed} could not be revoked (they expire on their own)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
