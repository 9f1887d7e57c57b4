//! The task ledger: an embedded SQLite record of every Globus task gstage planned or submitted,
//! per job and direction (or per archive key). It is what makes submission exactly-once (the
//! submission id is stored before `POST /transfer`), what `status`/`list`/`wait` read, and how
//! many `gstage wait` processes of one user share a single poll.
//!
//! The life of a transfer, as the engine drives it:
//!
//! 1. [`Ledger::reserve`] with a fresh submission id: the first caller for a (subject, seq) stores
//!    it; every later caller (a retry, a re-run after kill -9, a hook re-run by slurmctld) gets
//!    the stored record back unchanged and re-sends *that* id, so Globus answers `Duplicate`.
//!    Passing no submission id records the transfer as `Planned`; a later `reserve` with an id
//!    upgrades it once.
//! 2. [`Ledger::record_submitted`] with the task id Globus returned (idempotent; a different
//!    task id for the same transfer is refused).
//! 3. [`Ledger::update_status`] / [`Ledger::record_poll`] as Globus reports progress; terminal
//!    states are final. [`Ledger::mark_needs_attention`] when the user must act first.
//!
//! Reading: [`Ledger::get`], [`Ledger::get_by_job`], [`Ledger::get_by_task`],
//! [`Ledger::get_by_key`], [`Ledger::list_by_key_prefix`], [`Ledger::list`],
//! [`Ledger::active_task_ids`].
//!
//! Shared polling: every waiting process calls [`Ledger::try_acquire_poll_lease`] each interval;
//! the one that gets it polls Globus for all [`Ledger::active_task_ids`] and stores the answers
//! with [`Ledger::record_poll`]; the others read the records and [`Ledger::last_poll_at`]. A
//! crashed holder's lease simply expires.
//!
//! Storage (see `docs/ledger.md`): on a node-local disk, WAL with `synchronous=FULL`; on a network
//! filesystem (detected with `statfs`, or forced with [`Mode::Network`]) a rollback journal plus an
//! exclusive lock on `<ledger>.lock` around every write, because WAL's shared-memory index does
//! not work across hosts. Every write is one `BEGIN IMMEDIATE` transaction, retried a bounded
//! number of times on `SQLITE_BUSY`.

mod epoch;
mod error;
mod lease;
mod location;
mod record;
mod rows;
mod schema;
mod transfers;

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

pub use error::{Error, Result};
pub use location::{Mode, Storage, network_filesystem};
pub use record::{
    Collection, Counts, Direction, Filter, NewTransfer, State, StatusUpdate, Subject,
    TransferRecord,
};

/// How a ledger is opened; from the `[ledger]` config section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Local or network strategy, or detect it.
    pub mode: Mode,
    /// How long one call may wait for other processes' locks before failing with
    /// [`Error::Busy`].
    pub busy_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Auto,
            busy_timeout: Duration::from_secs(60),
        }
    }
}

/// Retries after an `SQLITE_BUSY` that SQLite's own busy handler did not absorb (for instance a
/// WAL recovery in progress). Bounded so a wedged ledger fails instead of hanging a hook.
const MAX_BUSY_RETRIES: u32 = 5;

/// An open ledger. One per process is enough; it is `Send` but not `Sync` (wrap it in a mutex to
/// share it between threads).
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    storage: Storage,
    /// The sidecar lock file, only with [`Storage::Network`].
    lock: Option<File>,
    busy_timeout: Duration,
}

/// What a transaction body can fail with: SQLite (retried when busy) or a ledger rule.
pub(crate) enum Failure {
    Sql(rusqlite::Error),
    Ledger(Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Ledger(e)
    }
}

/// Contention that a later attempt can get past. `SQLITE_PROTOCOL` is WAL's "lost the race for
/// the shared-memory index too many times", seen with hundreds of processes.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::FileLockingProtocolFailed
        )
    )
}

/// A short pause that grows with `attempt` and differs between processes, so waiters spread out.
fn backoff(attempt: u32) -> Duration {
    let base = 2u64.saturating_pow(attempt.min(5));
    let nanos = std::process::id().wrapping_mul(2_654_435_761)
        ^ chrono::Utc::now().timestamp_subsec_nanos();
    Duration::from_millis(base + u64::from(nanos) % (base + 1))
}

/// Holds the sidecar lock; unlocks on drop.
struct LockGuard<'a>(Option<&'a File>);

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if let Some(file) = self.0 {
            // Closing the descriptor would also release it; an unlock error leaves nothing to do.
            let _ = file.unlock();
        }
    }
}

