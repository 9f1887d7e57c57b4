//! One element of a job array staging in through the array's shared tasks.
//!
//! The elements of an array run one script; [`plan_array`](crate::plan::array::plan_array)
//! merges their stage-ins into a few tasks. The first element to get here submits all of them,
//! the others adopt them, and each element then waits for the tasks that carry its own items:
//!
//! 1. Take the array's lock, a file next to the ledger locked with `flock`, so that of hundreds of
//!    elements starting together one submits and the others wait a moment for its answer
//!    instead of all asking Globus at once.
//! 2. Under the lock, read the array's records (subject `<array job>_*` in the ledger). When there
//!    are none, or one was reserved but never answered (a crash), plan the whole array and
//!    submit exactly once by the engine's rules: reserve every task with its submission id
//!    before sending any, re-send a recorded id (Globus answers `Duplicate`), look labels up
//!    first when the ledger may have been lost. Destination folders of every element are made
//!    before the tasks are sent.
//! 3. Release the lock. The element's own items must all be in the recorded tasks whose indices
//!    include it (the first element may have seen a different set of indices); if not, it stages
//!    alone, as any job, and nothing is lost.
//! 4. Wait for those tasks with the one shared poll: an element starts only once every task
//!    carrying its files has succeeded.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;

use super::document::{items_summary, transfer_document};
use super::outcome::{StageOptions, StageReport, StagedTask, Submission};
use super::{Error, Result, Stager, ledger_direction};
use crate::globus::{SubmissionId, SubmitCode, TaskId};
use crate::ledger::{self, NewTransfer, TransferRecord};
use crate::options::Direction;
use crate::plan::array::{ArrayPlan, IndexSet, NotCoalesced, carries_all, subject_job_id};
use crate::plan::{Plan, Task};
use crate::slurm::context::JobContext;

/// Holds an array's lock; released when dropped (or when the process dies).
struct ArrayLock(File);

impl Drop for ArrayLock {
    fn drop(&mut self) {
        // Closing the descriptor releases it as well.
        let _ = self.0.unlock();
    }
}

impl Stager {
    /// Stages one direction of an array element through the array's shared tasks, or alone
    /// when the array cannot share them (`plan_array` says why) or the element is not in them.
    ///
    /// `plan_array` plans the whole array; it is called only when the array's tasks must be
    /// submitted (by the first element, or after a crash), since it plans the script once per
    /// index.
    pub async fn stage_array_element(
        &self,
        job: &JobContext,
        own: &Plan,
        direction: Direction,
        plan_array: impl FnOnce() -> std::result::Result<ArrayPlan, NotCoalesced>,
        options: &StageOptions,
    ) -> Result<StageReport> {
        let (Some(array_job_id), Some(index)) = (job.array_job_id, job.array_task_id) else {
            return self.stage(job, own, direction, options).await;
        };
        if own.tasks(direction).is_empty() {
            return self.stage(job, own, direction, options).await;
        }
        let subject = subject_job_id(array_job_id);
        let records = {
            let _lock = self.lock_array(&own.cluster, array_job_id, direction)?;
            match self
                .submit_array(job, &subject, direction, plan_array, options)
                .await?
            {
                Some(records) => records,
                None => return self.stage(job, own, direction, options).await,
            }
        };
        let mine: Vec<&TransferRecord> = records
            .iter()
            .filter(|r| {
                r.array_task_id
                    .as_deref()
                    .and_then(IndexSet::parse)
                    .is_some_and(|set| set.contains(index))
            })
            .collect();
        let items: Vec<(TransferRecord, Vec<(String, String)>)> = mine
            .iter()
            .map(|r| ((*r).clone(), recorded_items(&r.items)))
            .collect();
        let ids: Vec<(
            crate::collection::CollectionId,
            crate::collection::CollectionId,
        )> = items
            .iter()
            .map(|(r, _)| {
                (
                    crate::collection::CollectionId::new(r.source.id),
                    crate::collection::CollectionId::new(r.destination.id),
                )
            })
            .collect();
        let carried = items.iter().zip(&ids).flat_map(|((_, list), (s, d))| {
            list.iter()
                .map(move |(src, dst)| (s, d, src.as_str(), dst.as_str()))
        });
        if !carries_all(own.tasks(direction), carried) {
            tracing::info!(
                job = own.job_id,
                "the array's shared tasks do not carry this element's items; staging it alone"
            );
            return self.stage(job, own, direction, options).await;
        }
        if direction == Direction::In {
            self.create_destination_dirs(own.tasks(direction)).await?;
        }
        let tasks: Vec<StagedTask> = mine
            .iter()
            .map(|r| StagedTask {
                number: usize::try_from(r.seq).unwrap_or(usize::MAX),
                label: r.label.clone(),
                task_id: r.task_id.map(TaskId),
                submission: Submission::Recorded,
                optional: own.tasks(direction).iter().any(|t| {
                    t.options.optional
                        && t.source.id.uuid() == r.source.id
                        && t.destination.id.uuid() == r.destination.id
                }),
                when: None,
                items: recorded_items(&r.items).len(),
            })
            .collect();
        let mut report = StageReport {
            cluster: own.cluster.clone(),
            job_id: own.job_id,
            direction,
            tasks,
            wait: None,
        };
        if options.wait {
            let ids = report.task_ids();
            report.wait = Some(self.wait(&ids, &options.wait_options).await?);
        }
        Ok(report)
    }

