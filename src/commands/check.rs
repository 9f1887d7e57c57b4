//! `gstage check SCRIPT`: read the script, plan it for a job (from flags or `SLURM_*`), print
//! the plan, or every diagnostic and exit 2.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde_json::json;

use super::Context;
use crate::cli::{CheckArgs, Format, JobArgs};
use crate::config::Config;
use crate::directive::{Diagnostics, ParseOptions};
use crate::doctor::Report;
use crate::doctor::plan::PlanCheck;
use crate::env;
use crate::exit::{self, Reported};
use crate::globus::Credentials;
use crate::output::{Stream, Style};
use crate::plan::{Plan, Task, plan_script};
use crate::slurm::context::JobContext;

/// Runs `gstage check`.
pub fn run(args: &CheckArgs, ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    let shown = args.script.display().to_string();
    let script = super::read_script(&args.script)?;
    let job = job_context(&args.job, &args.script, &ctx.env)?;
    let options = ParseOptions::from_config(&config);
    let color = std::io::stderr().is_terminal();
    match plan_script(&script, &options, &job, &config) {
        Ok(planned) => {
            if !planned.warnings.0.is_empty() {
                eprint!("{}", planned.warnings.render(&script, &shown, color));
            }
            let online = match args.online {
                true => Some(online(&planned.plan, &config)?),
                false => None,
            };
            match ctx.format {
                Format::Text => {
                    print!("{}", render_text(&planned.plan));
                    if let Some(found) = &online {
                        println!();
                        print!("{}", render_online(found, ctx));
                    }
                }
                Format::Json => println!(
                    "{}",
                    json!({
                        "valid": true,
                        "script": shown,
                        "job": job,
                        "plan": planned.plan,
                        "diagnostics": planned.warnings,
                        "online": online.as_ref().map(|o| &o.checks),
                    })
                ),
            }
            online.as_ref().map_or(Ok(()), |o| online_verdict(o, ""))
        }
        Err(diags) => {
            eprint!("{}", diags.render(&script, &shown, color));
            if ctx.format == Format::Json {
                println!(
                    "{}",
                    json!({ "valid": false, "script": shown, "job": job, "diagnostics": diags })
                );
            }
            Err(Reported {
                code: exit::USAGE,
                summary: summary(&diags, &shown),
            }
            .into())
        }
    }
}

/// `--online`: the plan checked through Globus with the user's login (or client credentials).
pub(crate) fn online(plan: &Plan, config: &Config) -> Result<PlanCheck> {
    let credentials = Credentials::discover()?;
    let client = crate::globus::setup::client(config, credentials)?;
    super::block_on(crate::doctor::plan::check(plan, &client))
}

/// The online checks as `gstage doctor` shows its own: a line each, the fix under each failure.
pub(crate) fn render_online(found: &PlanCheck, ctx: &Context) -> String {
    let style = Style::detect(Stream::Stdout, &ctx.env);
    super::doctor::render(
        &Report::new(found.checks.clone()),
        style,
        ctx.verbosity.is_quiet(),
    )
}

/// Fails with the exit status of the first fix needed when any online check failed.
pub(crate) fn online_verdict(found: &PlanCheck, consequence: &str) -> Result<()> {
    let failed = found.checks.iter().filter(|c| !c.ok).count();
    if failed == 0 {
        return Ok(());
    }
    Err(Reported {
        code: found.code,
        summary: format!(
            "{failed} of {} online checks failed{consequence}; each shows its fix",
            found.checks.len()
        ),
    }
    .into())
}

fn summary(diags: &Diagnostics, shown: &str) -> String {
    let n = diags.errors().count();
    format!(
        "`{shown}`: {n} error{} in its directives; nothing was planned",
        if n == 1 { "" } else { "s" }
    )
}

