//! Command-line definitions only (clap). Commands receive these structs; adding a subcommand is
//! one variant here, one file in `commands/` and one arm in `commands::run`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

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
    /// Print only errors (`doctor`: only the checks that failed).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log what gstage does on standard error; `-vv` logs more.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
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
    /// Submit a job's stage-in transfers (exactly once) and, by default, wait for them.
    #[command(after_help = STAGE_IN_EXAMPLE)]
    StageIn(StageInArgs),
    /// Submit a job's stage-out transfers (exactly once), honouring `--when`.
    #[command(after_help = STAGE_OUT_EXAMPLE)]
    StageOut(StageOutArgs),
    /// Archive data now, outside any job; with `--key`, a re-run never submits a second task.
    #[command(after_help = TRANSFER_EXAMPLE)]
    Transfer(TransferArgs),
    /// Show a job's, a task's or an archive key's transfers, refreshed from Globus.
    #[command(after_help = STATUS_EXAMPLE)]
    Status(StatusArgs),
    /// List recorded transfers, newest first.
    #[command(after_help = LIST_EXAMPLE)]
    List(ListArgs),
    /// Wait for transfers to end, with a progress bar on a terminal.
    #[command(after_help = WAIT_EXAMPLE)]
    Wait(WaitArgs),
    /// Cancel a job's unfinished transfers, or one task.
    #[command(after_help = CANCEL_EXAMPLE)]
    Cancel(CancelArgs),
    /// Run the whole staging cycle on an embedded Globus emulator.
    #[command(after_help = DEMO_EXAMPLE)]
    Demo(DemoArgs),
    /// Burst buffer entry points, called by slurm/burst_buffer.lua (one per Slurm function).
    #[command(after_help = BB_EXAMPLE)]
    Bb(BbArgs),
    /// PrologSlurmctld / EpilogSlurmctld entry points: stage in before a job, out after it.
    #[command(after_help = HOOK_EXAMPLE)]
    Hook(HookArgs),
    /// Submit a job script with its staging, as a chain of Slurm jobs (no site setup needed).
    #[command(after_help = SBATCH_EXAMPLE)]
    Sbatch(SbatchArgs),
    /// Check the configuration, the Globus login, the collections and the Slurm integration.
    #[command(after_help = DOCTOR_EXAMPLE)]
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLE)]
    Completions(CompletionsArgs),
    /// Write gstage's manual pages (one per command).
    #[command(after_help = MAN_EXAMPLE)]
    Man(ManArgs),
}

const DOCTOR_EXAMPLE: &str = "Examples:\n  gstage doctor\n  gstage doctor --no-slurm --format json\n\nOne line per check, with the fix for each that failed. Run it as root on the Slurm controller\nto check the sudo rule too. Exit status: 0 all good, 1 something needs fixing.";

/// `gstage doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Skip the Slurm checks (a host that only runs `gstage transfer`).
    #[arg(long)]
    pub no_slurm: bool,
    /// Skip the checks that call Globus (token refresh, collections).
    #[arg(long)]
    pub offline: bool,
}

const COMPLETIONS_EXAMPLE: &str = "Examples:\n  gstage completions bash > ~/.local/share/bash-completion/completions/gstage\n  gstage completions zsh > ~/.zfunc/_gstage\n  gstage completions fish > ~/.config/fish/completions/gstage.fish";

/// `gstage completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const MAN_EXAMPLE: &str = "Examples:\n  gstage man --dir /usr/local/share/man/man1\n  gstage man | man -l -\n\nWithout `--dir`, prints the page of gstage itself on standard output.";

/// `gstage man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `gstage.1`, `gstage-check.1`, … into this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const STAGE_IN_EXAMPLE: &str = "Examples:\n  gstage stage-in --script \"$0\"                 (inside a job script)\n  gstage stage-in --script job.sh --job-id 4242 --no-wait\n\nInside a job the job's values come from SLURM_* variables. A re-run never submits a second task\nfor the same planned transfer. Destination directories on the cluster are created first.\nExit status: 0 staged (or submitted, with --no-wait), 1 a required transfer failed,\n2 invalid directives or usage, 4 login needed; the --timeout-exit-code on timeout.";

