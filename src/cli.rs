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
    /// Burst buffer entry points, called by slurm/burst_buffer.lua (one per Slurm function).
    #[command(after_help = BB_EXAMPLE)]
    Bb(BbArgs),
    /// PrologSlurmctld / EpilogSlurmctld entry points: stage in before a job, out after it.
    #[command(after_help = HOOK_EXAMPLE)]
    Hook(HookArgs),
    /// Submit a job script with its staging, as a chain of Slurm jobs (no site setup needed).
    #[command(after_help = SBATCH_EXAMPLE)]
    Sbatch(SbatchArgs),
}

const BB_EXAMPLE: &str = "Examples (Slurm's burst_buffer.lua runs these; people rarely do):\n  gstage bb job_process /var/spool/slurmctld/hash.2/job.42/script\n  gstage bb data_in 42 /var/spool/slurmctld/hash.2/job.42/script\n  scontrol show bbstat gstage 42     # runs: gstage bb get_status gstage 42\n\nThe output is the message Slurm shows: its first line becomes the job's Reason.\nExit status: 0 success, 1 failure, 2 invalid directives, 3 no such job, 4 login needed.";

const HOOK_EXAMPLE: &str = "Example (slurm.conf, through the wrappers in slurm/hooks):\n  PrologSlurmctld=/usr/lib/gstage/hooks/prolog     # runs: gstage hook prolog\n  EpilogSlurmctld=/usr/lib/gstage/hooks/epilog     # runs: gstage hook epilog\n\nThe job comes from Slurm's SLURM_JOB_* variables and `scontrol write batch_script`.\nA job without #GLOBUS directives exits 0 at once.";

const SBATCH_EXAMPLE: &str = "Examples:\n  gstage sbatch job.sh\n  gstage sbatch --dry-run -p short --time=1:00:00 job.sh input.txt\n  gstage sbatch --online --parsable job.sh\n\nEvery option except --online, --dry-run and --parsable goes to sbatch unchanged. The job is\nsubmitted held, its stage-in is submitted to Globus, then a small gate job waits for the\nstage-in, the job runs after it (afterok) and a stage-out job after the job (afterany).\nA failed stage-in cancels the job instead of running it.";

/// `gstage bb`.
#[derive(Debug, Args)]
pub struct BbArgs {
    /// The Slurm function being forwarded.
    #[command(subcommand)]
    pub phase: BbPhase,
}

/// The burst buffer functions, with Slurm 22.05's arguments in its order. `SCRIPT` is Slurm's
/// stored copy of the batch script (`-`: handed over on stdin by gstage itself).
#[derive(Debug, Subcommand)]
pub enum BbPhase {
    /// At submission, inside slurmctld: validate the directives offline; reject bad ones.
    #[command(name = "job_process")]
    JobProcess {
        /// The stored batch script.
        script: PathBuf,
    },
    /// First stage-in step: check the job's directives with its real values.
    #[command(name = "setup")]
    Setup {
        /// The job id.
        job_id: u64,
        /// The job owner's uid.
        uid: u32,
        /// The job owner's gid.
        gid: u32,
        /// The burst buffer pool (unused).
        pool: String,
        /// The burst buffer size (unused).
        size: String,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Submit the stage-in (exactly once) and, unless --no-wait, wait for it.
    #[command(name = "data_in")]
    DataIn {
        /// Only submit (Slurm 24.05+ polls test_data_in).
        #[arg(long)]
        no_wait: bool,
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Slurm 24.05+: print BUSY while the stage-in runs, exit 0 when done, 1 when it failed.
    #[command(name = "test_data_in")]
    TestDataIn {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Only for jobs that ask for a pool: nothing to report.
    #[command(name = "real_size")]
    RealSize {
        /// The job id.
        job_id: u64,
    },
    /// Before launch: write the job's stage-in task ids for its environment.
    #[command(name = "paths")]
    Paths {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
        /// Where Slurm reads KEY=VALUE lines for the job's environment.
        path_file: PathBuf,
    },
    /// Job allocated: nothing to do.
    #[command(name = "pre_run")]
    PreRun {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Job finished: nothing to do.
    #[command(name = "post_run")]
    PostRun {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Submit the stage-out if its --when matches the job's exit code; wait if the site asks.
    #[command(name = "data_out")]
    DataOut {
        /// Only submit (the default; Slurm 24.05+ polls test_data_out).
        #[arg(long, conflicts_with = "wait")]
        no_wait: bool,
        /// Wait for the stage-out: the job stays in STAGE_OUT until its results arrived.
        #[arg(long)]
        wait: bool,
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Slurm 24.05+: print BUSY while the stage-out runs, exit 0 when done, 1 when it failed.
    #[command(name = "test_data_out")]
    TestDataOut {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// After stage-out, or at once on cancel (HURRY is `true`): cancel the job's active tasks.
    #[command(name = "teardown")]
    Teardown {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
        /// `true` when the job was cancelled or a stage failed.
        hurry: String,
    },
    /// `scontrol show bbstat gstage JOBID`: the job's Globus tasks.
    #[command(name = "get_status")]
    GetStatus {
        /// What followed `bbstat` (Slurm 23.02+ puts the caller's uid and gid first).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// `gstage hook`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// Which hook runs.
    #[arg(value_enum)]
    pub which: HookKind,
    /// `-`: the script is handed over on stdin (gstage's own use, after changing user).
    #[arg(long, hide = true)]
    pub script: Option<PathBuf>,
}

/// The controller hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookKind {
    /// Before the job runs: stage in and wait.
    Prolog,
    /// After the job: submit the stage-out.
    Epilog,
}

/// `gstage sbatch`.
#[derive(Debug, Args)]
pub struct SbatchArgs {
    /// Also check, before submitting, that collections, consents and source paths are in place.
    #[arg(long)]
    pub online: bool,
    /// Print what would be run, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print only the job's id, as `sbatch --parsable` does (the helper jobs' ids are recorded).
    #[arg(long)]
    pub parsable: bool,
    /// sbatch's options, the job script and its arguments, as for sbatch.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "SBATCH_ARGS"
    )]
    pub args: Vec<String>,
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
