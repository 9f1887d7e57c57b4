//! Recording planned transfers and what Globus says about them, and reading them back.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};
use uuid::Uuid;

use super::record::{Direction, Filter, NewTransfer, State, StatusUpdate, Subject, TransferRecord};
use super::rows::{COLUMNS, count_to_sql, from_row, time_to_sql, uuid_to_sql};
use super::{Error, Failure, Ledger, Result};

/// States whose task Globus may still change, so a poll must ask about them.
const OPEN_STATES: &str = "('SUBMITTED', 'ACTIVE', 'INACTIVE', 'NEEDS_ATTENTION')";

pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The subject as the four nullable columns that identify it.
fn subject_columns(subject: &Subject) -> [Option<&str>; 4] {
    match subject {
        Subject::Job {
            cluster,
            job_id,
            direction,
        } => [
            Some(cluster.as_str()),
            Some(job_id.as_str()),
            Some(direction.as_str()),
            None,
        ],
        Subject::Key(key) => [None, None, None, Some(key.as_str())],
    }
}

fn validate(new: &NewTransfer) -> Result<()> {
    if new.seq == 0 {
        return Err(Error::Invalid(
            "transfer sequence numbers start at 1".into(),
        ));
    }
    let empty = match &new.subject {
        Subject::Job {
            cluster, job_id, ..
        } => cluster.is_empty() || job_id.is_empty(),
        Subject::Key(key) => key.is_empty(),
    };
    if empty {
        return Err(Error::Invalid(
            "a transfer needs a cluster and job id, or a non-empty key".into(),
        ));
    }
    Ok(())
}

fn select_by_id(tx: &Transaction<'_>, id: i64) -> rusqlite::Result<Option<TransferRecord>> {
    tx.prepare_cached(&format!("SELECT {} FROM transfers WHERE id = ?1", *COLUMNS))?
        .query_row([id], from_row)
        .optional()
}

/// Turns a UNIQUE violation on a caller-supplied id into the ledger's own error.
fn unique_as_in_use(e: rusqlite::Error, value: Uuid) -> Failure {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
        Failure::Ledger(Error::IdInUse { value })
    } else {
        Failure::Sql(e)
    }
}

/// Applies one Globus status to the task's record; `None` when no record has that task id.
/// Terminal states are final: a late or stale poll may refresh counts but never revive a task.
fn apply_status(
    tx: &Transaction<'_>,
    task_id: Uuid,
    update: &StatusUpdate,
    at: DateTime<Utc>,
) -> Result<Option<TransferRecord>, Failure> {
    let current = tx
        .prepare_cached(&format!(
            "SELECT {} FROM transfers WHERE task_id = ?1",
            *COLUMNS
        ))?
        .query_row([uuid_to_sql(task_id)], from_row)
        .optional()?;
    let Some(current) = current else {
        return Ok(None);
    };
    let (state, last_error) = if current.state.is_terminal() {
        (
            current.state,
            update.last_error.clone().or(current.last_error.clone()),
        )
    } else {
        (update.state, update.last_error.clone())
    };
    let completed_at = if state.is_terminal() {
        Some(current.completed_at.or(update.completed_at).unwrap_or(at))
    } else {
        None
    };
    tx.prepare_cached(
        "UPDATE transfers SET state = ?2, files = ?3, files_transferred = ?4, bytes = ?5,
             bytes_transferred = ?6, last_error = ?7, completed_at = ?8, updated_at = ?9
         WHERE id = ?1",
    )?
    .execute(params![
        current.id,
        state.as_str(),
        count_to_sql(update.counts.files),
        count_to_sql(update.counts.files_transferred),
        count_to_sql(update.counts.bytes),
        count_to_sql(update.counts.bytes_transferred),
        last_error,
        completed_at.map(time_to_sql),
        time_to_sql(at),
    ])?;
    Ok(select_by_id(tx, current.id)?)
}

