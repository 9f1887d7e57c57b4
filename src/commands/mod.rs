//! One file per subcommand, each a thin composition of the library's modules; `run` is the one
//! dispatch.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::cli::{Cli, Command, Format};

pub mod check;
pub mod login;
pub mod logout;
pub mod whoami;

/// What every command may need from the process: taken once, at the edge.
#[derive(Debug, Clone)]
pub struct Context {
    /// `--format`.
    pub format: Format,
    /// The process environment (values only read through this map).
    pub env: BTreeMap<String, String>,
}

impl Context {
    /// The context of this process.
    pub fn from_process(format: Format) -> Self {
        Self {
            format,
            env: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }
}

/// Runs the command.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Context::from_process(cli.format);
    match cli.command {
        Command::Check(args) => check::run(&args, &ctx),
        Command::Login(args) => login::run(&args, &ctx),
        Command::Logout => logout::run(&ctx),
        Command::Whoami => whoami::run(&ctx),
        Command::Demo => Err(crate::exit::Reported {
            code: crate::exit::FAILURE,
            summary: "`gstage demo` is not yet available in this build; run `gstage check SCRIPT` to validate a job script".to_owned(),
        }
        .into()),
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
