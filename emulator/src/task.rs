//! A Transfer task: what was asked, how far it got, and its JSON document.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// Task states, as Transfer names them (a cancelled task is `FAILED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// Queued or running.
    Active,
    /// Suspended until someone intervenes.
    Inactive,
    /// Finished without error.
    Succeeded,
    /// Failed, expired or cancelled.
    Failed,
}

impl TaskStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Inactive => "INACTIVE",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }

    pub(crate) fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// One `filter_rule` of a transfer document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterRule {
    pub(crate) include: bool,
    pub(crate) name: String,
    /// `Some(true)` for files only, `Some(false)` for directories only.
    pub(crate) files_only: Option<bool>,
}

/// One `transfer_item`.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) source_path: String,
    pub(crate) destination_path: String,
    pub(crate) recursive: Option<bool>,
    pub(crate) external_checksum: Option<String>,
    pub(crate) checksum_algorithm: Option<String>,
}

/// Options of a transfer document, with the service's defaults filled in.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // the wire format has this many switches
pub(crate) struct Options {
    pub(crate) sync_level: Option<u8>,
    pub(crate) verify_checksum: bool,
    pub(crate) preserve_timestamp: bool,
    pub(crate) encrypt_data: bool,
    pub(crate) skip_source_errors: bool,
    pub(crate) fail_on_quota_errors: bool,
    pub(crate) delete_destination_extra: bool,
    pub(crate) notify_on_succeeded: bool,
    pub(crate) notify_on_failed: bool,
    pub(crate) notify_on_inactive: bool,
    pub(crate) filter_rules: Vec<FilterRule>,
}

/// One entry of a task's event list.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) code: String,
    pub(crate) description: String,
    pub(crate) details: String,
    pub(crate) is_error: bool,
    pub(crate) time: DateTime<Utc>,
}

/// Progress counters, named as in the task document.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counts {
    pub(crate) files: u64,
    pub(crate) directories: u64,
    pub(crate) symlinks: u64,
    pub(crate) files_skipped: u64,
    pub(crate) files_transferred: u64,
    pub(crate) bytes_transferred: u64,
    pub(crate) bytes_checksummed: u64,
    pub(crate) faults: u64,
    pub(crate) subtasks_total: u64,
    pub(crate) subtasks_pending: u64,
    pub(crate) subtasks_retrying: u64,
    pub(crate) subtasks_succeeded: u64,
    pub(crate) subtasks_failed: u64,
    pub(crate) subtasks_canceled: u64,
    pub(crate) subtasks_expired: u64,
    pub(crate) subtasks_skipped_errors: u64,
}

/// A task and everything reported about it.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) id: Uuid,
    pub(crate) submission_id: String,
    pub(crate) owner_id: Uuid,
    pub(crate) username: String,
    pub(crate) label: Option<String>,
    pub(crate) request_time: DateTime<Utc>,
    pub(crate) completion_time: Option<DateTime<Utc>>,
    pub(crate) deadline: DateTime<Utc>,
    pub(crate) source: Uuid,
    pub(crate) source_name: String,
    pub(crate) destination: Uuid,
    pub(crate) destination_name: String,
    pub(crate) options: Options,
    pub(crate) items: Vec<Item>,
    pub(crate) status: TaskStatus,
    /// Holds one of the owner's running slots.
    pub(crate) running: bool,
    pub(crate) nice_status: Option<String>,
    pub(crate) fatal_error: Option<(String, String)>,
    pub(crate) counts: Counts,
    /// Oldest first; rendered newest first.
    pub(crate) events: Vec<Event>,
    pub(crate) successful: Vec<(String, String)>,
    pub(crate) start_time: Option<std::time::Instant>,
}

/// Transfer's timestamp form: `2022-01-26T19:18:20+00:00`.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

impl Task {
    pub(crate) fn event(&mut self, code: &str, description: &str, details: &str, is_error: bool) {
        self.events.push(Event {
            code: code.to_owned(),
            description: description.to_owned(),
            details: details.to_owned(),
            is_error,
            time: Utc::now(),
        });
    }

