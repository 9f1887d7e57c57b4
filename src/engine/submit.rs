//! Exactly-once submission of one direction of a job.
//!
//! The rules (also in `docs/engine.md`):
//!
//! 1. Every planned task is recorded in the ledger with a reserved submission id *before* any
//!    `POST /transfer` of the direction is sent. A re-run finds the records and re-sends the
//!    recorded ids, and Globus answers `Duplicate` with the original task: a crash at any moment
//!    never yields a second task.
//! 2. A record with a task id is adopted as is: nothing is sent.
//! 3. When the ledger has no record of the job and direction, it may have been lost (deleted,
//!    moved aside, a fresh home). The tasks are then looked up by label (`task_list` with
//!    `label:=gstage <cluster> <job> <dir> <n>`) before anything is submitted, and adopted when
//!    found. The lookup is skipped only when the ledger provably existed before the job could
//!    have been staged: its oldest record is older (by a clock-skew margin) than
//!    [`StageOptions::not_staged_before`] (the job's submit time from a hook, its start time
//!    inside the job). A ledger that old would hold any earlier attempt's reservation.
//!
//! On the common path (a new job, a ledger in use) a task costs two Transfer requests:
//! `GET /submission_id` and `POST /transfer`.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::document::{items_summary, transfer_document};
use super::outcome::{StageOptions, StageReport, StagedTask, Submission};
use super::{Error, Result, Stager, ledger_direction};
use crate::globus::{SubmitCode, SubmitResult, TaskId, TaskQuery, TransferDocument};
use crate::ledger::{self, NewTransfer, TransferRecord};
use crate::options::{Direction, When};
use crate::plan::{Plan, Task};
use crate::slurm::context::JobContext;

/// Globus's refusal of a task beyond the user's pending limit.
const PENDING_LIMIT_CODE: &str = "ClientError.RequestLimitExceeded";
/// How long a submission waits, in all, for the user's pending tasks to make room.
const PENDING_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(30 * 60);
const PENDING_PAUSE_FIRST: std::time::Duration = std::time::Duration::from_secs(5);
const PENDING_PAUSE_MAX: std::time::Duration = std::time::Duration::from_secs(60);

/// How far clocks of hosts sharing a ledger may disagree.
const CLOCK_SKEW_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

impl Stager {
    /// Submits the tasks of one direction of `plan`, exactly once per planned task, and waits
    /// for them when `options.wait` is set.
    ///
    /// Stage-in first creates missing destination directories on the cluster. Stage-out tasks
    /// whose `--when` does not match `options.job_outcome` are skipped; if one needs the outcome
    /// and it is unknown, nothing is submitted ([`Error::OutcomeUnknown`]).
    pub async fn stage(
        &self,
        job: &JobContext,
        plan: &Plan,
        direction: Direction,
        options: &StageOptions,
    ) -> Result<StageReport> {
        crate::crashpoint::stage(direction, "planned");
        let tasks = plan.tasks(direction);
        let mut selected: Vec<&Task> = Vec::new();
        let mut staged: Vec<StagedTask> = Vec::new();
        for task in tasks {
            let when = task.options.when;
            let run = match (when, &options.job_outcome) {
                (None | Some(When::Always), _) => true,
                (Some(w), Some(outcome)) => outcome.allows(w),
                (Some(w), None) => {
                    return Err(Error::OutcomeUnknown {
                        job_id: plan.job_id,
                        when: w,
                    });
                }
            };
            if run {
                selected.push(task);
            }
        }
        if direction == Direction::In {
            self.create_destination_dirs(tasks).await?;
        }
        let ids = self
            .submit_once(job, plan, direction, &selected, options)
            .await?;
        for task in tasks {
            let found = ids.get(&task.number);
            staged.push(StagedTask {
                number: task.number,
                label: task.label.clone(),
                task_id: found.map(|(id, _)| *id),
                submission: found.map_or(Submission::SkippedWhen, |(_, how)| *how),
                optional: task.options.optional,
                when: task.options.when,
                items: task.items.len(),
            });
        }
        let mut report = StageReport {
            cluster: plan.cluster.clone(),
            job_id: plan.job_id,
            direction,
            tasks: staged,
            wait: None,
        };
        if options.wait {
            let ids = report.task_ids();
            report.wait = Some(self.wait(&ids, &options.wait_options).await?);
        }
        Ok(report)
    }

