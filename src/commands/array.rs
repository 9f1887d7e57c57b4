//! Which way a job's staging goes: an array element's stage-in through the array's shared tasks
//! (when `[limits] coalesce_arrays` is on and the array's indices are known), everything else as
//! the job's own tasks. Used by `stage-in` inside a job and by the hooks and burst buffer.

use crate::config::Config;
use crate::directive::{ParseOptions, parse_all};
use crate::engine::{Result, StageOptions, StageReport, Stager};
use crate::options::Direction;
use crate::plan::Plan;
use crate::plan::array::{IndexSet, plan_array};
use crate::slurm::context::JobContext;

/// The job's script, its plan and the array's indices (`None`: unknown or not an array).
pub(crate) struct Job<'a> {
    pub(crate) config: &'a Config,
    pub(crate) script: &'a str,
    pub(crate) context: &'a JobContext,
    pub(crate) plan: &'a Plan,
    pub(crate) indices: Option<IndexSet>,
}

/// Stages one direction of `job`.
pub(crate) async fn stage(
    stager: &Stager,
    job: &Job<'_>,
    direction: Direction,
    options: &StageOptions,
) -> Result<StageReport> {
    match &job.indices {
        Some(indices)
            if direction == Direction::In
                && job.config.limits.coalesce_arrays
                && job.context.array_job_id.is_some() =>
        {
            let directives =
                parse_all(job.script, &ParseOptions::from_config(job.config)).directives;
            let whole = || {
                plan_array(
                    &directives,
                    job.context,
                    job.config,
                    indices,
                    direction,
                    job.config.limits.max_items_per_task,
                )
            };
            stager
                .stage_array_element(job.context, job.plan, direction, whole, options)
                .await
        }
        _ => {
            stager
                .stage(job.context, job.plan, direction, options)
                .await
        }
    }
}
