//! The ledger's tables and how an older file is brought up to date.
//!
//! `PRAGMA user_version` counts the migrations applied; `PRAGMA application_id` marks the file as
//! a gstage ledger so another program's database is recognised and left alone. A migration is
//! append-only: never edit one that has shipped, add the next.

/// `gstg` in ASCII: marks the file as ours in the SQLite header.
pub(crate) const APPLICATION_ID: i64 = 0x6773_7467;

/// Migration `n` (1-based) takes the file from version `n - 1` to `n`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: transfers and the shared poll lease.
    "CREATE TABLE transfers (
        id                INTEGER PRIMARY KEY,
        cluster           TEXT,
        job_id            TEXT,
        direction         TEXT CHECK (direction IN ('in', 'out')),
        archive_key       TEXT,
        seq               INTEGER NOT NULL CHECK (seq >= 1),
        label             TEXT NOT NULL,
        source_id         TEXT NOT NULL,
        source_name       TEXT,
        destination_id    TEXT NOT NULL,
        destination_name  TEXT,
        items             TEXT NOT NULL,
        submission_id     TEXT UNIQUE,
        task_id           TEXT UNIQUE,
        state             TEXT NOT NULL,
        files             INTEGER NOT NULL DEFAULT 0,
        files_transferred INTEGER NOT NULL DEFAULT 0,
        bytes             INTEGER NOT NULL DEFAULT 0,
        bytes_transferred INTEGER NOT NULL DEFAULT 0,
        created_at        INTEGER NOT NULL,
        submitted_at      INTEGER,
        updated_at        INTEGER NOT NULL,
        completed_at      INTEGER,
        last_error        TEXT,
        user              TEXT NOT NULL,
        array_job_id      TEXT,
        array_task_id     TEXT,
        CHECK ((archive_key IS NULL AND cluster IS NOT NULL AND job_id IS NOT NULL
                    AND direction IS NOT NULL)
            OR (archive_key IS NOT NULL AND job_id IS NULL AND direction IS NULL)),
        UNIQUE (cluster, job_id, direction, seq),
        UNIQUE (archive_key, seq)
    ) STRICT;
    CREATE INDEX transfers_array ON transfers (cluster, array_job_id);
    CREATE INDEX transfers_state ON transfers (state, created_at);
    CREATE INDEX transfers_created ON transfers (created_at);
    CREATE TABLE poll_lease (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        holder       TEXT,
        expires_at   INTEGER NOT NULL DEFAULT 0,
        last_poll_at INTEGER
    ) STRICT;
    INSERT INTO poll_lease (id) VALUES (1);",
];

/// The schema version this build writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}
