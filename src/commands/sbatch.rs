//! `gstage sbatch [sbatch options] SCRIPT [ARGS]`: wrapper mode, for clusters without the site
//! integration. See `slurm::sbatch` for the chain of jobs; this file runs it.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result};
use serde_json::json;

use super::Context;
use super::owner::Owner;
use crate::cli::{Format, SbatchArgs};
use crate::config::Config;
use crate::directive::ParseOptions;
use crate::exit::{self, Reported};
use crate::plan::plan_script;
use crate::privilege::JobUser;
use crate::slurm::context::JobContext;
use crate::slurm::sbatch::{Chain, SbatchLine, shell_quote, user_job_args};
use crate::slurm::scontrol::{self, Slurm};

/// Runs the wrapper.
pub fn run(args: &SbatchArgs, ctx: &Context) -> Result<()> {
    // gstage's own flags may also come after sbatch options (clap stops at the first unknown).
    let mut online = args.online;
    let mut dry_run = args.dry_run;
    let mut parsable = args.parsable;
    let mut words = Vec::new();
    let mut in_script_args = false;
    for word in &args.args {
        match word.as_str() {
            "--online" if !in_script_args => online = true,
            "--dry-run" if !in_script_args => dry_run = true,
            "--parsable" if !in_script_args => parsable = true,
            _ => {
                words.push(word.clone());
                in_script_args = in_script_args
                    || SbatchLine::parse(&words).is_ok_and(|l| !l.script.as_os_str().is_empty());
            }
        }
    }
    let line = SbatchLine::parse(&words)?;
    let user = JobUser::current()?;
    let config = Config::load()?;
    let shown = line.script.display().to_string();
    let script = super::read_script(&line.script)?;

    // Validate before anything is submitted, with the values known now.
    let cwd = std::env::current_dir().context("finding the current directory")?;
    let preview = preview_context(&line, &user, &cwd)?;
    let options = ParseOptions::from_config(&config);
    let planned = match plan_script(&script, &options, &preview, &config) {
        Ok(p) => p,
        Err(diags) => {
            eprint!(
                "{}",
                diags.render(&script, &shown, std::io::stderr().is_terminal())
            );
            if line.is_array() {
                eprintln!(
                    "note: `gstage sbatch` stages a job array once for all of its elements (in before the first starts, out after the last ends), so `%a` has no value; stage the folder that holds every element's files, or submit with plain `sbatch` where the site has gstage's burst buffer integration, which stages each element"
                );
            }
            return Err(Reported {
                code: exit::USAGE,
                summary: format!("`{shown}`: invalid #GLOBUS directives; nothing was submitted"),
            }
            .into());
        }
    };
    if online {
        let found = super::check::online(&planned.plan, &config)?;
        if !parsable || found.checks.iter().any(|c| !c.ok) {
            eprint!("{}", super::check::render_online(&found, ctx));
        }
        super::check::online_verdict(&found, " and nothing was submitted")?;
    }

    let slurm = Slurm::from_env(&ctx.env);
    let gstage = std::env::current_exe().context("finding gstage's own path")?;
    let script_copy = state_dir(&user, ctx).join("scripts").join("<JOBID>.sh");
    if dry_run {
        let chain = Chain {
            helpers: config.wrapper.clone(),
            job_id: 0,
            work_dir: cwd.clone(),
            gstage: gstage.clone(),
            script_copy,
        };
        let sbatch = slurm.program("sbatch")?;
        let show = |a: &[String]| {
            let mut w = vec![sbatch.display().to_string()];
            w.extend(a.iter().map(|x| shell_quote(x)));
            w.join(" ").replace(" 0 ", " <JOBID> ")
        };
        println!("{}", show(&user_job_args(&line)));
        if !planned.plan.stage_in.is_empty() {
            println!(
                "gstage: submit {} stage-in task(s) for <JOBID>",
                planned.plan.stage_in.len()
            );
            println!(
                "{}",
                show(&chain.helper_args("gstage-in-<JOBID>", None, "data_in"))
            );
            println!("scontrol update JobId=<JOBID> Dependency=afterok:<GATE>");
        }
        if !line.user_holds() {
            println!("scontrol release <JOBID>");
        }
        if !planned.plan.stage_out.is_empty() {
            println!(
                "{}",
                show(&chain.helper_args(
                    "gstage-out-<JOBID>",
                    Some("afterany:<JOBID>".to_owned()),
                    "data_out"
                ))
            );
        }
        return Ok(());
    }

    // 1. The user's job, held, with its real id for labels and `%j`.
    let mut cmd = Command::new(slurm.program("sbatch")?);
    cmd.args(user_job_args(&line));
    let out = run_keeping_env(cmd)?;
    let job_id = parse_job_id(&out)?;
    let cancel = |why: anyhow::Error| -> anyhow::Error {
        let _ = slurm.cancel(&job_id.to_string());
        why.context(format!("job {job_id} was cancelled, nothing runs"))
    };
    let job = slurm.show_job(job_id).map_err(|e| cancel(e.into()))?;
    let work_dir = job.work_dir.clone();
    let copy = state_dir(&user, ctx)
        .join("scripts")
        .join(format!("{job_id}.sh"));
    save_script(&copy, &script).map_err(cancel)?;
    let owner = Owner::new(job, script, slurm.clone(), ctx).map_err(cancel)?;
    let plan = owner.plan().map_err(cancel)?;

    // 2. The stage-in, at once; 3. the gate; 4. the job after it.
    let chain = Chain {
        helpers: config.wrapper.clone(),
        job_id,
        work_dir,
        gstage,
        script_copy: copy,
    };
    let mut gate = None;
    if !plan.stage_in.is_empty() {
        owner.data_in(false).map_err(cancel)?;
        let mut cmd = Command::new(slurm.program("sbatch")?);
        cmd.args(chain.helper_args(&format!("gstage-in-{job_id}"), None, "data_in"));
        let gate_id = parse_job_id(&run_keeping_env(cmd).map_err(cancel)?).map_err(cancel)?;
        let mut cmd = slurm.command("scontrol")?;
        cmd.args([
            "update".to_owned(),
            format!("JobId={job_id}"),
            format!("Dependency=afterok:{gate_id}"),
        ]);
        slurm.run(cmd, None).map_err(|e| cancel(e.into()))?;
        gate = Some(gate_id);
    }
    if !line.user_holds() {
        let mut cmd = slurm.command("scontrol")?;
        cmd.args(["release", &job_id.to_string()]);
        slurm.run(cmd, None).map_err(|e| cancel(e.into()))?;
    }
    // 5. The stage-out after the job, whatever its outcome.
    let mut stage_out = None;
    if !plan.stage_out.is_empty() {
        let mut cmd = Command::new(slurm.program("sbatch")?);
        cmd.args(chain.helper_args(
            &format!("gstage-out-{job_id}"),
            Some(format!("afterany:{job_id}")),
            "data_out",
        ));
        stage_out = Some(parse_job_id(&run_keeping_env(cmd)?)?);
    }
    let record = json!({
        "job_id": job_id,
        "gate_job_id": gate,
        "stage_out_job_id": stage_out,
        "script": chain.script_copy,
        "stage_in_tasks": plan.stage_in.len(),
        "stage_out_tasks": plan.stage_out.len(),
    });
    let record_path = state_dir(&user, ctx)
        .join("wrapper")
        .join(format!("{job_id}.json"));
    save_script(&record_path, &record.to_string())?;
    match (ctx.format, parsable) {
        (Format::Json, _) => println!("{record}"),
        (Format::Text, true) => println!("{job_id}"),
        (Format::Text, false) => {
            println!("Submitted batch job {job_id}");
            if let Some(g) = gate {
                println!("gstage: stage-in submitted; gate job {g} waits for it");
            }
            if let Some(s) = stage_out {
                println!("gstage: stage-out job {s} runs after job {job_id}");
            }
        }
    }
    Ok(())
}

