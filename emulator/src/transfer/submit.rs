//! `GET /submission_id` and `POST /transfer`: the document, its defaults and validation, and
//! idempotent acceptance keyed by submission id.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::access::{self, Use};
use super::caller::Caller;
use super::time::parse_time;
use crate::error::{ApiError, request_id};
use crate::paths;
use crate::store::Shared;
use crate::task::{Counts, FilterRule, Item, Options, Task, TaskStatus};

/// How long a task runs without a deadline of its own.
const DEFAULT_DEADLINE_HOURS: i64 = 24;

pub(crate) async fn submission_id(_caller: Caller) -> Json<Value> {
    Json(json!({"DATA_TYPE": "submission_id", "value": Uuid::new_v4()}))
}

/// A validated transfer document.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) submission_id: String,
    pub(crate) source: String,
    pub(crate) destination: String,
    pub(crate) label: Option<String>,
    pub(crate) deadline: Option<DateTime<Utc>>,
    pub(crate) options: Options,
    pub(crate) items: Vec<Item>,
}

fn opt_bool(doc: &Map<String, Value>, key: &str, default: bool) -> Result<bool, ApiError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid value for '{key}': expected a boolean, got {other}"
        ))),
    }
}

fn opt_str<'a>(doc: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid value for '{key}': expected a string, got {other}"
        ))),
    }
}

fn req_str<'a>(doc: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    opt_str(doc, key)?
        .ok_or_else(|| ApiError::bad_request(format!("Missing required field '{key}'")))
}

/// Label rules: at most 128 characters, no line breaks, no surrounding whitespace.
pub(crate) fn check_label(label: &str) -> Result<(), ApiError> {
    if label.chars().count() > 128 {
        return Err(ApiError::bad_request(
            "Invalid label: must be at most 128 characters",
        ));
    }
    if label.contains(['\r', '\n']) {
        return Err(ApiError::bad_request(
            "Invalid label: must not contain line breaks",
        ));
    }
    if label.trim() != label {
        return Err(ApiError::bad_request(
            "Invalid label: must not begin or end with whitespace",
        ));
    }
    Ok(())
}

/// Parses and validates a transfer document, filling in the service defaults.
pub(crate) fn parse_document(body: &Value) -> Result<Document, ApiError> {
    let doc = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("Request body must be a JSON object"))?;
    if opt_str(doc, "DATA_TYPE")? != Some("transfer") {
        return Err(ApiError::bad_request("DATA_TYPE must be 'transfer'"));
    }
    let submission_id = req_str(doc, "submission_id")?.to_owned();
    let source = req_str(doc, "source_endpoint")?.to_owned();
    let destination = req_str(doc, "destination_endpoint")?.to_owned();
    let label = opt_str(doc, "label")?.map(str::to_owned);
    if let Some(l) = &label {
        check_label(l)?;
    }
    let deadline = match opt_str(doc, "deadline")? {
        None => None,
        Some(text) => Some(parse_time(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid deadline '{text}': expected an ISO 8601 timestamp"
            ))
        })?),
    };
    let sync_level = match doc.get("sync_level") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n @ 0..=3) => Some(u8::try_from(n).unwrap_or(3)),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Invalid sync_level {v}: must be an integer from 0 to 3"
                )));
            }
        },
    };
    let filter_rules = match doc.get("filter_rules") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(rules)) => rules.iter().map(parse_rule).collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::bad_request("filter_rules must be a list")),
    };
    let options = Options {
        sync_level,
        verify_checksum: opt_bool(doc, "verify_checksum", false)?,
        preserve_timestamp: opt_bool(doc, "preserve_timestamp", false)?,
        encrypt_data: opt_bool(doc, "encrypt_data", false)?,
        skip_source_errors: opt_bool(doc, "skip_source_errors", false)?,
        fail_on_quota_errors: opt_bool(doc, "fail_on_quota_errors", false)?,
        delete_destination_extra: opt_bool(doc, "delete_destination_extra", false)?,
        notify_on_succeeded: opt_bool(doc, "notify_on_succeeded", true)?,
        notify_on_failed: opt_bool(doc, "notify_on_failed", true)?,
        notify_on_inactive: opt_bool(doc, "notify_on_inactive", true)?,
        filter_rules,
    };
    let items = match doc.get("DATA") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(parse_item).collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::bad_request(
                "DATA must be a list of transfer items",
            ));
        }
    };
    if items.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "ClientError.BadRequest.NoTransferItems",
            "A transfer requires at least one item",
        ));
    }
    Ok(Document {
        submission_id,
        source,
        destination,
        label,
        deadline,
        options,
        items,
    })
}

