//! Command-line definitions only (clap). Commands receive these structs; adding a subcommand is
//! one variant here, one file in `commands/` and one arm in `commands::run`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Globus data staging for Slurm jobs.
#[derive(Debug, Parser)]
#[command(
    name = "gstage",
    version,
    about,
    after_help = "Example:\n  gstage check job.sh\n\nA job script names its data in its header:\n  #GLOBUS stage-in  cedar:/project/def-lab/input/  ./input/  --sync-level checksum\n  #GLOBUS stage-out ./results/  cedar:/project/def-lab/runs/%j/"
)]
pub struct Cli {
    /// Output for people (`text`) or programs (`json`).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables and sentences.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a job script's #GLOBUS directives and show the Globus tasks they plan.
    #[command(after_help = CHECK_EXAMPLE)]
    Check(CheckArgs),
    /// Run the whole staging cycle on an embedded Globus emulator.
    #[command(after_help = "Example:\n  gstage demo")]
    Demo,
}

const CHECK_EXAMPLE: &str = "Examples:\n  gstage check job.sh\n  gstage check --job-id 4242 --array-task-id 3 --format json job.sh\n\nInside a job the values come from SLURM_* variables; outside one, the job id is 0, the user is\nyou, the job name is the script's file name and the working directory is the current one.\nExit status: 0 valid, 2 invalid (every error is shown), 3 script not found.";

/// `gstage check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The job script to read.
    pub script: PathBuf,
    /// Job id for `%j` and task labels.
    #[arg(long, value_name = "ID")]
    pub job_id: Option<u64>,
    /// Array job id for `%A`.
    #[arg(long, value_name = "ID")]
    pub array_job_id: Option<u64>,
    /// Array task index for `%a`.
    #[arg(long, value_name = "INDEX")]
    pub array_task_id: Option<u32>,
    /// Job owner for `%u` and `$USER`.
    #[arg(long)]
    pub user: Option<String>,
    /// Job name for `%x`.
    #[arg(long, value_name = "NAME")]
    pub job_name: Option<String>,
    /// The job's working directory: where relative paths resolve (`%d`).
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Cluster name for labels and `$SLURM_CLUSTER_NAME`.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}