    /// Ends the task; the counters of unfinished subtasks move to `bucket`.
    pub(crate) fn finish(&mut self, status: TaskStatus, fatal: Option<(&str, &str)>) {
        self.status = status;
        self.completion_time = Some(Utc::now());
        self.nice_status = None;
        self.running = false;
        self.fatal_error = fatal.map(|(c, d)| (c.to_owned(), d.to_owned()));
        let pending = std::mem::take(&mut self.counts.subtasks_pending)
            + std::mem::take(&mut self.counts.subtasks_retrying);
        match fatal.map(|(c, _)| c) {
            Some("CANCELED") => self.counts.subtasks_canceled += pending,
            Some("DEADLINE_EXCEEDED") => self.counts.subtasks_expired += pending,
            Some(_) => self.counts.subtasks_failed += pending,
            None => {}
        }
    }

    /// The `task` document.
    pub(crate) fn to_json(&self) -> Value {
        let c = &self.counts;
        let o = &self.options;
        let elapsed = self
            .start_time
            .map_or(0.0, |s| s.elapsed().as_secs_f64().max(0.001));
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let rate = if elapsed > 0.0 {
            (c.bytes_transferred as f64 / elapsed) as u64
        } else {
            0
        };
        let finished = self.status.is_finished();
        let filter_rules: Value = if o.filter_rules.is_empty() {
            Value::Null
        } else {
            o.filter_rules
                .iter()
                .map(|r| {
                    json!({"DATA_TYPE": "filter_rule",
                           "method": if r.include { "include" } else { "exclude" },
                           "name": r.name,
                           "type": match r.files_only { Some(true) => json!("file"), Some(false) => json!("dir"), None => Value::Null }})
                })
                .collect()
        };
        json!({
            "DATA_TYPE": "task",
            "task_id": self.id,
            "type": "TRANSFER",
            "status": self.status.as_str(),
            "label": self.label,
            "owner_id": self.owner_id,
            "username": self.username,
            "command": "API 0.10",
            "request_time": iso(self.request_time),
            "completion_time": self.completion_time.map(iso),
            "deadline": iso(self.deadline),
            "source_endpoint": self.source.to_string(),
            "source_endpoint_id": self.source,
            "source_endpoint_display_name": self.source_name,
            "destination_endpoint": self.destination.to_string(),
            "destination_endpoint_id": self.destination,
            "destination_endpoint_display_name": self.destination_name,
            "files": c.files,
            "directories": c.directories,
            "symlinks": c.symlinks,
            "files_skipped": c.files_skipped,
            "files_transferred": c.files_transferred,
            "bytes_transferred": c.bytes_transferred,
            "bytes_checksummed": c.bytes_checksummed,
            "effective_bytes_per_second": rate,
            "faults": c.faults,
            "subtasks_total": c.subtasks_total,
            "subtasks_pending": c.subtasks_pending,
            "subtasks_retrying": c.subtasks_retrying,
            "subtasks_succeeded": c.subtasks_succeeded,
            "subtasks_failed": c.subtasks_failed,
            "subtasks_canceled": c.subtasks_canceled,
            "subtasks_expired": c.subtasks_expired,
            "subtasks_skipped_errors": c.subtasks_skipped_errors,
            "fatal_error": self.fatal_error.as_ref().map(|(code, d)| json!({"code": code, "description": d})),
            "is_ok": if finished { Value::Null } else { json!(self.nice_status.as_deref().is_none_or(|s| s == "OK" || s == "Queued")) },
            "is_paused": false,
            "nice_status": self.nice_status,
            "nice_status_short_description": self.nice_status,
            "nice_status_details": Value::Null,
            "nice_status_expires_in": -1,
            "history_deleted": false,
            "canceled_by_admin": Value::Null,
            "canceled_by_admin_message": Value::Null,
            "verify_checksum": o.verify_checksum,
            "sync_level": o.sync_level,
            "encrypt_data": o.encrypt_data,
            "preserve_timestamp": o.preserve_timestamp,
            "skip_source_errors": o.skip_source_errors,
            "fail_on_quota_errors": o.fail_on_quota_errors,
            "delete_destination_extra": o.delete_destination_extra,
            "notify_on_succeeded": o.notify_on_succeeded,
            "notify_on_failed": o.notify_on_failed,
            "notify_on_inactive": o.notify_on_inactive,
            "recursive_symlinks": "ignore",
            "filter_rules": filter_rules,
        })
    }

