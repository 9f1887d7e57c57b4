//! What callers ask the engine for and what it answers: options, reports and the per-task view
//! that `stage-*`, `status`, `list`, `wait` and `cancel` print (as text or JSON).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::globus::TaskId;
use crate::ledger::{State, TransferRecord};
use crate::options::{Direction, When};

/// How the job ended, which decides `--when` stage-outs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum JobOutcome {
    /// Exit code 0 and state COMPLETED.
    Success,
    /// Anything else; what is known of it.
    Failure {
        /// The exit code, when known.
        exit_code: Option<i32>,
        /// Slurm's state (`FAILED`, `TIMEOUT`, `CANCELLED`…), when known.
        state: Option<String>,
    },
}

impl JobOutcome {
    /// From an exit code: 0 is success.
    pub fn from_exit_code(code: i32) -> Self {
        if code == 0 {
            JobOutcome::Success
        } else {
            JobOutcome::Failure {
                exit_code: Some(code),
                state: None,
            }
        }
    }

    /// From Slurm's job state: `COMPLETED` is success, every other end state a failure.
    pub fn from_job_state(state: &str) -> Self {
        let word = state
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if word == "COMPLETED" {
            JobOutcome::Success
        } else {
            JobOutcome::Failure {
                exit_code: None,
                state: Some(word),
            }
        }
    }

    /// Whether a stage-out with `when` runs after this outcome.
    pub fn allows(&self, when: When) -> bool {
        match (when, self) {
            (When::Always, _)
            | (When::Success, JobOutcome::Success)
            | (When::Failure, JobOutcome::Failure { .. }) => true,
            (When::Success | When::Failure, _) => false,
        }
    }
}

/// How waiting shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Nothing (hooks, JSON output).
    #[default]
    Quiet,
    /// A line on stderr when a task's state or counts change (logs, pipes).
    Lines,
    /// A live bar on stderr (a terminal).
    Bar,
}

/// How [`Stager::wait`](super::Stager::wait) waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// Give up after this long (`None`: until every task ends).
    pub timeout: Option<Duration>,
    /// The first gap between polls; it grows while nothing changes.
    pub interval: Duration,
    /// The longest gap between polls.
    pub max_interval: Duration,
    /// How long a task may stay ACTIVE while Globus reports a permanent error (a missing source
    /// file, a denied permission) before it is cancelled and reported as failed.
    pub grace: Duration,
    /// Stop waiting (and report) when a task needs attention (INACTIVE) instead of waiting for
    /// the user to fix it.
    pub stop_on_attention: bool,
    /// How progress is shown.
    pub progress: ProgressMode,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: None,
            interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(60),
            grace: Duration::from_secs(60),
            stop_on_attention: false,
            progress: ProgressMode::Quiet,
        }
    }
}

/// How [`Stager::stage`](super::Stager::stage) stages one direction of a job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageOptions {
    /// Wait for the submitted tasks to end.
    pub wait: bool,
    /// How to wait, when waiting.
    pub wait_options: WaitOptions,
    /// How the job ended (stage-out `--when`); `None` when unknown. Needed only when a
    /// stage-out task has `--when success` or `--when failure`.
    pub job_outcome: Option<JobOutcome>,
    /// No gstage process can have staged this job and direction before this time (the job's
    /// submit time for hooks, its start time inside the job). When the ledger is older than
    /// that, a job absent from it was never staged, and the label lookup is skipped
    /// (see `docs/engine.md`, "Exactly once").
    pub not_staged_before: Option<DateTime<Utc>>,
}

/// How a planned task came to have its Globus task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Submission {
    /// Submitted now; Globus accepted it.
    Accepted,
    /// Re-sent with the recorded submission id; Globus answered `Duplicate` with the original.
    Duplicate,
    /// The ledger already had its task id: nothing was sent.
    Recorded,
    /// Found at Globus by its label (the ledger had lost it): nothing was sent.
    FoundByLabel,
    /// Not submitted: its `--when` does not match how the job ended.
    SkippedWhen,
}

/// One planned task after staging.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StagedTask {
    /// 1-based among the direction's tasks.
    pub number: usize,
    /// Its label.
    pub label: String,
    /// The Globus task (none when skipped).
    pub task_id: Option<TaskId>,
    /// How it came about.
    pub submission: Submission,
    /// Stage-in `--optional`: its failure does not fail the job.
    pub optional: bool,
    /// Stage-out `--when`.
    pub when: Option<When>,
    /// Items in the task.
    pub items: usize,
}

/// What [`Stager::stage`](super::Stager::stage) did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    /// The cluster.
    pub cluster: String,
    /// The job.
    pub job_id: u64,
    /// In or out.
    pub direction: Direction,
    /// Every planned task of the direction, in plan order.
    pub tasks: Vec<StagedTask>,
    /// The wait, when asked for.
    pub wait: Option<WaitReport>,
}

impl StageReport {
    /// The Globus tasks (skipped ones have none).
    pub fn task_ids(&self) -> Vec<TaskId> {
        self.tasks.iter().filter_map(|t| t.task_id).collect()
    }

    /// Whether the job may go on: without waiting, always; after waiting, every task that is not
    /// `--optional` succeeded.
    pub fn ok(&self) -> bool {
        let Some(wait) = &self.wait else { return true };
        !wait.timed_out
            && self.tasks.iter().all(|t| {
                t.optional
                    || t.task_id.is_none_or(|id| {
                        wait.tasks
                            .iter()
                            .any(|v| v.task_id == Some(id) && v.state == State::Succeeded)
                    })
            })
    }

