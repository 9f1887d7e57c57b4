//! A job's staging as its owner runs it, shared by `gstage bb`, `gstage hook` and the jobs of
//! `gstage sbatch`: plan the script with the job's real values (from `scontrol show job` and
//! passwd, never from a hook's environment), then drive the staging engine. Messages are written
//! for the job's Reason: one line that says what failed and how to fix it.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Context;
use super::bb::fail_code;
use super::block_on;
use super::staging::open_stager;
use crate::config::Config;
use crate::directive::{Diagnostics, ParseOptions};
use crate::engine::{JobOutcome, StageOptions, StageReport, Stager, TaskView, WaitOptions};
use crate::exit;
use crate::ledger::State;
use crate::options::Direction;
use crate::plan::{Plan, plan_script};
use crate::privilege::JobUser;
use crate::slurm::context::JobContext;
use crate::slurm::scontrol::{JobInfo, Slurm};

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
    /// The command's context (this process' environment).
    pub ctx: Context,
}

impl Owner {
    /// The owner's side of a job; this process must already run as the job's user.
    pub fn new(job: JobInfo, script: String, slurm: Slurm, ctx: &Context) -> Result<Owner> {
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
            ctx: ctx.clone(),
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
}

/// Diagnostics as `gstage check` shows them, for sbatch's message (no colours: Slurm prints it).
pub fn rendered_diagnostics(diags: &Diagnostics, script: &str, name: &str) -> String {
    diags.render(script, name, false)
}

/// The phases that drive the staging engine.
impl Owner {
    fn stager(&self) -> Result<Stager> {
        open_stager(&self.config, &self.ctx).map_err(|e| self.reason("stage-in", &e))
    }

    /// Polls as configured; a task that keeps reporting a permanent error is given up after a
    /// minute, as `gstage wait` does.
    fn wait_options(&self) -> WaitOptions {
        let interval = Duration::from_secs(self.config.poll.interval_secs.max(1));
        WaitOptions {
            interval,
            max_interval: Duration::from_secs(self.config.poll.max_interval_secs).max(interval),
            ..WaitOptions::default()
        }
    }

    /// Nothing can have staged the job before Slurm accepted it (unless it was requeued).
    fn not_staged_before(&self) -> Option<DateTime<Utc>> {
        if self.job.fields.get("Restarts").is_some_and(|r| r != "0") {
            return None;
        }
        let submitted = self.job.fields.get("SubmitTime")?;
        let naive = chrono::NaiveDateTime::parse_from_str(submitted, "%Y-%m-%dT%H:%M:%S").ok()?;
        naive
            .and_local_timezone(chrono::Local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    /// How the job ended, from its `ExitCode` (Slurm sets it before data_out and the epilog).
    fn outcome(&self) -> JobOutcome {
        let code = self.job.exit_code;
        if code.success() {
            JobOutcome::Success
        } else {
            JobOutcome::Failure {
                exit_code: Some(code.status),
                state: Some(if code.signal != 0 {
                    format!("{} (signal {})", self.job.state, code.signal)
                } else {
                    self.job.state.clone()
                }),
            }
        }
    }

    fn stage(&self, direction: Direction, wait: bool) -> Result<StageReport> {
        let plan = self.plan()?;
        let stager = self.stager()?;
        let options = StageOptions {
            wait,
            wait_options: self.wait_options(),
            job_outcome: (direction == Direction::Out).then(|| self.outcome()),
            not_staged_before: self.not_staged_before(),
        };
        let what = match direction {
            Direction::In => "stage-in",
            Direction::Out => "stage-out",
        };
        let job = super::array::Job {
            config: &self.config,
            script: &self.script,
            context: &self.context,
            plan: &plan,
            indices: self.array_indices(direction),
        };
        block_on(super::array::stage(&stager, &job, direction, &options))?
            .map_err(|e| self.reason(what, &anyhow::Error::new(e)))
    }

    /// The indices of the job's array, from Slurm, when its stage-in may share the array's
    /// tasks; `None` (the element stages alone) when Slurm cannot say.
    fn array_indices(&self, direction: Direction) -> Option<crate::plan::array::IndexSet> {
        let array = self.context.array_job_id?;
        if direction != Direction::In || !self.config.limits.coalesce_arrays {
            return None;
        }
        match self.slurm.array_indices(array) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(
                    "cannot list the elements of job array {array}: {e}; staging job {} alone",
                    self.job.job_id
                );
                None
            }
        }
    }

    /// One Reason line for an error that stopped a stage: what failed, then the fix.
    fn reason(&self, what: &str, err: &anyhow::Error) -> anyhow::Error {
        let code = crate::exit::code_for(err);
        let id = self.job.job_id;
        let message = if code == exit::AUTH {
            format!("Globus login needed for {what}: {err:#}; then `scontrol release {id}`")
        } else {
            format!("{what} failed: {err:#}")
        };
        fail_code(code, message)
    }