    /// Records and submits `selected`; returns each task number's Globus task and how it came.
    async fn submit_once(
        &self,
        job: &JobContext,
        plan: &Plan,
        direction: Direction,
        selected: &[&Task],
        options: &StageOptions,
    ) -> Result<BTreeMap<usize, (TaskId, Submission)>> {
        let job_id = plan.job_id.to_string();
        let mut records = self.records_of(&plan.cluster, &job_id, direction)?;
        let mut found: BTreeMap<usize, TaskId> = BTreeMap::new();
        if records.is_empty() && !selected.is_empty() {
            if self.may_have_lost(options.not_staged_before)? {
                found = self.find_by_label(selected).await?;
            }
            // Rule 1: reserve every task before submitting any.
            for task in selected {
                let submission_id = match found.get(&task.number) {
                    Some(_) => None,
                    None => Some(self.client.get_submission_id().await?.0),
                };
                let new = new_transfer(job, plan, task, submission_id);
                let mut ledger = self.ledger();
                let record = ledger.reserve(&new)?;
                if let Some(task_id) = found.get(&task.number) {
                    ledger.record_submitted(record.id, task_id.0)?;
                }
            }
            records = self.records_of(&plan.cluster, &job_id, direction)?;
            crate::crashpoint::stage(direction, "reserved");
        }
        let mut out = BTreeMap::new();
        for task in selected {
            let seq = u32::try_from(task.number).unwrap_or(u32::MAX);
            let record = match records.iter().find(|r| r.seq == seq) {
                Some(r) => r.clone(),
                // Planned now but not at the first run (a `--when` stage-out skipped then): no
                // earlier attempt can have sent it, so it is reserved like a new one.
                None => {
                    let id = self.client.get_submission_id().await?.0;
                    self.ledger()
                        .reserve(&new_transfer(job, plan, task, Some(id)))?
                }
            };
            let planned = new_transfer(job, plan, task, None);
            if record.label != planned.label
                || record.source.id != planned.source.id
                || record.destination.id != planned.destination.id
                || record.items != planned.items
            {
                return Err(Error::PlanChanged {
                    job_id: plan.job_id,
                    direction,
                    seq: task.number,
                    recorded: described(
                        &record.label,
                        &record.source,
                        &record.destination,
                        &record.items,
                    ),
                    planned: described(
                        &planned.label,
                        &planned.source,
                        &planned.destination,
                        &planned.items,
                    ),
                });
            }
            let entry = match record.task_id {
                Some(id) => {
                    let how = if found.contains_key(&task.number) {
                        Submission::FoundByLabel
                    } else {
                        Submission::Recorded
                    };
                    (TaskId(id), how)
                }
                None => self.send(job, plan, task, record).await?,
            };
            out.insert(task.number, entry);
        }
        Ok(out)
    }