/// Takes the sidecar lock (network storage only), waiting until `deadline` at most.
fn take_lock<'a>(
    lock: Option<&'a File>,
    exclusive: bool,
    path: &Path,
    started: Instant,
    timeout: Duration,
) -> Result<LockGuard<'a>> {
    let Some(file) = lock else {
        return Ok(LockGuard(None));
    };
    let mut attempt = 0u32;
    loop {
        let tried = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match tried {
            Ok(()) => return Ok(LockGuard(Some(file))),
            Err(TryLockError::WouldBlock) => {
                if started.elapsed() >= timeout {
                    return Err(Error::Busy {
                        path: path.to_path_buf(),
                        waited: started.elapsed(),
                    });
                }
                attempt = attempt.saturating_add(1);
                std::thread::sleep(backoff(attempt.min(3)));
            }
            Err(TryLockError::Error(source)) => {
                return Err(Error::Io {
                    action: "lock",
                    path: location::lock_path(path),
                    source,
                });
            }
        }
    }
}

impl Ledger {
    /// `$XDG_STATE_HOME/gstage/ledger.sqlite`, else `~/.local/state/gstage/ledger.sqlite`.
    ///
    /// `home` should come from the passwd entry (a hook may have dropped privileges and still
    /// carry another user's `$HOME`); a relative `xdg_state_home` is ignored, as the XDG spec
    /// requires. The caller checks `GSTAGE_LEDGER` (and the config) first.
    pub fn default_path(home: &Path, xdg_state_home: Option<&Path>) -> PathBuf {
        location::default_path(home, xdg_state_home)
    }

    /// Opens (creating if needed) the ledger at `path` with default [`Options`].
    pub fn open(path: &Path) -> Result<Ledger> {
        Ledger::open_with(path, Options::default())
    }

    /// Opens (creating if needed) the ledger at `path`.
    ///
    /// Creates missing directories 0700 and the file 0600; refuses a symlinked file or directory
    /// and ones owned by another user; refuses a file that is not a gstage ledger or is newer than
    /// this build; migrates an older one.
    pub fn open_with(path: &Path, options: Options) -> Result<Ledger> {
        if path.file_name().is_none() {
            return Err(Error::Invalid(format!(
                "ledger path `{}` names no file; give a file such as `ledger.sqlite`",
                path.display()
            )));
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        location::prepare_dir(dir)?;
        let storage = location::storage_for(dir, options.mode)?;
        drop(location::open_private_file(path)?);
        let lock = match storage {
            Storage::Network { .. } => {
                Some(location::open_private_file(&location::lock_path(path))?)
            }
            Storage::Local => None,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(|source| Error::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let mut ledger = Ledger {
            conn,
            path: path.to_path_buf(),
            storage,
            lock,
            busy_timeout: options.busy_timeout,
        };
        ledger.configure()?;
        ledger.migrate()?;
        Ok(ledger)
    }

    /// The file this ledger lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The storage strategy in use (for `gstage doctor`).
    pub fn storage(&self) -> Storage {
        self.storage
    }

    /// SQLite's own consistency check; empty when the file is sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let lines = stmt
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(lines.into_iter().filter(|l| l != "ok").collect())
        })
    }

    /// Connection settings. The busy timeout comes first: even `journal_mode` may need a lock
    /// another process holds.
    fn configure(&mut self) -> Result<()> {
        let started = Instant::now();
        self.conn
            .busy_timeout(self.busy_timeout)
            .map_err(|e| self.sql_error(e, started))?;
        let journal = match self.storage {
            Storage::Local => "WAL",
            Storage::Network { .. } => "DELETE",
        };
        let mut attempt = 0;
        loop {
            let outcome = {
                let _guard = take_lock(
                    self.lock.as_ref(),
                    true,
                    &self.path,
                    started,
                    self.busy_timeout,
                )?;
                self.conn
                    .pragma_update_and_check(None, "journal_mode", journal, |row| {
                        row.get::<_, String>(0)
                    })
                    .and_then(|_| {
                        self.conn.execute_batch(
                            "PRAGMA synchronous = FULL; PRAGMA trusted_schema = OFF;",
                        )
                    })
            };
            match outcome {
                Err(e) if is_busy(&e) && self.may_retry(attempt, started) => {
                    attempt += 1;
                    std::thread::sleep(backoff(attempt));
                }
                other => return other.map_err(|e| self.sql_error(e, started)),
            }
        }
    }

