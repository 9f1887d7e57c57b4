//! The Transfer and Auth documents gstage sends and reads, as plain serde structs.
//!
//! Reading is strict where gstage acts on a value and lenient elsewhere: unknown fields are
//! ignored (Globus adds fields), nullable fields are `Option`, counters missing from an answer
//! count as zero, and a missing or mistyped field gstage needs (a task's id or status) is a
//! decode error, never a panic.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::collection::CollectionId;
pub use crate::options::{FilterMethod, SyncLevel};

/// The wire form of a sync level: an integer.
fn sync_level_wire<S: Serializer>(level: &Option<SyncLevel>, s: S) -> Result<S::Ok, S::Error> {
    match level {
        Some(l) => s.serialize_u8(l.as_int()),
        None => s.serialize_none(),
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map($name)
            }
        }
    };
}

id_type!(
    /// A Transfer task id.
    TaskId
);
id_type!(
    /// An idempotency key for one submission: resending a document with the same id never
    /// creates a second task.
    SubmissionId
);

macro_rules! data_type {
    ($(#[$doc:meta])* $name:ident = $value:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($value)
            }
        }
    };
}

data_type!(
    /// The `DATA_TYPE` of a transfer document.
    TransferTag = "transfer"
);
data_type!(
    /// The `DATA_TYPE` of a transfer item.
    TransferItemTag = "transfer_item"
);
data_type!(
    /// The `DATA_TYPE` of a filter rule.
    FilterRuleTag = "filter_rule"
);

/// What a filter rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterType {
    /// Files only.
    File,
    /// Directories only.
    Dir,
}

/// One `--include`/`--exclude` rule; the first rule that matches wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterRule {
    /// Always `filter_rule`.
    #[serde(rename = "DATA_TYPE")]
    pub data_type: FilterRuleTag,
    /// Include or exclude.
    pub method: FilterMethod,
    /// The glob.
    pub name: String,
    /// Files, directories, or both when absent.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<FilterType>,
}

/// One source → destination pair of a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferItem {
    /// Always `transfer_item`.
    #[serde(rename = "DATA_TYPE")]
    pub data_type: TransferItemTag,
    /// Path on the source collection.
    pub source_path: String,
    /// Path on the destination collection (a file item needs the full file path).
    pub destination_path: String,
    /// Directory copy; absent lets the service detect it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursive: Option<bool>,
    /// A checksum the source file is known to have (files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_checksum: Option<String>,
    /// The algorithm of `external_checksum` or of verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
}

impl TransferItem {
    /// An item with the service's defaults.
    pub fn new(source_path: impl Into<String>, destination_path: impl Into<String>) -> Self {
        TransferItem {
            data_type: TransferItemTag,
            source_path: source_path.into(),
            destination_path: destination_path.into(),
            recursive: None,
            external_checksum: None,
            checksum_algorithm: None,
        }
    }
}

/// A `POST /transfer` document. Unset options are left out, as globus-sdk does; the six
/// booleans are always sent, as globus-cli does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferDocument {
    /// Always `transfer`.
    #[serde(rename = "DATA_TYPE")]
    pub data_type: TransferTag,
    /// Reserved with [`get_submission_id`](super::GlobusClient::get_submission_id) and recorded
    /// before sending.
    pub submission_id: SubmissionId,
    /// Source collection.
    pub source_endpoint: CollectionId,
    /// Destination collection.
    pub destination_endpoint: CollectionId,
    /// Task label (≤128 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Sync level (an integer on the wire).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "sync_level_wire"
    )]
    pub sync_level: Option<SyncLevel>,
    /// Verify checksums after copying.
    pub verify_checksum: bool,
    /// Preserve modification times.
    pub preserve_timestamp: bool,
    /// Encrypt the data channel.
    pub encrypt_data: bool,
    /// Skip unreadable or missing source files.
    pub skip_source_errors: bool,
    /// Fail on quota errors instead of retrying.
    pub fail_on_quota_errors: bool,
    /// Delete destination files absent from the source.
    pub delete_destination_extra: bool,
    /// Deadline, `YYYY-MM-DD HH:MM:SS` or ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// Mail on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_on_succeeded: Option<bool>,
    /// Mail on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_on_failed: Option<bool>,
    /// Mail when the task needs attention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_on_inactive: Option<bool>,
    /// Include/exclude rules, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filter_rules: Vec<FilterRule>,
    /// The items.
    #[serde(rename = "DATA")]
    pub items: Vec<TransferItem>,
}