/// The job to plan for: flags first, then `SLURM_*` variables inside a job, then placeholders
/// (job id 0, the invoking user, the script's file name, the current directory).
pub(crate) fn job_context(
    args: &JobArgs,
    script: &Path,
    process_env: &BTreeMap<String, String>,
) -> Result<JobContext> {
    let mut vars = process_env.clone();
    let in_job = vars.contains_key(env::SLURM_JOB_ID);
    let cwd = std::env::current_dir().context("finding the current directory")?;
    let mut set = |k: &str, v: String| {
        vars.insert(k.to_owned(), v);
    };
    if !in_job {
        set(env::SLURM_JOB_ID, "0".to_owned());
        set(env::SLURM_JOB_WORK_DIR, cwd.display().to_string());
        set(env::SLURM_SUBMIT_DIR, cwd.display().to_string());
        let name = script
            .file_name()
            .map_or_else(|| "job".to_owned(), |n| n.to_string_lossy().into_owned());
        set(env::SLURM_JOB_NAME, name);
        if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::getuid()) {
            set(env::SLURM_JOB_USER, user.name);
            set(env::HOME, user.dir.display().to_string());
        }
    }
    if let Some(id) = args.job_id {
        set(env::SLURM_JOB_ID, id.to_string());
    }
    if let Some(id) = args.array_job_id {
        set(env::SLURM_ARRAY_JOB_ID, id.to_string());
    }
    if let Some(id) = args.array_task_id {
        set(env::SLURM_ARRAY_TASK_ID, id.to_string());
    }
    if let Some(user) = &args.user {
        set(env::SLURM_JOB_USER, user.clone());
    }
    if let Some(name) = &args.job_name {
        set(env::SLURM_JOB_NAME, name.clone());
    }
    if let Some(dir) = &args.workdir {
        set(
            env::SLURM_JOB_WORK_DIR,
            absolute(&cwd, dir).display().to_string(),
        );
    }
    if let Some(cluster) = &args.cluster {
        set(env::SLURM_CLUSTER_NAME, cluster.clone());
    }
    Ok(JobContext::from_env(&vars, chrono::Utc::now())?)
}

fn absolute(cwd: &Path, dir: &Path) -> PathBuf {
    crate::config::normalize(&cwd.join(dir))
}

/// The plan as a table for people.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let count = |n: usize, what: &str| format!("{n} {what} task{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "job {} on {}: {}, {}",
        plan.job_id,
        plan.cluster,
        count(plan.stage_in.len(), "stage-in"),
        count(plan.stage_out.len(), "stage-out")
    );
    for task in plan.stage_in.iter().chain(&plan.stage_out) {
        render_task(&mut out, task);
    }
    out
}

fn render_task(out: &mut String, task: &Task) {
    let o = &task.options;
    let dir = match task.direction {
        crate::options::Direction::In => "stage-in",
        crate::options::Direction::Out => "stage-out",
    };
    let _ = writeln!(
        out,
        "\n{dir} task {}  label \"{}\"",
        task.number, task.label
    );
    let _ = writeln!(
        out,
        "  from     {} ({})",
        task.source.display_name, task.source.id
    );
    let _ = writeln!(
        out,
        "  to       {} ({})",
        task.destination.display_name, task.destination.id
    );
    let mut opts = Vec::new();
    if let Some(level) = o.sync_level {
        opts.push(format!("sync-level {level}"));
    }
    opts.push(
        if o.verify_checksum {
            "verify-checksum"
        } else {
            "no-verify-checksum"
        }
        .to_owned(),
    );
    for (set, name) in [
        (o.preserve_timestamp, "preserve-mtime"),
        (o.encrypt_data, "encrypt"),
        (o.skip_source_errors, "skip-source-errors"),
        (o.fail_on_quota_errors, "fail-on-quota-errors"),
        (o.delete_destination_extra, "delete-destination-extra"),
        (o.optional, "optional"),
    ] {
        if set {
            opts.push(name.to_owned());
        }
    }
    if let Some(d) = o.deadline {
        opts.push(format!("deadline {}", d.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    opts.push(format!("notify {}", o.notify));
    if let Some(when) = o.when {
        opts.push(format!("when {when}"));
    }
    for rule in &o.filter_rules {
        let m = match rule.method {
            crate::options::FilterMethod::Include => "include",
            crate::options::FilterMethod::Exclude => "exclude",
        };
        opts.push(format!("{m} {}", rule.name));
    }
    let _ = writeln!(out, "  options  {}", opts.join(", "));
    for item in &task.items {
        let mut extra = Vec::new();
        match item.recursive {
            Some(true) => extra.push("recursive".to_owned()),
            Some(false) => extra.push("not recursive".to_owned()),
            None => {}
        }
        if let Some(sum) = &item.external_checksum {
            let alg = item.checksum_algorithm.as_ref().map_or("", |a| a.as_str());
            extra.push(format!("checksum {alg} {sum}").replace("  ", " "));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("  ({})", extra.join(", "))
        };
        let _ = writeln!(
            out,
            "  line {:<4} {}  ->  {}{extra}",
            item.line, item.source_path, item.destination_path
        );
    }
}
