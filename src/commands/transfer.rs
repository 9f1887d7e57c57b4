//! `gstage transfer SRC DST [options] [--key KEY]`: archive data outside any job. The pairs are
//! read as stage-out directives (one grammar), planned by the planner, and submitted by the
//! engine exactly once per key.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use anyhow::{Context as _, Result};

use super::Context;
use super::staging::{open_stager, wait_options, wait_result};
use crate::archive::{self, Key, Run};
use crate::cli::{Format, TransferArgs};
use crate::config::Config;
use crate::directive::ParseOptions;
use crate::engine::ArchiveOptions;
use crate::env;
use crate::exit::{self, Reported};
use crate::plan::plan_script;
use crate::slurm::context::JobContext;

/// Runs `gstage transfer`.
pub fn run(args: &TransferArgs, ctx: &Context) -> Result<()> {
    if let Some(crate::cli::Cli {
        command: crate::cli::Command::Transfer(again),
        format,
        ..
    }) = reparsed()?
    {
        let ctx = Context {
            format,
            ..ctx.clone()
        };
        return planned_run(&again, &ctx);
    }
    planned_run(args, ctx)
}

fn planned_run(args: &TransferArgs, ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    let in_job = ctx
        .env
        .get(env::SLURM_JOB_ID)
        .is_some_and(|v| !v.is_empty());
    let job = job_context(&ctx.env, in_job)?;
    let (script, shown) = script_of(args)?;
    let color = std::io::stderr().is_terminal();
    let plan = match plan_script(&script, &ParseOptions::default(), &job, &config) {
        Ok(planned) => {
            if !planned.warnings.0.is_empty() {
                eprint!("{}", planned.warnings.render(&script, &shown, color));
            }
            planned.plan
        }
        Err(diags) => {
            eprint!("{}", diags.render(&script, &shown, color));
            let n = diags.errors().count();
            return Err(Reported {
                code: exit::USAGE,
                summary: format!(
                    "{shown}: {n} error{}; nothing was submitted",
                    if n == 1 { "" } else { "s" }
                ),
            }
            .into());
        }
    };
    if plan.stage_out.is_empty() {
        return Err(Reported {
            code: exit::USAGE,
            summary: format!("{shown} names nothing to transfer; give `SRC DST` pairs"),
        }
        .into());
    }
    let key = match &args.key {
        Some(text) => archive::expand_key(text, &job, in_job)?,
        None => Key::fresh(job.now),
    };
    let run = archive::run_of(plan, key, args.key.is_some())?;
    if args.dry_run {
        return print_plan(&run, ctx.format);
    }
    let options = ArchiveOptions {
        wait: args.wait,
        wait_options: wait_options(&args.wait_flags, &config, ctx.format),
        user: job.user.clone(),
    };
    let stager = open_stager(&config, ctx)?;
    let report = super::block_on(stager.archive(&run, &options))??;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => {
            super::staging::print_staged("transfer", &report.tasks);
            println!("{}", report.summary());
        }
    }
    match &report.wait {
        Some(wait) => wait_result(wait, args.wait_flags.timeout_exit_code),
        None => Ok(()),
    }
}

/// gstage's own flags (`--key`, `--wait`, `--format`…) written after `SRC`: clap hands them
/// over among the pair's words. The command line is read again with them moved before the pair
/// (and the pair after `--`), so the flags stay clap's and the rest is the directive's. Only long
/// flags are looked for (`-r` and `-s` are the pair's); a literal `--` ends the search.
fn reparsed() -> Result<Option<crate::cli::Cli>> {
    use clap::{CommandFactory, Parser};
    let Ok(argv) = std::env::args_os()
        .map(std::ffi::OsString::into_string)
        .collect::<Result<Vec<String>, _>>()
    else {
        return Ok(None);
    };
    let Some(at) = argv.iter().position(|a| a == "transfer") else {
        return Ok(None);
    };
    let (head, tail) = argv.split_at(at + 1);
    let cli = crate::cli::Cli::command();
    let Some(sub) = cli.find_subcommand("transfer") else {
        return Ok(None);
    };
    let takes_value = |name: &str| -> Option<bool> {
        cli.get_arguments()
            .chain(sub.get_arguments())
            .find(|a| a.get_long() == Some(name))
            .map(|a| a.get_action().takes_values())
    };
    let mut own: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut moved = false;
    let mut rest = tail.iter();
    while let Some(word) = rest.next() {
        if word == "--" {
            words.extend(rest.by_ref().cloned());
            break;
        }
        let name = word
            .strip_prefix("--")
            .map(|n| n.split('=').next().unwrap_or(n));
        match name.and_then(takes_value) {
            Some(takes) => {
                moved |= !words.is_empty();
                own.push(word.clone());
                if takes
                    && !word.contains('=')
                    && let Some(value) = rest.next()
                {
                    own.push(value.clone());
                }
            }
            None => words.push(word.clone()),
        }
    }
    if !moved {
        return Ok(None);
    }
    let argv = head
        .iter()
        .cloned()
        .chain(own)
        .chain(std::iter::once("--".to_owned()))
        .chain(words);
    Ok(Some(crate::cli::Cli::try_parse_from(argv)?))
}

