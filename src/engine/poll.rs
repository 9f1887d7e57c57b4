//! Waiting with one shared poll.
//!
//! However many `gstage wait` (or `stage-* --wait`) processes a user runs, each interval one of
//! them — the holder of the ledger's poll lease — asks Globus about *every* open task of the
//! user with one `task_list` filtered by task ids, and stores the answers; the others read the
//! ledger. The holder polls only when the last stored poll is at least an interval old, so a
//! hand-over between holders never doubles the rate, and waiters wake just after the next poll
//! is due. The interval grows while nothing changes (up to the maximum), and a rate limit or an
//! outage backs off, honouring `Retry-After`.
//!
//! Fail fast: a task still ACTIVE whose `nice_status` is a permanent error is looked at more
//! closely (its error events); once the first such error is older than the grace period, the
//! holder cancels the task and records it FAILED with the error and file.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::failfast::{is_permanent, permanent_error};
use super::outcome::{TaskView, WaitOptions, WaitReport};
use super::progress::Progress;
use super::{Result, Stager};
use crate::globus::{Task, TaskId, TaskQuery, TaskStatus};
use crate::ledger::{Counts, State, StatusUpdate};

/// How long a waiter sleeps past the moment a poll is due, so the holder's answers are stored
/// by the time it reads them.
const READ_DELAY: Duration = Duration::from_millis(200);

/// The ledger's state and error for a task as Globus reports it.
pub(crate) fn status_update(task: &Task) -> StatusUpdate {
    let (state, last_error) = match task.status {
        TaskStatus::Succeeded => (State::Succeeded, None),
        TaskStatus::Failed => (
            State::Failed,
            Some(match &task.fatal_error {
                Some(f) => match &f.description {
                    Some(d) => format!("{}: {d}", f.code),
                    None => f.code.clone(),
                },
                None => "the task failed".to_owned(),
            }),
        ),
        TaskStatus::Inactive => (
            State::Inactive,
            Some(format!(
                "needs attention: Globus paused the task ({}); it resumes once the cause is fixed, usually by `gstage login`",
                task.nice_status.as_deref().unwrap_or("INACTIVE")
            )),
        ),
        TaskStatus::Active | TaskStatus::Unknown => (
            State::Active,
            task.nice_status
                .as_deref()
                .filter(|s| is_permanent(s))
                .map(|s| format!("{s}: Globus keeps retrying")),
        ),
    };
    StatusUpdate {
        state,
        counts: Counts {
            files: task.files,
            files_transferred: task.files_transferred,
            bytes: task.bytes_transferred,
            bytes_transferred: task.bytes_transferred,
        },
        last_error,
        completed_at: task.completion_time,
    }
}

/// A view of a task the ledger does not hold (waited for by id from another host).
pub(crate) fn view_of_task(task: &Task) -> TaskView {
    let update = status_update(task);
    let name = |n: &Option<String>, id: &Option<String>| {
        n.clone().or_else(|| id.clone()).unwrap_or_default()
    };
    let label = task.label.clone().unwrap_or_default();
    let parsed = super::query::parse_label(&label);
    TaskView {
        task_id: Some(task.task_id),
        cluster: parsed.as_ref().map(|p| p.cluster.clone()),
        job_id: parsed.as_ref().map(|p| p.job_id.clone()),
        direction: parsed.as_ref().map(|p| p.direction.clone()),
        key: None,
        seq: parsed.as_ref().map(|p| p.seq),
        label,
        state: update.state,
        source: name(&task.source_endpoint_display_name, &task.source_endpoint_id),
        destination: name(
            &task.destination_endpoint_display_name,
            &task.destination_endpoint_id,
        ),
        files: task.files,
        files_transferred: task.files_transferred,
        bytes_transferred: task.bytes_transferred,
        error: update.last_error,
        created_at: Some(task.request_time),
        completed_at: task.completion_time,
        source_of_truth: "globus",
    }
}

impl Stager {
    /// Waits until every task ends (or the timeout), showing progress as asked. Exit status
    /// for `gstage wait` follows [`WaitReport::all_succeeded`].
    pub async fn wait(&self, tasks: &[TaskId], options: &WaitOptions) -> Result<WaitReport> {
        let started = Instant::now();
        let mut progress = Progress::new(options.progress);
        let mut interval = options.interval;
        let mut previous: Vec<TaskView> = Vec::new();
        let mut foreign: BTreeMap<TaskId, TaskView> = BTreeMap::new();
        loop {
            let mut pause = None;
            match self
                .poll_round(tasks, options, interval, &mut foreign)
                .await
            {
                Ok(()) => {}
                Err(super::Error::Globus(e)) if is_transient(&e) => {
                    interval = (interval * 2).min(options.max_interval);
                    pause = e.api().and_then(|a| a.retry_after);
                    tracing::warn!("polling Globus failed, backing off: {e}");
                }
                Err(e) => return Err(e),
            }
            let views = self.views(tasks, &foreign)?;
            progress.update(&views);
            let done = views.iter().all(TaskView::is_final)
                || (options.stop_on_attention
                    && views
                        .iter()
                        .any(|v| matches!(v.state, State::Inactive | State::NeedsAttention)));
            let timed_out = !done && options.timeout.is_some_and(|t| started.elapsed() >= t);
            if done || timed_out {
                progress.finish(&views);
                self.ledger().release_poll_lease(&self.holder)?;
                return Ok(WaitReport {
                    tasks: views,
                    timed_out,
                    elapsed: started.elapsed(),
                });
            }
            interval = if views == previous {
                (interval.mul_f64(1.5)).min(options.max_interval)
            } else {
                options.interval
            };
            previous = views;
            let mut sleep = self.until_next_poll(interval)?;
            if let Some(after) = pause {
                sleep = sleep.max(after);
            }
            if let Some(t) = options.timeout {
                sleep = sleep.min(t.saturating_sub(started.elapsed()));
            }
            tokio::time::sleep(sleep).await;
        }
    }