    /// Checks the file is ours and brings its schema up to date.
    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let (app_id, version, objects) = self.read(|conn| {
            let app_id: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            let objects: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
            Ok((app_id, version, objects))
        })?;
        check_identity(&path, app_id, version, objects)?;
        if version == schema::current_version() {
            return Ok(());
        }
        self.write(|tx| {
            let app_id: i64 = tx.pragma_query_value(None, "application_id", |r| r.get(0))?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            let objects: i64 =
                tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
            check_identity(&path, app_id, version, objects)?;
            let start = usize::try_from(version).unwrap_or(0);
            for (done, sql) in schema::MIGRATIONS.iter().enumerate().skip(start) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", done as i64 + 1)?;
            }
            tx.pragma_update(None, "application_id", schema::APPLICATION_ID)?;
            Ok(())
        })
    }

    fn may_retry(&self, attempt: u32, started: Instant) -> bool {
        attempt < MAX_BUSY_RETRIES && started.elapsed() < self.busy_timeout
    }

    /// Runs `body` as one `BEGIN IMMEDIATE` transaction (under the sidecar lock on network
    /// storage), retrying a bounded number of times when busy. A body that fails rolls back.
    pub(crate) fn write<T>(
        &mut self,
        mut body: impl FnMut(&rusqlite::Transaction<'_>) -> Result<T, Failure>,
    ) -> Result<T> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let outcome = {
                let _guard = take_lock(
                    self.lock.as_ref(),
                    true,
                    &self.path,
                    started,
                    self.busy_timeout,
                )?;
                run_transaction(&mut self.conn, &mut body)
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(Failure::Sql(e)) if is_busy(&e) && self.may_retry(attempt, started) => {
                    attempt += 1;
                    std::thread::sleep(backoff(attempt));
                }
                Err(Failure::Sql(e)) => return Err(self.sql_error(e, started)),
                Err(Failure::Ledger(e)) => return Err(e),
            }
        }
    }

    /// Runs a read (under a shared sidecar lock on network storage), retrying when busy.
    pub(crate) fn read<T>(
        &self,
        mut body: impl FnMut(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let outcome = {
                let _guard = take_lock(
                    self.lock.as_ref(),
                    false,
                    &self.path,
                    started,
                    self.busy_timeout,
                )?;
                body(&self.conn)
            };
            match outcome {
                Err(e) if is_busy(&e) && self.may_retry(attempt, started) => {
                    attempt += 1;
                    std::thread::sleep(backoff(attempt));
                }
                other => return other.map_err(|e| self.sql_error(e, started)),
            }
        }
    }

    /// Names SQLite's failures in the user's terms.
    fn sql_error(&self, e: rusqlite::Error, started: Instant) -> Error {
        let path = self.path.clone();
        if let rusqlite::Error::FromSqlConversionFailure(idx, _, detail) = &e {
            return Error::Corrupt {
                path,
                column: rows::COLUMN_NAMES
                    .get(*idx)
                    .map_or_else(|| format!("#{idx}"), |c| (*c).to_string()),
                detail: detail.to_string(),
            };
        }
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Error::NotALedger {
                path,
                reason: "it is not an SQLite database".into(),
            },
            Some(ErrorCode::DatabaseCorrupt) => Error::NotALedger {
                path,
                reason: "SQLite reports it damaged".into(),
            },
            Some(
                ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::FileLockingProtocolFailed,
            ) => Error::Busy {
                path,
                waited: started.elapsed(),
            },
            _ => Error::Sqlite { path, source: e },
        }
    }
}

