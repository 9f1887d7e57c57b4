//! The user's Globus login on disk: `$XDG_CONFIG_HOME/gstage/tokens.json`.
//!
//! Staging runs unattended for days on the refresh tokens kept here, from many processes at once
//! (hooks, gate jobs, `gstage wait`), and Globus may rotate a refresh token on every use. So:
//! - the file is only ever replaced whole: a temporary file in the same directory is written,
//!   synced and renamed over it, and the directory is synced, so a crash (even `kill -9`) leaves
//!   either the old or the new store, never a torn one;
//! - whoever refreshes holds an exclusive lock on the sidecar `tokens.json.lock` from reading the
//!   refresh token until the new one is on disk, and re-reads the store after taking the lock
//!   (another process may have refreshed meanwhile), so no process ever sends a spent token;
//! - the store must belong to the user and be unreadable by anyone else; a store that is a
//!   symbolic link, owned by someone else or open to group/others is refused with the fix;
//! - the home directory comes from the passwd entry, not `$HOME`, which is wrong in a hook after
//!   dropping privileges.
//!
//! This module only keeps tokens; getting new ones is [`crate::globus`]'s job.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::globus::{AccessToken, RefreshToken};
use crate::private_files::{self, Unsafe};

/// Access tokens are used until this many seconds before they expire, then refreshed.
pub const EXPIRY_MARGIN_SECS: i64 = 60;

const FORMAT_VERSION: u32 = 1;
const FILE_NAME: &str = "tokens.json";
const LOCK_NAME: &str = "tokens.json.lock";

/// Token store failures. Each message says how to fix the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No home directory could be found for the current user.
    #[error(
        "cannot find a home directory for uid {uid} in the passwd database; set `XDG_CONFIG_HOME` to an absolute path"
    )]
    NoHome {
        /// The real uid looked up.
        uid: u32,
    },
    /// The store (or its directory) is a symbolic link, which could point anywhere.
    #[error(
        "refusing the token store `{path}`: it is a symbolic link; remove it with `rm {path}` and run `gstage login`"
    )]
    Symlink {
        /// The offending path.
        path: PathBuf,
    },
    /// The store (or its directory) belongs to another user.
    #[error(
        "refusing the token store `{path}`: it belongs to uid {owner}, not to you (uid {uid}); fix it with `chown {user} {path}` or remove it and run `gstage login`"
    )]
    NotOwned {
        /// The offending path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The current effective uid.
        uid: u32,
        /// The current user's name (or uid) for the `chown` command.
        user: String,
    },
    /// The store or its directory is open to other users.
    #[error(
        "refusing the token store `{path}`: its mode {mode:04o} lets other users {what} it; fix it with `chmod {fix} {path}`"
    )]
    TooOpen {
        /// The offending path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// "read" or "replace".
        what: &'static str,
        /// The mode to set.
        fix: &'static str,
    },
    /// Reading or writing failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a token store gstage can read. The parser's message is left out: it
    /// could quote a token.
    #[error(
        "the token store `{path}` is damaged (at line {line}, column {column}); remove it and run `gstage login`"
    )]
    Corrupt {
        /// The store.
        path: PathBuf,
        /// Where parsing failed.
        line: usize,
        /// Where parsing failed.
        column: usize,
    },
}

impl Error {
    /// The process exit code: 4 when logging in again is the fix, else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Corrupt { .. } => 4,
            _ => 1,
        }
    }
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// One resource server's tokens, in the same shape as globus-sdk stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    /// `transfer.api.globus.org`, `auth.globus.org`…
    pub resource_server: String,
    /// The scopes the token carries.
    pub scope: String,
    /// The bearer token.
    pub access_token: AccessToken,
    /// The refresh token; `None` for client credentials or an online-only login.
    pub refresh_token: Option<RefreshToken>,
    /// Unix time at which the access token expires.
    pub expires_at_seconds: i64,
    /// Always `Bearer`.
    pub token_type: String,
}

impl StoredToken {
    /// Whether the access token can still be used at unix time `now`.
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.expires_at_seconds.saturating_sub(EXPIRY_MARGIN_SECS)
    }
}

/// Who logged in, as Globus Auth's userinfo described them at login.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredIdentity {
    /// The identity id (`sub`).
    pub id: String,
    /// The username, e.g. `alice@umanitoba.ca`.
    #[serde(default)]
    pub username: Option<String>,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The whole store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLogin {
    /// The store format.
    pub format_version: u32,
    /// The native app the tokens were issued to (refreshes must use it).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Who logged in.
    #[serde(default)]
    pub identity: Option<StoredIdentity>,
    /// Collections whose `data_access` consent was asked for at login.
    #[serde(default)]
    pub consented_collections: Vec<String>,
    /// Tokens by resource server.
    #[serde(default)]
    pub tokens: BTreeMap<String, StoredToken>,
}

