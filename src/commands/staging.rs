//! What the staging commands share: opening the engine (config, credentials, ledger), reading
//! a job script into a plan, wait options from flags, naming a job or task, and printing task
//! lines. No staging logic lives here; that is the engine's.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::{Format, JobArgs, WaitFlags};
use crate::config::Config;
use crate::directive::ParseOptions;
use crate::engine::{ProgressMode, Stager, TaskView, WaitOptions, WaitReport};
use crate::env;
use crate::exit::{self, Reported};
use crate::globus::{Credentials, TaskId};
use crate::ledger::Ledger;
use crate::plan::{Plan, plan_script};
use crate::slurm::context::JobContext;

/// The ledger file: the config's (or `GSTAGE_LEDGER`), else the XDG state directory under the
/// home from the password database.
pub(crate) fn ledger_path(
    config: &Config,
    process_env: &BTreeMap<String, String>,
) -> Result<PathBuf> {
    if let Some(path) = &config.ledger.path {
        return Ok(path.clone());
    }
    let home = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.dir)
        .context(
            "finding your home directory in the password database (set `GSTAGE_LEDGER` instead)",
        )?;
    let state = process_env
        .get(env::XDG_STATE_HOME)
        .filter(|s| !s.is_empty())
        .map(Path::new);
    Ok(Ledger::default_path(&home, state))
}

/// The engine for this user: the configured Globus services, the user's login (or client
/// credentials), the ledger.
pub(crate) fn open_stager(config: &Config, ctx: &Context) -> Result<Stager> {
    let credentials = Credentials::discover()?;
    let path = ledger_path(config, &ctx.env)?;
    let ledger = Ledger::open(&path)?;
    let client = crate::globus::setup::client(config, credentials)?;
    let limiter = shared_rate_limit(config, &client, &path);
    Ok(Stager::new(
        config,
        client.with_rate_limiter(limiter),
        ledger,
    ))
}

/// The Transfer request-rate limit the user's processes share (`[limits]`), kept next to the
/// ledger: one file per Globus user and Transfer service.
fn shared_rate_limit(
    config: &Config,
    client: &crate::globus::GlobusClient,
    ledger: &Path,
) -> Option<crate::globus::RateLimiter> {
    let dir = ledger.parent()?;
    let name = crate::globus::RateLimiter::file_name(
        client.transfer_url().as_str(),
        &client.rate_limit_identity(),
    );
    crate::globus::RateLimiter::new(
        dir.join(name),
        f64::from(config.limits.requests_per_second),
        config.limits.request_burst,
    )
}

/// A job script's plan for the job named by flags or `SLURM_*`; invalid directives are shown
/// and exit 2 with nothing submitted.
pub(crate) fn plan_job(
    config: &Config,
    script: &Path,
    job: &JobArgs,
    ctx: &Context,
) -> Result<(JobContext, Plan)> {
    let shown = script.display().to_string();
    let text = super::read_script(script)?;
    if job.job_id.is_none() && !ctx.env.contains_key(env::SLURM_JOB_ID) {
        return Err(Reported {
            code: exit::USAGE,
            summary: "no job to stage for: run inside a Slurm job, or give `--job-id ID`".into(),
        }
        .into());
    }
    let context = super::check::job_context(job, script, &ctx.env)?;
    let color = std::io::stderr().is_terminal();
    match plan_script(&text, &ParseOptions::from_config(config), &context, config) {
        Ok(planned) => {
            if !planned.warnings.0.is_empty() {
                eprint!("{}", planned.warnings.render(&text, &shown, color));
            }
            Ok((context, planned.plan))
        }
        Err(diags) => {
            eprint!("{}", diags.render(&text, &shown, color));
            let n = diags.errors().count();
            Err(Reported {
                code: exit::USAGE,
                summary: format!(
                    "`{shown}`: {n} error{} in its directives; nothing was submitted",
                    if n == 1 { "" } else { "s" }
                ),
            }
            .into())
        }
    }
}

/// Inside the job being staged (not requeued), nothing can have staged it before it started.
pub(crate) fn not_staged_before(
    job: &JobContext,
    process_env: &BTreeMap<String, String>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let get = |k: &str| process_env.get(k).filter(|v| !v.is_empty());
    let same_job = get(env::SLURM_JOB_ID).and_then(|v| v.parse::<u64>().ok()) == Some(job.job_id);
    let requeued = get(env::SLURM_RESTART_COUNT).is_some_and(|v| v != "0");
    if !same_job || requeued {
        return None;
    }
    let secs = get(env::SLURM_JOB_START_TIME)?.parse::<i64>().ok()?;
    chrono::DateTime::from_timestamp(secs, 0)
}

/// Wait options from the flags and the config's poll intervals.
pub(crate) fn wait_options(flags: &WaitFlags, config: &Config, format: Format) -> WaitOptions {
    let interval = flags.interval.unwrap_or(std::time::Duration::from_secs(
        config.poll.interval_secs.max(1),
    ));
    let progress = match format {
        Format::Text if std::io::stderr().is_terminal() => ProgressMode::Bar,
        _ => ProgressMode::Lines,
    };
    WaitOptions {
        timeout: flags.timeout,
        interval,
        max_interval: std::time::Duration::from_secs(config.poll.max_interval_secs).max(interval),
        grace: flags.grace,
        stop_on_attention: flags.stop_on_attention,
        progress,
    }
}