fn parse_rule(v: &Value) -> Result<FilterRule, ApiError> {
    let rule = v
        .as_object()
        .ok_or_else(|| ApiError::bad_request("each filter rule must be an object"))?;
    let include = match req_str(rule, "method")? {
        "include" => true,
        "exclude" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid filter rule method '{other}': must be 'include' or 'exclude'"
            )));
        }
    };
    let name = req_str(rule, "name")?.to_owned();
    glob::Pattern::new(&name)
        .map_err(|e| ApiError::bad_request(format!("Invalid filter rule name '{name}': {e}")))?;
    let files_only = match opt_str(rule, "type")? {
        None => None,
        Some("file") => Some(true),
        Some("dir") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid filter rule type '{other}': must be 'file' or 'dir'"
            )));
        }
    };
    Ok(FilterRule {
        include,
        name,
        files_only,
    })
}

fn parse_item(v: &Value) -> Result<Item, ApiError> {
    let item = v
        .as_object()
        .ok_or_else(|| ApiError::bad_request("each transfer item must be an object"))?;
    match opt_str(item, "DATA_TYPE")? {
        Some("transfer_item") | None => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Unsupported item DATA_TYPE '{other}'"
            )));
        }
    }
    let recursive = match item.get("recursive") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::bad_request("recursive must be a boolean")),
    };
    let parsed = Item {
        source_path: req_str(item, "source_path")?.to_owned(),
        destination_path: req_str(item, "destination_path")?.to_owned(),
        recursive,
        external_checksum: opt_str(item, "external_checksum")?.map(str::to_owned),
        checksum_algorithm: opt_str(item, "checksum_algorithm")?.map(str::to_owned),
    };
    for path in [&parsed.source_path, &parsed.destination_path] {
        paths::components(path).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    if parsed.recursive == Some(true) && parsed.external_checksum.is_some() {
        return Err(ApiError::bad_request(
            "external_checksum cannot be used on a recursive item",
        ));
    }
    Ok(parsed)
}

fn result_body(code: &str, message: &str, submission_id: &str, task_id: Uuid) -> Value {
    json!({
        "DATA_TYPE": "transfer_result",
        "code": code,
        "message": message,
        "request_id": request_id(),
        "resource": "/transfer",
        "submission_id": submission_id,
        "task_id": task_id,
        "task_link": {"DATA_TYPE": "link", "href": format!("task/{task_id}?format=json"),
                      "rel": "related", "resource": "task", "title": "related task"},
    })
}

/// The refusal of a task beyond the per-user pending limit. The limit is quoted in the service's
/// FAQ; its error code is not, so this uses the documented `ClientError.RequestLimitExceeded`
/// under 409 Conflict (the request is well formed; the user's state refuses it).
fn pending_limit_error(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "ClientError.RequestLimitExceeded",
        format!(
            "You have {limit} pending tasks, the most allowed; wait for some to finish before submitting more"
        ),
    )
}

pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))?;
    let doc = parse_document(&body)?;
    let task_id = {
        let mut store = shared.store();
        if let Some(existing) = store.submissions.get(&doc.submission_id).copied() {
            let same_owner = store
                .task(existing)
                .is_some_and(|t| t.owner_id == caller.principal.id);
            if !same_owner {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "ClientError.Conflict",
                    "submission_id was used by another identity",
                ));
            }
            let body = result_body(
                "Duplicate",
                &format!(
                    "A transfer with id '{}' was already submitted",
                    doc.submission_id
                ),
                &doc.submission_id,
                existing,
            );
            return Ok((StatusCode::OK, Json(body)).into_response());
        }
        let source = access::find(&shared, &doc.source)?;
        let destination = access::find(&shared, &doc.destination)?;
        access::check(&store, &caller, &[&source, &destination], Use::Submission)?;
        let pending = store
            .tasks
            .iter()
            .filter(|t| t.owner_id == caller.principal.id && !t.status.is_finished())
            .count();
        if pending >= shared.config.pending_task_limit {
            store.stats.refused_pending_limit += 1;
            return Err(pending_limit_error(shared.config.pending_task_limit));
        }
        store.stats.peak_pending_per_user = store
            .stats
            .peak_pending_per_user
            .max(u64::try_from(pending + 1).unwrap_or(u64::MAX));
        let now = Utc::now();
        let task = Task {
            id: Uuid::new_v4(),
            submission_id: doc.submission_id.clone(),
            owner_id: caller.principal.id,
            username: caller.principal.username.clone(),
            label: doc.label,
            request_time: now,
            completion_time: None,
            deadline: doc
                .deadline
                .unwrap_or(now + Duration::hours(DEFAULT_DEADLINE_HOURS)),
            source: source.id,
            source_name: source.display_name.clone(),
            destination: destination.id,
            destination_name: destination.display_name.clone(),
            options: doc.options,
            items: doc.items,
            status: TaskStatus::Active,
            running: false,
            nice_status: Some("Queued".to_owned()),
            fatal_error: None,
            counts: Counts::default(),
            events: Vec::new(),
            successful: Vec::new(),
            start_time: None,
        };
        let id = task.id;
        store.submissions.insert(doc.submission_id.clone(), id);
        store.tasks.push(task);
        store.stats.tasks_created += 1;
        id
    };
    crate::engine::spawn(Arc::clone(&shared), task_id);
    let body = result_body(
        "Accepted",
        "The transfer has been accepted and a task has been created and queued for execution",
        &doc.submission_id,
        task_id,
    );
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(extra: Value) -> Value {
        let mut base = json!({
            "DATA_TYPE": "transfer", "submission_id": "s", "source_endpoint": "a",
            "destination_endpoint": "b",
            "DATA": [{"DATA_TYPE": "transfer_item", "source_path": "/x", "destination_path": "/y"}],
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        base
    }

    #[test]
    fn omitted_options_get_service_defaults() {
        let d = parse_document(&doc(json!({}))).expect("valid");
        assert_eq!(d.options.sync_level, None);
        assert!(!d.options.verify_checksum);
        assert!(d.options.notify_on_succeeded && d.options.notify_on_failed);
        assert!(d.deadline.is_none() && d.label.is_none());
        assert_eq!(d.items.len(), 1);
    }

    #[test]
    fn labels_follow_the_documented_rules() {
        for bad in [" x", "x ", "a\nb", "a\rb", &"l".repeat(129)] {
            let err = parse_document(&doc(json!({"label": bad}))).expect_err(bad);
            assert_eq!(err.code, "ClientError.BadRequest");
        }
        assert!(parse_document(&doc(json!({"label": "l".repeat(128)}))).is_ok());
    }

    #[test]
    fn sync_level_must_be_an_integer_from_zero_to_three() {
        for bad in [json!(4), json!("checksum"), json!(-1), json!(1.5)] {
            assert!(parse_document(&doc(json!({"sync_level": bad}))).is_err());
        }
        let d = parse_document(&doc(json!({"sync_level": 3}))).expect("valid");
        assert_eq!(d.options.sync_level, Some(3));
    }

    #[test]
    fn empty_data_is_no_transfer_items() {
        let err = parse_document(&doc(json!({"DATA": []}))).expect_err("no items");
        assert_eq!(err.code, "ClientError.BadRequest.NoTransferItems");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn deadline_accepts_both_forms_and_escapes_are_refused() {
        let a = parse_document(&doc(json!({"deadline": "2030-01-01 00:00:00"}))).expect("cli form");
        let b =
            parse_document(&doc(json!({"deadline": "2030-01-01T00:00:00+00:00"}))).expect("iso");
        assert_eq!(a.deadline, b.deadline);
        assert!(parse_document(&doc(json!({"deadline": "soon"}))).is_err());
        let escape = json!({"DATA": [{"source_path": "/a/../../etc", "destination_path": "/y"}]});
        assert!(parse_document(&doc(escape)).is_err());
    }
}