impl TransferDocument {
    /// A document with the service's defaults (checksums verified) and no items yet.
    pub fn new(
        submission_id: SubmissionId,
        source_endpoint: CollectionId,
        destination_endpoint: CollectionId,
    ) -> Self {
        TransferDocument {
            data_type: TransferTag,
            submission_id,
            source_endpoint,
            destination_endpoint,
            label: None,
            sync_level: None,
            verify_checksum: true,
            preserve_timestamp: false,
            encrypt_data: false,
            skip_source_errors: false,
            fail_on_quota_errors: false,
            delete_destination_extra: false,
            deadline: None,
            notify_on_succeeded: None,
            notify_on_failed: None,
            notify_on_inactive: None,
            filter_rules: Vec::new(),
            items: Vec::new(),
        }
    }
}

/// `GET /submission_id`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SubmissionIdDoc {
    pub(crate) value: SubmissionId,
}

/// Whether a submission created a task or found the one already created for its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitCode {
    /// A new task was created.
    Accepted,
    /// The submission id had been used; `task_id` is the original task.
    Duplicate,
    /// A code this client does not know; the task id is still valid.
    Other(String),
}

impl<'de> Deserialize<'de> for SubmitCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "Accepted" => SubmitCode::Accepted,
            "Duplicate" => SubmitCode::Duplicate,
            _ => SubmitCode::Other(s),
        })
    }
}

/// The answer to `POST /transfer`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubmitResult {
    /// Accepted or Duplicate.
    pub code: SubmitCode,
    /// The task (the original one for a duplicate).
    pub task_id: TaskId,
    /// The submission id sent.
    #[serde(default)]
    pub submission_id: Option<SubmissionId>,
    /// Human-readable text.
    #[serde(default)]
    pub message: Option<String>,
    /// For support.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// A task's state. There is no CANCELED: a cancelled task is FAILED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TaskStatus {
    /// Running or queued.
    Active,
    /// Suspended until someone acts (expired credentials): needs attention, not done.
    Inactive,
    /// Done.
    Succeeded,
    /// Failed, expired or cancelled.
    Failed,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

impl TaskStatus {
    /// Whether the task will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Succeeded | TaskStatus::Failed)
    }
}

/// Why a task failed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FatalError {
    /// E.g. `CANCELED`, `DEADLINE_EXCEEDED`.
    pub code: String,
    /// Human-readable text.
    #[serde(default)]
    pub description: Option<String>,
}

/// A Transfer task (`GET /task/<id>` and the items of `task_list`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Task {
    /// The task id.
    pub task_id: TaskId,
    /// `TRANSFER` or `DELETE`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The state.
    pub status: TaskStatus,
    /// The label, if one was given.
    #[serde(default)]
    pub label: Option<String>,
    /// When it was submitted.
    pub request_time: DateTime<Utc>,
    /// When it ended; `None` while ACTIVE or INACTIVE.
    #[serde(default)]
    pub completion_time: Option<DateTime<Utc>>,
    /// When the service gives up.
    #[serde(default)]
    pub deadline: Option<DateTime<Utc>>,
    /// Source collection id.
    #[serde(default)]
    pub source_endpoint_id: Option<String>,
    /// Source collection name.
    #[serde(default)]
    pub source_endpoint_display_name: Option<String>,
    /// Destination collection id.
    #[serde(default)]
    pub destination_endpoint_id: Option<String>,
    /// Destination collection name.
    #[serde(default)]
    pub destination_endpoint_display_name: Option<String>,
    /// Files found so far.
    #[serde(default)]
    pub files: u64,
    /// Directories found so far.
    #[serde(default)]
    pub directories: u64,
    /// Files skipped (sync level or skip_source_errors).
    #[serde(default)]
    pub files_skipped: u64,
    /// Files copied.
    #[serde(default)]
    pub files_transferred: u64,
    /// Bytes copied.
    #[serde(default)]
    pub bytes_transferred: u64,
    /// Bytes checksummed.
    #[serde(default)]
    pub bytes_checksummed: u64,
    /// Current rate.
    #[serde(default)]
    pub effective_bytes_per_second: u64,
    /// Errors met (retried) so far.
    #[serde(default)]
    pub faults: u64,
    /// Subtasks in all.
    #[serde(default)]
    pub subtasks_total: u64,
    /// Subtasks left.
    #[serde(default)]
    pub subtasks_pending: u64,
    /// Subtasks that failed.
    #[serde(default)]
    pub subtasks_failed: u64,
    /// Why it failed.
    #[serde(default)]
    pub fatal_error: Option<FatalError>,
    /// A short status while ACTIVE (`OK`, `Queued`, `PERMISSION_DENIED`…).
    #[serde(default)]
    pub nice_status: Option<String>,
    /// Whether the task is paused by an administrator.
    #[serde(default)]
    pub is_paused: bool,
}

