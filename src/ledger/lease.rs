//! The shared-poll lease: however many `gstage wait` processes one user runs, one of them polls
//! Globus per interval and the rest read what it stored. The lease is a single row with a
//! holder and an expiry, so a holder killed mid-poll stops blocking others once its lease runs out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::rows::time_to_sql;
use super::transfers::now;
use super::{Error, Ledger, Result};

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

impl Ledger {
    /// Takes (or renews) the poll lease for `ttl` if it is free, expired or already `holder`'s.
    /// Returns whether `holder` now holds it. `holder` should be unique per process
    /// (`host:pid:start-time`); clocks of hosts sharing a ledger should agree to well within `ttl`.
    pub fn try_acquire_poll_lease(&mut self, holder: &str, ttl: Duration) -> Result<bool> {
        self.try_acquire_poll_lease_at(holder, ttl, now())
    }

    pub(crate) fn try_acquire_poll_lease_at(
        &mut self,
        holder: &str,
        ttl: Duration,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        if holder.is_empty() {
            return Err(Error::Invalid("a poll lease holder needs a name".into()));
        }
        let at = time_to_sql(at);
        let expires = at.saturating_add(millis(ttl));
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "INSERT INTO poll_lease (id, holder, expires_at) VALUES (1, ?1, ?2)
                     ON CONFLICT (id) DO UPDATE
                         SET holder = excluded.holder, expires_at = excluded.expires_at
                         WHERE poll_lease.holder IS NULL OR poll_lease.holder = excluded.holder
                             OR poll_lease.expires_at <= ?3",
                )?
                .execute(params![holder, expires, at])?;
            Ok(changed == 1)
        })
    }

    /// Gives the lease up (at the end of `gstage wait`) so another waiter can poll at once.
    /// Does nothing if `holder` does not hold it.
    pub fn release_poll_lease(&mut self, holder: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE poll_lease SET holder = NULL, expires_at = 0 WHERE id = 1 AND holder = ?1",
            )?
            .execute([holder])?;
            Ok(())
        })
    }

    /// When the lease holder last stored a poll ([`Ledger::record_poll`]); waiters that do not
    /// hold the lease read records newer than this instead of polling themselves.
    pub fn last_poll_at(&self) -> Result<Option<DateTime<Utc>>> {
        let ms: Option<i64> = self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT last_poll_at FROM poll_lease WHERE id = 1")?
                .query_row([], |row| row.get::<_, Option<i64>>(0))
                .optional()?
                .flatten())
        })?;
        ms.map(|ms| {
            DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::Corrupt {
                path: self.path.clone(),
                column: "last_poll_at".into(),
                detail: format!("`{ms}` is not a timestamp"),
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::fresh as ledger;
    use super::super::{Counts, Mode, State, StatusUpdate};
    use super::*;
    use uuid::Uuid;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn one_holder_at_a_time_and_the_holder_renews() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let t0 = now();
        assert!(ledger.try_acquire_poll_lease_at("a", MINUTE, t0).unwrap());
        assert!(!ledger.try_acquire_poll_lease_at("b", MINUTE, t0).unwrap());
        let later = t0 + chrono::Duration::seconds(50);
        assert!(
            ledger
                .try_acquire_poll_lease_at("a", MINUTE, later)
                .unwrap()
        );
        // Renewed at +50 s, so at +100 s it still belongs to `a`.
        let t100 = t0 + chrono::Duration::seconds(100);
        assert!(!ledger.try_acquire_poll_lease_at("b", MINUTE, t100).unwrap());
    }

    #[test]
    fn a_crashed_holders_lease_expires() {
        let (_dir, mut ledger) = ledger(Mode::Network);
        let t0 = now();
        assert!(
            ledger
                .try_acquire_poll_lease_at("crashed", MINUTE, t0)
                .unwrap()
        );
        let before = t0 + chrono::Duration::seconds(59);
        assert!(
            !ledger
                .try_acquire_poll_lease_at("b", MINUTE, before)
                .unwrap()
        );
        let after = t0 + chrono::Duration::seconds(60);
        assert!(
            ledger
                .try_acquire_poll_lease_at("b", MINUTE, after)
                .unwrap()
        );
    }

    #[test]
    fn release_frees_the_lease_only_for_its_holder() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        assert!(ledger.try_acquire_poll_lease("a", MINUTE).unwrap());
        ledger.release_poll_lease("b").unwrap();
        assert!(!ledger.try_acquire_poll_lease("b", MINUTE).unwrap());
        ledger.release_poll_lease("a").unwrap();
        assert!(ledger.try_acquire_poll_lease("b", MINUTE).unwrap());
    }

    #[test]
    fn an_empty_holder_is_invalid() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        assert!(matches!(
            ledger.try_acquire_poll_lease("", MINUTE),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn last_poll_at_follows_record_poll() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        assert_eq!(ledger.last_poll_at().unwrap(), None);
        let before = now();
        let update = StatusUpdate {
            state: State::Active,
            counts: Counts::default(),
            last_error: None,
            completed_at: None,
        };
        let updated = ledger
            .record_poll(&[(Uuid::new_v4(), update)])
            .expect("record poll");
        assert_eq!(updated, 0, "an unknown task is skipped");
        let polled = ledger.last_poll_at().unwrap().expect("poll time");
        assert!(polled >= before - chrono::Duration::milliseconds(1));
    }
}
