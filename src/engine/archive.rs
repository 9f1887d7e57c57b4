//! Archive runs (`gstage transfer`): the exactly-once rules of `submit.rs`, keyed by an archive
//! key instead of a job, so the same key never submits a second task.
//!
//! 1. The ledger's records of the key are used first. Records whose labels carry another
//!    fingerprint mean the key archived other data: refused before anything is sent.
//! 2. Without records (a first run, or a lost ledger) the key's tasks are looked up at Globus by
//!    label (`label:~gstage transfer <KEY> `) and adopted, or refused as in 1.
//! 3. Otherwise each source is checked to exist (`stat`), every task is reserved with a
//!    submission id, and only then is any sent; a re-run after kill -9 re-sends the recorded
//!    ids and Globus answers `Duplicate` with the original task.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Stager;
use super::document::{items_summary, transfer_document};
use super::outcome::{StagedTask, Submission, TaskView, WaitOptions, WaitReport};
use super::poll::view_of_task;
use crate::archive::{Error, Key, Run, parse_label};
use crate::globus::{SubmitCode, TaskId, TaskQuery};
use crate::ledger::{self, NewTransfer, TransferRecord};
use crate::plan::Task;

type Result<T, E = Error> = std::result::Result<T, E>;

/// How [`Stager::archive`] runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArchiveOptions {
    /// Wait for the tasks to end.
    pub wait: bool,
    /// How to wait.
    pub wait_options: WaitOptions,
    /// The user the run is recorded for.
    pub user: String,
}

/// What [`Stager::archive`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchiveReport {
    /// The key.
    pub key: Key,
    /// The data's fingerprint.
    pub fingerprint: String,
    /// Every task of the run, in plan order.
    pub tasks: Vec<StagedTask>,
    /// The wait, when asked for.
    pub wait: Option<WaitReport>,
}

impl ArchiveReport {
    /// The Globus tasks.
    pub fn task_ids(&self) -> Vec<TaskId> {
        self.tasks.iter().filter_map(|t| t.task_id).collect()
    }

