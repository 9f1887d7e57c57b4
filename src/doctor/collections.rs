//! Collection checks, for the cluster's own collection and every alias: Globus knows it, the
//! login may use it (consent, session policy), and the cluster's path mappings resolve on both
//! sides. One `stat` per collection answers consent and session together, as a transfer would.

use std::path::Path;

use super::CheckResult;
use crate::collection::CollectionId;
use crate::config::Config;
use crate::globus::{ApiError, Error, GlobusClient};
use crate::tokens::StoredLogin;

/// The API error inside a client error, if Globus answered.
fn api_error(e: &Error) -> Option<&ApiError> {
    match e {
        Error::Api(a) => Some(a),
        Error::RetriesExhausted { last, .. } => api_error(last),
        _ => None,
    }
}

/// One configured collection: how the config names it, and the path to probe.
struct Target {
    label: String,
    argument: String,
    id: CollectionId,
    probe: String,
    cluster: bool,
}

fn targets(config: &Config) -> Vec<Target> {
    let mut out = Vec::new();
    if let Some(c) = config.cluster_collection() {
        let name = config
            .cluster
            .name
            .clone()
            .unwrap_or_else(|| "cluster".to_owned());
        out.push(Target {
            label: name,
            argument: c.id.to_string(),
            id: c.id,
            probe: config
                .cluster
                .paths
                .first()
                .map_or_else(|| "/~/".to_owned(), |m| m.collection.as_str().to_owned()),
            cluster: true,
        });
    }
    for (alias, c) in &config.collections {
        out.push(Target {
            label: alias.clone(),
            argument: alias.clone(),
            id: c.id,
            probe: "/~/".to_owned(),
            cluster: false,
        });
    }
    out
}

/// Checks every configured collection through Globus.
pub async fn check(
    config: &Config,
    client: &GlobusClient,
    login: Option<&StoredLogin>,
    out: &mut Vec<CheckResult>,
) {
    let service = login.is_none();
    for t in targets(config) {
        let name = format!("collection {}", t.label);
        let endpoint = match client.get_endpoint(&t.id).await {
            Ok(e) => e,
            Err(e) => {
                let not_found = api_error(&e).is_some_and(|a| a.http_status == 404);
                if not_found {
                    let key = if t.cluster {
                        "`collection` under `[cluster]`".to_owned()
                    } else {
                        format!("`id` under `[collections.{}]`", t.label)
                    };
                    out.push(CheckResult::fail(
                        name,
                        format!("globus knows no collection `{}`", t.id),
                        format!("check the UUID in {key} of the config (the collection's page on app.globus.org shows it)"),
                    ));
                } else {
                    out.push(CheckResult::from_error(
                        name,
                        &e.to_string(),
                        "check the network and the configured transfer URL",
                    ));
                }
                if t.cluster {
                    check_local_paths(config, out);
                }
                continue;
            }
        };
        if endpoint.non_functional {
            out.push(CheckResult::fail(
                name,
                format!("`{}` is marked non-functional at Globus", t.id),
                "ask the collection's administrators, or configure another collection",
            ));
            continue;
        }
        out.push(CheckResult::pass(
            name,
            format!(
                "{} ({}{})",
                endpoint.display_name.as_deref().unwrap_or("unnamed"),
                endpoint.entity_type.as_deref().unwrap_or("unknown type"),
                if endpoint.high_assurance {
                    ", high assurance"
                } else {
                    ""
                }
            ),
        ));
        let probe = client.stat(&t.id, &t.probe).await;
        let refused = probe
            .as_ref()
            .err()
            .and_then(api_error)
            .and_then(|a| a.authorization.as_ref().map(|p| (a, p.needs_session())));
        let consented = login.is_some_and(|l| {
            l.consented_collections
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&t.id.to_string()))
        });
        let login_fix = |a: &ApiError| {
            a.login_command().map_or_else(
                || "log in again with `gstage login`".to_owned(),
                |c| format!("run `{c}`"),
            )
        };
        let consent_name = format!("consent {}", t.label);
        let consent_fix = format!("run `gstage login --collection {}`", t.argument);
        match refused {
            Some((a, false)) => out.push(CheckResult::fail(
                consent_name,
                "globus asks for a data_access consent for this collection",
                login_fix(a),
            )),
            _ if !endpoint.needs_data_access() => out.push(CheckResult::pass(
                consent_name,
                "none needed (not a GCSv5 mapped collection, or high assurance)",
            )),
            Some((_, true)) if !consented && !service => out.push(CheckResult::fail(
                consent_name,
                "the login holds no data_access consent for this collection",
                consent_fix,
            )),
            _ => out.push(CheckResult::pass(consent_name, "given")),
        }
        let session_name = format!("session {}", t.label);
        match refused {
            Some((a, true)) => {
                // The requirement, without Globus' own (long, multi-line) error text.
                let shown = a.to_string();
                let cut = format!(" ({} `", a.http_status);
                let detail = shown.split(&cut).next().unwrap_or(&shown).to_owned();
                out.push(CheckResult::fail(session_name, detail, login_fix(a)));
            }
            _ => out.push(CheckResult::pass(
                session_name,
                if endpoint.high_assurance {
                    "the current login satisfies the collection's policy"
                } else {
                    "no session requirement refused the login"
                },
            )),
        }
        // Any other refusal: the collection cannot be used as configured. (The cluster's probe
        // path is a mapping, checked below.)
        if !t.cluster
            && let Err(e) = &probe
            && refused.is_none()
            && api_error(e).is_none_or(|a| a.http_status != 404)
        {
            out.push(CheckResult::from_error(
                format!("access {}", t.label),
                &e.to_string(),
                "check that your identity may use this collection",
            ));
        }
        if t.cluster {
            check_mappings(config, client, &t.id, refused.is_some(), out).await;
        }
    }
}

