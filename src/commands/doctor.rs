//! `gstage doctor`: runs every check and prints one line per check, `✓` or `✗`, with the fix
//! under each that failed; exits 1 if anything is wrong.

use anyhow::Result;

use super::Context;
use crate::cli::{DoctorArgs, Format};
use crate::doctor::{self, CheckResult, Options, Report};
use crate::exit::{self, Reported};
use crate::output::{self, Stream, Style, WIDTH};

/// Runs `gstage doctor`.
pub fn run(args: &DoctorArgs, ctx: &Context) -> Result<()> {
    let home = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.dir);
    let options = Options {
        slurm: !args.no_slurm,
        network: !args.offline,
        env: ctx.env.clone(),
        home,
    };
    let report = super::block_on(doctor::run(&options))?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => {
            let style = Style::detect(Stream::Stdout, &ctx.env);
            print!("{}", render(&report, style, ctx.verbosity.is_quiet()));
        }
    }
    let failed = report.failed().count();
    if failed == 0 {
        return Ok(());
    }
    Err(Reported {
        code: exit::FAILURE,
        summary: format!(
            "{failed} of {} checks failed; each shows its fix",
            report.checks.len()
        ),
    }
    .into())
}

/// The text report: `✓ name  detail`, and `fix:` under each failure, wrapped to 80 columns.
pub fn render(report: &Report, style: Style, quiet: bool) -> String {
    let shown: Vec<&CheckResult> = report.checks.iter().filter(|c| !quiet || !c.ok).collect();
    let name_width = shown
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(24);
    let mut out = String::new();
    for c in shown {
        let indent = " ".repeat(name_width + 4);
        let head = format!("{} {:<name_width$}  ", style.mark(c.ok), c.name);
        // The mark is one column wide whatever its colour codes.
        let plain_head = format!("x {:<name_width$}  ", c.name);
        let body = output::wrap(&c.detail, WIDTH, &plain_head, &indent);
        out.push_str(&body.replacen(&plain_head, &head, 1));
        if let Some(fix) = &c.fix {
            let first = format!("{indent}fix: ");
            let rest = " ".repeat(first.chars().count());
            out.push_str(&output::wrap(fix, WIDTH, &first, &rest).replacen(
                "fix:",
                &style.bold("fix:"),
                1,
            ));
        }
    }
    if !quiet {
        let failed = report.failed().count();
        out.push_str(&if failed == 0 {
            style.good(&format!("all {} checks passed\n", report.checks.len()))
        } else {
            style.bad(&format!(
                "{failed} of {} checks failed\n",
                report.checks.len()
            ))
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_check_with_fixes_within_80_columns() {
        let report = Report {
            ok: false,
            checks: vec![
                CheckResult::pass("config", "read `/etc/gstage/config.toml`"),
                CheckResult::fail(
                    "token store",
                    "refusing the token store `/home/alice/.config/gstage/tokens.json`: its mode 0644 lets other users read it",
                    "run `chmod 600 /home/alice/.config/gstage/tokens.json`",
                ),
            ],
        };
        let text = render(&report, Style::PLAIN, false);
        assert!(
            text.starts_with("✓ config       read `/etc/gstage/config.toml`\n"),
            "{text}"
        );
        assert!(text.contains("✗ token store  refusing"), "{text}");
        assert!(text.contains("fix: run `chmod 600"), "{text}");
        assert!(text.ends_with("1 of 2 checks failed\n"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        let quiet = render(&report, Style::PLAIN, true);
        assert!(!quiet.contains("✓"), "{quiet}");
        assert!(quiet.starts_with("✗ token store"), "{quiet}");
    }
}
