//! `gstage doctor`'s checks: everything that must hold before a job can stage, checked from
//! the user's side, each answered with what was found and, when wrong, the fix.
//!
//! Each check is a small function returning [`CheckResult`]s; a failed check never stops the
//! others (a broken config still lets the token store be checked), so one run lists every
//! problem at once.

pub mod collections;
pub mod config;
pub mod plan;
pub mod slurm;
pub mod tokens;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// What was checked, e.g. `token store` or `collection cedar`.
    pub name: String,
    /// Whether it is fine.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How to fix it, when it is not fine.
    pub fix: Option<String>,
}

impl CheckResult {
    /// A check that passed.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A check that failed, with its fix.
    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A failed check from an error message in gstage's style ("what is wrong; how to fix it"
    /// or "what\n  help: how"): the message is split into detail and fix.
    pub fn from_error(name: impl Into<String>, message: &str, fallback_fix: &str) -> Self {
        let (detail, fix) = split_fix(message);
        Self::fail(name, detail, fix.unwrap_or_else(|| fallback_fix.to_owned()))
    }
}

/// Splits an error message into what is wrong and how to fix it: at `help:` when there is one,
/// else at the last `; ` (gstage's messages end with the fix after a semicolon).
pub fn split_fix(message: &str) -> (String, Option<String>) {
    if let Some((what, help)) = message.split_once("\n  help: ") {
        return (what.trim().to_owned(), Some(help.trim().to_owned()));
    }
    match message.rsplit_once("; ") {
        Some((what, fix)) => {
            let fix = fix.trim();
            let fix = fix
                .strip_prefix("fix it with ")
                .map_or_else(|| fix.to_owned(), |cmd| format!("run {cmd}"));
            (what.trim().to_owned(), Some(fix))
        }
        None => (message.trim().to_owned(), None),
    }
}

/// What the doctor looks at.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run the Slurm checks.
    pub slurm: bool,
    /// Run the checks that call Globus.
    pub network: bool,
    /// The process environment (config location, `PATH`, `SLURM_CONF`, client credentials).
    pub env: BTreeMap<String, String>,
    /// The user's home directory from the password database.
    pub home: Option<PathBuf>,
}

/// Every check's result, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether every check passed.
    pub ok: bool,
    /// The checks.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// A report of these checks.
    pub fn new(checks: Vec<CheckResult>) -> Self {
        Self {
            ok: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

/// Runs every check.
pub async fn run(options: &Options) -> Report {
    let mut checks = Vec::new();
    let config = config::check(&options.env, options.home.as_deref(), &mut checks);
    let login = tokens::check_store(&options.env, &mut checks);
    if options.network
        && let Some(config) = &config
    {
        match tokens::client(config, &options.env) {
            Ok(client) => {
                tokens::check_refresh(&client, login.as_ref(), &mut checks).await;
                collections::check(config, &client, login.as_ref(), &mut checks).await;
            }
            Err(e) => checks.push(CheckResult::from_error(
                "globus client",
                &e.to_string(),
                "fix the `[globus]` settings in the config",
            )),
        }
    } else if let Some(config) = &config {
        collections::check_local_paths(config, &mut checks);
    }
    if options.slurm {
        let prefix = config.as_ref().map_or(crate::config::DEFAULT_PREFIX, |c| {
            c.directive_prefix.as_str()
        });
        slurm::check(&options.env, prefix, &mut checks);
    }
    Report::new(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_into_detail_and_fix() {
        let (d, f) = split_fix(
            "refusing the token store `/x`: its mode 0644 lets other users read it; fix it with `chmod 600 /x`",
        );
        assert_eq!(
            d,
            "refusing the token store `/x`: its mode 0644 lets other users read it"
        );
        assert_eq!(f.as_deref(), Some("run `chmod 600 /x`"));
        let (d, f) = split_fix(
            "invalid config `a` line 2, column 1: unknown key `x`\n  help: did you mean `y`?",
        );
        assert_eq!(d, "invalid config `a` line 2, column 1: unknown key `x`");
        assert_eq!(f.as_deref(), Some("did you mean `y`?"));
        assert_eq!(split_fix("plain").1, None);
    }
}
