//! `status`, `list` and `cancel`: the ledger's records, refreshed from Globus in one
//! `task_list` call; when the ledger knows nothing of a job (another host, a lost ledger), the
//! job's tasks are found at Globus by their labels.

use serde::Serialize;

use super::outcome::TaskView;
use super::poll::{status_update, view_of_task};
use super::{Error, Result, Stager, ledger_direction};
use crate::globus::{TaskId, TaskQuery};
use crate::ledger::{Filter, State, StatusUpdate, TransferRecord};
use crate::options::Direction;

/// A job's transfers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    /// The cluster.
    pub cluster: String,
    /// The job.
    pub job_id: String,
    /// Its tasks, stage-in first, in plan order.
    pub tasks: Vec<TaskView>,
}

/// The parts of a gstage label: `gstage <cluster> <job> <in|out> <n>[: <user label>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LabelParts {
    pub(crate) cluster: String,
    pub(crate) job_id: String,
    pub(crate) direction: String,
    pub(crate) seq: u32,
}

/// Reads a label gstage wrote; `None` for any other label.
pub(crate) fn parse_label(label: &str) -> Option<LabelParts> {
    let head = label.split(": ").next()?;
    let mut words = head.split(' ');
    if words.next()? != "gstage" {
        return None;
    }
    let cluster = words.next()?.to_owned();
    let job_id = words.next()?.to_owned();
    let direction = words
        .next()
        .filter(|d| matches!(*d, "in" | "out"))?
        .to_owned();
    let seq = words.next()?.parse().ok()?;
    if words.next().is_some() || job_id.parse::<u64>().is_err() {
        return None;
    }
    Some(LabelParts {
        cluster,
        job_id,
        direction,
        seq,
    })
}

impl Stager {
    /// A job's transfers, refreshed from Globus. Without ledger records, the job's tasks are
    /// looked up by label, so this works from any host with the user's login.
    pub async fn status_of_job(&self, cluster: &str, job_id: &str) -> Result<JobStatus> {
        let records = self.ledger().get_by_job(cluster, job_id, None)?;
        let tasks = if records.is_empty() {
            self.tasks_by_label(cluster, job_id).await?
        } else {
            self.refresh(&records).await?
        };
        if tasks.is_empty() {
            return Err(Error::NotFound {
                what: format!("job `{job_id}` on `{cluster}`"),
            });
        }
        Ok(JobStatus {
            cluster: cluster.to_owned(),
            job_id: job_id.to_owned(),
            tasks,
        })
    }