/// The local side of each path mapping, without Globus (`--offline`).
pub fn check_local_paths(config: &Config, out: &mut Vec<CheckResult>) {
    for m in &config.cluster.paths {
        out.push(local_root(m.local.as_path(), m.collection.as_str(), config));
    }
}

fn local_root(local: &Path, collection: &str, config: &Config) -> CheckResult {
    let name = format!("path {} -> {collection}", local.display());
    if local.is_dir() {
        CheckResult::pass(name, "the local directory exists")
    } else {
        CheckResult::fail(
            name,
            format!("`{}` is not a directory on this host", local.display()),
            format!(
                "fix `paths` under `[cluster]` in {}",
                config.files.first().map_or_else(
                    || "the site config".to_owned(),
                    |f| format!("`{}`", f.display())
                )
            ),
        )
    }
}

/// Both sides of each mapping: the local directory exists, and so does its collection path.
async fn check_mappings(
    config: &Config,
    client: &GlobusClient,
    id: &CollectionId,
    access_refused: bool,
    out: &mut Vec<CheckResult>,
) {
    for m in &config.cluster.paths {
        let local = local_root(m.local.as_path(), m.collection.as_str(), config);
        if !local.ok || access_refused {
            let mut r = local;
            if r.ok {
                r.detail.push_str(
                    "; the collection side is not checked until the access above is fixed",
                );
            }
            out.push(r);
            continue;
        }
        let path = m.collection.as_str();
        match client.stat(id, path).await {
            Ok(_) => out.push(CheckResult::pass(
                local.name,
                "exists here and on the collection",
            )),
            Err(e) if api_error(&e).is_some_and(|a| a.http_status == 404) => {
                out.push(CheckResult::fail(
                    local.name,
                    format!("`{path}` does not exist on the cluster's collection"),
                    "fix the `collection` side of this mapping under `[cluster] paths`",
                ));
            }
            Err(e) => out.push(CheckResult::from_error(
                local.name,
                &e.to_string(),
                "check the mapping under `[cluster] paths`",
            )),
        }
    }
}
