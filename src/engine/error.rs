//! Why staging, waiting or querying failed, with the exit code DESIGN.md assigns and the fix.

use crate::exit;

/// Everything the engine can fail at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Globus refused or could not be reached (its own error says what to do).
    #[error(transparent)]
    Globus(#[from] crate::globus::Error),
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::Error),
    /// The ledger holds transfers for this job and direction that the plan no longer matches:
    /// submitting the new plan could create a second task for the same label.
    #[error(
        "job `{job_id}` {direction}: the ledger records task {seq} as `{recorded}` but the script now plans `{planned}`; the job's script changed after staging started (or Slurm reused the job id). Run `gstage status {job_id}` to see what was submitted, or stage the new plan under a new job"
    )]
    PlanChanged {
        /// The job.
        job_id: u64,
        /// In or out.
        direction: crate::options::Direction,
        /// The task number.
        seq: usize,
        /// What the ledger holds: label, collections, items.
        recorded: String,
        /// What is planned now, in the same form.
        planned: String,
    },
    /// A destination directory on the cluster could not be created.
    #[error(
        "cannot create destination directory `{path}`: {source}; check that you may write there"
    )]
    Mkdir {
        /// The local directory.
        path: std::path::PathBuf,
        /// The operating system's answer.
        #[source]
        source: std::io::Error,
    },
    /// Stage-out directives use `--when success|failure`, and how the job ended is unknown.
    #[error(
        "cannot tell how job `{job_id}` ended, which its `--when {when}` stage-out needs; give `--exit-code N` or `--job-state STATE`, or run inside the job's epilog where `SLURM_JOB_EXIT_CODE` is set"
    )]
    OutcomeUnknown {
        /// The job.
        job_id: u64,
        /// The `--when` that needs it.
        when: crate::options::When,
    },
    /// The lock that lets one element of a job array submit the array's shared tasks could not
    /// be taken.
    #[error(
        "cannot lock `{path}` to stage the job array: {source}; check that the ledger's folder exists and belongs to you"
    )]
    ArrayLock {
        /// The lock file.
        path: std::path::PathBuf,
        /// The operating system's answer.
        #[source]
        source: std::io::Error,
    },
    /// Nothing is known about the job or task asked for, neither in the ledger nor at Globus.
    #[error(
        "{what} is not in the ledger and Globus has no task labelled for it; `gstage list` shows the recorded transfers"
    )]
    NotFound {
        /// What was asked for, e.g. ``job `42` on `grex` ``.
        what: String,
    },
}

impl Error {
    /// The process exit code: not found 3, login needed 4, bad usage 2, else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Globus(e) => e.exit_code(),
            Error::Ledger(e) => e.exit_code(),
            Error::NotFound { .. } => exit::NOT_FOUND,
            Error::OutcomeUnknown { .. } | Error::PlanChanged { .. } => exit::USAGE,
            Error::Mkdir { .. } | Error::ArrayLock { .. } => exit::FAILURE,
        }
    }
}

/// Results of engine calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
