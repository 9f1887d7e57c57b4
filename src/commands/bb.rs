//! `gstage bb <phase>`: the burst_buffer.lua entry points. `job_process` validates offline and
//! fast (it runs inside slurmctld with its locks held); the other phases read the script as
//! SlurmUser, hand the work to the job's owner (`slurm::handoff`) and drive the staging engine.
//!
//! What this prints is Slurm's message: the first line becomes the job's Reason, so a failure's
//! first line says what failed and how to fix it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::Context;
use super::owner::{Owner, rendered_diagnostics};
use crate::cli::{BbArgs, BbPhase};
use crate::config::Config;
use crate::exit::{self, Reported};
use crate::slurm::bb::{self, job_id_from_script_path, validate_offline};
use crate::slurm::handoff::{self, Handoff, Next, STDIN};
use crate::slurm::scontrol::{JobInfo, Slurm};
use crate::slurm::spool;

/// Runs one phase.
pub fn run(args: &BbArgs, ctx: &Context) -> Result<()> {
    match &args.phase {
        BbPhase::JobProcess { script } => job_process(script),
        // gstage uses no burst buffer space, and pre_run/post_run have nothing to do: the
        // stage-in already finished, and the stage-out starts in data_out.
        BbPhase::RealSize { .. } | BbPhase::PreRun { .. } | BbPhase::PostRun { .. } => Ok(()),
        BbPhase::Setup {
            job_id,
            uid,
            script,
            ..
        } => {
            let owner = as_owner(ctx, *job_id, script)?;
            let Some(owner) = owner else { return Ok(()) };
            if owner.job.uid != *uid {
                return Err(fail(format!(
                    "job {job_id}: Slurm passed uid {uid} but the job belongs to uid {}; not staging",
                    owner.job.uid
                )));
            }
            owner.setup()
        }
        BbPhase::DataIn {
            no_wait,
            job_id,
            script,
        } => match as_owner_with(ctx, *job_id, script, |slurm, job| {
            note_owner(slurm, job.job_id, Some(job.uid));
        })? {
            Some(owner) => owner.data_in(!*no_wait),
            None => Ok(()),
        },
        BbPhase::TestDataIn { job_id, script } => match as_owner(ctx, *job_id, script)? {
            Some(owner) => owner.test_data_in(),
            None => Ok(()),
        },
        BbPhase::Paths {
            job_id,
            script,
            path_file,
        } => paths(ctx, *job_id, script, path_file),
        BbPhase::DataOut {
            wait,
            job_id,
            script,
            ..
        } => match as_owner(ctx, *job_id, script)? {
            Some(owner) => owner.data_out(*wait),
            None => Ok(()),
        },
        BbPhase::TestDataOut { job_id, script } => match as_owner(ctx, *job_id, script)? {
            Some(owner) => owner.test_data_out(),
            None => Ok(()),
        },
        BbPhase::Teardown {
            job_id,
            script,
            hurry,
        } => match as_owner_with(ctx, *job_id, script, |slurm, job| {
            note_owner(slurm, job.job_id, None);
        })? {
            Some(owner) => owner.teardown(hurry == "true"),
            None => Ok(()),
        },
        BbPhase::GetStatus { args } => get_status(ctx, args),
    }
}

/// Validates the stored script with no job data, no runtime and no network, and prints every
/// diagnostic for sbatch to show.
fn job_process(script: &Path) -> Result<()> {
    let config = Config::load()?;
    let text = std::fs::read(script)
        .with_context(|| format!("reading the job script `{}`", script.display()))?;
    let text = String::from_utf8_lossy(&text);
    let job_id = job_id_from_script_path(script);
    match validate_offline(&text, job_id, &config, chrono::Utc::now()) {
        Ok(_) => Ok(()),
        Err(diags) => {
            let n = diags.errors().count();
            print!("{}", rendered_diagnostics(&diags, &text, "job script"));
            Err(Reported {
                code: exit::USAGE,
                summary: format!(
                    "{n} invalid #GLOBUS directive{}: fix the script (`gstage check SCRIPT` shows the same) and submit again",
                    if n == 1 { "" } else { "s" }
                ),
            }
            .into())
        }
    }
}

