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
    /// Log in to Globus: stores refresh tokens so staging can run unattended.
    #[command(after_help = LOGIN_EXAMPLE)]
    Login(LoginArgs),
    /// Revoke the stored Globus tokens and delete them.
    #[command(after_help = "Example:\n  gstage logout")]
    Logout,
    /// Show the Globus identity gstage acts as, token expiry and consented collections.
    #[command(after_help = "Examples:\n  gstage whoami\n  gstage whoami --format json")]
    Whoami,
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

const LOGIN_EXAMPLE: &str = "Examples:\n  gstage login\n  gstage login --collection cedar\n  gstage login --domain umanitoba.ca\n  gstage login --loopback\n\nPrints a URL to open in any browser, then reads the authorization code pasted back (works over\nssh). Consents for the configured collections that need one are asked for; `--collection` adds\nmore. `--domain`, `--identity`, `--policy` and `--mfa` ask for the fresh session a high-assurance\ncollection requires. Exit status: 0 logged in, 1 failed, 2 usage.";

/// `gstage login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Also consent to this collection's data access (alias or UUID); repeatable.
    #[arg(long, value_name = "COLLECTION")]
    pub collection: Vec<String>,
    /// Require a recent login with an identity from this domain; repeatable.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Vec<String>,
    /// Require this identity (username or id) in the session; repeatable.
    #[arg(long, value_name = "IDENTITY")]
    pub identity: Vec<String>,
    /// Require this authentication policy to be satisfied; repeatable.
    #[arg(long, value_name = "POLICY_ID")]
    pub policy: Vec<String>,
    /// Require multi-factor authentication.
    #[arg(long)]
    pub mfa: bool,
    /// Receive the code through a redirect to 127.0.0.1 instead of pasting it.
    #[arg(long)]
    pub loopback: bool,
}
