//! `gstage stage-out`: submit a job's stage-out transfers exactly once, those whose `--when`
//! matches how the job ended.
//!
//! How the job ended, first found wins: `--exit-code`, `--job-state`, `SLURM_JOB_EXIT_CODE2`
//! (`exit:signal`, epilogs), `SLURM_JOB_EXIT_CODE` (epilogs), then `scontrol show job` (only
//! when a `--when success|failure` directive needs it, and only once the job has ended).

use std::collections::BTreeMap;

use anyhow::Result;

use super::Context;
use crate::cli::StageOutArgs;
use crate::engine::JobOutcome;
use crate::env;
use crate::options::{Direction, When};
use crate::slurm::scontrol::Slurm;

/// Runs `gstage stage-out`.
pub fn run(args: &StageOutArgs, ctx: &Context) -> Result<()> {
    let wait = args.wait && !args.no_wait;
    super::staging::stage(
        ctx,
        &args.script,
        &args.job,
        Direction::Out,
        wait,
        &args.wait_flags,
        |plan, job| {
            let needed = plan
                .stage_out
                .iter()
                .any(|t| matches!(t.options.when, Some(When::Success | When::Failure)));
            job_outcome(args, &ctx.env, || {
                if needed {
                    from_scontrol(&ctx.env, job.job_id)
                } else {
                    None
                }
            })
        },
    )
}

/// The job's outcome from flags, then the epilog's variables, then `fallback`.
fn job_outcome(
    args: &StageOutArgs,
    vars: &BTreeMap<String, String>,
    fallback: impl FnOnce() -> Option<JobOutcome>,
) -> Option<JobOutcome> {
    if let Some(code) = args.exit_code {
        return Some(JobOutcome::from_exit_code(code));
    }
    if let Some(state) = &args.job_state {
        return Some(JobOutcome::from_job_state(state));
    }
    let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(pair) = get(env::SLURM_JOB_EXIT_CODE2)
        && let Some(outcome) = exit_pair(pair)
    {
        return Some(outcome);
    }
    if let Some(code) = get(env::SLURM_JOB_EXIT_CODE).and_then(|c| c.parse::<i32>().ok()) {
        return Some(JobOutcome::from_exit_code(code));
    }
    fallback()
}

/// `exit:signal`, as Slurm prints exit codes: success only for `0:0`.
fn exit_pair(text: &str) -> Option<JobOutcome> {
    let (code, signal) = text.split_once(':')?;
    let code: i32 = code.trim().parse().ok()?;
    let signal: i32 = signal.trim().parse().ok()?;
    Some(if code == 0 && signal == 0 {
        JobOutcome::Success
    } else {
        JobOutcome::Failure {
            exit_code: Some(code),
            state: (signal != 0).then(|| format!("signal {signal}")),
        }
    })
}

/// `scontrol show job -o ID`: the end state, or `None` while the job runs or without Slurm.
fn from_scontrol(vars: &BTreeMap<String, String>, job_id: u64) -> Option<JobOutcome> {
    let job = Slurm::from_env(vars).show_job(job_id).ok()?;
    const ENDED: [&str; 9] = [
        "COMPLETED",
        "FAILED",
        "TIMEOUT",
        "CANCELLED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
    ];
    if !ENDED.contains(&job.state.as_str()) {
        return None;
    }
    if job.exit_code.success() {
        Some(JobOutcome::from_job_state(&job.state))
    } else {
        Some(JobOutcome::Failure {
            exit_code: Some(job.exit_code.status),
            state: Some(job.state),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_pairs() {
        assert_eq!(exit_pair("0:0"), Some(JobOutcome::Success));
        assert_eq!(
            exit_pair("0:9"),
            Some(JobOutcome::Failure {
                exit_code: Some(0),
                state: Some("signal 9".into())
            })
        );
        assert!(matches!(exit_pair("2:0"), Some(JobOutcome::Failure { .. })));
        assert_eq!(exit_pair("garbage"), None);
    }
}
