//! `gstage demo`: the whole staging cycle on an embedded Globus emulator.

use anyhow::Result;

use super::Context;
use crate::cli::DemoArgs;

/// Runs `gstage demo`.
pub fn run(_args: &DemoArgs, _ctx: &Context) -> Result<()> {
    Err(crate::exit::Reported {
        code: crate::exit::FAILURE,
        summary: "`gstage demo` is not yet available in this build".to_owned(),
    }
    .into())
}
