//! One task: its document, events, successful transfers, and cancellation.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::caller::Caller;
use super::paging;
use crate::error::{ApiError, request_id};
use crate::store::{Shared, Store};
use crate::task::{Task, TaskStatus};

/// Page size of `successful_transfers`.
const SUCCESSFUL_PAGE: usize = 100;

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "TaskNotFound",
        format!("Task {id} not found"),
    )
}

/// The caller's own task; other identities' tasks are invisible (404).
pub(crate) fn owned<'a>(store: &'a Store, caller: &Caller, id: &str) -> Result<&'a Task, ApiError> {
    Uuid::parse_str(id)
        .ok()
        .and_then(|id| store.task(id))
        .filter(|t| t.owner_id == caller.principal.id)
        .ok_or_else(|| not_found(id))
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = shared.store();
    Ok(Json(owned(&store, &caller, &id)?.to_json()))
}

pub(crate) async fn event_list(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (limit, offset) = paging(&q, 10)?;
    let only_errors = match q.get("filter").map(String::as_str) {
        None | Some("") => None,
        Some("is_error:1") => Some(true),
        Some("is_error:0") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Unsupported event filter '{other}': use is_error:1 or is_error:0"
            )));
        }
    };
    let store = shared.store();
    let task = owned(&store, &caller, &id)?;
    let events: Vec<Value> = task
        .events
        .iter()
        .rev()
        .filter(|e| only_errors.is_none_or(|want| e.is_error == want))
        .map(Task::event_json)
        .collect();
    let total = events.len();
    let page: Vec<Value> = events.into_iter().skip(offset).take(limit).collect();
    Ok(Json(json!({
        "DATA_TYPE": "event_list", "length": page.len(), "limit": limit, "offset": offset,
        "total": total, "DATA": page,
    })))
}

pub(crate) async fn successful_transfers(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let marker = match q.get("marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("Invalid marker '{m}'")))?,
    };
    let store = shared.store();
    let task = owned(&store, &caller, &id)?;
    let page: Vec<Value> = task
        .successful
        .iter()
        .skip(marker)
        .take(SUCCESSFUL_PAGE)
        .map(|(s, d)| {
            json!({"DATA_TYPE": "successful_transfer", "source_path": s, "destination_path": d})
        })
        .collect();
    let end = marker + page.len();
    let next_marker = (end < task.successful.len()).then_some(end);
    Ok(Json(json!({
        "DATA_TYPE": "successful_transfers", "marker": marker, "next_marker": next_marker,
        "DATA": page,
    })))
}

pub(crate) async fn cancel(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (code, message) = {
        let mut store = shared.store();
        let task_id = owned(&store, &caller, &id)?.id;
        let task = store.task_mut(task_id).ok_or_else(|| not_found(&id))?;
        if task.status.is_finished() {
            (
                "TaskComplete",
                "The task completed before the cancel request was processed.",
            )
        } else {
            task.event("CANCELED", "canceled", "Canceled by the task owner", true);
            task.finish(TaskStatus::Failed, Some(("CANCELED", "canceled")));
            ("Canceled", "The task has been cancelled successfully.")
        }
    };
    shared.wakeup.notify_waiters();
    Ok(Json(json!({
        "DATA_TYPE": "result", "code": code, "message": message,
        "resource": format!("/task/{id}/cancel"), "request_id": request_id(),
    })))
}
