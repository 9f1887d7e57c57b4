//! Globus scope strings: `base[dep1 *dep2]`, space-separated at the top level.

use uuid::Uuid;

/// The Transfer service's scope.
pub(crate) const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
/// Transfer's resource server name.
pub(crate) const TRANSFER_RS: &str = "transfer.api.globus.org";
/// Auth's resource server name.
pub(crate) const AUTH_RS: &str = "auth.globus.org";

/// One requested scope and the scopes it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) base: String,
    pub(crate) optional: bool,
    pub(crate) dependencies: Vec<Scope>,
}

impl Scope {
    /// The resource server a scope belongs to.
    pub(crate) fn resource_server(&self) -> String {
        resource_server(&self.base)
    }
}

/// Which resource server issues tokens for `scope`.
pub(crate) fn resource_server(scope: &str) -> String {
    if matches!(scope, "openid" | "profile" | "email") {
        return AUTH_RS.to_owned();
    }
    if let Some(rest) = scope.strip_prefix("urn:globus:auth:scope:") {
        return rest.split(':').next().unwrap_or(rest).to_owned();
    }
    if let Some(rest) = scope.strip_prefix("https://auth.globus.org/scopes/") {
        return rest.split('/').next().unwrap_or(rest).to_owned();
    }
    scope.to_owned()
}

/// The collection a `https://auth.globus.org/scopes/<id>/data_access` scope is about.
pub(crate) fn data_access_collection(scope: &str) -> Option<Uuid> {
    let rest = scope.strip_prefix("https://auth.globus.org/scopes/")?;
    let id = rest.strip_suffix("/data_access")?;
    Uuid::parse_str(id).ok()
}

/// The scope string Transfer asks for when `data_access` consent is missing.
pub(crate) fn data_access_requirement(collections: &[Uuid]) -> String {
    let deps: Vec<String> = collections
        .iter()
        .map(|c| format!("*https://auth.globus.org/scopes/{c}/data_access"))
        .collect();
    format!("{TRANSFER_SCOPE}[{}]", deps.join(" "))
}

/// Parses a scope string; `None` when brackets do not balance.
pub(crate) fn parse(text: &str) -> Option<Vec<Scope>> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let scopes = parse_list(&chars, &mut pos)?;
    if pos < chars.len() {
        return None;
    }
    Some(scopes)
}

fn parse_list(chars: &[char], pos: &mut usize) -> Option<Vec<Scope>> {
    let mut out = Vec::new();
    loop {
        while chars.get(*pos).is_some_and(|c| c.is_whitespace()) {
            *pos += 1;
        }
        match chars.get(*pos) {
            None | Some(']') => return Some(out),
            Some('[') => return None,
            Some(_) => {}
        }
        let optional = chars.get(*pos) == Some(&'*');
        if optional {
            *pos += 1;
        }
        let start = *pos;
        while chars
            .get(*pos)
            .is_some_and(|c| !c.is_whitespace() && *c != '[' && *c != ']')
        {
            *pos += 1;
        }
        let base: String = chars.get(start..*pos)?.iter().collect();
        if base.is_empty() {
            return None;
        }
        let mut dependencies = Vec::new();
        if chars.get(*pos) == Some(&'[') {
            *pos += 1;
            dependencies = parse_list(chars, pos)?;
            if chars.get(*pos) != Some(&']') {
                return None;
            }
            *pos += 1;
        }
        out.push(Scope {
            base,
            optional,
            dependencies,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dependent_data_access_scopes() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let text = format!("openid {}", data_access_requirement(&[a, b]));
        let scopes = parse(&text).expect("valid scope string");
        assert_eq!(scopes.len(), 2);
        assert_eq!(scopes[0].resource_server(), AUTH_RS);
        assert_eq!(scopes[1].resource_server(), TRANSFER_RS);
        let deps: Vec<_> = scopes[1]
            .dependencies
            .iter()
            .filter_map(|d| data_access_collection(&d.base))
            .collect();
        assert_eq!(deps, vec![a, b]);
        assert!(scopes[1].dependencies.iter().all(|d| d.optional));
    }

    #[test]
    fn rejects_unbalanced_brackets() {
        assert!(parse("a[b").is_none());
        assert!(parse("a]b").is_none());
        assert!(parse("[b]").is_none());
    }
}
