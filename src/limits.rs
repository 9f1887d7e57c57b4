//! `[limits]`: how gstage keeps a user's many processes within Globus's limits (about 20
//! Transfer requests per second, 3 running and 100 pending tasks per user), above all when a
//! job array starts hundreds of stage-ins at once. See `docs/arrays.md`.

use serde::Deserialize;

/// `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Transfer requests per second that all of one user's gstage processes share (0: no
    /// shared limit; each process still honours 429 and `Retry-After`).
    pub requests_per_second: u32,
    /// Requests that may go at once after a quiet spell.
    pub request_burst: u32,
    /// The most items one coalesced job-array task carries; an array needing more is split
    /// into several tasks.
    pub max_items_per_task: usize,
    /// Coalesce the stage-ins of a job array's elements into shared tasks (`false`: one task
    /// per element, as for any other job).
    pub coalesce_arrays: bool,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            requests_per_second: 15,
            request_burst: 4,
            max_items_per_task: 10_000,
            coalesce_arrays: true,
        }
    }
}
