//! A job's staging as its owner runs it, shared by `gstage bb`, `gstage hook` and the jobs of
//! `gstage sbatch`: plan the script with the job's real values (from `scontrol show job` and
//! passwd, never from a hook's environment), then drive the staging engine. Messages are written
//! for the job's Reason: one line that says what failed and how to fix it.

use anyhow::Result;

use crate::config::Config;
use crate::directive::{Diagnostics, ParseOptions};
use crate::exit;
use crate::plan::{Plan, plan_script};
use crate::privilege::JobUser;
use crate::slurm::bb;
use crate::slurm::context::JobContext;
use crate::slurm::scontrol::{JobInfo, Slurm};

use super::bb::fail_code;

/// The job, its script and its owner's configuration, in the owner's process.
#[derive(Debug)]
pub struct Owner {
    /// The job as Slurm describes it.
    pub job: JobInfo,
    /// Its owner (this process).
    pub user: JobUser,
    /// The job script.
    pub script: String,
    /// The owner's configuration (site file, then theirs).
    pub config: Config,
    /// Slurm's commands.
    pub slurm: Slurm,
    /// The values directives expand.
    pub context: JobContext,
}

impl Owner {
    /// The owner's side of a job; this process must already run as the job's user.
    pub fn new(job: JobInfo, script: String, slurm: Slurm) -> Result<Owner> {
        let user = JobUser::current()?;
        let config = Config::load()?;
        let context = JobContext::from_env(&job.context_vars(&user.home), chrono::Utc::now())?;
        Ok(Owner {
            job,
            user,
            script,
            config,
            slurm,
            context,
        })
    }

    /// The job's plan with its real values; invalid directives become one Reason line.
    pub fn plan(&self) -> Result<Plan> {
        let options = ParseOptions::from_config(&self.config);
        plan_script(&self.script, &options, &self.context, &self.config)
            .map(|planned| planned.plan)
            .map_err(|diags| {
                fail_code(
                    exit::USAGE,
                    format!(
                        "invalid #GLOBUS directives for job {}: {diags}; cancel it (`scancel {}`) and submit a fixed script",
                        self.job.job_id, self.job.job_id
                    ),
                )
            })
    }

    /// Whether the script has any directive at all (jobs without one need nothing).
    pub fn has_directives(&self) -> bool {
        let options = ParseOptions::from_config(&self.config);
        !crate::directive::parse_all(&self.script, &options)
            .directives
            .is_empty()
    }

    /// `setup`: checks the directives with the job's real values before anything is submitted.
    pub fn setup(&self) -> Result<()> {
        self.plan().map(drop)
    }

    /// The `KEY=VALUE` lines for the job's environment.
    pub fn path_lines(&self) -> Result<String> {
        let plan = self.plan()?;
        let prefix = format!("gstage {} {}", plan.cluster, plan.job_id);
        let ids = self.stage_in_task_ids()?;
        Ok(bb::path_lines(&prefix, &ids))
    }
}

/// Diagnostics as `gstage check` shows them, for sbatch's message (no colours: Slurm prints it).
pub fn rendered_diagnostics(diags: &Diagnostics, script: &str, name: &str) -> String {
    diags.render(script, name, false)
}

/// The phases that need the staging engine.
impl Owner {
    fn engine_missing(&self) -> anyhow::Error {
        fail_code(
            exit::FAILURE,
            format!(
                "job {}: this gstage build has no staging engine yet; install a complete gstage",
                self.job.job_id
            ),
        )
    }

    /// Submits the stage-in (exactly once) and waits for it when `wait`.
    pub fn data_in(&self, _wait: bool) -> Result<()> {
        let _plan = self.plan()?;
        Err(self.engine_missing())
    }

    /// Reports the stage-in: `BUSY` while it runs.
    pub fn test_data_in(&self) -> Result<()> {
        Err(self.engine_missing())
    }

    /// Submits the stage-out when its `--when` matches the job's exit code.
    pub fn data_out(&self, _wait: bool) -> Result<()> {
        let _plan = self.plan()?;
        Err(self.engine_missing())
    }

    /// Reports the stage-out: `BUSY` while it runs.
    pub fn test_data_out(&self) -> Result<()> {
        Err(self.engine_missing())
    }

    /// Cancels the job's active tasks when `hurry` (the job was cancelled or a stage failed).
    pub fn teardown(&self, _hurry: bool) -> Result<()> {
        Err(self.engine_missing())
    }

    /// The job's tasks for `scontrol show bbstat`.
    pub fn bbstat(&self) -> Result<String> {
        Err(self.engine_missing())
    }

    /// The stage-in task ids recorded for the job.
    pub fn stage_in_task_ids(&self) -> Result<Vec<String>> {
        Err(self.engine_missing())
    }
}
