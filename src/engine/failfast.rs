//! Fail fast: a task that stays ACTIVE while Globus reports an error that retrying cannot fix
//! (a missing source, a denied permission) would otherwise hang until its deadline, 24 h or
//! more later. These are the errors, and how to name the file they are about.

use chrono::{DateTime, Utc};

use crate::globus::Event;

/// Error codes that will not go away by themselves: Globus keeps retrying them until the
/// deadline. Connection and endpoint errors are not here: those often heal.
pub const PERMANENT: &[&str] = &[
    "FILE_NOT_FOUND",
    "PERMISSION_DENIED",
    "AMBIGUOUS_PATH",
    "NOT_A_DIRECTORY",
    "IS_A_DIRECTORY",
    "QUOTA_EXCEEDED",
    "NO_SPACE_LEFT",
    "INVALID_PATH",
];

/// Whether a task's `nice_status` names a permanent error.
pub fn is_permanent(code: &str) -> bool {
    PERMANENT.contains(&code)
}

/// What the error events of a task say: the earliest permanent error (when the grace period
/// started) and the most recent one (what to tell the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermanentError {
    /// The error code, e.g. `FILE_NOT_FOUND`.
    pub code: String,
    /// The file it is about, from the event's `File:` line, when given.
    pub path: Option<String>,
    /// When the first such error was reported.
    pub since: DateTime<Utc>,
}

impl PermanentError {
    /// `FILE_NOT_FOUND: /data/in.dat`.
    pub fn describe(&self) -> String {
        match &self.path {
            Some(p) => format!("{}: `{p}`", self.code),
            None => self.code.clone(),
        }
    }
}

/// Reads the permanent error out of a task's events (newest first, as Globus lists them).
pub fn permanent_error(events: &[Event]) -> Option<PermanentError> {
    let permanent: Vec<&Event> = events
        .iter()
        .filter(|e| e.is_error && is_permanent(&e.code))
        .collect();
    let newest = permanent.iter().max_by_key(|e| e.time)?;
    let since = permanent.iter().map(|e| e.time).min()?;
    Some(PermanentError {
        code: newest.code.clone(),
        path: newest.details.as_deref().and_then(file_of),
        since,
    })
}

/// The `File: …` line of an event's free-text details.
fn file_of(details: &str) -> Option<String> {
    details
        .lines()
        .find_map(|l| l.trim().strip_prefix("File:"))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(code: &str, secs: i64, details: &str) -> Event {
        Event {
            code: code.into(),
            is_error: code != "STARTED",
            time: DateTime::from_timestamp(secs, 0).unwrap(),
            description: None,
            details: Some(details.into()),
        }
    }

    #[test]
    fn the_first_permanent_error_starts_the_grace_and_the_newest_names_the_file() {
        let events = [
            event(
                "FILE_NOT_FOUND",
                30,
                "Error (transfer)\nFile: /data/b.dat\nMessage: gone",
            ),
            event("CONNECTION_RESET", 20, "File: /x"),
            event("FILE_NOT_FOUND", 10, "Error\nFile: /data/a.dat"),
            event("STARTED", 5, "{}"),
        ];
        let e = permanent_error(&events).expect("a permanent error");
        assert_eq!(e.code, "FILE_NOT_FOUND");
        assert_eq!(e.path.as_deref(), Some("/data/b.dat"));
        assert_eq!(e.since.timestamp(), 10);
        assert_eq!(e.describe(), "FILE_NOT_FOUND: `/data/b.dat`");
    }

    #[test]
    fn transient_errors_are_not_permanent() {
        let events = [
            event("CONNECTION_RESET", 20, "File: /x"),
            event("STARTED", 5, ""),
        ];
        assert_eq!(permanent_error(&events), None);
        assert!(!is_permanent("OK") && !is_permanent("Queued"));
    }
}
