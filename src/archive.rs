//! Archiving outside jobs (`gstage transfer`): the archive key, the one grammar shared with
//! directives, and the labels by which any host finds an archive run at Globus. Pure: no I/O.
//!
//! A `SRC DST [options]` pair, from the command line or a batch file, is read as the words of a
//! `stage-out` directive, so locations, symbols and options mean exactly what they mean in a job
//! script, and the planner groups pairs into tasks exactly as it groups directives.
//!
//! A key names one set of transfers. Its tasks are labelled
//! `gstage transfer <KEY> <n> <fingerprint>[: <user label>]`: the key makes a re-run find the
//! tasks even without the ledger (`task_list` with `label:~gstage transfer <KEY> `, safe because
//! a key holds neither `/` nor `,`, the filter's separators), and the fingerprint of the data
//! (collections, paths, filters) tells a re-run from a different archive under a used key.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::directive::Symbol;
use crate::plan::{MAX_LABEL_CHARS, Plan, Task};
use crate::slurm::context::JobContext;

/// The longest key: with `gstage transfer `, the task number and the fingerprint, the label
/// stays within the API's 128 characters.
pub const MAX_KEY_CHARS: usize = 80;

/// Characters of the fingerprint in labels (hex of SHA-256): 40 bits, enough to tell runs apart.
const FINGERPRINT_CHARS: usize = 10;

/// What `gstage transfer` can fail at before or beside the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key holds a character labels or the label filter cannot carry, or is too long.
    #[error(
        "archive key `{key}` {reason}; a key is 1 to 80 letters, digits, `.`, `_` or `-`, starting with a letter or digit, such as `nightly-2026-11-28`"
    )]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A job symbol in the key, outside a job.
    #[error(
        "archive key `{key}` uses `{symbol}`, which needs a job; run inside a Slurm job or its epilog (where `SLURM_JOB_ID` is set), or write the value out"
    )]
    KeyNeedsJob {
        /// The key as given.
        key: String,
        /// The symbol, e.g. `%j`.
        symbol: String,
    },
    /// The key was used before for different collections, paths or filters.
    #[error(
        "archive key `{key}` was already used for other data (task `{task}`, labelled `{label}`); a key names one set of transfers: use a new key, or see what it archived with `gstage status {key}`"
    )]
    KeyUsedForOtherData {
        /// The key.
        key: String,
        /// A task of the earlier run.
        task: String,
        /// Its label.
        label: String,
    },
    /// A source path does not exist; nothing was submitted.
    #[error(
        "source `{path}` does not exist on `{collection}`; check the path (nothing was submitted)"
    )]
    SourceMissing {
        /// The path in the source collection.
        path: String,
        /// The collection's name.
        collection: String,
    },
    /// `--when` was given: there is no job whose outcome it could follow.
    #[error(
        "`--when {when}` is for job stage-outs; `gstage transfer` runs now, so leave `--when` out"
    )]
    WhenOutsideJob {
        /// The value given.
        when: crate::options::When,
    },
    /// A command-line word holds a line break, which a directive cannot.
    #[error("argument `{word}` holds a line break; give paths and options without line breaks")]
    LineBreak {
        /// The word, escaped.
        word: String,
    },
    /// The engine failed (Globus, the ledger).
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),
}

impl Error {
    /// Usage 2 for keys, `--when` and arguments; 1 for a missing source; the engine's own code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InvalidKey { .. }
            | Error::KeyNeedsJob { .. }
            | Error::KeyUsedForOtherData { .. }
            | Error::WhenOutsideJob { .. }
            | Error::LineBreak { .. } => crate::exit::USAGE,
            Error::SourceMissing { .. } => crate::exit::FAILURE,
            Error::Engine(e) => e.exit_code(),
        }
    }
}

impl From<crate::globus::Error> for Error {
    fn from(e: crate::globus::Error) -> Self {
        Error::Engine(e.into())
    }
}

impl From<crate::ledger::Error> for Error {
    fn from(e: crate::ledger::Error) -> Self {
        Error::Engine(e.into())
    }
}

/// A checked archive key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Key(String);