const STAGE_OUT_EXAMPLE: &str = "Examples:\n  gstage stage-out --script \"$0\" --exit-code $?\n  gstage stage-out --script job.sh --job-id 4242 --job-state FAILED --wait\n\n`--when success|failure` directives need to know how the job ended: from --exit-code or\n--job-state, else SLURM_JOB_EXIT_CODE2/SLURM_JOB_EXIT_CODE (epilog), else `scontrol show job`.";

const STATUS_EXAMPLE: &str = "Examples:\n  gstage status 4242\n  gstage status 4242 --cluster grex --format json\n  gstage status 1f7c2a5e-0a39-11ef-8e5b-4b3c2d1e0f9a\n  gstage status nightly-2026-11-28                (an archive key of `gstage transfer`)\n\nWithout a ledger record (another host), the job's tasks are found at Globus by label.\nExit status: 0 shown, 3 not found.";

const LIST_EXAMPLE: &str = "Examples:\n  gstage list\n  gstage list --since 2d --state active\n  gstage list --format json\n  gstage list --key-prefix nightly-               (archive runs of `gstage transfer`)";

const TRANSFER_EXAMPLE: &str = "Examples:\n  gstage transfer ./results/ nearline:/nearline/def-lab/archive/ --key nightly-$(date +%F)\n  gstage transfer --batch pairs.txt --sync-level checksum --key weekly-2026-48 --wait\n  gstage transfer ./output/ cedar:/project/def-lab/runs/%j/ --key job-%j   (in an epilog)\n  gstage transfer cedar:/project/def-lab/ref/ ./ref/ --exclude '*.tmp' --dry-run\n\nSRC DST and the options are read as a `#GLOBUS stage-out` directive's words: aliases, UUIDs\n(`UUID:/path`), cluster paths and every directive option. A batch file holds one `SRC DST\n[options]` per line (`#` comments, blank lines); the command line's options apply to each.\nThe same --key never submits a second task, even after a crash or without the ledger; the\nsame key for other data is refused. Client credentials (GSTAGE_CLIENT_ID/SECRET) serve\nservice identities. Exit status: 0 submitted (or, with --wait, succeeded), 1 failed or a\nsource is missing, 2 usage or a reused key, 3 batch file not found, 4 login needed.";

const WAIT_EXAMPLE: &str = "Examples:\n  gstage wait 4242\n  gstage wait --timeout 2h --timeout-exit-code 75 1f7c2a5e-0a39-11ef-8e5b-4b3c2d1e0f9a\n  gstage wait                                  (inside a job: the job's tasks)\n\nHowever many waits run, one poll per interval serves them all. A task that keeps reporting a\npermanent error (missing file, permission denied) is cancelled after --grace.\nExit status: 0 all succeeded, 1 any failed, 3 not found; the --timeout-exit-code on timeout.";

const CANCEL_EXAMPLE: &str = "Examples:\n  gstage cancel 4242\n  gstage cancel 4242 --direction out\n  gstage cancel 1f7c2a5e-0a39-11ef-8e5b-4b3c2d1e0f9a";

const DEMO_EXAMPLE: &str = "Example:\n  gstage demo\n\nStarts a Globus emulator on 127.0.0.1 with a cluster collection and a national site, stages a\njob's input in, runs the job, stages its results out and checks them byte for byte. Needs no\nnetwork and no login; leaves nothing running.";

const CHECK_EXAMPLE: &str = "Examples:\n  gstage check job.sh\n  gstage check --online job.sh\n  gstage check --job-id 4242 --array-task-id 3 --format json job.sh\n\nInside a job the values come from SLURM_* variables; outside one, the job id is 0, the user is\nyou, the job name is the script's file name and the working directory is the current one.\nWith --online, each collection, access and stage-in source is checked through Globus.\nExit status: 0 valid, 2 invalid (every error is shown), 3 script or a source not found,\n4 login, consent or session needed (the fix names the `gstage login` to run).";

/// `gstage check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The job script to read.
    pub script: PathBuf,
    /// Also check through Globus that the collections exist, the login may use them and the
    /// stage-in sources exist.
    #[arg(long)]
    pub online: bool,
    /// The job to plan for.
    #[command(flatten)]
    pub job: JobArgs,
}

