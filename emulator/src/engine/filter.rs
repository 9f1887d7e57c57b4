//! Filter rules of recursive items: the first rule matching a name decides; no match includes.

use crate::task::FilterRule;

/// Whether an entry named `name` (a file when `is_file`) is transferred.
pub(crate) fn included(rules: &[FilterRule], name: &str, is_file: bool) -> bool {
    for rule in rules {
        if rule.files_only.is_some_and(|files| files != is_file) {
            continue;
        }
        if glob::Pattern::new(&rule.name).is_ok_and(|p| p.matches(name)) {
            return rule.include;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(include: bool, name: &str, files_only: Option<bool>) -> FilterRule {
        FilterRule {
            include,
            name: name.to_owned(),
            files_only,
        }
    }

    #[test]
    fn first_match_wins_and_types_restrict_rules() {
        let rules = vec![
            rule(true, "keep.tmp", None),
            rule(false, "*.tmp", Some(true)),
            rule(false, "cache", Some(false)),
        ];
        assert!(included(&rules, "keep.tmp", true));
        assert!(!included(&rules, "x.tmp", true));
        assert!(
            included(&rules, "x.tmp", false),
            "dir rule type does not apply"
        );
        assert!(!included(&rules, "cache", false));
        assert!(included(&rules, "cache", true));
        assert!(included(&rules, "data.bin", true), "no match includes");
    }
}