    /// One line for people: `stage-in for job 42 on grex: 2 tasks submitted (…)`.
    pub fn summary(&self) -> String {
        let dir = match self.direction {
            Direction::In => "stage-in",
            Direction::Out => "stage-out",
        };
        let count = |s: Submission| self.tasks.iter().filter(|t| t.submission == s).count();
        let mut parts = Vec::new();
        for (s, word) in [
            (Submission::Accepted, "submitted"),
            (
                Submission::Duplicate,
                "already submitted (Globus confirmed)",
            ),
            (Submission::Recorded, "already submitted"),
            (Submission::FoundByLabel, "found at Globus by label"),
            (Submission::SkippedWhen, "skipped by --when"),
        ] {
            let n = count(s);
            if n > 0 {
                parts.push(format!("{n} {word}"));
            }
        }
        let mut line = format!(
            "{dir} for job {} on {}: {} task{}",
            self.job_id,
            self.cluster,
            self.tasks.len(),
            if self.tasks.len() == 1 { "" } else { "s" }
        );
        if !parts.is_empty() {
            line.push_str(&format!(" ({})", parts.join(", ")));
        }
        if let Some(wait) = &self.wait {
            line.push_str("; ");
            line.push_str(&wait.summary());
        }
        line
    }
}

/// One task as `status`, `list`, `wait` and `cancel` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskView {
    /// The Globus task, once submitted.
    pub task_id: Option<TaskId>,
    /// Its label.
    pub label: String,
    /// The cluster, for job transfers.
    pub cluster: Option<String>,
    /// The job, for job transfers.
    pub job_id: Option<String>,
    /// In or out, for job transfers.
    pub direction: Option<String>,
    /// The archive key, for `gstage transfer --key`.
    pub key: Option<String>,
    /// 1-based among the direction's tasks.
    pub seq: Option<u32>,
    /// Where it is.
    #[serde(serialize_with = "state_word")]
    pub state: State,
    /// Source collection (name, else id).
    pub source: String,
    /// Destination collection (name, else id).
    pub destination: String,
    /// Files the task will move.
    pub files: u64,
    /// Files moved so far.
    pub files_transferred: u64,
    /// Bytes moved so far.
    pub bytes_transferred: u64,
    /// The last error or the reason it needs attention.
    pub error: Option<String>,
    /// When it was recorded or requested.
    pub created_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub completed_at: Option<DateTime<Utc>>,
    /// Where the view came from: `ledger`, or `globus` (found by label, no ledger record).
    pub source_of_truth: &'static str,
}

impl TaskView {
    /// The view of a ledger record.
    pub fn from_record(r: &TransferRecord) -> Self {
        let name = |c: &crate::ledger::Collection| {
            c.display_name.clone().unwrap_or_else(|| c.id.to_string())
        };
        TaskView {
            task_id: r.task_id.map(TaskId),
            label: r.label.clone(),
            cluster: r.cluster().map(str::to_owned),
            job_id: r.job_id().map(str::to_owned),
            direction: r.direction().map(|d| d.as_str().to_owned()),
            key: r.archive_key().map(str::to_owned),
            seq: Some(r.seq),
            state: r.state,
            source: name(&r.source),
            destination: name(&r.destination),
            files: r.counts.files,
            files_transferred: r.counts.files_transferred,
            bytes_transferred: r.counts.bytes_transferred,
            error: r.last_error.clone(),
            created_at: Some(r.created_at),
            completed_at: r.completed_at,
            source_of_truth: "ledger",
        }
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(&self) -> bool {
        self.state.is_terminal()
    }
}

/// What [`Stager::wait`](super::Stager::wait) saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitReport {
    /// Each waited task, in the order asked.
    pub tasks: Vec<TaskView>,
    /// The timeout ran out before every task ended.
    pub timed_out: bool,
    /// How long the wait took.
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
}

fn state_word<S: serde::Serializer>(state: &State, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 10.0).round() / 10.0)
}

impl WaitReport {
    /// Every task SUCCEEDED (the only state `gstage wait` exits 0 for).
    pub fn all_succeeded(&self) -> bool {
        !self.timed_out && self.tasks.iter().all(|t| t.state == State::Succeeded)
    }

    /// Tasks that failed, were cancelled or need attention.
    pub fn problems(&self) -> impl Iterator<Item = &TaskView> {
        self.tasks
            .iter()
            .filter(|t| !matches!(t.state, State::Succeeded | State::Active | State::Submitted))
    }

    /// `2 succeeded, 1 failed` (and `timed out after 30s`).
    pub fn summary(&self) -> String {
        let mut counts: Vec<(State, usize)> = Vec::new();
        for t in &self.tasks {
            match counts.iter_mut().find(|(s, _)| *s == t.state) {
                Some((_, n)) => *n += 1,
                None => counts.push((t.state, 1)),
            }
        }
        let mut parts: Vec<String> = counts
            .iter()
            .map(|(s, n)| format!("{n} {}", s.as_str().to_ascii_lowercase().replace('_', " ")))
            .collect();
        if self.timed_out {
            parts.push(format!("timed out after {}s", self.elapsed.as_secs()));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_follows_the_job_outcome() {
        let ok = JobOutcome::from_exit_code(0);
        let bad = JobOutcome::from_exit_code(3);
        let timeout = JobOutcome::from_job_state("TIMEOUT");
        let cancelled = JobOutcome::from_job_state("CANCELLED by 1000");
        for (outcome, success, failure) in [
            (&ok, true, false),
            (&bad, false, true),
            (&timeout, false, true),
            (&cancelled, false, true),
            (&JobOutcome::from_job_state("completed"), true, false),
        ] {
            assert_eq!(outcome.allows(When::Success), success, "{outcome:?}");
            assert_eq!(outcome.allows(When::Failure), failure, "{outcome:?}");
            assert!(outcome.allows(When::Always));
        }
    }
}