    /// One `event` document.
    pub(crate) fn event_json(e: &Event) -> Value {
        json!({
            "DATA_TYPE": "event",
            "code": e.code,
            "description": e.description,
            "details": e.details,
            "is_error": e.is_error,
            "time": iso(e.time),
        })
    }
}

/// A read-only view of a task for test assertions.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TaskSnapshot {
    /// Task id.
    pub task_id: Uuid,
    /// The submission id it was created under.
    pub submission_id: String,
    /// Label, if any.
    pub label: Option<String>,
    /// Current status.
    pub status: TaskStatus,
    /// Identity that submitted it.
    pub owner_id: Uuid,
    /// Source collection.
    pub source: Uuid,
    /// Destination collection.
    pub destination: Uuid,
    /// Files copied so far.
    pub files_transferred: u64,
    /// Bytes copied so far.
    pub bytes_transferred: u64,
    /// The items as submitted: (source path, destination path).
    pub items: Vec<(String, String)>,
}

impl From<&Task> for TaskSnapshot {
    fn from(t: &Task) -> Self {
        Self {
            task_id: t.id,
            submission_id: t.submission_id.clone(),
            label: t.label.clone(),
            status: t.status,
            owner_id: t.owner_id,
            source: t.source,
            destination: t.destination,
            files_transferred: t.counts.files_transferred,
            bytes_transferred: t.counts.bytes_transferred,
            items: t
                .items
                .iter()
                .map(|i| (i.source_path.clone(), i.destination_path.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        Task {
            id: Uuid::new_v4(),
            submission_id: "s".into(),
            owner_id: Uuid::new_v4(),
            username: "u".into(),
            label: None,
            request_time: Utc::now(),
            completion_time: None,
            deadline: Utc::now(),
            source: Uuid::new_v4(),
            source_name: "a".into(),
            destination: Uuid::new_v4(),
            destination_name: "b".into(),
            options: Options {
                sync_level: None,
                verify_checksum: false,
                preserve_timestamp: false,
                encrypt_data: false,
                skip_source_errors: false,
                fail_on_quota_errors: false,
                delete_destination_extra: false,
                notify_on_succeeded: true,
                notify_on_failed: true,
                notify_on_inactive: true,
                filter_rules: Vec::new(),
            },
            items: Vec::new(),
            status: TaskStatus::Active,
            running: true,
            nice_status: Some("OK".into()),
            fatal_error: None,
            counts: Counts {
                subtasks_total: 5,
                subtasks_pending: 3,
                subtasks_succeeded: 2,
                ..Counts::default()
            },
            events: Vec::new(),
            successful: Vec::new(),
            start_time: None,
        }
    }

    #[test]
    fn active_document_has_no_completion_time_and_ok_status() {
        let doc = task().to_json();
        assert_eq!(doc["status"], "ACTIVE");
        assert!(doc["completion_time"].is_null());
        assert!(doc["fatal_error"].is_null());
        assert_eq!(doc["is_ok"], true);
        assert!(doc["label"].is_null());
    }

    #[test]
    fn finishing_moves_pending_subtasks_by_cause() {
        for (code, field) in [
            ("CANCELED", "subtasks_canceled"),
            ("DEADLINE_EXCEEDED", "subtasks_expired"),
            ("PERMISSION_DENIED", "subtasks_failed"),
        ] {
            let mut t = task();
            t.finish(TaskStatus::Failed, Some((code, "why")));
            let doc = t.to_json();
            assert_eq!(doc["status"], "FAILED");
            assert_eq!(doc[field], 3, "{code}");
            assert_eq!(doc["subtasks_pending"], 0);
            assert_eq!(doc["fatal_error"]["code"], code);
            assert!(doc["nice_status"].is_null() && doc["is_ok"].is_null());
            assert!(doc["completion_time"].is_string());
            assert!(!t.running, "a finished task frees its slot");
        }
        let mut ok = task();
        ok.finish(TaskStatus::Succeeded, None);
        assert!(ok.to_json()["fatal_error"].is_null());
    }
}