    /// The array's shared tasks that carry element `index`'s items, refreshed from Globus: what
    /// an element's stage-in waits for, for `test_data_in` and `bbstat`.
    pub async fn array_element_views(
        &self,
        cluster: &str,
        array_job_id: u64,
        index: u32,
    ) -> Result<Vec<super::TaskView>> {
        let subject = subject_job_id(array_job_id);
        let records: Vec<TransferRecord> = self
            .ledger()
            .get_by_job(cluster, &subject, None)?
            .into_iter()
            .filter(|r| r.job_id() == Some(subject.as_str()))
            .filter(|r| {
                r.array_task_id
                    .as_deref()
                    .and_then(IndexSet::parse)
                    .is_some_and(|set| set.contains(index))
            })
            .collect();
        self.refresh(&records).await
    }

    /// Under the array's lock: the array's records, submitting its tasks first when they are
    /// not all submitted. `None` when the array is staged element by element instead.
    async fn submit_array(
        &self,
        job: &JobContext,
        subject: &str,
        direction: Direction,
        plan_array: impl FnOnce() -> std::result::Result<ArrayPlan, NotCoalesced>,
        options: &StageOptions,
    ) -> Result<Option<Vec<TransferRecord>>> {
        let cluster = job
            .cluster_name
            .clone()
            .or_else(|| self.config.cluster.name.clone())
            .unwrap_or_else(|| "cluster".to_owned());
        let read = |s: &Self| -> Result<Vec<TransferRecord>> {
            Ok(s.ledger()
                .get_by_job(&cluster, subject, Some(ledger_direction(direction)))?
                .into_iter()
                .filter(|r| r.job_id() == Some(subject))
                .collect())
        };
        let mut records = read(self)?;
        if !records.is_empty() && records.iter().all(|r| r.task_id.is_some()) {
            return Ok(Some(records));
        }
        let plan = match plan_array() {
            Ok(plan) => plan,
            Err(why) => {
                tracing::info!("job array staged element by element: {why}");
                return Ok(None);
            }
        };
        let tasks: Vec<&Task> = plan.chunks.iter().map(|c| &c.task).collect();
        if records.is_empty() {
            let found: BTreeMap<usize, TaskId> = if self.may_have_lost(options.not_staged_before)? {
                self.find_by_label(&tasks).await?
            } else {
                BTreeMap::new()
            };
            for chunk in &plan.chunks {
                let number = chunk.task.number;
                let submission_id = match found.get(&number) {
                    Some(_) => None,
                    None => Some(self.client.get_submission_id().await?.0),
                };
                let new = new_chunk(job, &plan, &cluster, chunk, submission_id);
                let mut ledger = self.ledger();
                let record = ledger.reserve(&new)?;
                if let Some(task_id) = found.get(&number) {
                    ledger.record_submitted(record.id, task_id.0)?;
                }
            }
            records = read(self)?;
        }
        if direction == Direction::In {
            let owned: Vec<Task> = tasks.iter().map(|t| (*t).clone()).collect();
            self.create_destination_dirs(&owned).await?;
        }
        for record in records.iter().filter(|r| r.task_id.is_none()) {
            let Some(task) = tasks
                .iter()
                .find(|t| u32::try_from(t.number).ok() == Some(record.seq))
            else {
                return Ok(None);
            };
            if task.label != record.label || items_summary(task) != record.items {
                tracing::info!(
                    label = %record.label,
                    "the array's recorded task differs from its plan now; staging element by element"
                );
                return Ok(None);
            }
            self.send_chunk(task, record).await?;
        }
        Ok(Some(read(self)?))
    }