/// One page of a limit/offset listing (`task_list`, `event_list`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Page<T> {
    #[serde(rename = "DATA")]
    pub(crate) data: Vec<T>,
    #[serde(default)]
    pub(crate) total: Option<u64>,
}

/// One event of a task, newest first in a listing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// `STARTED`, `PERMISSION_DENIED`, `CANCELED`…
    pub code: String,
    /// Whether it is an error.
    #[serde(default)]
    pub is_error: bool,
    /// When.
    pub time: DateTime<Utc>,
    /// Short text.
    #[serde(default)]
    pub description: Option<String>,
    /// Free text (sometimes JSON in a string); its format may change.
    #[serde(default)]
    pub details: Option<String>,
}

/// One file a finished task copied.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuccessfulTransfer {
    /// Where it came from.
    pub source_path: String,
    /// Where it went.
    pub destination_path: String,
}

/// One page of `successful_transfers` (marker paging; `next_marker: null` ends it).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MarkerPage {
    #[serde(rename = "DATA")]
    pub(crate) data: Vec<SuccessfulTransfer>,
    #[serde(default)]
    pub(crate) next_marker: Option<serde_json::Value>,
}

/// The result code of `POST /task/<id>/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CancelResult {
    /// `Canceled`, `CancelAccepted`, `TaskComplete`…
    pub code: String,
    /// Human-readable text.
    #[serde(default)]
    pub message: Option<String>,
}

impl CancelResult {
    /// Whether the task is (or will soon be) no longer running. `Canceled`, `CancelAccepted`
    /// and `TaskComplete` all mean that; poll the task for its final state.
    pub fn is_stopped(&self) -> bool {
        matches!(
            self.code.as_str(),
            "Canceled" | "CancelAccepted" | "TaskComplete"
        )
    }
}

/// A collection or endpoint (`GET /endpoint/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Endpoint {
    /// Its id.
    pub id: CollectionId,
    /// Its name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `GCSv5_mapped_collection`, `GCSv5_guest_collection`, …
    #[serde(default)]
    pub entity_type: Option<String>,
    /// Whether it needs a recent session from a given domain.
    #[serde(default)]
    pub high_assurance: bool,
    /// Whether it is marked unusable.
    #[serde(default)]
    pub non_functional: bool,
    /// The owner.
    #[serde(default)]
    pub owner_string: Option<String>,
    /// The organisation.
    #[serde(default)]
    pub organization: Option<String>,
}

impl Endpoint {
    /// Whether logging in must ask for this collection's `data_access` consent.
    pub fn needs_data_access(&self) -> bool {
        super::scopes::needs_data_access(self.entity_type.as_deref(), self.high_assurance)
    }
}

