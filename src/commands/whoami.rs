//! `gstage whoami`: who gstage acts as, until when its tokens last, and which collections the
//! login consented to.

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::Context;
use crate::cli::Format;
use crate::config::Config;
use crate::globus::scopes::TRANSFER_RESOURCE_SERVER;
use crate::globus::setup::{self, collection_names};
use crate::globus::{Credentials, Error};
use crate::tokens::TokenStore;

fn when(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ts.to_string())
}

fn remaining(ts: i64, now: i64) -> String {
    let left = ts - now;
    if left <= 0 {
        return "expired".to_string();
    }
    format!("in {}h {:02}m", left / 3600, (left % 3600) / 60)
}

/// Runs `gstage whoami`.
pub fn run(ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    super::block_on(whoami(ctx.format == Format::Json, &config))?
}

async fn whoami(json: bool, config: &Config) -> Result<()> {
    let credentials = Credentials::discover()?;
    if let Credentials::Client { id, .. } = &credentials {
        let id = id.clone();
        let client = setup::client(config, credentials)?;
        // Getting a Transfer token proves the secret works.
        client
            .client_credentials_grant(crate::globus::scopes::TRANSFER_SCOPE)
            .await
            .context("checking the service identity's credentials")?;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"client_id": id}))?
            );
        } else {
            println!("service identity: client `{id}` (from `GSTAGE_CLIENT_ID`)");
        }
        return Ok(());
    }
    let Credentials::Store(store) = &credentials else {
        return Err(Error::NoCredentials.into());
    };
    let store: TokenStore = store.clone();
    if store.load()?.is_none() {
        return Err(Error::NotLoggedIn {
            path: store.path().to_path_buf(),
        }
        .into());
    }
    let client = setup::client(config, credentials)?;
    let who = client.userinfo().await?;
    // Re-read: asking may have refreshed (and rotated) the tokens.
    let login = store.load()?.ok_or_else(|| Error::NotLoggedIn {
        path: store.path().to_path_buf(),
    })?;
    let names = collection_names(config);
    let now = Utc::now().timestamp();
    let collections: Vec<serde_json::Value> = login
        .consented_collections
        .iter()
        .map(|id| {
            let n = names
                .get(&id.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            json!({"id": id, "alias": n.alias, "display_name": n.display_name})
        })
        .collect();
    if json {
        let tokens: Vec<serde_json::Value> = login
            .tokens
            .values()
            .map(|t| {
                json!({
                    "resource_server": t.resource_server,
                    "scope": t.scope,
                    "expires_at": when(t.expires_at_seconds),
                    "refreshable": t.refresh_token.is_some(),
                })
            })
            .collect();
        let v = json!({
            "identity": who,
            "store": store.path(),
            "tokens": tokens,
            "consented_collections": collections,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let mut out = String::new();
    out.push_str(&format!(
        "identity:   {}{}\n            id {}\n",
        who.preferred_username.as_deref().unwrap_or(&who.sub),
        who.name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        who.sub
    ));
    out.push_str(&format!("store:      {}\n", store.path().display()));
    for (i, t) in login.tokens.values().enumerate() {
        out.push_str(&format!(
            "{}{:<24} expires {} ({}){}\n",
            if i == 0 {
                "tokens:     "
            } else {
                "            "
            },
            t.resource_server,
            when(t.expires_at_seconds),
            remaining(t.expires_at_seconds, now),
            if t.refresh_token.is_some() {
                ", renewed automatically"
            } else {
                ", not renewable"
            }
        ));
    }
    if !login.tokens.contains_key(TRANSFER_RESOURCE_SERVER) {
        out.push_str("            no Transfer token: run `gstage login`\n");
    }
    if login.consented_collections.is_empty() {
        out.push_str("consented:  no collection data_access consents\n");
    } else {
        for (i, c) in collections.iter().enumerate() {
            let id = c["id"].as_str().unwrap_or_default();
            let name = match (c["display_name"].as_str(), c["alias"].as_str()) {
                (Some(d), Some(a)) => format!("{d} (`{a}`, {id})"),
                (Some(d), None) => format!("{d} ({id})"),
                _ => id.to_string(),
            };
            out.push_str(&format!(
                "{}{name}\n",
                if i == 0 {
                    "consented:  "
                } else {
                    "            "
                }
            ));
        }
    }
    print!("{out}");
    Ok(())
}
