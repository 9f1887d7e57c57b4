//! How old the ledger's memory is: the engine skips looking a job's tasks up by label only when
//! the ledger provably existed before the job could have been staged.

use chrono::{DateTime, Utc};

use super::{Error, Ledger, Result};

impl Ledger {
    /// When the oldest record still in the ledger was written (`None` for an empty ledger).
    /// Uses the `created_at` index, so it costs the same with a million records as with one.
    pub fn oldest_record_at(&self) -> Result<Option<DateTime<Utc>>> {
        let ms: Option<i64> = self.read(|conn| {
            conn.query_row("SELECT min(created_at) FROM transfers", [], |r| r.get(0))
        })?;
        ms.map(|ms| {
            DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::Corrupt {
                path: self.path.clone(),
                column: "created_at".into(),
                detail: format!("`{ms}` is not a timestamp"),
            })
        })
        .transpose()
    }
}