fn run_transaction<T>(
    conn: &mut Connection,
    body: &mut impl FnMut(&rusqlite::Transaction<'_>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = body(&tx)?;
    crate::crashpoint::reached("ledger/before-commit");
    tx.commit()?;
    crate::crashpoint::reached("ledger/after-commit");
    Ok(value)
}

/// Refuses files that are not gstage ledgers or are newer than this build.
fn check_identity(path: &Path, app_id: i64, version: i64, objects: i64) -> Result<(), Error> {
    if app_id != 0 && app_id != schema::APPLICATION_ID {
        return Err(Error::NotALedger {
            path: path.to_path_buf(),
            reason: format!("it belongs to another program (application id {app_id:#x})"),
        });
    }
    if version == 0 && objects > 0 && app_id != schema::APPLICATION_ID {
        return Err(Error::NotALedger {
            path: path.to_path_buf(),
            reason: "it is another program's SQLite database".into(),
        });
    }
    if version > schema::current_version() {
        return Err(Error::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported: schema::current_version(),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use uuid::Uuid;

    /// A fresh ledger in its own temporary directory (kept alive by the returned guard).
    pub(crate) fn fresh(mode: Mode) -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ledger = Ledger::open_with(
            &dir.path().join("state/gstage/ledger.sqlite"),
            Options {
                mode,
                ..Options::default()
            },
        )
        .expect("open ledger");
        (dir, ledger)
    }

    pub(crate) fn job(job_id: &str, direction: Direction, seq: u32) -> NewTransfer {
        NewTransfer {
            subject: Subject::Job {
                cluster: "grex".into(),
                job_id: job_id.into(),
                direction,
            },
            seq,
            label: format!("gstage grex {job_id} {direction} {seq}"),
            source: Collection {
                id: Uuid::from_u128(1),
                display_name: Some("Alliance Cedar".into()),
            },
            destination: Collection {
                id: Uuid::from_u128(2),
                display_name: None,
            },
            items: r#"[{"source":"/a","destination":"/b"}]"#.into(),
            submission_id: Some(Uuid::new_v4()),
            user: "alice".into(),
            array_job_id: None,
            array_task_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::fresh as ledger;
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn open_creates_private_directory_and_file() {
        let (dir, ledger) = ledger(Mode::Auto);
        let db = dir.path().join("state/gstage/ledger.sqlite");
        assert_eq!(ledger.path(), db);
        assert_eq!(mode_of(&db), 0o600);
        assert_eq!(mode_of(&dir.path().join("state/gstage")), 0o700);
        assert_eq!(mode_of(&dir.path().join("state")), 0o700);
        assert!(ledger.integrity_problems().expect("check").is_empty());
    }

    #[test]
    fn local_mode_uses_wal_and_network_mode_a_rollback_journal_with_a_lock_file() {
        let (dir, ledger) = ledger(Mode::Local);
        assert_eq!(ledger.storage(), Storage::Local);
        let mode: String = ledger
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("journal mode");
        assert_eq!(mode, "wal");
        drop(ledger);
        drop(dir);

        let (dir, ledger) = super::test_support::fresh(Mode::Network);
        assert_eq!(
            ledger.storage(),
            Storage::Network {
                filesystem: "forced"
            }
        );
        let mode: String = ledger
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("journal mode");
        assert_eq!(mode, "delete");
        let lock = dir.path().join("state/gstage/ledger.sqlite.lock");
        assert_eq!(mode_of(&lock), 0o600);
    }

    #[test]
    fn both_modes_sync_fully() {
        for mode in [Mode::Local, Mode::Network] {
            let (_dir, ledger) = ledger(mode);
            let sync: i64 = ledger
                .conn
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .expect("synchronous");
            assert_eq!(sync, 2, "synchronous=FULL in {mode:?}");
        }
    }

    #[test]
    fn a_wal_ledger_opened_in_network_mode_leaves_wal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        let local = Options {
            mode: Mode::Local,
            ..Options::default()
        };
        drop(Ledger::open_with(&path, local).expect("local open"));
        let network = Options {
            mode: Mode::Network,
            ..Options::default()
        };
        let ledger = Ledger::open_with(&path, network).expect("network open");
        let mode: String = ledger
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("journal mode");
        assert_eq!(mode, "delete");
    }

    #[test]
    fn schema_version_and_application_id_are_set_and_reopen_is_a_no_op() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        drop(Ledger::open(&path).expect("first open"));
        let ledger = Ledger::open(&path).expect("second open");
        let version: i64 = ledger
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        let app: i64 = ledger
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .expect("application id");
        assert_eq!(version, schema::current_version());
        assert_eq!(app, schema::APPLICATION_ID);
    }

    #[test]
    fn refuses_a_symlinked_ledger_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.sqlite");
        drop(Ledger::open(&real).expect("real ledger"));
        let link = dir.path().join("ledger.sqlite");
        symlink(&real, &link).expect("symlink");
        let err = Ledger::open(&link).expect_err("a symlink must be refused");
        assert!(matches!(err, Error::Symlink { kind: "file", .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("symbolic link") && text.contains("GSTAGE_LEDGER"));
    }

    #[test]
    fn refuses_a_symlinked_ledger_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("real")).expect("mkdir");
        symlink(dir.path().join("real"), dir.path().join("gstage")).expect("symlink");
        let err = Ledger::open(&dir.path().join("gstage/ledger.sqlite"))
            .expect_err("a symlinked directory must be refused");
        assert!(
            matches!(
                err,
                Error::Symlink {
                    kind: "directory",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            !dir.path().join("real/ledger.sqlite").exists(),
            "nothing may be created through the link"
        );
    }

    #[test]
    fn refuses_a_symlinked_lock_file_in_network_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        symlink(
            dir.path().join("elsewhere"),
            dir.path().join("ledger.sqlite.lock"),
        )
        .expect("symlink");
        let err = Ledger::open_with(
            &path,
            Options {
                mode: Mode::Network,
                ..Options::default()
            },
        )
        .expect_err("a symlinked lock file must be refused");
        assert!(matches!(err, Error::Symlink { .. }), "{err}");
    }

    #[test]
    fn refuses_a_file_owned_by_someone_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        drop(Ledger::open(&path).expect("ledger"));
        if nix::unistd::geteuid().is_root() {
            nix::unistd::chown(&path, Some(nix::unistd::Uid::from_raw(65534)), None)
                .expect("chown to nobody");
            let err = Ledger::open(&path).expect_err("a foreign file must be refused");
            match err {
                Error::NotOwned { owner, uid, .. } => assert_eq!((owner, uid), (65534, 0)),
                other => panic!("expected NotOwned, got {other}"),
            }
        } else {
            // Without root we cannot give a file away; a root-owned directory proves the same rule.
            let err = Ledger::open(Path::new("/ledger-of-someone-else.sqlite"))
                .expect_err("a directory owned by root must be refused");
            assert!(matches!(err, Error::NotOwned { owner: 0, .. }), "{err}");
        }
    }

    #[test]
    fn refuses_a_directory_owned_by_someone_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("gstage");
        std::fs::create_dir(&sub).expect("mkdir");
        let path = if nix::unistd::geteuid().is_root() {
            nix::unistd::chown(&sub, Some(nix::unistd::Uid::from_raw(65534)), None)
                .expect("chown to nobody");
            sub.join("ledger.sqlite")
        } else {
            PathBuf::from("/ledger.sqlite")
        };
        let err = Ledger::open(&path).expect_err("a foreign directory must be refused");
        assert!(matches!(err, Error::NotOwned { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("mv ") && text.contains("GSTAGE_LEDGER"),
            "{text}"
        );
    }

    #[test]
    fn a_garbage_file_is_named_with_the_fix_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        let mut file = std::fs::File::create(&path).expect("create");
        file.write_all(&[0x5a; 8192]).expect("write");
        drop(file);
        for mode in [Mode::Local, Mode::Network] {
            let err = Ledger::open_with(
                &path,
                Options {
                    mode,
                    ..Options::default()
                },
            )
            .expect_err("garbage must be refused");
            assert!(matches!(err, Error::NotALedger { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains("move it aside"), "{text}");
        }
    }

    #[test]
    fn another_programs_database_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        let other = Connection::open(&path).expect("sqlite");
        other
            .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .expect("other schema");
        drop(other);
        let err = Ledger::open(&path).expect_err("a foreign database must be refused");
        assert!(matches!(err, Error::NotALedger { .. }), "{err}");
        let other = Connection::open(&path).expect("sqlite");
        let body: String = other
            .query_row("SELECT body FROM notes", [], |r| r.get(0))
            .expect("untouched");
        assert_eq!(body, "mine");
    }

    #[test]
    fn a_newer_schema_is_refused_with_the_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        drop(Ledger::open(&path).expect("ledger"));
        let conn = Connection::open(&path).expect("sqlite");
        conn.pragma_update(None, "user_version", 99).expect("bump");
        drop(conn);
        let err = Ledger::open(&path).expect_err("newer schema");
        match err {
            Error::TooNew {
                found, supported, ..
            } => assert_eq!((found, supported), (99, schema::current_version())),
            other => panic!("expected TooNew, got {other}"),
        }
    }

    #[test]
    fn a_path_without_a_file_name_is_invalid() {
        let err = Ledger::open(Path::new("/")).expect_err("no file name");
        assert!(matches!(err, Error::Invalid(_)), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn an_unreadable_stored_value_is_reported_as_corrupt() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let rec = ledger
            .reserve(&test_support::job("7", Direction::In, 1))
            .expect("reserve");
        ledger
            .conn
            .execute(
                "UPDATE transfers SET source_id = 'not-a-uuid' WHERE id = ?1",
                [rec.id],
            )
            .expect("damage");
        let err = ledger.get(rec.id).expect_err("damaged value");
        match &err {
            Error::Corrupt { column, .. } => assert_eq!(column, "source_id"),
            other => panic!("expected Corrupt, got {other}"),
        }
    }
}
