//! `gstage status [JOBID|TASK|KEY]`: a job's, a task's or an archive key's transfers from the
//! ledger, refreshed from Globus; a job or key unknown to the ledger is looked up at Globus by its
//! labels.

use anyhow::Result;
use serde_json::json;

use super::Context;
use super::staging::{Target, cluster_name, open_stager, print_views};
use crate::cli::{Format, StatusArgs};
use crate::config::Config;
use crate::env;
use crate::exit::{self, Reported};

/// Runs `gstage status`.
pub fn run(args: &StatusArgs, ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    if let Some(key) = args
        .target
        .as_deref()
        .filter(|t| crate::archive::looks_like_key(t))
    {
        return super::transfer::status(&crate::archive::Key::new(key)?, &config, ctx);
    }
    let target = match (&args.target, ctx.env.get(env::SLURM_JOB_ID)) {
        (Some(t), _) => Target::parse(t)?,
        (None, Some(job)) => Target::parse(job)?,
        (None, None) => {
            return Err(Reported {
                code: exit::USAGE,
                summary: "give a job id or a task id (`gstage list` shows them)".into(),
            }
            .into());
        }
    };
    let stager = open_stager(&config, ctx)?;
    match target {
        Target::Job(job_id) => {
            let cluster = cluster_name(args.cluster.as_ref(), &config, ctx);
            let status = super::block_on(stager.status_of_job(&cluster, &job_id))??;
            match ctx.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&status)?),
                Format::Text => {
                    println!(
                        "job {} on {}: {} transfer{}",
                        status.job_id,
                        status.cluster,
                        status.tasks.len(),
                        if status.tasks.len() == 1 { "" } else { "s" }
                    );
                    print_views(&status.tasks);
                }
            }
        }
        Target::Task(task) => {
            let view = super::block_on(stager.status_of_task(task))??;
            match ctx.format {
                Format::Json => println!("{}", json!({ "tasks": [view] })),
                Format::Text => print_views(std::slice::from_ref(&view)),
            }
        }
    }
    Ok(())
}