impl Ledger {
    /// Stores a planned transfer and its submission id, exactly once per (subject, seq).
    ///
    /// The first caller's record wins: later calls — concurrent processes, retries, re-runs after
    /// a crash — get the stored record back unchanged (with the *first* submission id), so the
    /// engine always re-sends the id that may already have reached Globus. With
    /// `submission_id: None` the transfer is recorded as `Planned`; a later call with an id turns
    /// a still-unreserved record `Reserved`. The stored plan is not compared with `new`: the
    /// caller decides what a changed plan means.
    pub fn reserve(&mut self, new: &NewTransfer) -> Result<TransferRecord> {
        validate(new)?;
        let at = time_to_sql(now());
        let [cluster, job_id, direction, key] = subject_columns(&new.subject);
        let submission = new.submission_id.map(uuid_to_sql);
        let state = if new.submission_id.is_some() {
            State::Reserved
        } else {
            State::Planned
        };
        self.write(|tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO transfers (cluster, job_id, direction, archive_key, seq, label,
                         source_id, source_name, destination_id, destination_name, items,
                         submission_id, state, created_at, updated_at, user, array_job_id,
                         array_task_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14,
                         ?15, ?16, ?17)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    cluster,
                    job_id,
                    direction,
                    key,
                    new.seq,
                    new.label,
                    uuid_to_sql(new.source.id),
                    new.source.display_name,
                    uuid_to_sql(new.destination.id),
                    new.destination.display_name,
                    new.items,
                    submission,
                    state.as_str(),
                    at,
                    new.user,
                    new.array_job_id,
                    new.array_task_id,
                ])?;
            if inserted == 0
                && let Some(id) = new.submission_id
            {
                tx.prepare_cached(
                    "UPDATE transfers SET submission_id = ?6, state = 'RESERVED', updated_at = ?7
                     WHERE cluster IS ?1 AND job_id IS ?2 AND direction IS ?3
                         AND archive_key IS ?4 AND seq = ?5
                         AND submission_id IS NULL AND state = 'PLANNED'",
                )?
                .execute(params![
                    cluster, job_id, direction, key, new.seq, submission, at
                ])
                .map_err(|e| unique_as_in_use(e, id))?;
            }
            let stored = tx
                .prepare_cached(&format!(
                    "SELECT {} FROM transfers
                     WHERE cluster IS ?1 AND job_id IS ?2 AND direction IS ?3
                         AND archive_key IS ?4 AND seq = ?5",
                    *COLUMNS
                ))?
                .query_row(params![cluster, job_id, direction, key, new.seq], from_row)
                .optional()?;
            match (stored, new.submission_id) {
                (Some(record), _) => Ok(record),
                // The insert was skipped because another transfer holds this submission id.
                (None, Some(value)) => Err(Failure::Ledger(Error::IdInUse { value })),
                (None, None) => Err(Failure::Sql(rusqlite::Error::QueryReturnedNoRows)),
            }
        })
    }

    /// Records the task id Globus returned for a reserved transfer.
    ///
    /// Idempotent for the same task id; a different task id for an already submitted transfer is
    /// refused ([`Error::TaskConflict`]) because it would mean two tasks for one plan.
    pub fn record_submitted(&mut self, id: i64, task_id: Uuid) -> Result<TransferRecord> {
        let at = time_to_sql(now());
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE transfers SET task_id = ?2, state = 'SUBMITTED', submitted_at = ?3,
                     updated_at = ?3, last_error = NULL
                 WHERE id = ?1 AND task_id IS NULL",
            )?
            .execute(params![id, uuid_to_sql(task_id), at])
            .map_err(|e| unique_as_in_use(e, task_id))?;
            let record = select_by_id(tx, id)?.ok_or(Error::NoSuchId(id))?;
            match record.task_id {
                Some(existing) if existing != task_id => {
                    Err(Failure::Ledger(Error::TaskConflict {
                        id,
                        existing,
                        given: task_id,
                    }))
                }
                _ => Ok(record),
            }
        })
    }

    /// Stores what Globus reports for one task.
    pub fn update_status(
        &mut self,
        task_id: Uuid,
        update: &StatusUpdate,
    ) -> Result<TransferRecord> {
        let at = now();
        self.write(|tx| {
            apply_status(tx, task_id, update, at)?
                .ok_or(Failure::Ledger(Error::NoSuchTask(task_id)))
        })
    }

    /// Stores one poll's answers for many tasks in one transaction and marks the poll time that
    /// non-polling waiters read ([`Ledger::last_poll_at`]). Unknown task ids are skipped; returns
    /// how many records were updated.
    pub fn record_poll(&mut self, statuses: &[(Uuid, StatusUpdate)]) -> Result<usize> {
        let at = now();
        self.write(|tx| {
            let mut updated = 0;
            for (task_id, update) in statuses {
                if apply_status(tx, *task_id, update, at)?.is_some() {
                    updated += 1;
                }
            }
            tx.prepare_cached(
                "INSERT INTO poll_lease (id, last_poll_at) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET last_poll_at = excluded.last_poll_at",
            )?
            .execute([time_to_sql(at)])?;
            Ok(updated)
        })
    }

    /// Marks a transfer as waiting for the user (login, consent, MFA), with the reason and
    /// the command to run. A finished transfer is left as it is.
    pub fn mark_needs_attention(&mut self, id: i64, reason: &str) -> Result<TransferRecord> {
        let at = time_to_sql(now());
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE transfers SET state = 'NEEDS_ATTENTION', last_error = ?2, updated_at = ?3
                 WHERE id = ?1 AND state NOT IN ('SUCCEEDED', 'FAILED', 'CANCELED')",
            )?
            .execute(params![id, reason, at])?;
            Ok(select_by_id(tx, id)?.ok_or(Error::NoSuchId(id))?)
        })
    }

    /// One transfer by ledger id.
    pub fn get(&self, id: i64) -> Result<Option<TransferRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&format!("SELECT {} FROM transfers WHERE id = ?1", *COLUMNS))?
                .query_row([id], from_row)
                .optional()
        })
    }

    /// A job's transfers (one direction or both), in direction then sequence order. `job_id`
    /// also matches an array's job id, so the array's elements are listed together, as
    /// `squeue` does.
    pub fn get_by_job(
        &self,
        cluster: &str,
        job_id: &str,
        direction: Option<Direction>,
    ) -> Result<Vec<TransferRecord>> {
        // Two indexed halves instead of `OR` (which scans the whole table), sorted here: an
        // `ORDER BY` makes SQLite trade the array index for a sorted scan of the cluster.
        let (filter, args) = match direction {
            Some(direction) => (
                " AND direction = ?3",
                vec![cluster, job_id, direction.as_str()],
            ),
            None => ("", vec![cluster, job_id]),
        };
        let sql = format!(
            "SELECT {columns} FROM transfers
             WHERE cluster = ?1 AND job_id = ?2 AND archive_key IS NULL{filter}
             UNION ALL
             SELECT {columns} FROM transfers
             WHERE cluster = ?1 AND array_job_id = ?2 AND job_id <> ?2
                 AND archive_key IS NULL{filter}",
            columns = *COLUMNS
        );
        let mut records: Vec<TransferRecord> = self.read(|conn| {
            conn.prepare_cached(&sql)?
                .query_map(params_from_iter(args.iter()), from_row)?
                .collect()
        })?;
        records.sort_by(|a, b| {
            (a.job_id(), a.direction().map(Direction::as_str), a.seq).cmp(&(
                b.job_id(),
                b.direction().map(Direction::as_str),
                b.seq,
            ))
        });
        Ok(records)
    }

    /// The transfer that became this Globus task.
    pub fn get_by_task(&self, task_id: Uuid) -> Result<Option<TransferRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM transfers WHERE task_id = ?1",
                *COLUMNS
            ))?
            .query_row([uuid_to_sql(task_id)], from_row)
            .optional()
        })
    }

    /// The transfers of one archive key, in sequence order.
    pub fn get_by_key(&self, key: &str) -> Result<Vec<TransferRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM transfers WHERE archive_key = ?1 ORDER BY seq",
                *COLUMNS
            ))?
            .query_map([key], from_row)?
            .collect()
        })
    }

    /// The transfers of every archive key starting with `prefix` (`project/2026-` …), by key
    /// then sequence.
    pub fn list_by_key_prefix(&self, prefix: &str) -> Result<Vec<TransferRecord>> {
        let pattern = format!("{}*", glob_escape(prefix));
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM transfers WHERE archive_key GLOB ?1 ORDER BY archive_key, seq",
                *COLUMNS
            ))?
            .query_map([&pattern], from_row)?
            .collect()
        })
    }

    /// Transfers matching `filter`, newest first.
    pub fn list(&self, filter: &Filter) -> Result<Vec<TransferRecord>> {
        let mut sql = format!("SELECT {} FROM transfers WHERE 1", *COLUMNS);
        let mut args: Vec<Value> = Vec::new();
        if let Some(since) = filter.since {
            args.push(Value::Integer(time_to_sql(since)));
            sql.push_str(&format!(" AND created_at >= ?{}", args.len()));
        }
        if let Some(state) = filter.state {
            args.push(Value::Text(state.as_str().into()));
            sql.push_str(&format!(" AND state = ?{}", args.len()));
        }
        args.push(Value::Integer(filter.limit.map_or(-1, i64::from)));
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ?{}",
            args.len()
        ));
        self.read(|conn| {
            conn.prepare_cached(&sql)?
                .query_map(params_from_iter(args.iter()), from_row)?
                .collect()
        })
    }

    /// Task ids Globus may still change (submitted, active, inactive, needing attention): what
    /// one shared poll asks about.
    pub fn active_task_ids(&self) -> Result<Vec<Uuid>> {
        let ids: Vec<(i64, String)> = self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT id, task_id FROM transfers
                 WHERE state IN {OPEN_STATES} AND task_id IS NOT NULL ORDER BY id"
            ))?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect()
        })?;
        ids.into_iter()
            .map(|(_, text)| {
                Uuid::parse_str(&text).map_err(|e| Error::Corrupt {
                    path: self.path.clone(),
                    column: "task_id".into(),
                    detail: format!("`{text}` is not a UUID: {e}"),
                })
            })
            .collect()
    }
}

