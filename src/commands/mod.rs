//! One file per subcommand, each a thin composition of the library's modules; `run` is the one
//! dispatch.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::cli::{Cli, Command, Format};

mod array;
pub mod bb;
pub mod cancel;
pub mod check;
pub mod completions;
pub mod demo;
pub mod doctor;
pub mod hook;
pub mod list;
pub mod login;
pub mod logout;
pub mod man;
pub mod owner;
pub mod sbatch;
pub mod stage_in;
pub mod stage_out;
mod staging;
pub mod status;
pub mod transfer;
pub mod wait;
pub mod whoami;

/// What every command may need from the process: taken once, at the edge.
#[derive(Debug, Clone)]
pub struct Context {
    /// `--format`.
    pub format: Format,
    /// The process environment (values only read through this map).
    pub env: BTreeMap<String, String>,
    /// `-q` / `-v`.
    pub verbosity: crate::output::Verbosity,
}

impl Context {
    /// The context of this process.
    pub fn from_process(format: Format) -> Self {
        Self {
            format,
            env: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            verbosity: crate::output::Verbosity::Normal,
        }
    }
}

/// Runs the command.
pub fn run(cli: Cli) -> Result<()> {
    let mut ctx = Context::from_process(cli.format);
    ctx.verbosity = crate::output::Verbosity::from_flags(cli.quiet, cli.verbose);
    crate::output::init_logging(ctx.verbosity);
    crate::crashpoint::arm(ctx.env.get(crate::env::GSTAGE_CRASH_AT).map(String::as_str))?;
    match cli.command {
        Command::Check(args) => check::run(&args, &ctx),
        Command::Bb(args) => bb::run(&args, &ctx),
        Command::Hook(args) => hook::run(&args, &ctx),
        Command::Sbatch(args) => sbatch::run(&args, &ctx),
        Command::Login(args) => login::run(&args, &ctx),
        Command::Logout => logout::run(&ctx),
        Command::Whoami => whoami::run(&ctx),
        Command::Doctor(args) => doctor::run(&args, &ctx),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
        Command::StageIn(args) => stage_in::run(&args, &ctx),
        Command::StageOut(args) => stage_out::run(&args, &ctx),
        Command::Transfer(args) => transfer::run(&args, &ctx),
        Command::Status(args) => status::run(&args, &ctx),
        Command::List(args) => list::run(&args, &ctx),
        Command::Wait(args) => wait::run(&args, &ctx),
        Command::Cancel(args) => cancel::run(&args, &ctx),
        Command::Demo(args) => demo::run(&args, &ctx),
    }
}

/// A job script's text (invalid UTF-8 shown as `�`, as the directive parser expects); a
/// missing file is "not found" (exit 3).
pub(crate) fn read_script(path: &std::path::Path) -> Result<String> {
    use anyhow::Context as _;
    let shown = path.display();
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(crate::exit::Reported {
            code: crate::exit::NOT_FOUND,
            summary: format!("job script `{shown}` does not exist; check the path"),
        }
        .into()),
        Err(e) => Err(e).with_context(|| format!("reading job script `{shown}`")),
    }
}

/// Runs a future to completion on a single-threaded runtime: network commands need one, and
/// it starts no worker threads (privileges are dropped before any thread exists).
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    Ok(rt.block_on(fut))
}
