//! Scope strings and the rule for which collections need a `data_access` consent.

/// Transfer's resource server, the key its tokens are stored under.
pub const TRANSFER_RESOURCE_SERVER: &str = "transfer.api.globus.org";
/// Auth's resource server (userinfo, identities, revocation).
pub const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";
/// The Transfer API scope, without dependent scopes.
pub const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
/// The OpenID Connect scopes that let `gstage whoami` read the user's identity.
pub const IDENTITY_SCOPES: [&str; 3] = ["openid", "profile", "email"];

const DATA_ACCESS_PREFIX: &str = "https://auth.globus.org/scopes/";
const DATA_ACCESS_SUFFIX: &str = "/data_access";

/// The `data_access` scope of one GCSv5 collection.
pub fn data_access_scope(collection_id: &str) -> String {
    format!("{DATA_ACCESS_PREFIX}{collection_id}{DATA_ACCESS_SUFFIX}")
}

/// The Transfer scope with an optional (`*`) `data_access` dependency per collection, in the
/// form Transfer itself puts in `required_scopes`.
pub fn transfer_scope_with_data_access<S: AsRef<str>>(collection_ids: &[S]) -> String {
    if collection_ids.is_empty() {
        return TRANSFER_SCOPE.to_string();
    }
    let deps: Vec<String> = collection_ids
        .iter()
        .map(|c| format!("*{}", data_access_scope(c.as_ref())))
        .collect();
    format!("{TRANSFER_SCOPE}[{}]", deps.join(" "))
}

/// The collection ids named by `data_access` scopes anywhere in a scope string, in order and
/// without repeats. Unknown text is skipped, so a malformed scope never fails.
pub fn data_access_collections(scope: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in scope.split(|c: char| c.is_whitespace() || c == '[' || c == ']') {
        let word = word.trim_start_matches('*');
        let Some(rest) = word.strip_prefix(DATA_ACCESS_PREFIX) else {
            continue;
        };
        let Some(id) = rest.strip_suffix(DATA_ACCESS_SUFFIX) else {
            continue;
        };
        if !id.is_empty() && !id.contains('/') && !found.iter().any(|f| f == id) {
            found.push(id.to_string());
        }
    }
    found
}

/// Whether logging in must ask for the collection's `data_access` scope: only GCSv5 mapped
/// collections that are not high assurance have one; asking for it anywhere else makes Globus
/// Auth refuse the whole login with "Unknown Scope".
pub fn needs_data_access(entity_type: Option<&str>, high_assurance: bool) -> bool {
    entity_type == Some("GCSv5_mapped_collection") && !high_assurance
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_dependent_scope_like_transfer_does() {
        assert_eq!(
            transfer_scope_with_data_access(&["c1", "c2"]),
            "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/c1/data_access *https://auth.globus.org/scopes/c2/data_access]"
        );
        assert_eq!(transfer_scope_with_data_access::<&str>(&[]), TRANSFER_SCOPE);
    }

    #[test]
    fn reads_collections_back_out_of_a_scope() {
        let s = transfer_scope_with_data_access(&["c1", "c2", "c1"]);
        assert_eq!(data_access_collections(&s), ["c1", "c2"]);
        assert_eq!(
            data_access_collections("https://auth.globus.org/scopes/c3/data_access"),
            ["c3"]
        );
        assert!(data_access_collections("openid [[ ]] *").is_empty());
    }

    #[test]
    fn only_plain_mapped_collections_need_data_access() {
        assert!(needs_data_access(Some("GCSv5_mapped_collection"), false));
        assert!(!needs_data_access(Some("GCSv5_mapped_collection"), true));
        assert!(!needs_data_access(Some("GCSv5_guest_collection"), false));
        assert!(!needs_data_access(Some("GCP_mapped_collection"), false));
        assert!(!needs_data_access(None, false));
    }
}
