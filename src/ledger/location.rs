//! Where the ledger lives and whether that place is safe: the default path, private creation,
//! refusal of links and foreign owners, and network-filesystem detection.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::error::{Error, Result};
use crate::private_files::{self, Unsafe};

/// How the ledger decides between the local-disk and the network-filesystem strategy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Look at the filesystem holding the ledger (`statfs`) and choose.
    #[default]
    Auto,
    /// Treat the ledger's filesystem as node-local (WAL journal).
    Local,
    /// Treat it as shared between hosts (rollback journal + lock file), e.g. when detection
    /// cannot see through a FUSE or overlay mount.
    Network,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Mode::Auto),
            "local" => Ok(Mode::Local),
            "network" => Ok(Mode::Network),
            other => Err(format!(
                "unknown ledger mode `{other}` (expected `auto`, `local` or `network`)"
            )),
        }
    }
}

/// The strategy actually in use for an open ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// WAL journal, SQLite's own locking.
    Local,
    /// Rollback (DELETE) journal plus an exclusive lock on `<ledger>.lock` around every write.
    /// `filesystem` names what was detected, or `forced` when configured.
    Network {
        /// The detected filesystem, or `forced`.
        filesystem: &'static str,
    },
}

/// Filesystems whose files are shared between hosts (or whose locking and shared memory cannot
/// be trusted), by `statfs` `f_type` magic number.
const NETWORK_FILESYSTEMS: &[(u32, &str)] = &[
    (0x6969, "nfs"),
    (0xFF53_4D42, "cifs"),
    (0xFE53_4D42, "smb2"),
    (0x517B, "smb"),
    (0x0BD0_0BD0, "lustre"),
    (0x4750_4653, "gpfs"),
    (0x1983_0326, "beegfs"),
    (0x00C3_6400, "ceph"),
    (0x6573_5546, "fuse"),
    (0x5346_414F, "afs"),
    (0x6B41_4653, "kafs"),
    (0x0102_1997, "9p"),
    (0x2003_0528, "orangefs"),
    (0xAAD7_AAEA, "panfs"),
    (0x7461_636F, "ocfs2"),
    (0x0116_1970, "gfs2"),
    (0x7375_7245, "coda"),
    (0x0000_564C, "ncp"),
];

/// The name of a network filesystem for a `statfs` magic number, `None` for local ones.
pub fn network_filesystem(magic: u32) -> Option<&'static str> {
    NETWORK_FILESYSTEMS
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name)
}

/// Decides the strategy for a ledger in `dir`.
pub(crate) fn storage_for(dir: &Path, mode: Mode) -> Result<Storage> {
    match mode {
        Mode::Local => Ok(Storage::Local),
        Mode::Network => Ok(Storage::Network {
            filesystem: "forced",
        }),
        Mode::Auto => {
            let stat = nix::sys::statfs::statfs(dir).map_err(|errno| Error::Io {
                action: "inspect the filesystem of",
                path: dir.to_path_buf(),
                source: std::io::Error::from(errno),
            })?;
            // f_type is a signed word on Linux; the magic numbers are its low 32 bits.
            let magic = (stat.filesystem_type().0 as u64 & 0xFFFF_FFFF) as u32;
            Ok(match network_filesystem(magic) {
                Some(filesystem) => Storage::Network { filesystem },
                None => Storage::Local,
            })
        }
    }
}

/// See [`Ledger::default_path`](super::Ledger::default_path).
pub(crate) fn default_path(home: &Path, xdg_state_home: Option<&Path>) -> PathBuf {
    let state = match xdg_state_home {
        Some(dir) if dir.is_absolute() => dir.to_path_buf(),
        _ => home.join(".local").join("state"),
    };
    state.join("gstage").join("ledger.sqlite")
}

/// Group and others may not write the ledger or its directory: they could replace it or plant
/// records. Reading is the user's choice (the ledger holds no secrets).
const FORBIDDEN: u32 = 0o022;

/// Turns a refusal of `path` (a `file` or `directory`) into the ledger's error, with its fix.
fn refused(path: &Path, kind: &'static str, problem: Unsafe) -> Error {
    let path = path.to_path_buf();
    match problem {
        Unsafe::Symlink => Error::Symlink { path, kind },
        Unsafe::NotOwned { owner, uid } => Error::NotOwned { path, owner, uid },
        Unsafe::TooOpen { mode } => Error::TooOpen {
            path,
            mode,
            kind,
            fix: if kind == "directory" { "700" } else { "600" },
        },
    }
}