impl Key {
    /// Checks a key (after symbol expansion).
    pub fn new(text: &str) -> Result<Key, Error> {
        let invalid = |reason: String| Error::InvalidKey {
            key: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(invalid("is empty".to_owned()));
        }
        let count = text.chars().count();
        if count > MAX_KEY_CHARS {
            return Err(invalid(format!("is {count} characters long")));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            let shown = if c.is_whitespace() || c.is_control() {
                format!("{c:?}")
            } else {
                format!("`{c}`")
            };
            return Err(invalid(format!("holds {shown}")));
        }
        if text.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(
                "is all digits, which `gstage status` reads as a job id; add a word, as in `nightly-20261128`".to_owned(),
            ));
        }
        if uuid::Uuid::parse_str(text).is_ok() {
            return Err(invalid(
                "is a UUID, which `gstage status` reads as a task id".to_owned(),
            ));
        }
        if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid("does not start with a letter or digit".to_owned()));
        }
        Ok(Key(text.to_owned()))
    }

    /// A fresh key for a run without `--key`: `run-20261128T020000Z-1a2b3c`.
    pub fn fresh(now: chrono::DateTime<chrono::Utc>) -> Key {
        let tail = uuid::Uuid::new_v4().simple().to_string();
        Key(format!(
            "run-{}-{}",
            now.format("%Y%m%dT%H%M%SZ"),
            tail.get(..6).unwrap_or("0")
        ))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What every label of this key starts with, for `label:~` lookups.
    pub fn label_prefix(&self) -> String {
        label_prefix_of(&self.0)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `gstage transfer <text> `: the start of the labels of every key starting with `text`
/// (without the trailing blank: `gstage transfer nightly-` finds every nightly key).
pub fn label_prefix_of(text: &str) -> String {
    format!("gstage transfer {text} ")
}

/// Whether `text` could be a key (for `gstage status`, which also takes job and task ids).
pub fn looks_like_key(text: &str) -> bool {
    Key::new(text).is_ok()
}

/// Expands Slurm's `%j %A %a %u %x` in a key, from the job `ctx` (`in_job`: whether a job is
/// known at all; outside one, a job symbol is an error rather than a silent `0`).
pub fn expand_key(text: &str, ctx: &JobContext, in_job: bool) -> Result<Key, Error> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            return Err(Error::InvalidKey {
                key: text.to_owned(),
                reason: "ends with `%`".to_owned(),
            });
        };
        let needs_job = |symbol: &str| Error::KeyNeedsJob {
            key: text.to_owned(),
            symbol: symbol.to_owned(),
        };
        let value = match Symbol::from_percent(next) {
            Some(Symbol::JobId) if in_job => ctx.job_id.to_string(),
            Some(Symbol::ArrayJobId) if in_job => {
                ctx.array_job_id.unwrap_or(ctx.job_id).to_string()
            }
            Some(Symbol::ArrayTaskId) if in_job => match ctx.array_task_id {
                Some(id) => id.to_string(),
                None => return Err(needs_job("%a")),
            },
            Some(Symbol::JobName) if in_job => ctx.job_name.clone(),
            Some(Symbol::User) => ctx.user.clone(),
            Some(Symbol::JobId | Symbol::ArrayJobId | Symbol::ArrayTaskId | Symbol::JobName) => {
                return Err(needs_job(&format!("%{next}")));
            }
            _ => {
                return Err(Error::InvalidKey {
                    key: text.to_owned(),
                    reason: format!(
                        "uses `%{next}`; a key may use `%j`, `%A`, `%a`, `%u` and `%x`"
                    ),
                });
            }
        };
        out.push_str(&value);
    }
    Key::new(&out)
}

/// Shell-quotes command-line words back into one directive's text, leaving `%` symbols for the
/// directive lexer (the shell has already expanded `$`, so a `$` left is literal).
pub fn directive_line(verb: &str, words: &[String]) -> Result<String, Error> {
    let mut line = format!("#GLOBUS {verb}");
    for word in words {
        if word.contains(['\n', '\r']) {
            return Err(Error::LineBreak {
                word: word.escape_default().to_string(),
            });
        }
        line.push(' ');
        if word.is_empty() {
            line.push_str("''");
        }
        for c in word.chars() {
            if c.is_whitespace() || matches!(c, '\'' | '"' | '\\' | '$' | '`' | '#') {
                line.push('\\');
            }
            line.push(c);
        }
    }
    Ok(line)
}

