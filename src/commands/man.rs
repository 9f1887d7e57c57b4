//! `gstage man`: manual pages generated from the clap definitions, one per command, so the pages
//! always match `--help`.

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};

/// Runs `gstage man`.
pub fn run(args: &ManArgs) -> Result<()> {
    let cmd = Cli::command();
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("creating the manual page directory `{}`", dir.display())
            })?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing manual pages into `{}`", dir.display()))?;
            Ok(())
        }
        None => {
            clap_mangen::Man::new(cmd)
                .render(&mut std::io::stdout())
                .context("writing the manual page to standard output")?;
            Ok(())
        }
    }
}