    /// One round: poll Globus if this process holds the lease and a poll is due; tasks the
    /// ledger does not know are asked about directly.
    async fn poll_round(
        &self,
        tasks: &[TaskId],
        options: &WaitOptions,
        interval: Duration,
        foreign: &mut BTreeMap<TaskId, TaskView>,
    ) -> Result<()> {
        let ttl = options.max_interval + interval;
        let ids = {
            let mut ledger = self.ledger();
            let lease = ledger.try_acquire_poll_lease(&self.holder, ttl)?;
            let due = match ledger.last_poll_at()? {
                Some(at) => (Utc::now() - at).to_std().unwrap_or_default() >= interval,
                None => true,
            };
            if lease && due {
                Some(ledger.active_task_ids()?)
            } else {
                None
            }
        };
        if let Some(ids) = ids {
            let ids: Vec<TaskId> = ids.into_iter().map(TaskId).collect();
            let listed = if ids.is_empty() {
                Vec::new()
            } else {
                self.client
                    .task_list(&TaskQuery {
                        task_ids: ids,
                        ..TaskQuery::default()
                    })
                    .await?
            };
            let mut updates = Vec::with_capacity(listed.len());
            for task in &listed {
                updates.push((task.task_id.0, self.fail_fast(task, options).await?));
            }
            self.ledger().record_poll(&updates)?;
        }
        let unknown: Vec<TaskId> = {
            let ledger = self.ledger();
            let mut unknown = Vec::new();
            for id in tasks {
                if ledger.get_by_task(id.0)?.is_none()
                    && foreign.get(id).is_none_or(|v| !v.is_final())
                {
                    unknown.push(*id);
                }
            }
            unknown
        };
        if !unknown.is_empty() {
            let listed = self
                .client
                .task_list(&TaskQuery {
                    task_ids: unknown,
                    ..TaskQuery::default()
                })
                .await?;
            for task in &listed {
                foreign.insert(task.task_id, view_of_task(task));
            }
        }
        Ok(())
    }

    /// The status to store for `task`, cancelling it first when a permanent error has lasted
    /// longer than the grace period.
    async fn fail_fast(
        &self,
        task: &Task,
        options: &WaitOptions,
    ) -> std::result::Result<StatusUpdate, crate::globus::Error> {
        let mut update = status_update(task);
        let permanent = task.status == TaskStatus::Active
            && task.nice_status.as_deref().is_some_and(is_permanent);
        if !permanent {
            return Ok(update);
        }
        let events = self.client.event_list(&task.task_id, 100, true).await?;
        let Some(error) = permanent_error(&events) else {
            return Ok(update);
        };
        let lasted = (Utc::now() - error.since).to_std().unwrap_or_default();
        if lasted >= options.grace {
            self.client.cancel_task(&task.task_id).await?;
            update.state = State::Failed;
            update.last_error = Some(format!(
                "{}; gstage cancelled the task after {}s of this error (a permanent error: check the path and permissions)",
                error.describe(),
                lasted.as_secs()
            ));
        } else {
            update.last_error = Some(format!(
                "{}; gstage cancels the task if it persists for {}s more",
                error.describe(),
                options.grace.saturating_sub(lasted).as_secs()
            ));
        }
        Ok(update)
    }

    /// The waited tasks as the ledger (or, for unknown ones, Globus) last saw them.
    fn views(
        &self,
        tasks: &[TaskId],
        foreign: &BTreeMap<TaskId, TaskView>,
    ) -> Result<Vec<TaskView>> {
        let ledger = self.ledger();
        let mut out = Vec::with_capacity(tasks.len());
        for id in tasks {
            match ledger.get_by_task(id.0)? {
                Some(r) => out.push(TaskView::from_record(&r)),
                None => match foreign.get(id) {
                    Some(v) => out.push(v.clone()),
                    None => {
                        return Err(super::Error::NotFound {
                            what: format!("task `{id}`"),
                        });
                    }
                },
            }
        }
        Ok(out)
    }

    /// How long to sleep so as to wake just after the next shared poll is due.
    fn until_next_poll(&self, interval: Duration) -> Result<Duration> {
        let last = self.ledger().last_poll_at()?;
        let due_in = match last {
            Some(at) => {
                let since = (Utc::now() - at).to_std().unwrap_or_default();
                interval.saturating_sub(since)
            }
            None => Duration::ZERO,
        };
        Ok((due_in + READ_DELAY).min(interval + READ_DELAY))
    }
}

fn is_transient(e: &crate::globus::Error) -> bool {
    match e {
        crate::globus::Error::Network { .. } | crate::globus::Error::TimedOut { .. } => true,
        crate::globus::Error::RetriesExhausted { .. } => true,
        crate::globus::Error::Api(a) => a.is_transient(),
        _ => false,
    }
}