    /// `POST /transfer`, waiting while Globus refuses new tasks because the user already has
    /// the most unfinished ones it allows (100). The stage-outs of a large array's elements, or
    /// another pipeline of the same user, can fill that queue, and a place frees as soon as any
    /// task ends; failing instead would leave the results behind. The document keeps its
    /// submission id on every try, so a try Globus did accept never becomes a second task.
    pub(super) async fn submit_when_room(
        &self,
        doc: &TransferDocument,
    ) -> std::result::Result<SubmitResult, crate::globus::Error> {
        let started = std::time::Instant::now();
        let mut pause = PENDING_PAUSE_FIRST;
        loop {
            match self.client.submit_transfer(doc).await {
                Err(e)
                    if e.api().is_some_and(|a| a.code == PENDING_LIMIT_CODE)
                        && started.elapsed() + pause <= PENDING_WAIT_MAX =>
                {
                    let note = format!(
                        "Globus refused a new task: {}; waiting {} s for one of your tasks to finish, then sending the same submission again",
                        e.api().map_or("", |a| a.message.as_str()),
                        pause.as_secs()
                    );
                    // Said to a person at a terminal; a hook's output is its job's Reason, so
                    // there it goes only to the log (`-v`).
                    if std::io::stderr().is_terminal() {
                        eprintln!("{note}");
                    }
                    tracing::warn!("{note}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(PENDING_PAUSE_MAX);
                }
                answer => return answer,
            }
        }
    }

    /// A submission refused for want of a login is told where the user looks: `gstage status`
    /// shows the reason, the command to run and then `resume`; a re-run re-sends the same
    /// submission id.
    pub(super) fn note_relogin(
        &self,
        record_id: i64,
        error: &crate::globus::Error,
        resume: &str,
    ) -> std::result::Result<(), ledger::Error> {
        if let crate::globus::Action::Relogin { command } = error.action() {
            self.ledger().mark_needs_attention(
                record_id,
                &format!("needs attention: {error}; run `{command}`, then {resume}"),
            )?;
        }
        Ok(())
    }

    /// `POST /transfer` with the recorded submission id, and records the task id.
    async fn send(
        &self,
        job: &JobContext,
        plan: &Plan,
        task: &Task,
        record: TransferRecord,
    ) -> Result<(TaskId, Submission)> {
        let (record, submission_id) = match record.submission_id {
            Some(id) => (record, id),
            None => {
                let id = self.client.get_submission_id().await?.0;
                let record = self
                    .ledger()
                    .reserve(&new_transfer(job, plan, task, Some(id)))?;
                let stored = record.submission_id.unwrap_or(id);
                (record, stored)
            }
        };
        let doc = transfer_document(task, crate::globus::SubmissionId(submission_id));
        let result = match self.submit_when_room(&doc).await {
            Ok(result) => result,
            Err(e) => {
                self.note_relogin(record.id, &e, "stage again")?;
                return Err(e.into());
            }
        };
        crate::crashpoint::stage(task.direction, "submitted");
        self.ledger()
            .record_submitted(record.id, result.task_id.0)?;
        crate::crashpoint::stage(task.direction, "recorded");
        let how = match result.code {
            SubmitCode::Duplicate => Submission::Duplicate,
            SubmitCode::Accepted | SubmitCode::Other(_) => Submission::Accepted,
        };
        Ok((result.task_id, how))
    }

    /// The job's own records of one direction (not those of array elements listed under it).
    fn records_of(
        &self,
        cluster: &str,
        job_id: &str,
        direction: Direction,
    ) -> Result<Vec<TransferRecord>> {
        Ok(self
            .ledger()
            .get_by_job(cluster, job_id, Some(ledger_direction(direction)))?
            .into_iter()
            .filter(|r| r.job_id() == Some(job_id))
            .collect())
    }

    /// Rule 3: whether an earlier attempt may be missing from the ledger.
    pub(super) fn may_have_lost(&self, not_staged_before: Option<DateTime<Utc>>) -> Result<bool> {
        let Some(bound) = not_staged_before else {
            return Ok(true);
        };
        Ok(match self.ledger().oldest_record_at()? {
            Some(oldest) => oldest + CLOCK_SKEW_MARGIN >= bound,
            None => true,
        })
    }

    /// The tasks Globus already has under the planned labels.
    pub(super) async fn find_by_label(&self, tasks: &[&Task]) -> Result<BTreeMap<usize, TaskId>> {
        let mut found = BTreeMap::new();
        for task in tasks {
            let query = TaskQuery {
                label: Some(task.label.clone()),
                limit: Some(10),
                ..TaskQuery::default()
            };
            let listed = match self.client.task_list(&query).await {
                Ok(listed) => listed,
                // A label with `/` or `,` cannot be filtered on: compare the recent tasks.
                Err(crate::globus::Error::BadFilter { .. }) => {
                    self.client.task_list(&TaskQuery::default()).await?
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(t) = listed
                .iter()
                .filter(|t| t.label.as_deref() == Some(task.label.as_str()))
                .min_by_key(|t| t.request_time)
            {
                found.insert(task.number, t.task_id);
            }
        }
        Ok(found)
    }

    /// Makes the directories stage-in writes into, so the job finds them even when an
    /// `--optional` stage-in fails. A destination that maps to a local path of this cluster is
    /// created here, as the user running gstage (no request); any other path on the cluster's
    /// collection is created with the Transfer `mkdir` call.
    pub(super) async fn create_destination_dirs(&self, tasks: &[Task]) -> Result<()> {
        let Some(cluster) = self.config.cluster.collection else {
            return Ok(());
        };
        let mut remote = Vec::new();
        for task in tasks.iter().filter(|t| t.destination.id == cluster) {
            for item in &task.items {
                let dir = destination_dir(&item.destination_path);
                match self.local_path_of(&dir) {
                    Some(local) => {
                        std::fs::create_dir_all(&local).map_err(|source| Error::Mkdir {
                            path: local,
                            source,
                        })?;
                    }
                    None => remote.push(dir),
                }
            }
        }
        remote.sort();
        remote.dedup();
        for dir in remote {
            match self.client.mkdir(&cluster, &dir).await {
                Ok(_) => {}
                Err(e) if e.api().is_some_and(|a| a.code.contains("Exists")) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The local directory a cluster collection path maps to (the config's mappings read
    /// backwards, longest collection root first).
    fn local_path_of(&self, collection_path: &str) -> Option<PathBuf> {
        let (mapping, rest) = self
            .config
            .cluster
            .paths
            .iter()
            .filter_map(|m| {
                let root = m.collection.as_str().trim_end_matches('/');
                let rest = collection_path.strip_prefix(root)?;
                (rest.is_empty() || rest.starts_with('/')).then_some((m, rest))
            })
            .max_by_key(|(m, _)| m.collection.as_str().len())?;
        let rest = rest.trim_start_matches('/');
        if rest.split('/').any(|part| part == "..") {
            return None;
        }
        Some(mapping.local.as_path().join(rest))
    }
}

/// The directory an item writes into: the item itself for a directory (`…/`), else its parent.
fn destination_dir(path: &str) -> String {
    if path.ends_with('/') {
        return path.to_owned();
    }
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
    }
}

/// A planned or recorded transfer in one line, for telling two apart: the label, the
/// collections and the start of the item list.
fn described(
    label: &str,
    source: &ledger::Collection,
    destination: &ledger::Collection,
    items: &str,
) -> String {
    const SHOWN: usize = 160;
    let shown: String = items.chars().take(SHOWN).collect();
    let more = if items.chars().count() > SHOWN {
        "…"
    } else {
        ""
    };
    format!("{label}: {} -> {} {shown}{more}", source.id, destination.id)
}

fn new_transfer(
    job: &JobContext,
    plan: &Plan,
    task: &Task,
    submission_id: Option<uuid::Uuid>,
) -> NewTransfer {
    let collection = |c: &crate::collection::Collection| ledger::Collection {
        id: c.id.uuid(),
        display_name: Some(c.display_name.clone()),
    };
    NewTransfer {
        subject: ledger::Subject::Job {
            cluster: plan.cluster.clone(),
            job_id: plan.job_id.to_string(),
            direction: ledger_direction(task.direction),
        },
        seq: u32::try_from(task.number).unwrap_or(u32::MAX),
        label: task.label.clone(),
        source: collection(&task.source),
        destination: collection(&task.destination),
        items: items_summary(task),
        submission_id,
        user: job.user.clone(),
        array_job_id: job.array_job_id.map(|id| id.to_string()),
        array_task_id: job.array_task_id.map(|id| id.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_directories() {
        assert_eq!(destination_dir("/home/a/run/input/"), "/home/a/run/input/");
        assert_eq!(destination_dir("/home/a/run/in.dat"), "/home/a/run");
        assert_eq!(destination_dir("/in.dat"), "/");
    }
}
