//! Conversions between stored columns and record types. Every value read back is checked, so a
//! hand-edited or damaged file yields [`Error::Corrupt`](super::Error::Corrupt), never a panic.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use rusqlite::Row;
use rusqlite::types::Type;
use uuid::Uuid;

use super::record::{Collection, Counts, Direction, State, Subject, TransferRecord};

/// The `transfers` columns in the order [`from_row`] reads them.
pub(crate) const COLUMN_NAMES: [&str; 27] = [
    "id",
    "cluster",
    "job_id",
    "direction",
    "archive_key",
    "seq",
    "label",
    "source_id",
    "source_name",
    "destination_id",
    "destination_name",
    "items",
    "submission_id",
    "task_id",
    "state",
    "files",
    "files_transferred",
    "bytes",
    "bytes_transferred",
    "created_at",
    "submitted_at",
    "updated_at",
    "completed_at",
    "last_error",
    "user",
    "array_job_id",
    "array_task_id",
];

/// `COLUMN_NAMES` joined for a `SELECT`.
pub(crate) static COLUMNS: LazyLock<String> = LazyLock::new(|| COLUMN_NAMES.join(", "));

fn bad(idx: usize, detail: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, detail.into())
}

fn uuid_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Uuid>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| Uuid::parse_str(&t).map_err(|e| bad(idx, format!("`{t}` is not a UUID: {e}"))))
        .transpose()
}

fn required<T>(value: Option<T>, idx: usize) -> rusqlite::Result<T> {
    value.ok_or_else(|| bad(idx, "missing value".into()))
}

fn time_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let ms: Option<i64> = row.get(idx)?;
    ms.map(|ms| {
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| bad(idx, format!("`{ms}` is not a timestamp")))
    })
    .transpose()
}

fn count_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let n: i64 = row.get(idx)?;
    u64::try_from(n).map_err(|_| bad(idx, format!("`{n}` is not a count")))
}

/// Reads one `transfers` row selected with [`COLUMNS`].
pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<TransferRecord> {
    let cluster: Option<String> = row.get(1)?;
    let job_id: Option<String> = row.get(2)?;
    let direction: Option<String> = row.get(3)?;
    let archive_key: Option<String> = row.get(4)?;
    let subject = match archive_key {
        Some(key) => Subject::Key(key),
        None => {
            let direction = required(direction, 3)?;
            Subject::Job {
                cluster: required(cluster, 1)?,
                job_id: required(job_id, 2)?,
                direction: direction.parse::<Direction>().map_err(|e| bad(3, e))?,
            }
        }
    };
    let seq: i64 = row.get(5)?;
    let state: String = row.get(14)?;
    Ok(TransferRecord {
        id: row.get(0)?,
        subject,
        seq: u32::try_from(seq).map_err(|_| bad(5, format!("`{seq}` is not a sequence number")))?,
        label: row.get(6)?,
        source: Collection {
            id: required(uuid_at(row, 7)?, 7)?,
            display_name: row.get(8)?,
        },
        destination: Collection {
            id: required(uuid_at(row, 9)?, 9)?,
            display_name: row.get(10)?,
        },
        items: row.get(11)?,
        submission_id: uuid_at(row, 12)?,
        task_id: uuid_at(row, 13)?,
        state: state.parse::<State>().map_err(|e| bad(14, e))?,
        counts: Counts {
            files: count_at(row, 15)?,
            files_transferred: count_at(row, 16)?,
            bytes: count_at(row, 17)?,
            bytes_transferred: count_at(row, 18)?,
        },
        created_at: required(time_at(row, 19)?, 19)?,
        submitted_at: time_at(row, 20)?,
        updated_at: required(time_at(row, 21)?, 21)?,
        completed_at: time_at(row, 22)?,
        last_error: row.get(23)?,
        user: row.get(24)?,
        array_job_id: row.get(25)?,
        array_task_id: row.get(26)?,
    })
}

/// A count as SQLite stores it (saturating: no real transfer reaches 2^63 bytes).
pub(crate) fn count_to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Milliseconds since the epoch, as stored.
pub(crate) fn time_to_sql(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The stored form of a UUID (lower-case, hyphenated: what Globus prints).
pub(crate) fn uuid_to_sql(id: Uuid) -> String {
    id.hyphenated().to_string()
}
