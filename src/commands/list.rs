//! `gstage list [--since] [--state] [--key-prefix]`: recorded transfers, newest first, open ones
//! refreshed from Globus.

use anyhow::Result;
use serde_json::json;

use super::Context;
use super::staging::{open_stager, print_views};
use crate::cli::{Format, ListArgs};
use crate::config::Config;
use crate::ledger::Filter;
use crate::options::DeadlineSpec;

/// Runs `gstage list`.
pub fn run(args: &ListArgs, ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    let now = chrono::Utc::now();
    let filter = Filter {
        since: args.since.map(|s| match s {
            DeadlineSpec::At(t) => t,
            DeadlineSpec::After(d) => now - d,
        }),
        state: args.state,
        limit: args.limit,
    };
    if let Some(prefix) = &args.key_prefix {
        return super::transfer::list(prefix, &config, ctx);
    }
    let stager = open_stager(&config, ctx)?;
    let views = super::block_on(stager.list(&filter))??;
    match ctx.format {
        Format::Json => println!("{}", json!({ "tasks": views })),
        Format::Text if views.is_empty() => println!("no transfers recorded"),
        Format::Text => print_views(&views),
    }
    Ok(())
}
