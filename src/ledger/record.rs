//! The ledger's own plain record types, independent of the planner's and the Globus client's types
//! so the ledger can be read by any command (and any future version) without pulling them in.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Which way a job's data moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Before the job runs: remote collection → cluster.
    In,
    /// After the job ends: cluster → remote collection.
    Out,
}

impl Direction {
    /// The stored and displayed spelling (`in`, `out`), the same word the task label uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in" => Ok(Direction::In),
            "out" => Ok(Direction::Out),
            other => Err(format!(
                "unknown direction `{other}` (expected `in` or `out`)"
            )),
        }
    }
}

/// What a planned transfer belongs to; with `seq` it identifies the transfer for exactly-once
/// submission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A Slurm job's stage-in or stage-out.
    Job {
        /// Slurm cluster name (job ids are only unique per cluster).
        cluster: String,
        /// Slurm job id as Slurm prints it.
        job_id: String,
        /// Stage-in or stage-out.
        direction: Direction,
    },
    /// A `gstage transfer --key KEY` outside any job (archiving pipelines).
    Key(String),
}

/// A Globus collection as the user knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// The collection's UUID.
    pub id: Uuid,
    /// Its display name, when known, for humans reading `gstage status`.
    pub display_name: Option<String>,
}

/// Where a transfer is in its life. Globus' own task states sit between `Submitted` and the
/// terminal states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Recorded from the plan; no submission id yet.
    Planned,
    /// A submission id is stored; `POST /transfer` may or may not have happened.
    Reserved,
    /// Globus accepted the task; its id is stored.
    Submitted,
    /// Globus reports the task ACTIVE.
    Active,
    /// Globus reports the task INACTIVE (paused: credentials, consent, policy); needs the user.
    Inactive,
    /// Globus reports the task SUCCEEDED.
    Succeeded,
    /// Globus reports the task FAILED, or gstage gave up on it (fail-fast).
    Failed,
    /// gstage cancelled the task (`gstage cancel`, `scancel` teardown, fail-fast).
    Canceled,
    /// The transfer cannot proceed without the user (login, consent, MFA); see `last_error`.
    NeedsAttention,
}

impl State {
    /// Every state, in life-cycle order (for help texts and tests).
    pub const ALL: [State; 9] = [
        State::Planned,
        State::Reserved,
        State::Submitted,
        State::Active,
        State::Inactive,
        State::Succeeded,
        State::Failed,
        State::Canceled,
        State::NeedsAttention,
    ];

    /// The stored and displayed spelling, in Globus' upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Planned => "PLANNED",
            State::Reserved => "RESERVED",
            State::Submitted => "SUBMITTED",
            State::Active => "ACTIVE",
            State::Inactive => "INACTIVE",
            State::Succeeded => "SUCCEEDED",
            State::Failed => "FAILED",
            State::Canceled => "CANCELED",
            State::NeedsAttention => "NEEDS_ATTENTION",
        }
    }

    /// True once nothing more will happen to the task; a late poll must not move it back.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Succeeded | State::Failed | State::Canceled)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;
    /// Accepts any case and `-` for `_`, so `--state needs-attention` works on the command line.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_uppercase().replace('-', "_");
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == wanted)
            .ok_or_else(|| {
                let known: Vec<String> = State::ALL
                    .iter()
                    .map(|s| s.as_str().to_ascii_lowercase())
                    .collect();
                format!("unknown state `{s}` (expected one of {})", known.join(", "))
            })
    }
}

/// File and byte counts as Globus reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Files the task will move (known once Globus has listed the source).
    pub files: u64,
    /// Files moved so far.
    pub files_transferred: u64,
    /// Bytes the task will move.
    pub bytes: u64,
    /// Bytes moved so far.
    pub bytes_transferred: u64,
}

/// A transfer the engine is about to submit, as handed to [`Ledger::reserve`](super::Ledger::reserve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransfer {
    /// The job and direction, or the archive key.
    pub subject: Subject,
    /// 1, 2, … within the subject; the planner's task order.
    pub seq: u32,
    /// The Globus task label (`gstage <cluster> <jobid> in 1`).
    pub label: String,
    /// Source collection.
    pub source: Collection,
    /// Destination collection.
    pub destination: Collection,
    /// A JSON summary of the items (kept as text: the ledger does not interpret it).
    pub items: String,
    /// The submission id to send with `POST /transfer`; `None` records the transfer as planned only.
    pub submission_id: Option<Uuid>,
    /// The user the transfer runs for.
    pub user: String,
    /// `SLURM_ARRAY_JOB_ID` when the job is an array element.
    pub array_job_id: Option<String>,
    /// `SLURM_ARRAY_TASK_ID` (or a range for coalesced elements).
    pub array_task_id: Option<String>,
}

/// One planned transfer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    /// The ledger's own id (stable, never reused).
    pub id: i64,
    /// The job and direction, or the archive key.
    pub subject: Subject,
    /// 1, 2, … within the subject.
    pub seq: u32,
    /// The Globus task label.
    pub label: String,
    /// Source collection.
    pub source: Collection,
    /// Destination collection.
    pub destination: Collection,
    /// JSON summary of the items.
    pub items: String,
    /// The reserved submission id, once reserved.
    pub submission_id: Option<Uuid>,
    /// The Globus task id, once submitted.
    pub task_id: Option<Uuid>,
    /// Where the transfer is.
    pub state: State,
    /// Last known counts.
    pub counts: Counts,
    /// When the transfer was first recorded.
    pub created_at: DateTime<Utc>,
    /// When Globus accepted it.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Last change to this record.
    pub updated_at: DateTime<Utc>,
    /// When it reached a terminal state.
    pub completed_at: Option<DateTime<Utc>>,
    /// The last error or reason for attention, for the user.
    pub last_error: Option<String>,
    /// The user it runs for.
    pub user: String,
    /// `SLURM_ARRAY_JOB_ID`, for array elements.
    pub array_job_id: Option<String>,
    /// `SLURM_ARRAY_TASK_ID`, for array elements.
    pub array_task_id: Option<String>,
}

impl TransferRecord {
    /// The job's cluster, for job transfers.
    pub fn cluster(&self) -> Option<&str> {
        match &self.subject {
            Subject::Job { cluster, .. } => Some(cluster),
            Subject::Key(_) => None,
        }
    }

    /// The job id, for job transfers.
    pub fn job_id(&self) -> Option<&str> {
        match &self.subject {
            Subject::Job { job_id, .. } => Some(job_id),
            Subject::Key(_) => None,
        }
    }

    /// Stage-in or stage-out, for job transfers.
    pub fn direction(&self) -> Option<Direction> {
        match &self.subject {
            Subject::Job { direction, .. } => Some(*direction),
            Subject::Key(_) => None,
        }
    }

    /// The archive key, for `gstage transfer --key` transfers.
    pub fn archive_key(&self) -> Option<&str> {
        match &self.subject {
            Subject::Key(key) => Some(key),
            Subject::Job { .. } => None,
        }
    }
}

/// A task's status as read from Globus, for [`Ledger::update_status`](super::Ledger::update_status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The new state.
    pub state: State,
    /// The counts Globus reported.
    pub counts: Counts,
    /// The error or attention reason to show the user; `None` clears it.
    pub last_error: Option<String>,
    /// Globus' completion time; when absent and the state is terminal, the ledger uses now.
    pub completed_at: Option<DateTime<Utc>>,
}

/// Which transfers [`Ledger::list`](super::Ledger::list) returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only transfers recorded at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only transfers in this state.
    pub state: Option<State>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}