/// The job a command acts for, when not taken from `SLURM_*` variables (shared by `check`,
/// `stage-in` and `stage-out`).
#[derive(Debug, Clone, Default, Args)]
pub struct JobArgs {
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

/// How long to wait, and how to show it (`stage-in`, `stage-out`, `wait`).
#[derive(Debug, Clone, Args)]
pub struct WaitFlags {
    /// Give up waiting after this long (`90s`, `30m`, `2h`, or seconds).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// The exit status when the timeout runs out.
    #[arg(long, value_name = "CODE", default_value_t = 1)]
    pub timeout_exit_code: u8,
    /// First seconds between polls (default: the config's `[poll] interval_secs`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<std::time::Duration>,
    /// How long a task may keep reporting a permanent error before it is cancelled.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub grace: std::time::Duration,
    /// Stop waiting when a task needs attention (INACTIVE) instead of waiting for it to resume.
    #[arg(long)]
    pub stop_on_attention: bool,
}

/// A duration: `90s`, `30m`, `2h`, `1d12h`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Ok(std::time::Duration::from_secs_f64(secs));
    }
    match s.parse::<crate::options::DeadlineSpec>() {
        Ok(crate::options::DeadlineSpec::After(d)) => d.to_std().map_err(|e| e.to_string()),
        _ => Err(format!(
            "`{s}` is not a duration; write it like `90s`, `30m`, `2h` or `1d12h`"
        )),
    }
}

/// `gstage stage-in`.
#[derive(Debug, Args)]
pub struct StageInArgs {
    /// The job script whose `#GLOBUS` directives to stage (inside a job: `"$0"`).
    #[arg(long, value_name = "FILE")]
    pub script: PathBuf,
    /// The job, when not inside it.
    #[command(flatten)]
    pub job: JobArgs,
    /// Wait for the transfers to end (the default for stage-in).
    #[arg(long, overrides_with = "no_wait")]
    pub wait: bool,
    /// Return once the tasks are submitted.
    #[arg(long, overrides_with = "wait")]
    pub no_wait: bool,
    /// How to wait.
    #[command(flatten)]
    pub wait_flags: WaitFlags,
}

/// `gstage stage-out`.
#[derive(Debug, Args)]
pub struct StageOutArgs {
    /// The job script whose `#GLOBUS` directives to stage (inside a job: `"$0"`).
    #[arg(long, value_name = "FILE")]
    pub script: PathBuf,
    /// The job, when not inside it.
    #[command(flatten)]
    pub job: JobArgs,
    /// How the job ended: its exit code (0 is success), for `--when`.
    #[arg(long, value_name = "CODE", allow_negative_numbers = true)]
    pub exit_code: Option<i32>,
    /// How the job ended: its Slurm state (`COMPLETED` is success), for `--when`.
    #[arg(long, value_name = "STATE")]
    pub job_state: Option<String>,
    /// Wait for the transfers to end.
    #[arg(long, overrides_with = "no_wait")]
    pub wait: bool,
    /// Return once the tasks are submitted (the default for stage-out).
    #[arg(long, overrides_with = "wait")]
    pub no_wait: bool,
    /// How to wait.
    #[command(flatten)]
    pub wait_flags: WaitFlags,
}

/// `gstage transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Names this archive run: the same key never submits a second task (`%j %A %a %u %x`
    /// expand inside a job). Without it, every run is new.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Read `SRC DST [options]` pairs from this file, one per line (globus-cli's batch format).
    #[arg(long, value_name = "FILE")]
    pub batch: Option<PathBuf>,
    /// Wait for the transfers to end.
    #[arg(long)]
    pub wait: bool,
    /// Show the tasks that would be submitted, and submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How to wait.
    #[command(flatten)]
    pub wait_flags: WaitFlags,
    /// `SRC DST` and transfer options, as in a stage-out directive (with `--batch`: options only).
    #[arg(value_name = "SRC DST [OPTIONS]", allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `gstage status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A job id, a Globus task id or an archive key (default: the current job inside a job).
    #[arg(value_name = "JOBID|TASK|KEY")]
    pub target: Option<String>,
    /// The cluster of the job (default: `SLURM_CLUSTER_NAME`, else the config's cluster).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