/// Creates `dir` (and missing parents) private to the user, then checks that it is a real
/// directory owned by the user that nobody else can write to.
pub(crate) fn prepare_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| Error::Io {
            action: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
    let meta = std::fs::symlink_metadata(dir).map_err(|source| Error::Io {
        action: "inspect",
        path: dir.to_path_buf(),
        source,
    })?;
    private_files::check(&meta, FORBIDDEN).map_err(|p| refused(dir, "directory", p))
}

/// Opens (creating 0600 if missing) a file of the ledger without following links, and checks
/// its owner and mode on the open descriptor so the check and the use concern the same file.
pub(crate) fn open_private_file(path: &Path) -> Result<File> {
    let file = private_files::open_nofollow(
        path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600),
    )
    .map_err(|source| {
        if private_files::is_link_refusal(&source) {
            Error::Symlink {
                path: path.to_path_buf(),
                kind: "file",
            }
        } else if source.kind() == ErrorKind::PermissionDenied {
            match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.uid() != private_files::euid() => Error::NotOwned {
                    path: path.to_path_buf(),
                    owner: meta.uid(),
                    uid: private_files::euid(),
                },
                _ => Error::Io {
                    action: "open",
                    path: path.to_path_buf(),
                    source,
                },
            }
        } else {
            Error::Io {
                action: "open",
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let meta = file.metadata().map_err(|source| Error::Io {
        action: "inspect",
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() {
        return Err(Error::NotALedger {
            path: path.to_path_buf(),
            reason: "it is not a regular file".into(),
        });
    }
    private_files::check(&meta, FORBIDDEN).map_err(|p| refused(path, "file", p))?;
    Ok(file)
}

/// The sidecar file locked around writes on network filesystems.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_prefers_absolute_xdg_state_home() {
        let home = Path::new("/home/alice");
        assert_eq!(
            default_path(home, Some(Path::new("/state/alice"))),
            PathBuf::from("/state/alice/gstage/ledger.sqlite")
        );
        assert_eq!(
            default_path(home, None),
            PathBuf::from("/home/alice/.local/state/gstage/ledger.sqlite")
        );
        assert_eq!(
            default_path(home, Some(Path::new("relative/state"))),
            PathBuf::from("/home/alice/.local/state/gstage/ledger.sqlite"),
            "a relative XDG_STATE_HOME must be ignored"
        );
    }

    #[test]
    fn network_filesystems_are_recognised_by_magic() {
        for (magic, name) in [
            (0x6969, "nfs"),
            (0xFF53_4D42, "cifs"),
            (0x517B, "smb"),
            (0x0BD0_0BD0, "lustre"),
            (0x4750_4653, "gpfs"),
            (0x1983_0326, "beegfs"),
            (0x00C3_6400, "ceph"),
            (0x6573_5546, "fuse"),
        ] {
            assert_eq!(network_filesystem(magic), Some(name), "magic {magic:#x}");
        }
        // ext4, xfs, btrfs, tmpfs, zfs are node-local.
        for magic in [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x2FC1_2FC1] {
            assert_eq!(network_filesystem(magic), None, "magic {magic:#x}");
        }
    }

    #[test]
    fn mode_parses_config_words() {
        assert_eq!("auto".parse::<Mode>(), Ok(Mode::Auto));
        assert_eq!("local".parse::<Mode>(), Ok(Mode::Local));
        assert_eq!("network".parse::<Mode>(), Ok(Mode::Network));
        let err = "nfs".parse::<Mode>().unwrap_err();
        assert!(err.contains("`nfs`") && err.contains("`network`"), "{err}");
    }

    #[test]
    fn forced_modes_skip_detection() {
        let missing = Path::new("/nonexistent/for/statfs");
        assert_eq!(storage_for(missing, Mode::Local).ok(), Some(Storage::Local));
        assert_eq!(
            storage_for(missing, Mode::Network).ok(),
            Some(Storage::Network {
                filesystem: "forced"
            })
        );
        assert!(matches!(
            storage_for(missing, Mode::Auto),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn lock_path_is_a_sidecar() {
        assert_eq!(
            lock_path(Path::new("/s/gstage/ledger.sqlite")),
            PathBuf::from("/s/gstage/ledger.sqlite.lock")
        );
    }
}