/// Escapes GLOB's special characters so a key prefix matches literally.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fresh as ledger, job};
    use super::super::{Counts, Mode};
    use super::*;

    fn status(state: State, done: u64) -> StatusUpdate {
        StatusUpdate {
            state,
            counts: Counts {
                files: 10,
                files_transferred: done,
                bytes: 1000,
                bytes_transferred: done * 100,
            },
            last_error: None,
            completed_at: None,
        }
    }

    fn key_transfer(key: &str, seq: u32) -> NewTransfer {
        NewTransfer {
            subject: Subject::Key(key.into()),
            ..job("unused", Direction::In, seq)
        }
    }

    #[test]
    fn reserve_stores_everything_given() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let mut new = job("42", Direction::In, 1);
        new.array_job_id = Some("40".into());
        new.array_task_id = Some("2".into());
        let rec = ledger.reserve(&new).expect("reserve");
        assert_eq!(rec.subject, new.subject);
        assert_eq!(rec.seq, 1);
        assert_eq!(rec.label, "gstage grex 42 in 1");
        assert_eq!(rec.source, new.source);
        assert_eq!(rec.destination, new.destination);
        assert_eq!(rec.items, new.items);
        assert_eq!(rec.submission_id, new.submission_id);
        assert_eq!(rec.task_id, None);
        assert_eq!(rec.state, State::Reserved);
        assert_eq!(rec.counts, Counts::default());
        assert_eq!(rec.user, "alice");
        assert_eq!(rec.array_job_id.as_deref(), Some("40"));
        assert_eq!(rec.array_task_id.as_deref(), Some("2"));
        assert_eq!((rec.cluster(), rec.job_id()), (Some("grex"), Some("42")));
        assert_eq!(rec.direction(), Some(Direction::In));
        assert_eq!(rec.archive_key(), None);
        assert_eq!(rec.created_at, rec.updated_at);
        assert_eq!((rec.submitted_at, rec.completed_at), (None, None));
        assert_eq!(ledger.get(rec.id).expect("get"), Some(rec));
    }

    #[test]
    fn reserve_is_idempotent_and_keeps_the_first_submission_id() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let first = ledger.reserve(&job("42", Direction::Out, 1)).unwrap();
        let again = ledger.reserve(&job("42", Direction::Out, 1)).unwrap();
        assert_eq!(
            again, first,
            "a re-run must get the stored record unchanged"
        );
        // Other direction, other seq and other job are other transfers.
        let other_dir = ledger.reserve(&job("42", Direction::In, 1)).unwrap();
        let other_seq = ledger.reserve(&job("42", Direction::Out, 2)).unwrap();
        let other_job = ledger.reserve(&job("43", Direction::Out, 1)).unwrap();
        for other in [&other_dir, &other_seq, &other_job] {
            assert_ne!(other.id, first.id);
            assert_ne!(other.submission_id, first.submission_id);
        }
    }

    #[test]
    fn a_planned_transfer_is_reserved_once() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let mut planned = job("42", Direction::In, 1);
        planned.submission_id = None;
        let rec = ledger.reserve(&planned).unwrap();
        assert_eq!((rec.state, rec.submission_id), (State::Planned, None));
        let with_id = job("42", Direction::In, 1);
        let reserved = ledger.reserve(&with_id).unwrap();
        assert_eq!(reserved.id, rec.id);
        assert_eq!(reserved.state, State::Reserved);
        assert_eq!(reserved.submission_id, with_id.submission_id);
        let late = ledger.reserve(&job("42", Direction::In, 1)).unwrap();
        assert_eq!(late.submission_id, with_id.submission_id);
        // Planning again without an id changes nothing either.
        assert_eq!(ledger.reserve(&planned).unwrap(), late);
    }

    #[test]
    fn a_submission_id_cannot_serve_two_transfers() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let first = job("42", Direction::In, 1);
        ledger.reserve(&first).unwrap();
        let mut second = job("42", Direction::In, 2);
        second.submission_id = first.submission_id;
        let err = ledger.reserve(&second).expect_err("shared submission id");
        assert!(matches!(err, Error::IdInUse { .. }), "{err}");
        assert_eq!(ledger.get_by_job("grex", "42", None).unwrap().len(), 1);
    }

    #[test]
    fn reserve_rejects_bad_input() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let zero = job("42", Direction::In, 0);
        assert!(matches!(ledger.reserve(&zero), Err(Error::Invalid(_))));
        let empty_job = job("", Direction::In, 1);
        assert!(matches!(ledger.reserve(&empty_job), Err(Error::Invalid(_))));
        let empty_key = key_transfer("", 1);
        assert!(matches!(ledger.reserve(&empty_key), Err(Error::Invalid(_))));
    }

    #[test]
    fn record_submitted_is_idempotent_and_refuses_a_second_task() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let rec = ledger.reserve(&job("42", Direction::In, 1)).unwrap();
        let task = Uuid::new_v4();
        let submitted = ledger.record_submitted(rec.id, task).unwrap();
        assert_eq!(submitted.state, State::Submitted);
        assert_eq!(submitted.task_id, Some(task));
        assert!(submitted.submitted_at.is_some());
        assert_eq!(ledger.record_submitted(rec.id, task).unwrap(), submitted);
        let other = Uuid::new_v4();
        match ledger.record_submitted(rec.id, other) {
            Err(Error::TaskConflict {
                existing, given, ..
            }) => assert_eq!((existing, given), (task, other)),
            other => panic!("expected TaskConflict, got {other:?}"),
        }
        assert!(matches!(
            ledger.record_submitted(9999, Uuid::new_v4()),
            Err(Error::NoSuchId(9999))
        ));
        // A task id belongs to one transfer only.
        let rec2 = ledger.reserve(&job("42", Direction::In, 2)).unwrap();
        assert!(matches!(
            ledger.record_submitted(rec2.id, task),
            Err(Error::IdInUse { .. })
        ));
    }

    #[test]
    fn update_status_moves_state_and_counts_and_finishes_once() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let rec = ledger.reserve(&job("42", Direction::In, 1)).unwrap();
        let task = Uuid::new_v4();
        ledger.record_submitted(rec.id, task).unwrap();
        let active = ledger
            .update_status(task, &status(State::Active, 3))
            .unwrap();
        assert_eq!(active.state, State::Active);
        assert_eq!(active.counts.files_transferred, 3);
        assert_eq!(active.counts.bytes_transferred, 300);
        assert_eq!(active.completed_at, None);
        let mut done = status(State::Succeeded, 10);
        let globus_time = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        done.completed_at = Some(globus_time);
        let finished = ledger.update_status(task, &done).unwrap();
        assert_eq!(finished.state, State::Succeeded);
        assert_eq!(finished.completed_at, Some(globus_time));
        // A stale poll arriving later cannot revive the task.
        let stale = ledger
            .update_status(task, &status(State::Active, 5))
            .unwrap();
        assert_eq!(stale.state, State::Succeeded);
        assert_eq!(stale.completed_at, Some(globus_time));
        assert!(matches!(
            ledger.update_status(Uuid::new_v4(), &status(State::Active, 0)),
            Err(Error::NoSuchTask(_))
        ));
    }

    #[test]
    fn a_terminal_state_without_a_time_is_stamped_and_errors_are_kept() {
        let (_dir, mut ledger) = ledger(Mode::Network);
        let rec = ledger.reserve(&job("42", Direction::Out, 1)).unwrap();
        let task = Uuid::new_v4();
        ledger.record_submitted(rec.id, task).unwrap();
        let mut canceled = status(State::Canceled, 1);
        canceled.last_error = Some("FILE_NOT_FOUND /project/in/missing.dat".into());
        let rec = ledger.update_status(task, &canceled).unwrap();
        assert_eq!(rec.state, State::Canceled);
        assert!(rec.completed_at.is_some());
        // Globus later reports the cancelled task as FAILED without detail: our reason stays.
        let rec = ledger
            .update_status(task, &status(State::Failed, 1))
            .unwrap();
        assert_eq!(rec.state, State::Canceled);
        assert_eq!(
            rec.last_error.as_deref(),
            Some("FILE_NOT_FOUND /project/in/missing.dat")
        );
    }

    #[test]
    fn record_poll_updates_many_tasks_at_once() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let mut tasks = Vec::new();
        for seq in 1..=3 {
            let rec = ledger.reserve(&job("42", Direction::In, seq)).unwrap();
            let task = Uuid::new_v4();
            ledger.record_submitted(rec.id, task).unwrap();
            tasks.push(task);
        }
        let statuses: Vec<_> = tasks
            .iter()
            .map(|t| (*t, status(State::Succeeded, 10)))
            .chain([(Uuid::new_v4(), status(State::Active, 1))])
            .collect();
        assert_eq!(ledger.record_poll(&statuses).unwrap(), 3);
        for task in tasks {
            let rec = ledger.get_by_task(task).unwrap().expect("task");
            assert_eq!(rec.state, State::Succeeded);
        }
        assert!(ledger.active_task_ids().unwrap().is_empty());
    }

    #[test]
    fn needs_attention_records_the_reason_but_not_over_a_finished_task() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let rec = ledger.reserve(&job("42", Direction::In, 1)).unwrap();
        let reason = "consent required: run `gstage login --collection X`";
        let marked = ledger.mark_needs_attention(rec.id, reason).unwrap();
        assert_eq!(marked.state, State::NeedsAttention);
        assert_eq!(marked.last_error.as_deref(), Some(reason));
        let task = Uuid::new_v4();
        let submitted = ledger.record_submitted(rec.id, task).unwrap();
        assert_eq!(submitted.state, State::Submitted);
        assert_eq!(
            submitted.last_error, None,
            "submission clears the old reason"
        );
        ledger
            .update_status(task, &status(State::Succeeded, 10))
            .unwrap();
        let after = ledger.mark_needs_attention(rec.id, "late").unwrap();
        assert_eq!(after.state, State::Succeeded);
        assert!(matches!(
            ledger.mark_needs_attention(9999, "x"),
            Err(Error::NoSuchId(9999))
        ));
    }

    #[test]
    fn get_by_job_filters_direction_and_includes_array_elements() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        ledger.reserve(&job("42", Direction::Out, 2)).unwrap();
        ledger.reserve(&job("42", Direction::Out, 1)).unwrap();
        ledger.reserve(&job("42", Direction::In, 1)).unwrap();
        ledger.reserve(&job("43", Direction::In, 1)).unwrap();
        let mut element = job("50", Direction::In, 1);
        element.array_job_id = Some("42".into());
        element.array_task_id = Some("3".into());
        ledger.reserve(&element).unwrap();
        let mut elsewhere = job("42", Direction::In, 1);
        elsewhere.subject = Subject::Job {
            cluster: "cedar".into(),
            job_id: "42".into(),
            direction: Direction::In,
        };
        ledger.reserve(&elsewhere).unwrap();

        let all: Vec<_> = ledger
            .get_by_job("grex", "42", None)
            .unwrap()
            .iter()
            .map(|r| (r.job_id().unwrap_or("").to_string(), r.direction(), r.seq))
            .collect();
        assert_eq!(
            all,
            [
                ("42".to_string(), Some(Direction::In), 1),
                ("42".to_string(), Some(Direction::Out), 1),
                ("42".to_string(), Some(Direction::Out), 2),
                ("50".to_string(), Some(Direction::In), 1),
            ]
        );
        let outs = ledger
            .get_by_job("grex", "42", Some(Direction::Out))
            .unwrap();
        assert_eq!(outs.len(), 2);
        assert!(ledger.get_by_job("grex", "99", None).unwrap().is_empty());
    }

    #[test]
    fn keys_are_found_exactly_and_by_literal_prefix() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        for key in ["proj/2026-01", "proj/2026-02", "proj*/x", "other/2026-01"] {
            ledger.reserve(&key_transfer(key, 1)).unwrap();
        }
        ledger.reserve(&key_transfer("proj/2026-01", 2)).unwrap();
        let exact = ledger.get_by_key("proj/2026-01").unwrap();
        assert_eq!(exact.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
        assert!(
            exact
                .iter()
                .all(|r| r.archive_key() == Some("proj/2026-01"))
        );
        assert_eq!(exact[0].cluster(), None);
        let keys = |prefix: &str| -> Vec<String> {
            ledger
                .list_by_key_prefix(prefix)
                .unwrap()
                .iter()
                .map(|r| format!("{}#{}", r.archive_key().unwrap_or(""), r.seq))
                .collect()
        };
        assert_eq!(
            keys("proj/"),
            ["proj/2026-01#1", "proj/2026-01#2", "proj/2026-02#1"]
        );
        assert_eq!(keys("proj*"), ["proj*/x#1"], "`*` must match literally");
        assert!(keys("nothing").is_empty());
        // A key and a job with the same text are different transfers.
        assert!(
            ledger
                .get_by_job("grex", "proj/2026-01", None)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn list_filters_by_time_and_state_newest_first() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let old = ledger.reserve(&job("1", Direction::In, 1)).unwrap();
        // Push the first record into the past so `since` can separate them.
        ledger
            .conn
            .execute(
                "UPDATE transfers SET created_at = created_at - 86400000 WHERE id = ?1",
                [old.id],
            )
            .unwrap();
        let a = ledger.reserve(&job("2", Direction::In, 1)).unwrap();
        let b = ledger.reserve(&job("3", Direction::In, 1)).unwrap();
        let task = Uuid::new_v4();
        ledger.record_submitted(b.id, task).unwrap();
        ledger
            .update_status(task, &status(State::Failed, 0))
            .unwrap();

        let ids =
            |f: Filter| -> Vec<i64> { ledger.list(&f).unwrap().iter().map(|r| r.id).collect() };
        assert_eq!(ids(Filter::default()), [b.id, a.id, old.id]);
        let since = Some(a.created_at - chrono::Duration::hours(1));
        assert_eq!(
            ids(Filter {
                since,
                ..Filter::default()
            }),
            [b.id, a.id]
        );
        assert_eq!(
            ids(Filter {
                state: Some(State::Failed),
                ..Filter::default()
            }),
            [b.id]
        );
        assert_eq!(
            ids(Filter {
                since,
                state: Some(State::Reserved),
                limit: Some(5),
            }),
            [a.id]
        );
        assert_eq!(
            ids(Filter {
                limit: Some(1),
                ..Filter::default()
            }),
            [b.id]
        );
    }

    #[test]
    fn active_task_ids_are_the_open_submitted_tasks() {
        let (_dir, mut ledger) = ledger(Mode::Local);
        let mut tasks = Vec::new();
        for seq in 1..=5 {
            let rec = ledger.reserve(&job("42", Direction::In, seq)).unwrap();
            let task = Uuid::new_v4();
            ledger.record_submitted(rec.id, task).unwrap();
            tasks.push(task);
        }
        ledger.reserve(&job("42", Direction::Out, 1)).unwrap(); // reserved, no task yet
        ledger
            .update_status(tasks[1], &status(State::Active, 1))
            .unwrap();
        ledger
            .update_status(tasks[2], &status(State::Inactive, 1))
            .unwrap();
        ledger
            .update_status(tasks[3], &status(State::Succeeded, 10))
            .unwrap();
        ledger
            .update_status(tasks[4], &status(State::Failed, 0))
            .unwrap();
        assert_eq!(
            ledger.active_task_ids().unwrap(),
            [tasks[0], tasks[1], tasks[2]]
        );
    }

    #[test]
    fn state_words_round_trip_and_parse_leniently() {
        for state in State::ALL {
            assert_eq!(state.as_str().parse::<State>(), Ok(state));
        }
        assert_eq!(
            "needs-attention".parse::<State>(),
            Ok(State::NeedsAttention)
        );
        assert_eq!("succeeded".parse::<State>(), Ok(State::Succeeded));
        let err = "done".parse::<State>().unwrap_err();
        assert!(err.contains("`done`") && err.contains("succeeded"), "{err}");
        assert_eq!("out".parse::<Direction>(), Ok(Direction::Out));
        assert!("sideways".parse::<Direction>().is_err());
    }

    #[test]
    fn glob_escape_makes_wildcards_literal() {
        assert_eq!(glob_escape("a*b?c[d]"), "a[*]b[?]c[[]d]");
    }

    #[test]
    fn not_found_errors_exit_3() {
        assert_eq!(Error::NoSuchId(1).exit_code(), 3);
        assert_eq!(Error::NoSuchTask(Uuid::nil()).exit_code(), 3);
    }
}