impl StoredLogin {
    /// An empty store for a login through `client_id`.
    pub fn new(client_id: Option<String>) -> Self {
        StoredLogin {
            format_version: FORMAT_VERSION,
            client_id,
            ..StoredLogin::default()
        }
    }
}

/// The token store of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStore {
    path: PathBuf,
}

/// An exclusive hold on the store for a read-refresh-write; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

/// Refuses a path that is a link, belongs to someone else or whose mode allows `forbidden` bits.
fn check_meta(
    path: &Path,
    meta: &fs::Metadata,
    forbidden: u32,
    what: &'static str,
    fix: &'static str,
) -> Result<(), Error> {
    let path = path.to_path_buf();
    private_files::check(meta, forbidden).map_err(|problem| match problem {
        Unsafe::Symlink => Error::Symlink { path },
        Unsafe::NotOwned { owner, uid } => Error::NotOwned {
            path,
            owner,
            uid,
            user: user_name(uid),
        },
        Unsafe::TooOpen { mode } => Error::TooOpen {
            path,
            mode,
            what,
            fix,
        },
    })
}

/// Opens a file inside the store directory without following a symbolic link.
fn open_nofollow(path: &Path, options: &mut OpenOptions) -> Result<Option<File>, Error> {
    match private_files::open_nofollow(path, options) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if private_files::is_link_refusal(&e) => Err(Error::Symlink {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(io("open", path)(e)),
    }
}

impl TokenStore {
    /// A store at an explicit path.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        TokenStore { path: path.into() }
    }

    /// The user's store: `$XDG_CONFIG_HOME/gstage/tokens.json` when `XDG_CONFIG_HOME` is an
    /// absolute path, else `<home from passwd>/.config/gstage/tokens.json`.
    pub fn default_location() -> Result<Self, Error> {
        let config_home = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
            Some(p) if p.is_absolute() => p,
            _ => {
                let uid = nix::unistd::getuid();
                let user = nix::unistd::User::from_uid(uid)
                    .ok()
                    .flatten()
                    .filter(|u| u.dir.is_absolute())
                    .ok_or(Error::NoHome { uid: uid.as_raw() })?;
                user.dir.join(".config")
            }
        };
        Ok(TokenStore::at(config_home.join("gstage").join(FILE_NAME)))
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    fn lock_path(&self) -> PathBuf {
        self.dir().join(LOCK_NAME)
    }

    /// Checks the store directory; `Ok(false)` when it does not exist.
    fn check_dir(&self) -> Result<bool, Error> {
        let dir = self.dir();
        match fs::symlink_metadata(dir) {
            Ok(meta) => {
                check_meta(dir, &meta, 0o022, "replace files in", "700")?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("inspect", dir)(e)),
        }
    }

    fn ensure_dir(&self) -> Result<(), Error> {
        if self.check_dir()? {
            return Ok(());
        }
        let dir = self.dir();
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("create", dir)(e)),
        }
        self.check_dir().map(|_| ())
    }

    /// Reads the store; `None` when there is none (not logged in).
    pub fn load(&self) -> Result<Option<StoredLogin>, Error> {
        if !self.check_dir()? {
            return Ok(None);
        }
        let Some(mut file) = open_nofollow(&self.path, OpenOptions::new().read(true))? else {
            return Ok(None);
        };
        let meta = file.metadata().map_err(io("inspect", &self.path))?;
        check_meta(&self.path, &meta, 0o077, "read", "600")?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(io("read", &self.path))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                path: self.path.clone(),
                line: e.line(),
                column: e.column(),
            })
    }

    /// Replaces the store atomically: temporary file (0600) in the same directory, write,
    /// `fsync`, rename over the store, `fsync` the directory.
    pub fn save(&self, login: &StoredLogin) -> Result<(), Error> {
        self.ensure_dir()?;
        let dir = self.dir();
        if let Ok(meta) = fs::symlink_metadata(&self.path)
            && meta.file_type().is_symlink()
        {
            return Err(Error::Symlink {
                path: self.path.clone(),
            });
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".tokens.")
            .suffix(".tmp")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(io("create a temporary file in", dir))?;
        let mut login = login.clone();
        login.format_version = FORMAT_VERSION;
        let mut bytes = serde_json::to_vec_pretty(&login).map_err(|e| Error::Io {
            action: "encode",
            path: self.path.clone(),
            source: e.into(),
        })?;
        bytes.push(b'\n');
        tmp.write_all(&bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io("write", tmp.path()))?;
        crate::crashpoint::reached("tokens/written");
        tmp.persist(&self.path)
            .map_err(|e| io("replace", &self.path)(e.error))?;
        crate::crashpoint::reached("tokens/renamed");
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("sync", dir))?;
        Ok(())
    }

    /// Takes the exclusive lock, waiting for another process to release it.
    pub fn lock(&self) -> Result<StoreLock, Error> {
        self.ensure_dir()?;
        let path = self.lock_path();
        let file = open_nofollow(
            &path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600),
        )?
        .ok_or_else(|| io("create", &path)(std::io::ErrorKind::NotFound.into()))?;
        let meta = file.metadata().map_err(io("inspect", &path))?;
        check_meta(&path, &meta, 0o022, "replace", "600")?;
        file.lock().map_err(io("lock", &path))?;
        Ok(StoreLock { _file: file })
    }

    /// Deletes the store; `Ok(false)` when there was none. The lock file stays: removing it
    /// while another process waits on it would let two processes hold "the" lock.
    pub fn remove(&self) -> Result<bool, Error> {
        match fs::remove_file(&self.path) {
            Ok(()) => {
                if let Ok(d) = File::open(self.dir()) {
                    let _ = d.sync_all();
                }
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("remove", &self.path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn token(rs: &str, at: &str, rt: Option<&str>, exp: i64) -> StoredToken {
        StoredToken {
            resource_server: rs.into(),
            scope: "s".into(),
            access_token: AccessToken::new(at),
            refresh_token: rt.map(RefreshToken::new),
            expires_at_seconds: exp,
            token_type: "Bearer".into(),
        }
    }

    fn sample() -> StoredLogin {
        let mut l = StoredLogin::new(Some("client".into()));
        l.tokens.insert(
            "transfer.api.globus.org".into(),
            token(
                "transfer.api.globus.org",
                "AT-secret-1",
                Some("RT-secret-1"),
                100,
            ),
        );
        l
    }

    fn store() -> (tempfile::TempDir, TokenStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = TokenStore::at(dir.path().join("gstage").join("tokens.json"));
        (dir, s)
    }

    #[test]
    fn round_trips_with_private_modes() {
        let (_d, s) = store();
        assert_eq!(s.load().unwrap(), None);
        s.save(&sample()).unwrap();
        assert_eq!(s.load().unwrap(), Some(sample()));
        let file_mode = fs::metadata(s.path()).unwrap().permissions().mode() & 0o777;
        let dir_mode = fs::metadata(s.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!((file_mode, dir_mode), (0o600, 0o700));
        assert!(s.remove().unwrap());
        assert!(!s.remove().unwrap());
        assert_eq!(s.load().unwrap(), None);
    }

    #[test]
    fn refuses_a_store_others_can_read_with_the_fix() {
        let (_d, s) = store();
        s.save(&sample()).unwrap();
        fs::set_permissions(s.path(), fs::Permissions::from_mode(0o640)).unwrap();
        let err = s.load().unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("chmod 600 {}", s.path().display())),
            "{msg}"
        );
        assert!(!msg.contains("secret"));
    }

    #[test]
    fn refuses_a_directory_others_can_write() {
        let (_d, s) = store();
        s.save(&sample()).unwrap();
        fs::set_permissions(s.dir(), fs::Permissions::from_mode(0o777)).unwrap();
        let msg = s.load().unwrap_err().to_string();
        assert!(msg.contains("chmod 700"), "{msg}");
    }

    #[test]
    fn refuses_symlinks() {
        let (d, s) = store();
        s.save(&sample()).unwrap();
        let real = d.path().join("elsewhere.json");
        fs::rename(s.path(), &real).unwrap();
        std::os::unix::fs::symlink(&real, s.path()).unwrap();
        assert!(matches!(s.load(), Err(Error::Symlink { .. })));
        assert!(matches!(s.save(&sample()), Err(Error::Symlink { .. })));
    }

    #[test]
    fn a_damaged_store_is_reported_without_its_content() {
        let (_d, s) = store();
        s.save(&sample()).unwrap();
        fs::write(
            s.path(),
            r#"{"tokens": {"x": {"access_token": "AT-secret-2", "#,
        )
        .unwrap();
        let err = s.load().unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert!(!err.to_string().contains("secret"));
        fs::write(s.path(), r#"{"format_version": "AT-secret-3"}"#).unwrap();
        assert!(!s.load().unwrap_err().to_string().contains("secret"));
    }

    #[test]
    fn freshness_keeps_a_minute_of_margin() {
        let t = token("rs", "a", None, 1000);
        assert!(t.is_fresh(939));
        assert!(!t.is_fresh(940));
        assert!(!t.is_fresh(2000));
    }

    #[test]
    fn debug_output_holds_no_token() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn the_lock_is_exclusive_across_handles() {
        let (_d, s) = store();
        let held = s.lock().unwrap();
        let f = OpenOptions::new().read(true).open(s.lock_path()).unwrap();
        assert!(f.try_lock().is_err());
        drop(held);
        assert!(f.try_lock().is_ok());
    }
}