/// A file or directory on a collection (`ls` items and `stat`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileEntry {
    /// The name (no directory part).
    pub name: String,
    /// `file`, `dir` or `invalid_symlink`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Octal text, e.g. `0755`.
    #[serde(default)]
    pub permissions: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS+00:00` (with a space).
    #[serde(default)]
    pub last_modified: Option<String>,
    /// Owner.
    #[serde(default)]
    pub user: Option<String>,
    /// Group.
    #[serde(default)]
    pub group: Option<String>,
    /// Where a symbolic link points.
    #[serde(default)]
    pub link_target: Option<String>,
}

impl FileEntry {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == "dir"
    }
}

/// A directory listing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileList {
    /// The listed path (the service appends `/`).
    #[serde(default)]
    pub path: Option<String>,
    /// The entries.
    #[serde(rename = "DATA")]
    pub entries: Vec<FileEntry>,
}

/// The answer to `mkdir`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MkdirResult {
    /// `DirectoryCreated`.
    pub code: String,
    /// Human-readable text.
    #[serde(default)]
    pub message: Option<String>,
}

/// The signed-in identity (`GET /v2/oauth2/userinfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The identity id.
    pub sub: String,
    /// The username, e.g. `alice@umanitoba.ca`.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// The identity provider's name.
    #[serde(default)]
    pub identity_provider_display_name: Option<String>,
    /// The organisation.
    #[serde(default)]
    pub organization: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = r#"{"DATA_TYPE": "task", "task_id": "b8872740-7edc-11ec-9f33-ed182a728dff", "type": "TRANSFER",
 "status": "ACTIVE", "label": null, "owner_id": "ae332d86-d274-11e5-b885-b31714a110e9", "username": "sirosen",
 "command": "API 0.10", "request_time": "2022-01-26T19:18:20+00:00", "completion_time": null,
 "deadline": "2022-01-27T19:18:20+00:00",
 "source_endpoint": "go#ep1", "source_endpoint_id": "aa752cea-8222-5bc8-acd9-555b090c0ccb",
 "source_endpoint_display_name": "Globus Tutorial Endpoint 1",
 "destination_endpoint": "go#ep2", "destination_endpoint_id": "313ce13e-b597-5858-ae13-29e46fea26e6",
 "destination_endpoint_display_name": "Globus Tutorial Endpoint 2",
 "files": 0, "directories": 1, "symlinks": 0, "files_skipped": 0, "files_transferred": 0,
 "bytes_transferred": 0, "bytes_checksummed": 0, "effective_bytes_per_second": 0, "faults": 0,
 "subtasks_total": 2, "subtasks_pending": 1, "subtasks_retrying": 0, "subtasks_succeeded": 1,
 "subtasks_failed": 0, "subtasks_canceled": 0, "subtasks_expired": 0, "subtasks_skipped_errors": 0,
 "fatal_error": null, "is_ok": true, "is_paused": false,
 "nice_status": "OK", "nice_status_short_description": "OK", "nice_status_details": null,
 "nice_status_expires_in": -1, "history_deleted": false,
 "canceled_by_admin": null, "canceled_by_admin_message": null,
 "verify_checksum": true, "sync_level": null, "encrypt_data": false, "preserve_timestamp": false,
 "skip_source_errors": false, "fail_on_quota_errors": false, "delete_destination_extra": false,
 "recursive_symlinks": "ignore", "filter_rules": null}"#;

    #[test]
    fn reads_a_real_task_document() {
        let t: Task = serde_json::from_str(TASK).unwrap();
        assert_eq!(t.status, TaskStatus::Active);
        assert_eq!(t.kind, "TRANSFER");
        assert_eq!(t.subtasks_pending, 1);
        assert_eq!(t.completion_time, None);
        assert_eq!(
            t.task_id.to_string(),
            "b8872740-7edc-11ec-9f33-ed182a728dff"
        );
    }

    #[test]
    fn missing_or_mistyped_needed_fields_are_errors() {
        let mut v: serde_json::Value = serde_json::from_str(TASK).unwrap();
        v.as_object_mut().unwrap().remove("status");
        assert!(serde_json::from_value::<Task>(v.clone()).is_err());
        v["status"] = serde_json::json!(3);
        assert!(serde_json::from_value::<Task>(v.clone()).is_err());
        v["status"] = serde_json::json!("PAUSED_BY_SOMEONE");
        assert_eq!(
            serde_json::from_value::<Task>(v.clone()).unwrap().status,
            TaskStatus::Unknown
        );
        v["task_id"] = serde_json::json!("not-a-uuid");
        assert!(serde_json::from_value::<Task>(v).is_err());
    }

    #[test]
    fn writes_the_transfer_document_like_the_sdk() {
        let sid: SubmissionId = "dddddddd-0000-0000-0000-00000000000d".parse().unwrap();
        let src: CollectionId = "aaaaaaaa-0000-0000-0000-000000000001".parse().unwrap();
        let dst: CollectionId = "bbbbbbbb-0000-0000-0000-000000000002".parse().unwrap();
        let mut doc = TransferDocument::new(sid, src, dst);
        doc.label = Some("stage-in job 42".into());
        doc.sync_level = Some(SyncLevel::Checksum);
        doc.notify_on_succeeded = Some(false);
        let mut item = TransferItem::new("/data/dir/", "/scratch/dir/");
        item.recursive = Some(true);
        doc.items.push(item);
        doc.filter_rules.push(FilterRule {
            data_type: FilterRuleTag,
            method: FilterMethod::Exclude,
            name: "*.tmp".into(),
            kind: Some(FilterType::File),
        });
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "DATA_TYPE": "transfer", "submission_id": "dddddddd-0000-0000-0000-00000000000d",
                "source_endpoint": "aaaaaaaa-0000-0000-0000-000000000001",
                "destination_endpoint": "bbbbbbbb-0000-0000-0000-000000000002", "label": "stage-in job 42",
                "sync_level": 3, "verify_checksum": true, "preserve_timestamp": false,
                "encrypt_data": false, "skip_source_errors": false, "fail_on_quota_errors": false,
                "delete_destination_extra": false, "notify_on_succeeded": false,
                "filter_rules": [{"DATA_TYPE": "filter_rule", "method": "exclude", "name": "*.tmp", "type": "file"}],
                "DATA": [{"DATA_TYPE": "transfer_item", "source_path": "/data/dir/",
                          "destination_path": "/scratch/dir/", "recursive": true}]
            })
        );
    }

    #[test]
    fn submit_results_accepted_duplicate_and_unknown() {
        let r: SubmitResult = serde_json::from_str(
            r#"{"DATA_TYPE":"transfer_result","code":"Duplicate","task_id":"b8872740-7edc-11ec-9f33-ed182a728dff","extra":1}"#,
        )
        .unwrap();
        assert_eq!(r.code, SubmitCode::Duplicate);
        let r: SubmitResult = serde_json::from_str(
            r#"{"code":"Queued","task_id":"b8872740-7edc-11ec-9f33-ed182a728dff"}"#,
        )
        .unwrap();
        assert_eq!(r.code, SubmitCode::Other("Queued".into()));
        assert!(serde_json::from_str::<SubmitResult>(r#"{"code":"Accepted"}"#).is_err());
    }

    #[test]
    fn cancel_codes_that_mean_stopped() {
        for code in ["Canceled", "CancelAccepted", "TaskComplete"] {
            let r: CancelResult = serde_json::from_str(&format!(r#"{{"code":"{code}"}}"#)).unwrap();
            assert!(r.is_stopped(), "{code}");
        }
        let r: CancelResult = serde_json::from_str(r#"{"code":"Nope"}"#).unwrap();
        assert!(!r.is_stopped());
    }

    #[test]
    fn reads_an_ls_answer() {
        let l: FileList = serde_json::from_str(
            r#"{"DATA_TYPE": "file_list", "endpoint": "x", "path": "/share/", "absolute_path": null,
  "length": 1, "total": 1, "rename_supported": true, "symlink_supported": true,
  "DATA": [{"DATA_TYPE": "file", "name": "godata", "type": "dir", "size": 4096, "permissions": "0755",
            "user": "root", "group": "root", "last_modified": "2020-09-23 18:53:12+00:00",
            "link_target": null, "link_group": null, "link_user": null, "link_size": null,
            "link_last_modified": null}]}"#,
        )
        .unwrap();
        assert_eq!(l.entries.len(), 1);
        assert!(l.entries.iter().all(FileEntry::is_dir));
    }
}
