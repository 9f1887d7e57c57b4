//! Exit codes, and the one place that maps an error to one. Every module error enum offers
//! `exit_code()`; `code_for` finds the first such error in an `anyhow` chain.

use crate::config::ConfigError;
use crate::directive::Diagnostics;
use crate::slurm::context::ContextError;

/// Success.
pub const OK: i32 = 0;
/// A failed transfer, or any error without a more specific code.
pub const FAILURE: i32 = 1;
/// Bad usage or an invalid directive.
pub const USAGE: i32 = 2;
/// The job, task or key asked for does not exist.
pub const NOT_FOUND: i32 = 3;
/// Authentication, consent or a session is needed (as globus-cli).
pub const AUTH: i32 = 4;

/// A failure whose details were already shown to the user (for example rendered diagnostics);
/// `main` prints only the summary and exits with `code`.
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub struct Reported {
    /// The exit code to leave with.
    pub code: i32,
    /// One line that sums up what was shown.
    pub summary: String,
}

/// The exit code for an error: the code of the first error in its chain that knows one.
pub fn code_for(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Reported>() {
            return e.code;
        }
        if let Some(e) = cause.downcast_ref::<ConfigError>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<Diagnostics>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<ContextError>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::globus::Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::archive::Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::engine::Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::ledger::Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::tokens::Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::globus::setup::UnknownCollection>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<clap::Error>() {
            return if e.use_stderr() { USAGE } else { OK };
        }
    }
    FAILURE
}