/// A batch file (globus-cli's format: one `SRC DST [options]` per line, `#` comments, blank
/// lines) as a script of `stage-out` directives, line for line, so diagnostics keep the batch
/// file's line numbers. `options` (the command line's) go on every line.
pub fn batch_script(batch: &str, options: &[String]) -> Result<String, Error> {
    let head = directive_line("stage-out", options)?;
    let mut out = String::with_capacity(batch.len() * 2);
    for line in batch.split('\n') {
        let text = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            out.push('\n');
        } else if trimmed.starts_with('#') {
            // A comment stays a comment, and never a directive.
            out.push_str("#\n");
        } else {
            out.push_str(&head);
            out.push(' ');
            out.push_str(trimmed);
            out.push('\n');
        }
    }
    Ok(out)
}

/// An archive run ready for the engine: its key and its tasks, labelled for the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// The key (given, or fresh for a run without `--key`).
    pub key: Key,
    /// Whether the key was given (a re-run with it is expected).
    pub keyed: bool,
    /// The data's fingerprint, carried in every label.
    pub fingerprint: String,
    /// One task per (source, destination, options), in the planner's order.
    pub tasks: Vec<Task>,
}

/// Makes the run of a planned set of pairs (read as stage-out directives): refuses `--when`,
/// fingerprints the data and labels the tasks for `key`.
pub fn run_of(plan: Plan, key: Key, keyed: bool) -> Result<Run, Error> {
    let mut tasks = plan.stage_out;
    for task in &mut tasks {
        if let Some(when) = task.options.when.take()
            && when != crate::options::When::Always
        {
            return Err(Error::WhenOutsideJob { when });
        }
    }
    let fingerprint = fingerprint(&tasks);
    for task in &mut tasks {
        task.label = label(
            &key,
            task.number,
            &fingerprint,
            task.options.user_label.as_deref(),
        );
    }
    Ok(Run {
        key,
        keyed,
        fingerprint,
        tasks,
    })
}

/// The data of a run, as hex: each item's collections, paths, recursion and checksum, and its
/// task's include/exclude rules, in a fixed order. Options that do not change which data is
/// archived (sync level, deadline, notification…) are left out, so they may differ in a re-run.
pub fn fingerprint(tasks: &[Task]) -> String {
    let mut items: Vec<serde_json::Value> = tasks
        .iter()
        .flat_map(|t| {
            t.items.iter().map(move |i| {
                serde_json::json!([
                    t.source.id.to_string(),
                    i.source_path,
                    t.destination.id.to_string(),
                    i.destination_path,
                    i.recursive,
                    i.external_checksum,
                    t.options.filter_rules,
                ])
            })
        })
        .collect();
    items.sort_by_key(|v| v.to_string());
    let digest = Sha256::digest(serde_json::Value::Array(items).to_string().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars().take(FINGERPRINT_CHARS).collect()
}

/// `gstage transfer <KEY> <n> <fingerprint>[: <user label>]`, within the API's label rules.
pub fn label(key: &Key, number: usize, fingerprint: &str, user: Option<&str>) -> String {
    let mut text = format!("{}{number} {fingerprint}", key.label_prefix());
    if let Some(user) = user
        .map(|u| u.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|u| !u.is_empty())
    {
        text.push_str(": ");
        text.push_str(&user);
    }
    let cut: String = text.chars().take(MAX_LABEL_CHARS).collect();
    cut.trim_end().to_owned()
}

/// The parts of an archive label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelParts {
    /// The key.
    pub key: String,
    /// The task number.
    pub seq: u32,
    /// The data's fingerprint.
    pub fingerprint: String,
}

/// Reads a label [`label`] wrote; `None` for any other label.
pub fn parse_label(label: &str) -> Option<LabelParts> {
    let head = label.split(": ").next()?;
    let mut words = head.split(' ');
    if words.next()? != "gstage" || words.next()? != "transfer" {
        return None;
    }
    let key = Key::new(words.next()?).ok()?;
    let seq = words.next()?.parse().ok()?;
    let fingerprint = words.next()?.to_owned();
    if words.next().is_some() || fingerprint.is_empty() {
        return None;
    }
    Some(LabelParts {
        key: key.0,
        seq,
        fingerprint,
    })
}

#[cfg(test)]
mod tests;