    /// One line for people: `archive nightly-2026-11-28: 2 tasks (2 submitted)`.
    pub fn summary(&self) -> String {
        let count = |s: Submission| self.tasks.iter().filter(|t| t.submission == s).count();
        let parts: Vec<String> = [
            (Submission::Accepted, "submitted"),
            (
                Submission::Duplicate,
                "already submitted (Globus confirmed)",
            ),
            (Submission::Recorded, "already submitted (ledger)"),
            (
                Submission::FoundByLabel,
                "already submitted (found by label)",
            ),
        ]
        .into_iter()
        .filter_map(|(s, word)| {
            let n = count(s);
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect();
        let mut line = format!(
            "archive {}: {} task{} ({})",
            self.key,
            self.tasks.len(),
            if self.tasks.len() == 1 { "" } else { "s" },
            parts.join(", ")
        );
        if let Some(wait) = &self.wait {
            line.push_str("; ");
            line.push_str(&wait.summary());
        }
        line
    }
}

impl Stager {
    /// Submits an archive run exactly once per key (see the module's rules) and waits for it
    /// when `options.wait` is set.
    pub async fn archive(&self, run: &Run, options: &ArchiveOptions) -> Result<ArchiveReport> {
        let key = run.key.as_str();
        let mut records = self.ledger().get_by_key(key)?;
        refuse_other_data(run, records.iter().map(|r| (r.label.as_str(), r.task_id)))?;
        let mut found: BTreeMap<u32, TaskId> = BTreeMap::new();
        if records.is_empty() {
            if run.keyed {
                found = self.find_archive(run).await?;
            }
            if found.is_empty() {
                self.check_sources(&run.tasks).await?;
            }
            // Every task reserved before any is sent.
            for task in &run.tasks {
                let seq = seq_of(task);
                let submission_id = match found.get(&seq) {
                    Some(_) => None,
                    None => Some(self.client.get_submission_id().await?.0),
                };
                let mut ledger = self.ledger();
                let record = ledger.reserve(&new_transfer(run, task, submission_id, options))?;
                if let Some(task_id) = found.get(&seq) {
                    ledger.record_submitted(record.id, task_id.0)?;
                }
            }
            records = self.ledger().get_by_key(key)?;
        }
        let mut tasks = Vec::with_capacity(run.tasks.len());
        for task in &run.tasks {
            let seq = seq_of(task);
            let record = match records.iter().find(|r| r.seq == seq) {
                Some(r) if r.submission_id.is_some() || r.task_id.is_some() => r.clone(),
                // Recorded without a submission id (or not at all): no earlier run sent it.
                _ => {
                    let id = self.client.get_submission_id().await?.0;
                    self.ledger()
                        .reserve(&new_transfer(run, task, Some(id), options))?
                }
            };
            let (task_id, submission) = match record.task_id {
                Some(id) if found.contains_key(&seq) => (TaskId(id), Submission::FoundByLabel),
                Some(id) => (TaskId(id), Submission::Recorded),
                None => self.send_archived(task, &record).await?,
            };
            tasks.push(StagedTask {
                number: task.number,
                label: record.label.clone(),
                task_id: Some(task_id),
                submission,
                optional: false,
                when: None,
                items: task.items.len(),
            });
        }
        let mut report = ArchiveReport {
            key: run.key.clone(),
            fingerprint: run.fingerprint.clone(),
            tasks,
            wait: None,
        };
        if options.wait {
            let ids = report.task_ids();
            report.wait = Some(self.wait(&ids, &options.wait_options).await?);
        }
        Ok(report)
    }

    /// `POST /transfer` with the recorded submission id, and records the task id.
    async fn send_archived(
        &self,
        task: &Task,
        record: &TransferRecord,
    ) -> Result<(TaskId, Submission)> {
        let submission_id = record.submission_id.unwrap_or_default();
        let mut planned = task.clone();
        planned.label.clone_from(&record.label);
        let doc = transfer_document(&planned, crate::globus::SubmissionId(submission_id));
        let result = match self.submit_when_room(&doc).await {
            Ok(result) => result,
            Err(e) => {
                self.note_relogin(record.id, &e, "run the same `gstage transfer` again")?;
                return Err(e.into());
            }
        };
        self.ledger()
            .record_submitted(record.id, result.task_id.0)?;
        let how = match result.code {
            SubmitCode::Duplicate => Submission::Duplicate,
            SubmitCode::Accepted | SubmitCode::Other(_) => Submission::Accepted,
        };
        Ok((result.task_id, how))
    }

    /// The tasks Globus already has for this key (rule 2), refusing other data under it.
    async fn find_archive(&self, run: &Run) -> Result<BTreeMap<u32, TaskId>> {
        let listed = self.tasks_of_key(&run.key).await?;
        refuse_other_data(
            run,
            listed
                .iter()
                .map(|t| (t.label.as_deref().unwrap_or_default(), Some(t.task_id.0))),
        )?;
        let mut found: BTreeMap<u32, (chrono::DateTime<chrono::Utc>, TaskId)> = BTreeMap::new();
        for t in &listed {
            let Some(parts) = t.label.as_deref().and_then(parse_label) else {
                continue;
            };
            let earlier = found
                .get(&parts.seq)
                .is_none_or(|(at, _)| t.request_time < *at);
            if earlier {
                found.insert(parts.seq, (t.request_time, t.task_id));
            }
        }
        Ok(found.into_iter().map(|(seq, (_, id))| (seq, id)).collect())
    }

    /// Globus' tasks labelled for exactly this key.
    async fn tasks_of_key(&self, key: &Key) -> Result<Vec<crate::globus::Task>> {
        let listed = self
            .client
            .task_list(&TaskQuery {
                label_contains: Some(key.label_prefix()),
                ..TaskQuery::default()
            })
            .await?;
        Ok(listed
            .into_iter()
            .filter(|t| {
                t.label
                    .as_deref()
                    .and_then(parse_label)
                    .is_some_and(|p| p.key == key.as_str())
            })
            .collect())
    }

    /// Fails fast, before any task exists, when a source path is missing.
    async fn check_sources(&self, tasks: &[Task]) -> Result<()> {
        for task in tasks {
            for item in &task.items {
                match self.client.stat(&task.source.id, &item.source_path).await {
                    Ok(_) => {}
                    Err(e) if e.exit_code() == crate::exit::NOT_FOUND => {
                        return Err(Error::SourceMissing {
                            path: item.source_path.clone(),
                            collection: task.source.display_name.clone(),
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// An archive key's transfers: the ledger's, refreshed from Globus, or found at Globus by
    /// label when the ledger has none.
    pub async fn status_of_key(&self, key: &Key) -> Result<Vec<TaskView>> {
        let records = self.ledger().get_by_key(key.as_str())?;
        let views = if records.is_empty() {
            self.views_by_label(&self.tasks_of_key(key).await?)
        } else {
            self.refresh(&records).await?
        };
        if views.is_empty() {
            return Err(Error::Engine(super::Error::NotFound {
                what: format!("archive key `{key}`"),
            }));
        }
        Ok(views)
    }

    /// The transfers of every key starting with `prefix`, by key: the ledger's, refreshed from
    /// Globus, or found at Globus by label when the ledger has none.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<TaskView>> {
        let records = self.ledger().list_by_key_prefix(prefix)?;
        if !records.is_empty() {
            return Ok(self.refresh(&records).await?);
        }
        let listed = self
            .client
            .task_list(&TaskQuery {
                label_contains: Some(format!("gstage transfer {prefix}")),
                ..TaskQuery::default()
            })
            .await?;
        let mine: Vec<crate::globus::Task> = listed
            .into_iter()
            .filter(|t| {
                t.label
                    .as_deref()
                    .and_then(parse_label)
                    .is_some_and(|p| p.key.starts_with(prefix))
            })
            .collect();
        Ok(self.views_by_label(&mine))
    }

    /// Views of tasks found at Globus, with their key and number read from the label, by key
    /// then number.
    fn views_by_label(&self, tasks: &[crate::globus::Task]) -> Vec<TaskView> {
        let mut views: Vec<TaskView> = tasks
            .iter()
            .map(|t| {
                let mut view = view_of_task(t);
                if let Some(parts) = t.label.as_deref().and_then(parse_label) {
                    view.key = Some(parts.key);
                    view.seq = Some(parts.seq);
                }
                view
            })
            .collect();
        views.sort_by(|a, b| (&a.key, a.seq, a.created_at).cmp(&(&b.key, b.seq, b.created_at)));
        views
    }
}

/// Refuses a run whose key labels (from the ledger or Globus) carry another fingerprint.
fn refuse_other_data<'a>(
    run: &Run,
    labels: impl Iterator<Item = (&'a str, Option<uuid::Uuid>)>,
) -> Result<()> {
    for (label, task) in labels {
        let other = match parse_label(label) {
            Some(parts) => parts.fingerprint != run.fingerprint,
            // Recorded under the key but not labelled by this scheme: not this data either.
            None => true,
        };
        if other {
            return Err(Error::KeyUsedForOtherData {
                key: run.key.to_string(),
                task: task.map_or_else(|| "not yet submitted".to_owned(), |t| t.to_string()),
                label: label.to_owned(),
            });
        }
    }
    Ok(())
}

fn seq_of(task: &Task) -> u32 {
    u32::try_from(task.number).unwrap_or(u32::MAX)
}

fn new_transfer(
    run: &Run,
    task: &Task,
    submission_id: Option<uuid::Uuid>,
    options: &ArchiveOptions,
) -> NewTransfer {
    let collection = |c: &crate::collection::Collection| ledger::Collection {
        id: c.id.uuid(),
        display_name: Some(c.display_name.clone()),
    };
    NewTransfer {
        subject: ledger::Subject::Key(run.key.as_str().to_owned()),
        seq: seq_of(task),
        label: task.label.clone(),
        source: collection(&task.source),
        destination: collection(&task.destination),
        items: items_summary(task),
        submission_id,
        user: options.user.clone(),
        array_job_id: None,
        array_task_id: None,
    }
}
