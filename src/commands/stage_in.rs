//! `gstage stage-in`: submit a job's stage-in transfers exactly once and (by default) wait.

use anyhow::Result;

use super::Context;
use crate::cli::StageInArgs;
use crate::options::Direction;

/// Runs `gstage stage-in`.
pub fn run(args: &StageInArgs, ctx: &Context) -> Result<()> {
    let wait = !args.no_wait;
    super::staging::stage(
        ctx,
        &args.script,
        &args.job,
        Direction::In,
        wait,
        &args.wait_flags,
        |_, _| None,
    )
}
