//! Telling people that staging failed, outside the terminal nobody is watching: a mail to the
//! job's user (when the site turns it on, through the system's `sendmail` or `mail`), and
//! always one log line for the admins (syslog through `logger`, or standard error for the
//! burst buffer lua and the hook wrappers to forward).
//!
//! A failed notification never fails the staging: problems come back in [`Notified`] for the
//! caller to record. Text that looks like a token is masked before it leaves the process, and
//! the child processes get an empty environment, so no credential reaches a mail or a log.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::options::Direction;

/// `[notify]` in the site config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Mail the job's user when a stage-in or stage-out fails or needs a login (default off).
    pub mail: bool,
    /// The mail program: a `sendmail` (given the message with its headers on stdin, `-t`) or a
    /// `mail`/`mailx` (given `-s SUBJECT ADDRESS` and the body on stdin).
    pub mail_program: PathBuf,
    /// Appended to the user name to make the address (`alice` → `alice@example.org`); without
    /// it the local user is mailed and the mail system forwards it.
    pub mail_domain: Option<String>,
    /// The `From:` address (sendmail only); default: whatever the mail system uses.
    pub from: Option<String>,
    /// Where the admins' log line goes.
    pub log: LogTarget,
    /// The `logger` program, for `log = "syslog"`.
    pub logger_program: PathBuf,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            mail: false,
            mail_program: PathBuf::from("/usr/sbin/sendmail"),
            mail_domain: None,
            from: None,
            log: LogTarget::Syslog,
            logger_program: PathBuf::from("/usr/bin/logger"),
        }
    }
}

/// Where the admins' log line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    /// syslog, facility `user`, tag `gstage` (through `logger`).
    Syslog,
    /// Standard error: the burst buffer lua and hook wrappers pass it to slurmctld's log.
    Stderr,
    /// Nowhere.
    Off,
}

/// What was done about one failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notified {
    /// The admins' log line was written.
    pub logged: bool,
    /// The user was mailed.
    pub mailed: bool,
    /// What went wrong while notifying (for the ledger or the caller's log).
    pub problems: Vec<String>,
}

/// One mail, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The address.
    pub to: String,
    /// One line.
    pub subject: String,
    /// The text.
    pub body: String,
}

fn stage(direction: Direction) -> &'static str {
    match direction {
        Direction::In => "stage-in",
        Direction::Out => "stage-out",
    }
}

/// Masks anything that looks like a bearer or refresh token: a run of 40 or more letters,
/// digits, `-` and `_`. Task ids and collection ids (36 characters with dashes), paths and
/// commands stay readable.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 40 {
            out.push_str("****");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Text on one line, without control characters (a log line, a mail header).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The admins' log line.
pub fn log_line(user: &str, job_id: &str, direction: Direction, message: &str) -> String {
    one_line(&redact(&format!(
        "{} failed for job {job_id} of user {user}: {message}",
        stage(direction)
    )))
}

/// Whether `user` can be put in an address: a plain user name.
fn plain_user(user: &str) -> bool {
    !user.is_empty()
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The mail to the job's user; `None` when `user` is not a plain user name (nothing untrusted
/// reaches a mail header).
pub fn mail_for(
    config: &NotifyConfig,
    user: &str,
    job_id: &str,
    direction: Direction,
    message: &str,
) -> Option<Mail> {
    if !plain_user(user) {
        return None;
    }
    let to = match config.mail_domain.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => format!("{user}@{d}"),
        _ => user.to_owned(),
    };
    let job = one_line(job_id);
    let what = stage(direction);
    let subject = one_line(&format!("gstage: the {what} of job {job} failed"));
    let after = match direction {
        Direction::In => {
            "Until it is fixed the job does not start. Once fixed, a job held by Slurm is started again with `scontrol release JOBID`; otherwise submit it again."
        }
        Direction::Out => {
            "The job's results are still on the cluster, where the job left them. Once fixed, `gstage stage-out` sends them again."
        }
    };
    let body = format!(
        "The {what} of your Slurm job {job} failed:\n\n    {}\n\n{}\n\nSee the job's transfers with `gstage status {job}`.\n\n-- \ngstage, Globus staging for Slurm jobs\n",
        redact(message).replace('\n', "\n    "),
        after.replace("JOBID", &job),
    );
    Some(Mail { to, subject, body })
}