    /// The failed tasks of a finished wait, as one Reason line with the fix.
    fn failed(&self, what: &str, views: &[&TaskView]) -> anyhow::Error {
        let id = self.job.job_id;
        let mut text = format!("{what} failed:");
        for v in views {
            let task = v.task_id.map_or_else(String::new, |t| format!(" task {t}"));
            let _ = write!(text, " {} -> {}{task} {}", v.source, v.destination, v.state);
            if let Some(e) = &v.error {
                let _ = write!(text, ": {e}");
            }
            text.push(';');
        }
        let _ = write!(
            text,
            " fix the cause, then `scancel {id}` and submit the job again (`gstage status {id}` shows details)"
        );
        fail_code(exit::FAILURE, text)
    }

    /// Submits the stage-in (exactly once) and waits for it when `wait`.
    pub fn data_in(&self, wait: bool) -> Result<()> {
        let report = self.stage(Direction::In, wait)?;
        if report.ok() {
            return Ok(());
        }
        let problems: Vec<&TaskView> = report
            .wait
            .iter()
            .flat_map(|w| w.problems())
            .filter(|v| {
                !report
                    .tasks
                    .iter()
                    .any(|t| t.optional && t.task_id == v.task_id)
            })
            .collect();
        Err(self.failed("stage-in", &problems))
    }

    /// Reports the stage-in: `BUSY` while it runs, an error once it failed.
    pub fn test_data_in(&self) -> Result<()> {
        self.test(Direction::In)
    }

    /// Submits the stage-out tasks whose `--when` matches the job's exit code.
    pub fn data_out(&self, wait: bool) -> Result<()> {
        let report = self.stage(Direction::Out, wait)?;
        if report.ok() {
            return Ok(());
        }
        let problems: Vec<&TaskView> = report.wait.iter().flat_map(|w| w.problems()).collect();
        Err(self.failed("stage-out", &problems))
    }

    /// Reports the stage-out: `BUSY` while it runs.
    pub fn test_data_out(&self) -> Result<()> {
        self.test(Direction::Out)
    }

    fn test(&self, direction: Direction) -> Result<()> {
        let views = self.views(Some(direction))?;
        let required: Vec<&TaskView> = views.iter().collect();
        if required.iter().any(|v| !v.is_final()) {
            println!("BUSY");
            return Ok(());
        }
        let what = match direction {
            Direction::In => "stage-in",
            Direction::Out => "stage-out",
        };
        let bad: Vec<&TaskView> = required
            .into_iter()
            .filter(|v| v.state != State::Succeeded)
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(self.failed(what, &bad))
        }
    }

    /// The job's tasks, refreshed from Globus (from the ledger, or by label).
    fn views(&self, direction: Option<Direction>) -> Result<Vec<TaskView>> {
        let stager = self.stager()?;
        let cluster = self.cluster();
        let job = self.job.job_id.to_string();
        let mut views = match block_on(stager.status_of_job(&cluster, &job))? {
            Ok(status) => status.tasks,
            Err(crate::engine::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(self.reason("status", &anyhow::Error::new(e))),
        };
        // An array element's stage-in may be carried by the array's shared tasks.
        if let (Some(array), Some(index)) = (self.context.array_job_id, self.context.array_task_id)
        {
            let shared = block_on(stager.array_element_views(&cluster, array, index))?
                .map_err(|e| self.reason("status", &anyhow::Error::new(e)))?;
            for v in shared {
                if !views.iter().any(|w| w.label == v.label) {
                    views.push(v);
                }
            }
        }
        Ok(views
            .into_iter()
            .filter(|v| direction.is_none_or(|d| v.direction.as_deref() == Some(&d.to_string())))
            .collect())
    }

    fn cluster(&self) -> String {
        self.context
            .cluster_name
            .clone()
            .or_else(|| self.config.cluster.name.clone())
            .unwrap_or_else(|| "cluster".to_owned())
    }

    /// After a cancel (`hurry`): cancels the job's own unfinished tasks (an array element's
    /// teardown leaves the array's shared tasks and its siblings' alone). Slurm also tears down with
    /// hurry when it recovers a stage-in that a slurmctld restart interrupted, or after a failed
    /// or timed-out stage, and then runs the stage-in again later: the job is still PENDING then,
    /// and its transfers are kept for that run to adopt. Without hurry the stage-out goes on
    /// after the job is gone.
    pub fn teardown(&self, hurry: bool) -> Result<()> {
        if !hurry || self.job.state == "PENDING" {
            return Ok(());
        }
        let stager = self.stager()?;
        let job = self.job.job_id.to_string();
        match block_on(stager.cancel_own(&self.cluster(), &job))? {
            Ok(_) | Err(crate::engine::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.reason("teardown", &anyhow::Error::new(e))),
        }
    }

    /// The job's tasks for `scontrol show bbstat gstage JOBID`.
    pub fn bbstat(&self) -> Result<String> {
        let views = self.views(None)?;
        let mut out = format!(
            "gstage: job {} on {}: {} Globus task{}\n",
            self.job.job_id,
            self.cluster(),
            views.len(),
            if views.len() == 1 { "" } else { "s" }
        );
        for v in &views {
            let _ = writeln!(out, "{}", crate::engine::progress::task_line(v));
        }
        Ok(out)
    }
}