    /// `POST /transfer` of one shared task with its recorded submission id.
    async fn send_chunk(&self, task: &Task, record: &TransferRecord) -> Result<()> {
        let submission_id = match record.submission_id {
            Some(id) => id,
            // Recorded without one (found by label, then lost): nothing can have been sent.
            None => self.client.get_submission_id().await?.0,
        };
        let doc = transfer_document(task, SubmissionId(submission_id));
        let result = match self.submit_when_room(&doc).await {
            Ok(result) => result,
            Err(e) => {
                self.note_relogin(record.id, &e, "stage again")?;
                return Err(e.into());
            }
        };
        self.ledger()
            .record_submitted(record.id, result.task_id.0)?;
        if !matches!(result.code, SubmitCode::Accepted | SubmitCode::Duplicate) {
            tracing::debug!(code = ?result.code, "unusual submission code");
        }
        Ok(())
    }

    /// Locks the array for one direction: `array-<cluster>-<array job>-<in|out>.lock` next to
    /// the ledger.
    fn lock_array(
        &self,
        cluster: &str,
        array_job_id: u64,
        direction: Direction,
    ) -> Result<ArrayLock> {
        let path = self.array_lock_path(cluster, array_job_id, direction);
        let io = |source| Error::ArrayLock {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(ArrayLock(file))
    }

    fn array_lock_path(&self, cluster: &str, array_job_id: u64, direction: Direction) -> PathBuf {
        let safe: String = cluster
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let ledger = self.ledger().path().to_path_buf();
        let dir = ledger
            .parent()
            .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
        dir.join(format!("array-{safe}-{array_job_id}-{direction}.lock"))
    }
}

/// The (source, destination) paths of a record's item summary; nothing for a summary that does
/// not read (it is then simply not trusted to carry anything).
fn recorded_items(summary: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str(summary) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            Some((
                i.get("source")?.as_str()?.to_owned(),
                i.get("destination")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn new_chunk(
    job: &JobContext,
    plan: &ArrayPlan,
    cluster: &str,
    chunk: &crate::plan::array::Chunk,
    submission_id: Option<uuid::Uuid>,
) -> NewTransfer {
    let task = &chunk.task;
    let collection = |c: &crate::collection::Collection| ledger::Collection {
        id: c.id.uuid(),
        display_name: Some(c.display_name.clone()),
    };
    NewTransfer {
        subject: ledger::Subject::Job {
            cluster: cluster.to_owned(),
            job_id: plan.subject_job_id(),
            direction: ledger_direction(plan.direction),
        },
        seq: u32::try_from(task.number).unwrap_or(u32::MAX),
        label: task.label.clone(),
        source: collection(&task.source),
        destination: collection(&task.destination),
        items: items_summary(task),
        submission_id,
        user: job.user.clone(),
        array_job_id: Some(plan.array_job_id.to_string()),
        array_task_id: Some(chunk.indices.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_items_read_the_ledgers_summary_and_distrust_garbage() {
        let s = r#"[{"source":"/a","destination":"/b"},{"source":"/c"}]"#;
        assert_eq!(recorded_items(s), [("/a".to_owned(), "/b".to_owned())]);
        assert!(recorded_items("not json").is_empty());
    }
}
