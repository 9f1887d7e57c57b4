//! `gstage wait [JOBID|TASK…]`: waits for transfers, sharing one poll per interval with every
//! other waiting process of the user; exits 0 only when all succeeded.

use anyhow::Result;

use super::Context;
use super::staging::{Target, cluster_name, open_stager, wait_options, wait_result};
use crate::cli::{Format, WaitArgs};
use crate::config::Config;
use crate::env;
use crate::exit::{self, Reported};
use crate::globus::TaskId;

/// Runs `gstage wait`.
pub fn run(args: &WaitArgs, ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    let mut targets = args
        .targets
        .iter()
        .map(|t| Target::parse(t))
        .collect::<Result<Vec<_>>>()?;
    if targets.is_empty()
        && let Some(job) = ctx.env.get(env::SLURM_JOB_ID)
    {
        targets.push(Target::parse(job)?);
    }
    let stager = open_stager(&config, ctx)?;
    let cluster = cluster_name(args.cluster.as_ref(), &config, ctx);
    let options = wait_options(&args.wait_flags, &config, ctx.format);
    let report = super::block_on(async {
        let mut ids: Vec<TaskId> = Vec::new();
        if targets.is_empty() {
            ids = stager.open_tasks()?;
        }
        for target in &targets {
            match target {
                Target::Task(id) => ids.push(*id),
                Target::Job(job) => ids.extend(stager.job_tasks(&cluster, job).await?),
            }
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        if ids.is_empty() {
            return Ok(None);
        }
        stager.wait(&ids, &options).await.map(Some)
    })??;
    let Some(report) = report else {
        return Err(Reported {
            code: exit::NOT_FOUND,
            summary: "no submitted transfers to wait for; `gstage list` shows the recorded ones"
                .into(),
        }
        .into());
    };
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => println!("{}", report.summary()),
    }
    wait_result(&report, args.wait_flags.timeout_exit_code)
}
