//! `gstage cancel JOBID|TASK`: cancels a job's unfinished transfers (or one task) at Globus and
//! records them CANCELED.

use anyhow::Result;
use serde_json::json;

use super::Context;
use super::staging::{Target, cluster_name, open_stager, print_views};
use crate::cli::{CancelArgs, Format};
use crate::config::Config;
use crate::options::Direction;

/// Runs `gstage cancel`.
pub fn run(args: &CancelArgs, ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    let target = Target::parse(&args.target)?;
    let direction = match args.direction.as_deref() {
        Some("in") => Some(Direction::In),
        Some("out") => Some(Direction::Out),
        _ => None,
    };
    let stager = open_stager(&config, ctx)?;
    let views = match target {
        Target::Job(job_id) => {
            let cluster = cluster_name(args.cluster.as_ref(), &config, ctx);
            super::block_on(stager.cancel_job(&cluster, &job_id, direction))??
        }
        Target::Task(task) => vec![super::block_on(stager.cancel_task(task))??],
    };
    match ctx.format {
        Format::Json => println!("{}", json!({ "tasks": views })),
        Format::Text => print_views(&views),
    }
    Ok(())
}
