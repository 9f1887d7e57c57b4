//! From configuration to a ready client: base URLs, the native app, collection names, and
//! which collection a `--collection` argument means. Commands call this; the client itself
//! takes only explicit values.

use super::client::{Credentials, GlobusClient};
use super::error::{CollectionName, CollectionNames, Error};
use crate::collection::CollectionId;
use crate::config::Config;
use crate::options::{backticked, nearest};

/// Names of every collection the config knows: the aliases and the cluster's own.
pub fn collection_names(config: &Config) -> CollectionNames {
    let mut names = CollectionNames::new();
    if let Some(c) = config.cluster_collection() {
        names.insert(
            c.id.to_string(),
            CollectionName {
                alias: None,
                display_name: Some(c.display_name),
            },
        );
    }
    for (alias, c) in &config.collections {
        names.insert(
            c.id.to_string(),
            CollectionName {
                alias: Some(alias.clone()),
                display_name: Some(c.display_name.clone()),
            },
        );
    }
    names
}

/// Every collection the config names, the cluster's own first.
pub fn configured_collections(config: &Config) -> Vec<CollectionId> {
    let mut ids: Vec<CollectionId> = config.cluster.collection.into_iter().collect();
    for c in config.collections.values() {
        if !ids.contains(&c.id) {
            ids.push(c.id);
        }
    }
    ids
}

/// A client for the configured services acting as `credentials`.
pub fn client(config: &Config, credentials: Credentials) -> Result<GlobusClient, Error> {
    let mut builder = GlobusClient::builder();
    if let Some(t) = config.globus.timeout_secs {
        builder = builder.timeout(std::time::Duration::from_secs(t.get()));
    }
    if let Some(t) = config.globus.connect_timeout_secs {
        builder = builder.connect_timeout(std::time::Duration::from_secs(t.get()));
    }
    builder
        .auth_url(config.globus.auth_url.clone())
        .transfer_url(config.globus.transfer_url.clone())
        .maybe_client_id(config.globus.client_id.clone())
        .collection_names(collection_names(config))
        .data_access_collections(
            configured_collections(config)
                .iter()
                .map(ToString::to_string)
                .collect(),
        )
        .credentials(credentials)
        .build()
}

/// Why a `--collection` argument names no collection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is neither a collection UUID nor a configured alias{hint}")]
pub struct UnknownCollection {
    /// The argument.
    pub given: String,
    /// "; did you mean …" or the list of aliases.
    pub hint: String,
}

impl UnknownCollection {
    /// A usage error.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// The collection an alias or UUID names.
pub fn resolve_collection(config: &Config, given: &str) -> Result<CollectionId, UnknownCollection> {
    if let Some(c) = config.collections.get(given) {
        return Ok(c.id);
    }
    if let Ok(id) = given.parse::<CollectionId>() {
        return Ok(id);
    }
    let aliases: Vec<&str> = config.collections.keys().map(String::as_str).collect();
    let hint = match nearest(given, aliases.iter().copied()) {
        Some(n) => format!("; did you mean `{n}`?"),
        None if aliases.is_empty() => {
            "; no aliases are configured (add them under `[collections]`)".to_string()
        }
        None => format!("; configured aliases are {}", backticked(&aliases)),
    };
    Err(UnknownCollection {
        given: given.to_string(),
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CEDAR: &str = "6c1f5f54-8d4e-4c3b-9f4a-1b2c3d4e5f60";
    const GREX: &str = "11111111-2222-3333-4444-555555555555";

    fn config() -> Config {
        Config::from_toml_str(
            &format!(
                r#"
[cluster]
name = "grex"
collection = "{GREX}"
[collections.cedar]
id = "{CEDAR}"
display_name = "Alliance Cedar"
"#
            ),
            Path::new("test.toml"),
        )
        .unwrap()
    }

    #[test]
    fn names_come_from_aliases_and_the_cluster() {
        let names = collection_names(&config());
        assert_eq!(names[CEDAR].alias.as_deref(), Some("cedar"));
        assert_eq!(names[CEDAR].display_name.as_deref(), Some("Alliance Cedar"));
        assert_eq!(names[GREX].display_name.as_deref(), Some("grex"));
        assert_eq!(configured_collections(&config()).len(), 2);
    }

    #[test]
    fn resolves_aliases_and_uuids_and_suggests_near_misses() {
        let c = config();
        assert_eq!(resolve_collection(&c, "cedar").unwrap().to_string(), CEDAR);
        assert_eq!(resolve_collection(&c, GREX).unwrap().to_string(), GREX);
        let err = resolve_collection(&c, "ceder").unwrap_err();
        assert!(err.to_string().contains("did you mean `cedar`"), "{err}");
        let err = resolve_collection(&c, "zzz").unwrap_err();
        assert!(err.to_string().contains("`cedar`"), "{err}");
    }
}