/// Reads the script, finds the job, and makes sure the rest runs as the job's owner: `None` when
/// another process did the work (as the owner) and this one only passes its exit status on.
pub(crate) fn as_owner(ctx: &Context, job_id: u64, script: &Path) -> Result<Option<Owner>> {
    as_owner_with(ctx, job_id, script, |_, _| {})
}

/// `as_owner`, running `first` as SlurmUser once the job is known (not again in the processes
/// started for its owner).
fn as_owner_with(
    ctx: &Context,
    job_id: u64,
    script: &Path,
    first: impl FnOnce(&Slurm, &JobInfo),
) -> Result<Option<Owner>> {
    let (handoff, slurm) = job_script(ctx, job_id, script)?;
    let job = slurm.show_job(job_id)?;
    if script != Path::new(STDIN) {
        first(&slurm, &job);
    }
    let args = handoff::replaced(&own_args(), script.as_os_str());
    delegate(ctx, job, handoff, slurm, &args, None)
}

/// Records (`Some`) or removes (`None`) SlurmUser's note of the job's owner for `paths` (see
/// `slurm::spool`). Best effort: without it the job only misses its task ids in its environment.
fn note_owner(slurm: &Slurm, job_id: u64, uid: Option<u32>) {
    let Ok(state) = slurm.state_save_location() else {
        return;
    };
    match uid {
        Some(uid) => {
            let _ = spool::remember(&state, job_id, uid);
        }
        None => spool::forget(&state, job_id),
    }
}

/// The job's own script (see `handoff::is_slurm_rewrite`) and Slurm's commands.
fn job_script(ctx: &Context, job_id: u64, script: &Path) -> Result<(Handoff, Slurm)> {
    if handoff::is_slurm_rewrite(script) {
        let slurm = Slurm::from_env(&ctx.env);
        let handoff = Handoff {
            script: slurm.batch_script(job_id)?,
            env: kept_env(ctx),
            uid: None,
        };
        return Ok((handoff, slurm));
    }
    let handoff = handoff::read_script(script, &ctx.env)?;
    let slurm = Slurm::from_env(&merged(ctx, &handoff));
    Ok((handoff, slurm))
}