/// `gstage list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only transfers recorded since this time or for this long (`2d`, `2030-01-31`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<crate::options::DeadlineSpec>,
    /// Only transfers in this state (`active`, `succeeded`, `failed`, `needs-attention`…).
    #[arg(long, value_name = "STATE")]
    pub state: Option<crate::ledger::State>,
    /// At most this many.
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Only archive runs (`gstage transfer --key`) whose key starts with this.
    #[arg(long, value_name = "PREFIX")]
    pub key_prefix: Option<String>,
}

/// `gstage wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Job ids or Globus task ids (default: the current job inside a job, else every open task).
    #[arg(value_name = "JOBID|TASK")]
    pub targets: Vec<String>,
    /// The cluster of the jobs (default: `SLURM_CLUSTER_NAME`, else the config's cluster).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// How to wait.
    #[command(flatten)]
    pub wait_flags: WaitFlags,
}

/// `gstage cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// A job id or a Globus task id.
    #[arg(value_name = "JOBID|TASK")]
    pub target: String,
    /// Only this direction of the job (`in` or `out`).
    #[arg(long, value_name = "DIRECTION", value_parser = ["in", "out"])]
    pub direction: Option<String>,
    /// The cluster of the job (default: `SLURM_CLUSTER_NAME`, else the config's cluster).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

/// `gstage demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's files in this directory (default: a temporary one, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
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
    #[command(
        name = "job_process",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb job_process /var/spool/slurmctld/hash.2/job.42/script"
    )]
    JobProcess {
        /// The stored batch script.
        script: PathBuf,
    },
    /// First stage-in step: check the job's directives with its real values.
    #[command(
        name = "setup",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb setup 42 1001 1001 gstage 0 /var/spool/slurmctld/hash.2/job.42/script"
    )]
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
    #[command(
        name = "data_in",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb data_in 42 /var/spool/slurmctld/hash.2/job.42/script"
    )]
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
    #[command(
        name = "test_data_in",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb test_data_in 42 /var/spool/slurmctld/hash.2/job.42/script"
    )]
    TestDataIn {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Only for jobs that ask for a pool: nothing to report.
    #[command(
        name = "real_size",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb real_size 42"
    )]
    RealSize {
        /// The job id.
        job_id: u64,
    },
    /// Before launch: write the job's stage-in task ids for its environment.
    #[command(
        name = "paths",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb paths 42 /var/spool/slurmctld/hash.2/job.42/script /var/spool/slurmctld/hash.2/job.42/path"
    )]
    Paths {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
        /// Where Slurm reads KEY=VALUE lines for the job's environment.
        path_file: PathBuf,
    },
    /// Job allocated: nothing to do.
    #[command(
        name = "pre_run",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb pre_run 42 /var/spool/slurmctld/hash.2/job.42/script"
    )]
    PreRun {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Job finished: nothing to do.
    #[command(
        name = "post_run",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb post_run 42 /var/spool/slurmctld/hash.2/job.42/script"
    )]
    PostRun {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// Submit the stage-out if its --when matches the job's exit code; wait if the site asks.
    #[command(
        name = "data_out",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb data_out 42 /var/spool/slurmctld/hash.2/job.42/script"
    )]
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
    #[command(
        name = "test_data_out",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb test_data_out 42 /var/spool/slurmctld/hash.2/job.42/script"
    )]
    TestDataOut {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
    },
    /// After stage-out, or at once on cancel (HURRY is `true`): cancel the job's active tasks.
    #[command(
        name = "teardown",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb teardown 42 /var/spool/slurmctld/hash.2/job.42/script false"
    )]
    Teardown {
        /// The job id.
        job_id: u64,
        /// The stored batch script.
        script: PathBuf,
        /// `true` when the job was cancelled or a stage failed.
        hurry: String,
    },
    /// `scontrol show bbstat gstage JOBID`: the job's Globus tasks.
    #[command(
        name = "get_status",
        after_help = "Example (burst_buffer.lua runs it):\n  gstage bb get_status gstage 42"
    )]
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