/// The message `sendmail -t` reads: headers, a blank line, the body.
pub fn sendmail_text(mail: &Mail, from: Option<&str>) -> String {
    let mut text = format!("To: {}\nSubject: {}\n", mail.to, mail.subject);
    if let Some(f) = from.map(one_line).filter(|f| !f.is_empty()) {
        text.push_str(&format!("From: {f}\n"));
    }
    text.push_str("Content-Type: text/plain; charset=utf-8\nAuto-Submitted: auto-generated\n\n");
    text.push_str(&mail.body);
    text
}

/// Runs `program args` with `input` on stdin and an empty environment.
fn pipe_to(program: &std::path::Path, args: &[&str], input: &str) -> Result<(), String> {
    let shown = program.display();
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("cannot write to `{shown}`: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`{shown}` did not finish: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            one_line(&String::from_utf8_lossy(&out.stderr))
        ))
    }
}

/// Sends one mail through the configured program.
pub fn send(config: &NotifyConfig, mail: &Mail) -> Result<(), String> {
    let name = config
        .mail_program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with("mail") {
        pipe_to(
            &config.mail_program,
            &["-s", &mail.subject, "--", &mail.to],
            &mail.body,
        )
    } else {
        pipe_to(
            &config.mail_program,
            &["-t", "-oi"],
            &sendmail_text(mail, config.from.as_deref()),
        )
    }
}

/// Writes the admins' log line where the config says.
pub fn log(config: &NotifyConfig, line: &str) -> Result<bool, String> {
    match config.log {
        LogTarget::Off => Ok(false),
        LogTarget::Stderr => {
            eprintln!("gstage: {line}");
            Ok(true)
        }
        LogTarget::Syslog => pipe_to(
            &config.logger_program,
            &["-t", "gstage", "-p", "user.warning"],
            line,
        )
        .map(|()| true),
    }
}