/// The directive text to plan and the name to show in its diagnostics: the batch file's pairs
/// (the command line's options on each), or the command line's one pair.
fn script_of(args: &TransferArgs) -> Result<(String, String)> {
    match &args.batch {
        Some(path) => {
            let shown = path.display().to_string();
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Reported {
                        code: exit::NOT_FOUND,
                        summary: format!("batch file `{shown}` does not exist; check the path"),
                    }
                    .into());
                }
                Err(e) => return Err(e).with_context(|| format!("reading batch file `{shown}`")),
            };
            Ok((archive::batch_script(&text, &args.args)?, shown))
        }
        None if args.args.is_empty() => Err(Reported {
            code: exit::USAGE,
            summary: "give `SRC DST [options]`, or `--batch FILE`; `gstage transfer --help` shows examples".into(),
        }
        .into()),
        None => Ok((
            archive::directive_line("stage-out", &args.args)? + "\n",
            "command line".to_owned(),
        )),
    }
}

/// The job symbols come from `SLURM_*` inside a job or its epilog; relative paths are relative
/// to the current directory, as for any command.
fn job_context(process_env: &BTreeMap<String, String>, in_job: bool) -> Result<JobContext> {
    let mut vars = process_env.clone();
    let cwd = std::env::current_dir().context("finding the current directory")?;
    let cwd = cwd.display().to_string();
    let mut default = |k: &str, v: String| {
        if vars.get(k).is_none_or(String::is_empty) {
            vars.insert(k.to_owned(), v);
        }
    };
    if !in_job {
        default(env::SLURM_JOB_ID, "0".to_owned());
    }
    default(env::SLURM_JOB_NAME, "transfer".to_owned());
    default(env::SLURM_SUBMIT_DIR, cwd.clone());
    if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::getuid()) {
        default(env::USER, user.name);
        default(env::HOME, user.dir.display().to_string());
    }
    vars.insert(env::SLURM_JOB_WORK_DIR.to_owned(), cwd);
    Ok(JobContext::from_env(&vars, chrono::Utc::now())?)
}

/// `--dry-run`: the tasks and labels, nothing sent.
fn print_plan(run: &Run, format: Format) -> Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(run)?),
        Format::Text => {
            for task in &run.tasks {
                println!(
                    "transfer task {}  label \"{}\"\n  {} -> {}",
                    task.number,
                    task.label,
                    task.source.display_name,
                    task.destination.display_name
                );
                for item in &task.items {
                    println!("    {} -> {}", item.source_path, item.destination_path);
                }
            }
            println!(
                "archive {}: {} task{} planned; nothing was submitted (--dry-run)",
                run.key,
                run.tasks.len(),
                if run.tasks.len() == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}

/// `gstage status KEY`: an archive run's tasks.
pub(crate) fn status(key: &Key, config: &Config, ctx: &Context) -> Result<()> {
    let stager = open_stager(config, ctx)?;
    let views = super::block_on(stager.status_of_key(key))??;
    match ctx.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "key": key, "tasks": views }))?
        ),
        Format::Text => {
            println!(
                "archive {key}: {} transfer{}",
                views.len(),
                if views.len() == 1 { "" } else { "s" }
            );
            super::staging::print_views(&views);
        }
    }
    Ok(())
}

/// `gstage list --key-prefix PREFIX`: what was archived when, by key.
pub(crate) fn list(prefix: &str, config: &Config, ctx: &Context) -> Result<()> {
    let stager = open_stager(config, ctx)?;
    let views = super::block_on(stager.list_keys(prefix))??;
    match ctx.format {
        Format::Json => println!("{}", serde_json::json!({ "tasks": views })),
        Format::Text if views.is_empty() => {
            println!("no archive runs recorded with a key starting with `{prefix}`");
        }
        Format::Text => {
            println!(
                "{:<28} {:<20} {:<36} {:<10} {:>7} {:>10}",
                "KEY", "RECORDED (UTC)", "TASK", "STATE", "FILES", "BYTES"
            );
            for v in &views {
                println!(
                    "{:<28} {:<20} {:<36} {:<10} {:>7} {:>10}",
                    v.key.as_deref().unwrap_or("-"),
                    v.created_at.map_or_else(
                        || "-".to_owned(),
                        |t| t.format("%Y-%m-%d %H:%M:%S").to_string()
                    ),
                    v.task_id
                        .map_or_else(|| "(not submitted)".to_owned(), |t| t.to_string()),
                    v.state.as_str(),
                    v.files_transferred,
                    v.bytes_transferred
                );
            }
        }
    }
    Ok(())
}