    /// One task, from the ledger refreshed from Globus, or from Globus alone.
    pub async fn status_of_task(&self, task: TaskId) -> Result<TaskView> {
        let record = self.ledger().get_by_task(task.0)?;
        match record {
            Some(r) => Ok(self
                .refresh(std::slice::from_ref(&r))
                .await?
                .into_iter()
                .next()
                .unwrap_or_else(|| TaskView::from_record(&r))),
            None => match self.client.get_task(&task).await {
                Ok(t) => Ok(view_of_task(&t)),
                Err(e) if e.exit_code() == crate::exit::NOT_FOUND => Err(Error::NotFound {
                    what: format!("task `{task}`"),
                }),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Recorded transfers matching `filter`, newest first, open ones refreshed from Globus.
    pub async fn list(&self, filter: &Filter) -> Result<Vec<TaskView>> {
        let records = self.ledger().list(filter)?;
        let mut views = self.refresh(&records).await?;
        // A refresh may have moved a task out of the state asked for.
        if let Some(state) = filter.state {
            views.retain(|v| v.state == state);
        }
        Ok(views)
    }

    /// A job's submitted tasks, as the ledger records them (no request), or found at Globus by
    /// label when the ledger has none: what `gstage wait JOBID` waits for.
    pub async fn job_tasks(&self, cluster: &str, job_id: &str) -> Result<Vec<TaskId>> {
        let records = self.ledger().get_by_job(cluster, job_id, None)?;
        let ids: Vec<TaskId> = if records.is_empty() {
            self.tasks_by_label(cluster, job_id)
                .await?
                .iter()
                .filter_map(|v| v.task_id)
                .collect()
        } else {
            records
                .iter()
                .filter_map(|r| r.task_id.map(TaskId))
                .collect()
        };
        if ids.is_empty() {
            return Err(Error::NotFound {
                what: format!("job `{job_id}` on `{cluster}`"),
            });
        }
        Ok(ids)
    }

    /// Every task the ledger holds as unfinished (what `gstage wait` waits for by default).
    pub fn open_tasks(&self) -> Result<Vec<TaskId>> {
        Ok(self
            .ledger()
            .active_task_ids()?
            .into_iter()
            .map(TaskId)
            .collect())
    }

    /// Cancels a job's unfinished transfers (one direction or both) and records them CANCELED.
    /// An array's job id reaches the whole array, its elements and their shared tasks, as
    /// `scancel` does; a job no ledger here knows is found by its labels.
    pub async fn cancel_job(
        &self,
        cluster: &str,
        job_id: &str,
        direction: Option<Direction>,
    ) -> Result<Vec<TaskView>> {
        let records = self
            .ledger()
            .get_by_job(cluster, job_id, direction.map(ledger_direction))?;
        self.cancel_records(cluster, job_id, direction, records)
            .await
    }

    /// Cancels only the job's own unfinished transfers: what tearing down one array element
    /// may stop. The array's shared tasks and the other elements' transfers go on, even when
    /// the element's job id is also the array's.
    pub async fn cancel_own(&self, cluster: &str, job_id: &str) -> Result<Vec<TaskView>> {
        let records = self
            .ledger()
            .get_by_job(cluster, job_id, None)?
            .into_iter()
            .filter(|r| r.job_id() == Some(job_id))
            .collect();
        self.cancel_records(cluster, job_id, None, records).await
    }

    async fn cancel_records(
        &self,
        cluster: &str,
        job_id: &str,
        direction: Option<Direction>,
        records: Vec<TransferRecord>,
    ) -> Result<Vec<TaskView>> {
        let mut views = if records.is_empty() {
            self.tasks_by_label(cluster, job_id).await?
        } else {
            self.refresh(&records).await?
        };
        if let Some(d) = direction {
            let word = d.to_string();
            views.retain(|v| v.direction.as_deref() == Some(word.as_str()));
        }
        if views.is_empty() {
            return Err(Error::NotFound {
                what: format!("job `{job_id}` on `{cluster}`"),
            });
        }
        let mut out = Vec::with_capacity(views.len());
        for view in views {
            out.push(self.cancel_view(view).await?);
        }
        Ok(out)
    }

    /// Cancels one task and records it CANCELED.
    pub async fn cancel_task(&self, task: TaskId) -> Result<TaskView> {
        let view = self.status_of_task(task).await?;
        self.cancel_view(view).await
    }

    async fn cancel_view(&self, view: TaskView) -> Result<TaskView> {
        let Some(task_id) = view.task_id else {
            return Ok(view);
        };
        if view.is_final() {
            return Ok(view);
        }
        self.client.cancel_task(&task_id).await?;
        let update = StatusUpdate {
            state: State::Canceled,
            counts: crate::ledger::Counts {
                files: view.files,
                files_transferred: view.files_transferred,
                bytes: view.bytes_transferred,
                bytes_transferred: view.bytes_transferred,
            },
            last_error: Some("cancelled with `gstage cancel`".to_owned()),
            completed_at: None,
        };
        let mut ledger = self.ledger();
        match ledger.get_by_task(task_id.0)? {
            Some(_) => Ok(TaskView::from_record(
                &ledger.update_status(task_id.0, &update)?,
            )),
            None => Ok(TaskView {
                state: State::Canceled,
                error: update.last_error,
                ..view
            }),
        }
    }

    /// Views of `records`, with every unfinished submitted task asked about in one
    /// `task_list` and the answers stored.
    pub(crate) async fn refresh(&self, records: &[TransferRecord]) -> Result<Vec<TaskView>> {
        let open: Vec<TaskId> = records
            .iter()
            .filter(|r| !r.state.is_terminal())
            .filter_map(|r| r.task_id.map(TaskId))
            .collect();
        if open.is_empty() {
            return Ok(records.iter().map(TaskView::from_record).collect());
        }
        let listed = self
            .client
            .task_list(&TaskQuery {
                task_ids: open,
                ..TaskQuery::default()
            })
            .await?;
        let mut ledger = self.ledger();
        for task in &listed {
            ledger.update_status(task.task_id.0, &status_update(task))?;
        }
        records
            .iter()
            .map(|r| {
                Ok(TaskView::from_record(
                    &ledger.get(r.id)?.unwrap_or_else(|| r.clone()),
                ))
            })
            .collect()
    }

    /// A job's tasks found at Globus by label (`label:~gstage <cluster> <job> `).
    async fn tasks_by_label(&self, cluster: &str, job_id: &str) -> Result<Vec<TaskView>> {
        let listed = self
            .client
            .task_list(&TaskQuery {
                label_contains: Some(format!("gstage {cluster} {job_id} ")),
                ..TaskQuery::default()
            })
            .await?;
        let mut views: Vec<TaskView> = listed
            .iter()
            .filter(|t| {
                t.label
                    .as_deref()
                    .and_then(parse_label)
                    .is_some_and(|p| p.cluster == cluster && p.job_id == job_id)
            })
            .map(view_of_task)
            .collect();
        views.sort_by(|a, b| {
            (a.direction.as_deref() == Some("out"), a.seq, a.created_at).cmp(&(
                b.direction.as_deref() == Some("out"),
                b.seq,
                b.created_at,
            ))
        });
        Ok(views)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_gstage_wrote_are_read_back() {
        let p = parse_label("gstage grex 42 in 1").expect("a gstage label");
        assert_eq!(
            (
                p.cluster.as_str(),
                p.job_id.as_str(),
                p.direction.as_str(),
                p.seq
            ),
            ("grex", "42", "in", 1)
        );
        let p = parse_label("gstage grex 42 out 2: nightly run").expect("with a user label");
        assert_eq!((p.direction.as_str(), p.seq), ("out", 2));
        for other in [
            "",
            "gstage",
            "gstage grex x in 1",
            "gstage grex 4 up 1",
            "my transfer",
        ] {
            assert_eq!(parse_label(other), None, "{other}");
        }
    }
}
