//! `gstage completions SHELL`: a completion script generated from the clap definitions, so every
//! command and option, present and future, completes without anyone maintaining a script.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

/// Runs `gstage completions`.
pub fn run(args: &CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_owned();
    clap_complete::generate(args.shell, &mut cmd, name, &mut std::io::stdout());
    Ok(())
}