/// The cluster jobs are named on: the flag, else `SLURM_CLUSTER_NAME`, else the config's.
pub(crate) fn cluster_name(given: Option<&String>, config: &Config, ctx: &Context) -> String {
    given
        .cloned()
        .or_else(|| {
            ctx.env
                .get(env::SLURM_CLUSTER_NAME)
                .filter(|c| !c.is_empty())
                .cloned()
        })
        .or_else(|| config.cluster.name.clone())
        .unwrap_or_else(|| "cluster".to_owned())
}

/// A `JOBID|TASK` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A Slurm job id.
    Job(String),
    /// A Globus task id.
    Task(TaskId),
}

impl Target {
    /// Reads a job id (digits) or a task id (a UUID).
    pub(crate) fn parse(text: &str) -> Result<Target> {
        let text = text.trim();
        if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
            return Ok(Target::Job(text.to_owned()));
        }
        match text.parse::<TaskId>() {
            Ok(id) => Ok(Target::Task(id)),
            Err(_) => Err(Reported {
                code: exit::USAGE,
                summary: format!(
                    "`{text}` is neither a job id (digits) nor a Globus task id (a UUID); `gstage list` shows both"
                ),
            }
            .into()),
        }
    }
}

/// Task lines as a table for people.
pub(crate) fn print_views(views: &[TaskView]) {
    for v in views {
        println!("{}", crate::engine::progress::task_line(v));
    }
}

/// The exit of a finished wait: 0 when all succeeded, the timeout code when it ran out,
/// else 1, naming the problems.
pub(crate) fn wait_result(report: &WaitReport, timeout_exit_code: u8) -> Result<()> {
    if report.all_succeeded() {
        return Ok(());
    }
    let problems: Vec<String> = report
        .problems()
        .map(|v| {
            let id = v
                .task_id
                .map_or_else(String::new, |t| format!("task `{t}` "));
            match &v.error {
                Some(e) => format!("{id}{}: {e}", v.state),
                None => format!("{id}{}", v.state),
            }
        })
        .collect();
    if report.timed_out {
        return Err(Reported {
            code: i32::from(timeout_exit_code),
            summary: format!(
                "timed out after {}s waiting for {} task{}; `gstage wait` again to keep waiting{}",
                report.elapsed.as_secs(),
                report.tasks.len(),
                if report.tasks.len() == 1 { "" } else { "s" },
                if problems.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", problems.join("; "))
                }
            ),
        }
        .into());
    }
    Err(Reported {
        code: exit::FAILURE,
        summary: format!("not every transfer succeeded: {}", problems.join("; ")),
    }
    .into())
}

/// `stage-in` and `stage-out`: plan, stage through the engine, print, and exit by the outcome.
pub(crate) fn stage(
    ctx: &Context,
    script: &Path,
    job: &JobArgs,
    direction: crate::options::Direction,
    wait: bool,
    flags: &WaitFlags,
    outcome: impl FnOnce(&Plan, &JobContext) -> Option<crate::engine::JobOutcome>,
) -> Result<()> {
    let config = Config::load()?;
    let (context, plan) = plan_job(&config, script, job, ctx)?;
    let options = crate::engine::StageOptions {
        wait,
        wait_options: wait_options(flags, &config, ctx.format),
        job_outcome: outcome(&plan, &context),
        not_staged_before: not_staged_before(&context, &ctx.env),
    };
    let stager = open_stager(&config, ctx)?;
    // Inside an array element, the element's environment says which indices the array has.
    let inside = ctx
        .env
        .get(env::SLURM_JOB_ID)
        .and_then(|v| v.parse::<u64>().ok())
        == Some(context.job_id);
    let text = std::fs::read_to_string(script).unwrap_or_default();
    let job = super::array::Job {
        config: &config,
        script: &text,
        context: &context,
        plan: &plan,
        indices: inside
            .then(|| crate::slurm::array::indices_from_env(&ctx.env))
            .flatten(),
    };
    let report = super::block_on(super::array::stage(&stager, &job, direction, &options))??;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => {
            let dir = match direction {
                crate::options::Direction::In => "stage-in",
                crate::options::Direction::Out => "stage-out",
            };
            print_staged(dir, &report.tasks);
            println!("{}", report.summary());
        }
    }
    let Some(wait) = &report.wait else {
        return Ok(());
    };
    if report.ok() {
        for t in wait.problems() {
            eprintln!(
                "gstage: warning: optional transfer {} did not succeed: {}",
                t.label,
                t.error.as_deref().unwrap_or(t.state.as_str())
            );
        }
        return Ok(());
    }
    wait_result(wait, flags.timeout_exit_code)
}

/// One line per submitted (or adopted) task: `KIND task N: ID  "LABEL"  (how)`.
pub(crate) fn print_staged(kind: &str, tasks: &[crate::engine::StagedTask]) {
    for t in tasks {
        let id = t
            .task_id
            .map_or_else(|| "-".to_owned(), |id| id.to_string());
        let how = serde_json::to_value(t.submission)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        println!("{kind} task {}: {id}  \"{}\"  ({how})", t.number, t.label);
    }
}
