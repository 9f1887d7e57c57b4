//! Why a ledger call failed, worded so the user knows what to do next.

use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

/// Everything the ledger can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A directory or file around the ledger could not be created, opened or inspected.
    #[error("cannot {action} `{path}`: {source}; check that the directory is writable by you")]
    Io {
        /// What was being attempted (`create directory`, `open`, `inspect`).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The operating system's answer.
        #[source]
        source: std::io::Error,
    },

    /// The ledger file, its lock file or its directory is a symbolic link.
    #[error(
        "`{path}` is a symbolic link; gstage does not follow links for its ledger so nobody can \
         redirect your records: point `GSTAGE_LEDGER` (or the `[ledger] path` setting) at the real \
         location, or replace the link with a plain {kind}"
    )]
    Symlink {
        /// The link.
        path: PathBuf,
        /// `file` or `directory`, for the fix.
        kind: &'static str,
    },

    /// The ledger file or its directory belongs to another user.
    #[error(
        "`{path}` is owned by uid {owner}, not by you (uid {uid}); move it aside \
         (`mv {path} {path}.old`) or set `GSTAGE_LEDGER` to a path you own"
    )]
    NotOwned {
        /// The offending path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective uid of this process.
        uid: u32,
    },

    /// The ledger file or its directory can be changed by other users.
    #[error(
        "`{path}` has mode {mode:04o}, so other users can change your ledger {kind}; \
         fix it with `chmod {fix} {path}`, or set `GSTAGE_LEDGER` to a private place"
    )]
    TooOpen {
        /// The offending path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// `file` or `directory`, for the message.
        kind: &'static str,
        /// The mode to set.
        fix: &'static str,
    },

    /// The file exists but is not a gstage ledger (another program's database, or damaged).
    #[error(
        "`{path}` is not a gstage ledger ({reason}); move it aside (`mv {path} {path}.bad`) and \
         run the command again to start a fresh ledger"
    )]
    NotALedger {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },

    /// The ledger was written by a newer gstage whose schema this one does not know.
    #[error(
        "ledger `{path}` has schema version {found}, newer than this gstage understands \
         (up to {supported}); use the newer gstage, or set `GSTAGE_LEDGER` to another file"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// Other gstage processes kept the ledger locked for longer than the configured wait.
    #[error(
        "ledger `{path}` stayed locked for {waited:?}; another gstage process may be stuck \
         (`fuser -v {path}` shows who holds it): retry, or raise the ledger busy timeout"
    )]
    Busy {
        /// The file.
        path: PathBuf,
        /// How long this process waited in total.
        waited: Duration,
    },

    /// SQLite reported an error not covered above.
    #[error("ledger `{path}`: {source}; if this repeats, run `gstage doctor`")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },

    /// A stored value could not be read back (the file was edited or damaged).
    #[error(
        "ledger `{path}` holds an unreadable value in column `{column}`: {detail}; move the file \
         aside (`mv {path} {path}.bad`) to start a fresh ledger"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The column whose value is bad.
        column: String,
        /// What was wrong with it.
        detail: String,
    },

    /// No transfer has this ledger id.
    #[error("no transfer with ledger id `{0}`; `gstage list` shows the recorded transfers")]
    NoSuchId(i64),

    /// No transfer has this Globus task id.
    #[error("no transfer with task id `{0}` in the ledger; `gstage list` shows the recorded tasks")]
    NoSuchTask(Uuid),

    /// The transfer was already submitted under another task id.
    #[error(
        "transfer `{id}` is already recorded with task `{existing}`, not `{given}`; \
         this would be a second Globus task for one planned transfer, so it was not recorded"
    )]
    TaskConflict {
        /// The ledger id of the transfer.
        id: i64,
        /// The task id already recorded.
        existing: Uuid,
        /// The task id this call tried to record.
        given: Uuid,
    },

    /// A submission id or task id is already used by another planned transfer.
    #[error(
        "`{value}` is already recorded for another transfer; submission and task ids must be \
         unique per planned transfer, so reserve a fresh submission id"
    )]
    IdInUse {
        /// The duplicated id.
        value: Uuid,
    },

    /// The caller passed a value the ledger cannot store.
    #[error("invalid ledger input: {0}")]
    Invalid(String),
}

impl Error {
    /// The process exit code DESIGN.md assigns to this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NoSuchId(_) | Error::NoSuchTask(_) => 3,
            Error::Invalid(_) => 2,
            _ => 1,
        }
    }
}

/// Results of ledger calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
