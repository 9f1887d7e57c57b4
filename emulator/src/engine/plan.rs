//! Expands a task's items into the file operations to perform, by walking the source tree.
//!
//! Blocking file-system code: the runner calls it on the blocking pool.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::filter::included;
use crate::paths;
use crate::task::{FilterRule, Item};

/// One unit of work (a "subtask").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Create a destination directory (and its parents).
    Mkdir { dst: PathBuf },
    /// Copy one file.
    Copy {
        src: PathBuf,
        dst: PathBuf,
        size: u64,
        src_api: String,
        dst_api: String,
        external_checksum: Option<(String, String)>,
    },
    /// Remove a destination entry with no source counterpart.
    Delete { path: PathBuf },
}

/// The work for a task, plus what could not be found.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) ops: Vec<Op>,
    pub(crate) files: u64,
    pub(crate) directories: u64,
    pub(crate) symlinks: u64,
    /// Source paths (collection paths) that do not exist.
    pub(crate) missing: Vec<String>,
}

/// What the planner needs to know about a task.
pub(crate) struct Request<'a> {
    pub(crate) src_root: &'a Path,
    pub(crate) dst_root: &'a Path,
    pub(crate) items: &'a [Item],
    pub(crate) filters: &'a [FilterRule],
    pub(crate) delete_extra: bool,
}

pub(crate) fn plan(req: &Request<'_>) -> Plan {
    let mut plan = Plan::default();
    let mut deletes = Vec::new();
    for item in req.items {
        let (Ok(src), Ok(dst)) = (
            paths::resolve(req.src_root, &item.source_path),
            paths::resolve(req.dst_root, &item.destination_path),
        ) else {
            plan.missing.push(item.source_path.clone());
            continue;
        };
        let Ok(meta) = std::fs::metadata(&src) else {
            plan.missing.push(item.source_path.clone());
            continue;
        };
        if meta.is_dir() && item.recursive != Some(false) {
            plan.directories += 1;
            plan.ops.push(Op::Mkdir { dst: dst.clone() });
            walk(
                req,
                &mut plan,
                &mut deletes,
                &src,
                &dst,
                &item.source_path,
                &item.destination_path,
            );
        } else if meta.is_dir() {
            plan.missing.push(item.source_path.clone());
        } else {
            let (dst, dst_api) = if item.destination_path.ends_with('/') {
                let name = src
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (dst.join(&name), paths::join(&item.destination_path, &name))
            } else {
                (dst, item.destination_path.clone())
            };
            plan.files += 1;
            plan.ops.push(Op::Copy {
                src,
                dst,
                size: meta.len(),
                src_api: item.source_path.clone(),
                dst_api,
                external_checksum: item.external_checksum.clone().map(|c| {
                    (
                        item.checksum_algorithm
                            .clone()
                            .unwrap_or_else(|| "MD5".to_owned()),
                        c,
                    )
                }),
            });
        }
    }
    plan.ops.extend(deletes);
    plan
}

#[allow(clippy::too_many_arguments)]
fn walk(
    req: &Request<'_>,
    plan: &mut Plan,
    deletes: &mut Vec<Op>,
    src: &Path,
    dst: &Path,
    src_api: &str,
    dst_api: &str,
) {
    let Ok(entries) = std::fs::read_dir(src) else {
        plan.missing.push(src_api.to_owned());
        return;
    };
    let mut names: Vec<(String, std::fs::FileType)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.file_type().ok()?)))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept: HashSet<String> = HashSet::new();
    for (name, kind) in &names {
        if kind.is_symlink() {
            plan.symlinks += 1;
            continue;
        }
        if !included(req.filters, name, kind.is_file()) {
            continue;
        }
        kept.insert(name.clone());
        let (s, d) = (src.join(name), dst.join(name));
        let (sa, da) = (paths::join(src_api, name), paths::join(dst_api, name));
        if kind.is_dir() {
            plan.directories += 1;
            plan.ops.push(Op::Mkdir { dst: d.clone() });
            walk(req, plan, deletes, &s, &d, &sa, &da);
        } else if kind.is_file() {
            let size = std::fs::metadata(&s).map_or(0, |m| m.len());
            plan.files += 1;
            plan.ops.push(Op::Copy {
                src: s,
                dst: d,
                size,
                src_api: sa,
                dst_api: da,
                external_checksum: None,
            });
        }
    }
    if req.delete_extra
        && let Ok(existing) = std::fs::read_dir(dst)
    {
        for entry in existing.filter_map(Result::ok) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_file = entry.file_type().is_ok_and(|t| !t.is_dir());
            if !kept.contains(&name) && included(req.filters, &name, is_file) {
                deletes.push(Op::Delete { path: entry.path() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(src: &str, dst: &str, recursive: Option<bool>) -> Item {
        Item {
            source_path: src.into(),
            destination_path: dst.into(),
            recursive,
            external_checksum: None,
            checksum_algorithm: None,
        }
    }

    #[test]
    fn walks_directories_applies_filters_and_finds_extras() {
        let src = tempfile::tempdir().expect("tempdir");
        let dst = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(src.path().join("in/sub")).expect("mkdir");
        std::fs::write(src.path().join("in/a.dat"), b"a").expect("write");
        std::fs::write(src.path().join("in/skip.tmp"), b"t").expect("write");
        std::fs::write(src.path().join("in/sub/b.dat"), b"bb").expect("write");
        std::fs::create_dir_all(dst.path().join("out")).expect("mkdir");
        std::fs::write(dst.path().join("out/stale"), b"s").expect("write");
        let items = [item("/in/", "/out/", None), item("/nope", "/x", None)];
        let filters = [FilterRule {
            include: false,
            name: "*.tmp".into(),
            files_only: Some(true),
        }];
        let plan = plan(&Request {
            src_root: src.path(),
            dst_root: dst.path(),
            items: &items,
            filters: &filters,
            delete_extra: true,
        });
        assert_eq!(plan.files, 2);
        assert_eq!(plan.directories, 2);
        assert_eq!(plan.missing, vec!["/nope".to_owned()]);
        assert_eq!(
            plan.ops.last(),
            Some(&Op::Delete {
                path: dst.path().join("out/stale")
            })
        );
        let copied: Vec<&str> = plan
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Copy { dst_api, .. } => Some(dst_api.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(copied, vec!["/out/a.dat", "/out/sub/b.dat"]);
    }
}
