//! Every environment variable gstage reads, one constant each, so the names live in one place and
//! the documentation can be checked against them.

/// Path of the site configuration file, instead of `/etc/gstage/config.toml`.
pub const GSTAGE_CONFIG: &str = "GSTAGE_CONFIG";
/// Base URL of Globus Auth; tests and demos point it at the emulator.
pub const GSTAGE_AUTH_URL: &str = "GSTAGE_AUTH_URL";
/// Base URL of the Globus Transfer API; tests and demos point it at the emulator.
pub const GSTAGE_TRANSFER_URL: &str = "GSTAGE_TRANSFER_URL";
/// Client id of a confidential client, for service identities (archiving pipelines).
pub const GSTAGE_CLIENT_ID: &str = "GSTAGE_CLIENT_ID";
/// Secret of the confidential client named by `GSTAGE_CLIENT_ID`.
pub const GSTAGE_CLIENT_SECRET: &str = "GSTAGE_CLIENT_SECRET";
/// Path of the task ledger, instead of the configured or default location.
pub const GSTAGE_LEDGER: &str = "GSTAGE_LEDGER";
/// A crash point for the crash-matrix tests (`crate::crashpoint`): the process kills itself
/// there with `SIGKILL`.
pub const GSTAGE_CRASH_AT: &str = "GSTAGE_CRASH_AT";
/// Directory of the user's configuration (the XDG base directory rule).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";

/// The job's id, set by Slurm inside a job and in hooks.
pub const SLURM_JOB_ID: &str = "SLURM_JOB_ID";
/// The id of the job array an element belongs to.
pub const SLURM_ARRAY_JOB_ID: &str = "SLURM_ARRAY_JOB_ID";
/// The index of an element within its job array.
pub const SLURM_ARRAY_TASK_ID: &str = "SLURM_ARRAY_TASK_ID";
/// The job's name (`--job-name`, or the script's file name).
pub const SLURM_JOB_NAME: &str = "SLURM_JOB_NAME";
/// The directory `sbatch` was run from.
pub const SLURM_SUBMIT_DIR: &str = "SLURM_SUBMIT_DIR";
/// The job's working directory as Slurm's controller hooks see it.
pub const SLURM_JOB_WORK_DIR: &str = "SLURM_JOB_WORK_DIR";
/// The name of the cluster the job runs on.
pub const SLURM_CLUSTER_NAME: &str = "SLURM_CLUSTER_NAME";
/// The job owner's user name, as controller hooks see it.
pub const SLURM_JOB_USER: &str = "SLURM_JOB_USER";
/// The user name inside a job.
pub const USER: &str = "USER";
/// The home directory inside a job.
pub const HOME: &str = "HOME";
/// The working directory of the shell, the fallback for the job's working directory.
pub const PWD: &str = "PWD";
/// When set and not empty, gstage prints no colour (the no-color.org convention).
pub const NO_COLOR: &str = "NO_COLOR";
/// The terminal type; `dumb` turns colour off.
pub const TERM: &str = "TERM";
/// The directories searched for `sbatch`, `scontrol`, `sendmail` and `logger`.
pub const PATH: &str = "PATH";
/// How many cases each property test runs (read by proptest itself).
pub const PROPTEST_CASES: &str = "PROPTEST_CASES";

/// Where Slurm's client commands find slurm.conf, when it is not at Slurm's default place.
pub const SLURM_CONF: &str = "SLURM_CONF";
/// Which hook runs (`prolog_slurmctld`, `epilog_slurmctld`, `prolog_slurmd`, …).
pub const SLURM_SCRIPT_CONTEXT: &str = "SLURM_SCRIPT_CONTEXT";
/// The job owner's uid, as controller hooks see it.
pub const SLURM_JOB_UID: &str = "SLURM_JOB_UID";
/// The local node's name, as slurmd's Prolog/Epilog see it.
pub const SLURMD_NODENAME: &str = "SLURMD_NODENAME";
/// The job's start time (Unix seconds), set inside jobs by recent Slurm; bounds when the job can
/// first have been staged from inside.
pub const SLURM_JOB_START_TIME: &str = "SLURM_JOB_START_TIME";
/// How many times the job was requeued; a requeued job may have been staged by an earlier run.
pub const SLURM_RESTART_COUNT: &str = "SLURM_RESTART_COUNT";
/// The job's exit status (as `wait(2)` reports it) in epilogs: 0 is success.
pub const SLURM_JOB_EXIT_CODE: &str = "SLURM_JOB_EXIT_CODE";
/// The job's `exit:signal` in epilogs.
pub const SLURM_JOB_EXIT_CODE2: &str = "SLURM_JOB_EXIT_CODE2";
/// Directory of the user's state files (the XDG rule); the ledger's default home.
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