/// The job as far as it is known before submission: the id is 0 and the directory the current
/// one, or `--chdir`.
fn preview_context(line: &SbatchLine, user: &JobUser, cwd: &Path) -> Result<JobContext> {
    let chdir = line
        .options
        .iter()
        .enumerate()
        .find_map(|(i, o)| {
            o.strip_prefix("--chdir=").map(str::to_owned).or_else(|| {
                (o == "--chdir" || o == "-D")
                    .then(|| line.options.get(i + 1).cloned())
                    .flatten()
            })
        })
        .map_or_else(
            || cwd.to_path_buf(),
            |d| crate::config::normalize(&cwd.join(d)),
        );
    let name = line
        .script
        .file_name()
        .map_or_else(|| "job".to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(JobContext {
        job_id: 0,
        // The array's job id is known by the time its stage-in runs; an element's index never is.
        array_job_id: line.is_array().then_some(0),
        array_task_id: None,
        user: user.name.clone(),
        job_name: name,
        work_dir: chdir.clone(),
        submit_dir: cwd.to_path_buf(),
        cluster_name: None,
        home: Some(user.home.clone()),
        now: chrono::Utc::now(),
    })
}

/// `$XDG_STATE_HOME/gstage` (home from passwd): where the wrapper keeps script copies and records.
fn state_dir(user: &JobUser, ctx: &Context) -> PathBuf {
    match ctx.env.get("XDG_STATE_HOME").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p.join("gstage"),
        _ => user.home.join(".local/state/gstage"),
    }
}

/// Writes a private file (0600), creating its folder (0700).
fn save_script(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating `{}`", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing `{}`", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("writing `{}`", path.display()))
}

/// Runs sbatch with the user's environment (jobs inherit it, as with plain sbatch).
fn run_keeping_env(mut cmd: Command) -> Result<String> {
    let shown = scontrol::show(&cmd);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running `{shown}`"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Reported {
            code: exit::FAILURE,
            summary: format!(
                "`{shown}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
        .into())
    }
}

/// `42` or `42;cluster` from `sbatch --parsable`.
fn parse_job_id(out: &str) -> Result<u64> {
    out.trim()
        .split(';')
        .next()
        .and_then(|id| id.trim().parse().ok())
        .with_context(|| format!("sbatch printed `{}` instead of a job id", out.trim()))
}
