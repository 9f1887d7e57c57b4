//! `gstage hook prolog|epilog`: PrologSlurmctld / EpilogSlurmctld (and slurmd's Prolog/Epilog).
//! Slurm gives an empty environment but `SLURM_JOB_*`; the script comes from `scontrol write
//! batch_script`. A job without directives costs one `scontrol` call and exits 0. On compute
//! nodes (slurmd's hooks run once per allocated node) only the batch host acts, so each job is
//! staged once.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::Context;
use super::bb::{delegate, kept_env, merged, own_args};
use crate::cli::{HookArgs, HookKind};
use crate::config::Config;
use crate::directive::{ParseOptions, parse_all};
use crate::env;
use crate::slurm::handoff::{self, Handoff, STDIN};
use crate::slurm::scontrol::Slurm;

/// Runs the hook.
pub fn run(args: &HookArgs, ctx: &Context) -> Result<()> {
    let handoff = match &args.script {
        Some(path) => handoff::read_script(path, &ctx.env)?,
        None => Handoff {
            script: String::new(),
            env: kept_env(ctx),
            uid: None,
        },
    };
    let vars = merged(ctx, &handoff);
    let job_id: u64 = vars
        .get(env::SLURM_JOB_ID)
        .and_then(|v| v.parse().ok())
        .with_context(|| {
            format!(
                "`{}` is not set to a job id; `gstage hook` is run by Slurm as PrologSlurmctld/EpilogSlurmctld",
                env::SLURM_JOB_ID
            )
        })?;
    let slurm = Slurm::from_env(&vars);
    let on_node = vars
        .get(env::SLURM_SCRIPT_CONTEXT)
        .is_some_and(|c| c.ends_with("_slurmd"));
    let mut handoff = handoff;
    if args.script.is_none() {
        handoff.script = slurm.batch_script(job_id)?;
        let config = Config::load()?;
        if parse_all(&handoff.script, &ParseOptions::from_config(&config))
            .directives
            .is_empty()
        {
            return Ok(());
        }
    }
    let job = slurm.show_job(job_id)?;
    if on_node {
        let here = vars.get(env::SLURMD_NODENAME);
        if here.is_none() || here != job.batch_host.as_ref() {
            return Ok(());
        }
    }
    let mut own = own_args();
    if args.script.is_none() {
        own.extend(["--script".into(), STDIN.into()]);
    } else if let Some(path) = &args.script {
        own = handoff::replaced(&own, Path::new(path).as_os_str());
    }
    let Some(owner) = delegate(ctx, job, handoff, slurm, &own, None)? else {
        return Ok(());
    };
    // A job cancelled before it started (its prolog failed, or scancel while pending) produced
    // nothing to stage out.
    if args.which == HookKind::Epilog && owner.job.never_ran() {
        return Ok(());
    }
    let result = match args.which {
        HookKind::Prolog => owner.data_in(true),
        HookKind::Epilog => owner.data_out(false),
    };
    // Hook output goes nowhere a user looks: leave the reason in the job's comment.
    if let Err(err) = &result {
        let _ = owner.slurm.set_comment(
            owner.job.job_id,
            &crate::slurm::bb::one_line(&format!("gstage: {err:#}")),
        );
    }
    result
}
