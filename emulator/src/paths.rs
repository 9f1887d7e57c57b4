//! Collection paths (`/data/in.dat`, `/~/run/`) mapped onto a collection's root directory.
//!
//! A path may never leave the root: `..` is refused rather than resolved, so no request can
//! read or write outside the directories the config names.

use std::path::{Path, PathBuf};

/// Why a collection path cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    /// The path is empty.
    #[error("path is empty; give an absolute collection path such as `/data/file`")]
    Empty,
    /// The path climbs out of the collection with `..`.
    #[error("path `{0}` contains `..`; collection paths cannot leave the collection root")]
    Escapes(String),
}

/// The path's components below the root; `/~/` is the root (the home of a mapped user).
pub(crate) fn components(api_path: &str) -> Result<Vec<&str>, PathError> {
    if api_path.is_empty() {
        return Err(PathError::Empty);
    }
    let trimmed = api_path
        .strip_prefix("/~")
        .or_else(|| api_path.strip_prefix('~'))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .unwrap_or(api_path);
    let mut out = Vec::new();
    for part in trimmed.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(PathError::Escapes(api_path.to_owned())),
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The local file for a collection path.
pub(crate) fn resolve(root: &Path, api_path: &str) -> Result<PathBuf, PathError> {
    let mut path = root.to_path_buf();
    for part in components(api_path)? {
        path.push(part);
    }
    Ok(path)
}

/// Joins a collection directory path and a name with exactly one `/`.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_under_the_root() {
        let root = Path::new("/srv/coll");
        assert_eq!(resolve(root, "/a/b.txt"), Ok(root.join("a/b.txt")));
        assert_eq!(resolve(root, "/~/a/"), Ok(root.join("a")));
        assert_eq!(resolve(root, "~/a"), Ok(root.join("a")));
        assert_eq!(resolve(root, "/"), Ok(root.to_path_buf()));
        assert_eq!(resolve(root, "/./a//b"), Ok(root.join("a/b")));
        assert_eq!(resolve(root, "/~x/a"), Ok(root.join("~x/a")));
    }

    #[test]
    fn refuses_escapes_and_empty_paths() {
        let root = Path::new("/srv/coll");
        assert!(matches!(
            resolve(root, "/a/../../etc"),
            Err(PathError::Escapes(_))
        ));
        assert!(matches!(resolve(root, ".."), Err(PathError::Escapes(_))));
        assert_eq!(resolve(root, ""), Err(PathError::Empty));
    }
}