/// The settings of this process that the owner's process keeps.
pub(crate) fn kept_env(ctx: &Context) -> BTreeMap<String, String> {
    ctx.env
        .iter()
        .filter(|(k, _)| handoff::kept(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The job's owner does the work: this process, or one started as them.
pub(crate) fn delegate(
    ctx: &Context,
    job: JobInfo,
    handoff: Handoff,
    slurm: Slurm,
    args: &[OsString],
    stdout: Option<File>,
) -> Result<Option<Owner>> {
    let job_id = job.job_id;
    match handoff::become_owner(job.uid, &handoff, args, stdout)? {
        Next::Work => Ok(Some(Owner::new(job, handoff.script, slurm, ctx)?)),
        Next::Done(0) => Ok(None),
        Next::Done(code) => Err(Reported {
            code,
            summary: format!("job {job_id}: the step run as its owner failed (see above)"),
        }
        .into()),
    }
}

/// This process' arguments after the program name.
pub(crate) fn own_args() -> Vec<OsString> {
    std::env::args_os().skip(1).collect()
}

/// The process environment with the handed-over settings on top.
pub(crate) fn merged(ctx: &Context, handoff: &Handoff) -> BTreeMap<String, String> {
    let mut vars = ctx.env.clone();
    vars.extend(handoff.env.clone());
    vars
}

/// `paths`, inside slurmctld with its locks held: no Slurm calls and no network. The owner comes
/// from SlurmUser's note (`slurm::spool`); the path file belongs to SlurmUser, so it is opened
/// here and becomes the stdout of the owner's process (called with `-` for it), which reads the
/// stage-in task ids from its ledger.
fn paths(ctx: &Context, job_id: u64, script: &Path, path_file: &Path) -> Result<()> {
    let config = Config::load()?;
    let cluster = config
        .cluster
        .name
        .clone()
        .unwrap_or_else(|| "cluster".to_owned());
    let prefix = format!("gstage {cluster} {job_id}");
    let (file, handoff) = if path_file == Path::new(STDIN) {
        (None, handoff::read_script(Path::new(STDIN), &ctx.env)?)
    } else {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(path_file)
            .with_context(|| format!("opening Slurm's path file `{}`", path_file.display()))?;
        let uid = spool::state_save_from_path_file(path_file)
            .and_then(|state| spool::owner(&state, job_id));
        let handoff = Handoff {
            script: String::new(),
            env: kept_env(ctx),
            uid,
        };
        (Some(file), handoff)
    };
    let write = |lines: &str| -> Result<()> {
        match &file {
            Some(f) => {
                let mut f = f;
                f.write_all(lines.as_bytes())?;
            }
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(lines.as_bytes())?;
                out.flush()?;
            }
        }
        Ok(())
    };
    let Some(uid) = handoff.uid else {
        // No note (data_in ran elsewhere, or the job was requeued): the label still finds them.
        return write(&bb::path_lines(&prefix, &[]));
    };
    let args = handoff::replaced(&own_args(), script.as_os_str());
    let args = handoff::replaced(&args, path_file.as_os_str());
    let child_stdout = file.as_ref().map(File::try_clone).transpose()?;
    match handoff::become_owner(uid, &handoff, &args, child_stdout)? {
        Next::Work => {
            let path = super::staging::ledger_path(&config, &ctx.env)?;
            let ledger = crate::ledger::Ledger::open(&path)?;
            let ids: Vec<String> = ledger
                .get_by_job(
                    &cluster,
                    &job_id.to_string(),
                    Some(crate::ledger::Direction::In),
                )?
                .iter()
                .filter_map(|r| r.task_id.map(|t| t.to_string()))
                .collect();
            write(&bb::path_lines(&prefix, &ids))
        }
        Next::Done(0) => Ok(()),
        Next::Done(code) => Err(fail_code(
            code,
            format!("job {job_id}: reading its task ids failed (see above)"),
        )),
    }
}

/// `get_status`: `scontrol show bbstat gstage JOBID` (Slurm 23.02+ puts the caller's uid and gid
/// first; the job id is the last number). A leading `-` means settings handed over on stdin.
fn get_status(ctx: &Context, args: &[String]) -> Result<()> {
    let Some(job_id) = args.iter().rev().find_map(|a| a.parse::<u64>().ok()) else {
        println!("usage: scontrol show bbstat gstage JOBID   (the Globus transfers of a job)");
        return Ok(());
    };
    let handoff = if args.first().map(String::as_str) == Some(STDIN) {
        handoff::read_script(Path::new(STDIN), &ctx.env)?
    } else {
        Handoff {
            script: String::new(),
            env: kept_env(ctx),
            uid: None,
        }
    };
    let slurm = Slurm::from_env(&merged(ctx, &handoff));
    let job = slurm.show_job(job_id)?;
    let mut own = own_args();
    if args.first().map(String::as_str) != Some(STDIN)
        && let Some(i) = own.iter().position(|a| a == "get_status")
    {
        own.insert(i + 1, STDIN.into());
    }
    let Some(owner) = delegate(ctx, job, handoff, slurm, &own, None)? else {
        return Ok(());
    };
    print!("{}", owner.bbstat()?);
    Ok(())
}

/// A failure whose message is the whole story (the job's Reason).
pub(crate) fn fail(message: String) -> anyhow::Error {
    fail_code(exit::FAILURE, message)
}

pub(crate) fn fail_code(code: i32, message: String) -> anyhow::Error {
    Reported {
        code,
        summary: bb::one_line(&message),
    }
    .into()
}