/// A stage-in or stage-out of `job_id` failed (or needs a login): logs it for the admins and,
/// when the site turned mail on, mails `user` the message, which should say how to fix it
/// (the exact `gstage login …` command for a login problem).
pub fn stage_failure(
    config: &NotifyConfig,
    user: &str,
    job_id: &str,
    direction: Direction,
    message_with_fix: &str,
) -> Notified {
    let mut done = Notified::default();
    match log(config, &log_line(user, job_id, direction, message_with_fix)) {
        Ok(logged) => done.logged = logged,
        Err(e) => done.problems.push(e),
    }
    if config.mail {
        match mail_for(config, user, job_id, direction, message_with_fix) {
            Some(mail) => match send(config, &mail) {
                Ok(()) => done.mailed = true,
                Err(e) => done.problems.push(e),
            },
            None => done.problems.push(format!(
                "not mailing `{}`: not a plain user name",
                one_line(user)
            )),
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const TOKEN: &str = "AgB3kL9xQ2mN7pR4sT6vW8yZ1aC3eG5iK7mO9qS1uW3yA5cE7gI9kM1oQ3sU5wY7";

    /// A program that records its arguments and stdin in `dir/NAME.args` and `dir/NAME.in`.
    fn recorder(dir: &std::path::Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > {d}/{name}.args\nenv > {d}/{name}.env\ncat > {d}/{name}.in\n",
                d = dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn read(dir: &std::path::Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file)).unwrap_or_default()
    }

    #[test]
    fn mails_the_user_with_the_fix_and_logs_for_admins() {
        let dir = tempfile::tempdir().unwrap();
        let config = NotifyConfig {
            mail: true,
            mail_program: recorder(dir.path(), "sendmail"),
            mail_domain: Some("umanitoba.ca".into()),
            from: Some("gstage@grex.hpc.umanitoba.ca".into()),
            log: LogTarget::Syslog,
            logger_program: recorder(dir.path(), "logger"),
        };
        let message = format!(
            "globus needs your consent to access collection `Alliance Cedar`; a batch job cannot do this, so log in interactively with `gstage login --collection cedar` (token {TOKEN})"
        );
        let done = stage_failure(&config, "alice", "4242", Direction::In, &message);
        assert_eq!(
            done,
            Notified {
                logged: true,
                mailed: true,
                problems: vec![]
            }
        );
        let mail = read(dir.path(), "sendmail.in");
        assert!(mail.starts_with("To: alice@umanitoba.ca\nSubject: gstage: the stage-in of job 4242 failed\nFrom: gstage@grex.hpc.umanitoba.ca\n"), "{mail}");
        assert!(mail.contains("gstage login --collection cedar"), "{mail}");
        assert!(mail.contains("scontrol release 4242"), "{mail}");
        assert_eq!(read(dir.path(), "sendmail.args"), "-t\n-oi\n");
        let logged = read(dir.path(), "logger.in");
        assert!(
            logged.starts_with("stage-in failed for job 4242 of user alice: globus needs"),
            "{logged}"
        );
        assert_eq!(
            read(dir.path(), "logger.args"),
            "-t\ngstage\n-p\nuser.warning\n"
        );
        for f in ["sendmail.in", "sendmail.args", "logger.in", "logger.args"] {
            assert!(!read(dir.path(), f).contains(TOKEN), "{f} holds a token");
        }
        assert!(
            !read(dir.path(), "sendmail.env").contains("GSTAGE"),
            "the child environment is empty"
        );
    }

    #[test]
    fn mail_programs_get_subject_and_address_as_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let config = NotifyConfig {
            mail: true,
            mail_program: recorder(dir.path(), "mailx"),
            log: LogTarget::Off,
            ..NotifyConfig::default()
        };
        let done = stage_failure(
            &config,
            "bob",
            "77_3",
            Direction::Out,
            "permission denied on `/project/x`; ask the owner",
        );
        assert!(done.mailed && !done.logged, "{done:?}");
        assert_eq!(
            read(dir.path(), "mailx.args"),
            "-s\ngstage: the stage-out of job 77_3 failed\n--\nbob\n"
        );
        assert!(read(dir.path(), "mailx.in").contains("results are still on the cluster"));
    }

    #[test]
    fn mail_is_off_by_default_and_failures_are_reported_not_raised() {
        let config = NotifyConfig {
            logger_program: PathBuf::from("/nonexistent/logger"),
            ..NotifyConfig::default()
        };
        let done = stage_failure(&config, "alice", "1", Direction::In, "x");
        assert!(!done.mailed && !done.logged);
        assert_eq!(done.problems.len(), 1, "{done:?}");
        assert!(done.problems[0].contains("/nonexistent/logger"));
    }

    #[test]
    fn odd_user_names_are_never_put_in_headers() {
        let config = NotifyConfig::default();
        for user in ["", "-oQ/tmp", "a\nBcc: x@y", "a b", "a@b"] {
            assert!(
                mail_for(&config, user, "1", Direction::In, "m").is_none(),
                "{user:?}"
            );
        }
        let m = mail_for(&config, "alice", "1\nBcc: x", Direction::Out, "m").unwrap();
        assert!(!m.subject.contains('\n'));
        assert_eq!(m.to, "alice");
    }

    #[test]
    fn the_site_config_sets_it_and_typos_are_caught() {
        let site = std::path::Path::new("site.toml");
        let c = crate::config::Config::from_toml_str(
            "[notify]\nmail = true\nmail_domain = \"umanitoba.ca\"\nlog = \"stderr\"\n",
            site,
        )
        .unwrap();
        assert!(c.notify.mail);
        assert_eq!(c.notify.log, LogTarget::Stderr);
        assert_eq!(c.notify.mail_program, PathBuf::from("/usr/sbin/sendmail"));
        let err = crate::config::Config::from_toml_str("[notify]\nmial = true\n", site)
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `mail`?"), "{err}");
    }

    #[test]
    fn redaction_keeps_ids_and_paths() {
        let id = "6c1f5f54-8d4e-4c3b-9f4a-1b2c3d4e5f60";
        let text = format!("task {id} on /project/def-lab/x failed; token {TOKEN}");
        let r = redact(&text);
        assert!(r.contains(id) && r.contains("/project/def-lab/x"), "{r}");
        assert!(!r.contains(TOKEN) && r.contains("token ****"), "{r}");
    }
}
