//! Configuration checks: the files parse (with the config loader's own errors: syntax, unknown
//! keys with a did-you-mean), and they name what staging needs.

use std::collections::BTreeMap;
use std::path::Path;

use super::CheckResult;
use crate::config::{Config, ConfigError, SITE_CONFIG_PATH};
use crate::env;

/// Loads the configuration as every command does and reports on it; `None` when it cannot be
/// loaded (the checks that need it are then left out).
pub fn check(
    process_env: &BTreeMap<String, String>,
    home: Option<&Path>,
    out: &mut Vec<CheckResult>,
) -> Option<Config> {
    let lookup = |k: &str| process_env.get(k).cloned();
    let config = match Config::load_with(&lookup, home) {
        Ok(c) => c,
        Err(e) => {
            let fallback = match &e {
                ConfigError::Read { .. } => {
                    "check the file's path and permissions, or unset `GSTAGE_CONFIG`"
                }
                _ => "fix the file as the message says",
            };
            out.push(CheckResult::from_error("config", &e.to_string(), fallback));
            return None;
        }
    };
    if config.files.is_empty() {
        out.push(CheckResult::fail(
            "config",
            format!("no config file: neither `{SITE_CONFIG_PATH}` nor a user config exists"),
            "ask your site to install the site config (see docs/admin.md), or point `GSTAGE_CONFIG` at one",
        ));
    } else {
        let files: Vec<String> = config
            .files
            .iter()
            .map(|f| format!("`{}`", f.display()))
            .collect();
        out.push(CheckResult::pass(
            "config",
            format!("read {}", files.join(", ")),
        ));
    }
    let service = process_env.contains_key(env::GSTAGE_CLIENT_ID);
    match (&config.globus.client_id, service) {
        (Some(id), _) => out.push(CheckResult::pass("globus client id", format!("`{id}`"))),
        (None, true) => out.push(CheckResult::pass(
            "globus client id",
            "none configured; the service identity of `GSTAGE_CLIENT_ID` is used",
        )),
        (None, false) => out.push(CheckResult::fail(
            "globus client id",
            "no native app client id is configured, so `gstage login` cannot run",
            "set `client_id` under `[globus]` in the site config",
        )),
    }
    match (&config.cluster.collection, config.cluster.paths.len()) {
        (Some(id), n) if n > 0 => out.push(CheckResult::pass(
            "cluster collection",
            format!(
                "{} `{id}`, {n} path mapping{}",
                config.cluster.name.as_deref().unwrap_or("cluster"),
                if n == 1 { "" } else { "s" }
            ),
        )),
        (Some(_), _) => out.push(CheckResult::fail(
            "cluster collection",
            "the cluster's collection maps no local paths, so cluster paths cannot be staged",
            "add `paths = [ { local = \"/home\", collection = \"/home\" } ]` under `[cluster]`",
        )),
        (None, _) => out.push(CheckResult::fail(
            "cluster collection",
            "the cluster's own collection is not configured, so directives can only use `NAME:PATH` locations",
            "set `collection` and `paths` under `[cluster]` in the site config",
        )),
    }
    Some(config)
}
