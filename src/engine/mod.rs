//! The staging engine: turns a job's [`Plan`](crate::plan::Plan) into Globus tasks exactly once,
//! waits for them with one shared poll, and answers `status`, `list` and `cancel` from the
//! ledger, refreshed from Globus (or from task labels when the ledger knows nothing).
//!
//! Everything goes through one [`Stager`], built from the config, a [`GlobusClient`] and an open
//! [`Ledger`]. Its methods are `async`; commands run them with `commands::block_on` on a
//! single-threaded runtime, so no thread is started before a hook drops privileges.
//!
//! - [`Stager::stage`]: submit one direction of a job (see `submit.rs` for the exactly-once
//!   rules), creating stage-in destination directories first; optionally wait.
//! - [`Stager::wait`]: wait for tasks; however many processes wait, one of them polls Globus per
//!   interval for every open task of the user and the others read the ledger (`poll.rs`).
//! - [`Stager::status_of_job`], [`Stager::status_of_task`], [`Stager::list`],
//!   [`Stager::cancel_job`], [`Stager::cancel_own`], [`Stager::cancel_task`] (`query.rs`).

mod archive;
mod array;
mod document;
mod error;
pub mod failfast;
mod outcome;
mod poll;
pub mod progress;
mod query;
mod submit;

use std::sync::{Mutex, MutexGuard};

pub use archive::{ArchiveOptions, ArchiveReport};
pub use document::{items_summary, transfer_document};
pub use error::{Error, Result};
pub use outcome::{
    JobOutcome, ProgressMode, StageOptions, StageReport, StagedTask, Submission, TaskView,
    WaitOptions, WaitReport,
};
pub use query::JobStatus;

use crate::config::Config;
use crate::globus::GlobusClient;
use crate::ledger::Ledger;

/// Stages, waits for and reports on a user's Globus tasks, recording everything in the ledger.
#[derive(Debug)]
pub struct Stager {
    config: Config,
    client: GlobusClient,
    ledger: Mutex<Ledger>,
    /// This process's name in the shared poll lease.
    holder: String,
}

impl Stager {
    /// A stager acting through `client` and recording in `ledger`.
    pub fn new(config: &Config, client: GlobusClient, ledger: Ledger) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".to_owned());
        let started = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        Stager {
            config: config.clone(),
            client,
            ledger: Mutex::new(ledger),
            holder: format!("{host}:{}:{started}", std::process::id()),
        }
    }

    /// The Globus client (for callers that need a call the engine does not wrap).
    pub fn client(&self) -> &GlobusClient {
        &self.client
    }

    /// The ledger, locked for one short step; never held across an `.await`.
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The ledger's spelling of a direction.
pub(crate) fn ledger_direction(d: crate::options::Direction) -> crate::ledger::Direction {
    match d {
        crate::options::Direction::In => crate::ledger::Direction::In,
        crate::options::Direction::Out => crate::ledger::Direction::Out,
    }
}
