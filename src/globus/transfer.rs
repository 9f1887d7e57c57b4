//! Transfer API v0.10 calls: submission ids, submit, tasks, events, cancel, collections and
//! file operations.
//!
//! Listings page themselves: `task_list` and `event_list` by limit/offset (at most 1000 results
//! reachable, as the service allows), `successful_transfers` by marker until `next_marker` is
//! null. Waiting on many tasks is one `task_list` filtered by their ids, not one call per task.

use reqwest::Method;

use super::client::{Call, GlobusClient};
use super::error::{Error, Service};
use super::models::{
    CancelResult, Endpoint, Event, FileEntry, FileList, MarkerPage, MkdirResult, Page,
    SubmissionId, SubmissionIdDoc, SubmitResult, Task, TaskId, TaskStatus, TransferDocument,
};
use crate::collection::CollectionId;

/// The most results a limit/offset listing can reach.
pub const MAX_LISTED: u64 = 1000;
/// Task ids per `task_list` request, to keep URLs short.
const IDS_PER_REQUEST: usize = 50;
/// A guard against a server that never ends a marker listing.
const MAX_MARKER_PAGES: usize = 10_000;

/// Which tasks `task_list` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskQuery {
    /// Only these tasks (sent in chunks).
    pub task_ids: Vec<TaskId>,
    /// Only tasks with exactly this label.
    pub label: Option<String>,
    /// Only tasks whose label contains this text (`label:~`).
    pub label_contains: Option<String>,
    /// Only tasks in these states.
    pub statuses: Vec<TaskStatus>,
    /// At most this many results (capped at 1000).
    pub limit: Option<u64>,
}

fn status_word(s: TaskStatus) -> Option<&'static str> {
    match s {
        TaskStatus::Active => Some("ACTIVE"),
        TaskStatus::Inactive => Some("INACTIVE"),
        TaskStatus::Succeeded => Some("SUCCEEDED"),
        TaskStatus::Failed => Some("FAILED"),
        TaskStatus::Unknown => None,
    }
}

/// The `filter` parameter: clauses joined by `/`, values by `,`. A label holding either
/// character cannot be expressed and is refused rather than silently matching something else.
fn task_filter(ids: &[TaskId], q: &TaskQuery) -> Result<String, Error> {
    let mut clauses = Vec::new();
    if !ids.is_empty() {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        clauses.push(format!("task_id:{}", ids.join(",")));
    }
    if let Some(label) = &q.label {
        if label.contains('/') || label.contains(',') {
            return Err(Error::BadFilter {
                value: label.clone(),
                reason: "a label searched for cannot contain `/` or `,`",
            });
        }
        clauses.push(format!("label:={label}"));
    }
    if let Some(text) = &q.label_contains {
        if text.contains('/') || text.contains(',') {
            return Err(Error::BadFilter {
                value: text.clone(),
                reason: "a label searched for cannot contain `/` or `,`",
            });
        }
        clauses.push(format!("label:~{text}"));
    }
    let statuses: Vec<&str> = q.statuses.iter().filter_map(|s| status_word(*s)).collect();
    if !statuses.is_empty() {
        clauses.push(format!("status:{}", statuses.join(",")));
    }
    Ok(clauses.join("/"))
}

fn collection_path(collection: &CollectionId, op: &str) -> String {
    format!("v0.10/operation/endpoint/{collection}/{op}")
}

impl GlobusClient {
    /// Reserves a submission id. Record it before submitting: resubmitting with it is safe.
    pub async fn get_submission_id(&self) -> Result<SubmissionId, Error> {
        let doc: SubmissionIdDoc = self
            .call(Call::new(
                Service::Transfer,
                Method::GET,
                "v0.10/submission_id",
            ))
            .await?;
        Ok(doc.value)
    }

    /// Submits a transfer. `Accepted` (202) and `Duplicate` (200) both return the task id;
    /// retrying on transient failures is safe because of the submission id.
    pub async fn submit_transfer(&self, doc: &TransferDocument) -> Result<SubmitResult, Error> {
        let body = serde_json::to_value(doc).map_err(|e| Error::Decode {
            service: Service::Transfer,
            what: "v0.10/transfer".into(),
            detail: e.to_string(),
        })?;
        let call = Call::new(Service::Transfer, Method::POST, "v0.10/transfer")
            .json(body)
            .about(&doc.source_endpoint)
            .about(&doc.destination_endpoint);
        self.call(call).await
    }

    /// One task.
    pub async fn get_task(&self, id: &TaskId) -> Result<Task, Error> {
        self.call(Call::new(
            Service::Transfer,
            Method::GET,
            format!("v0.10/task/{id}"),
        ))
        .await
    }

    /// Tasks matching a query, newest first, paging by limit/offset up to 1000 results per
    /// filter. Task ids are asked for in chunks, so any number can be given.
    pub async fn task_list(&self, q: &TaskQuery) -> Result<Vec<Task>, Error> {
        let limit = q.limit.unwrap_or(MAX_LISTED).min(MAX_LISTED);
        let mut out = Vec::new();
        if q.task_ids.is_empty() {
            let filter = task_filter(&[], q)?;
            self.task_list_pages(&filter, limit, &mut out).await?;
        } else {
            for chunk in q.task_ids.chunks(IDS_PER_REQUEST) {
                let filter = task_filter(chunk, q)?;
                let remaining = limit.saturating_sub(out.len() as u64);
                if remaining == 0 {
                    break;
                }
                self.task_list_pages(&filter, remaining, &mut out).await?;
            }
        }
        Ok(out)
    }

    async fn task_list_pages(
        &self,
        filter: &str,
        limit: u64,
        out: &mut Vec<Task>,
    ) -> Result<(), Error> {
        let mut offset = 0u64;
        while offset < limit {
            let page_size = (limit - offset).min(MAX_LISTED - offset);
            let mut call = Call::new(Service::Transfer, Method::GET, "v0.10/task_list")
                .query("limit", page_size.to_string())
                .query("offset", offset.to_string())
                .query("orderby", "request_time DESC");
            if !filter.is_empty() {
                call = call.query("filter", filter);
            }
            let page: Page<Task> = self.call(call).await?;
            let got = page.data.len() as u64;
            out.extend(page.data);
            offset += got;
            if got == 0 || page.total.is_some_and(|t| offset >= t) || offset >= MAX_LISTED {
                break;
            }
        }
        Ok(())
    }

    /// A task's events, newest first (at most `limit`, capped at 1000); `errors_only` asks
    /// for error events only.
    pub async fn event_list(
        &self,
        id: &TaskId,
        limit: u64,
        errors_only: bool,
    ) -> Result<Vec<Event>, Error> {
        let limit = limit.min(MAX_LISTED);
        let mut out: Vec<Event> = Vec::new();
        let mut offset = 0u64;
        while offset < limit {
            let call = Call::new(
                Service::Transfer,
                Method::GET,
                format!("v0.10/task/{id}/event_list"),
            )
            .query("limit", (limit - offset).to_string())
            .query("offset", offset.to_string())
            .query("filter", if errors_only { "is_error:1" } else { "" });
            let page: Page<Event> = self.call(call).await?;
            let got = page.data.len() as u64;
            out.extend(page.data);
            offset += got;
            if got == 0 || page.total.is_some_and(|t| offset >= t) {
                break;
            }
        }
        Ok(out)
    }

    /// Every file a finished task copied, following markers until `next_marker` is null.
    pub async fn successful_transfers(
        &self,
        id: &TaskId,
    ) -> Result<Vec<super::SuccessfulTransfer>, Error> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_MARKER_PAGES {
            let mut call = Call::new(
                Service::Transfer,
                Method::GET,
                format!("v0.10/task/{id}/successful_transfers"),
            );
            if let Some(m) = &marker {
                call = call.query("marker", m.clone());
            }
            let page: MarkerPage = self.call(call).await?;
            out.extend(page.data);
            marker = match page.next_marker {
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
                _ => None,
            };
            match &marker {
                Some(m) if seen.insert(m.clone()) => {}
                _ => break,
            }
        }
        Ok(out)
    }

    /// Asks the service to cancel a task; see [`CancelResult::is_stopped`].
    pub async fn cancel_task(&self, id: &TaskId) -> Result<CancelResult, Error> {
        self.call(Call::new(
            Service::Transfer,
            Method::POST,
            format!("v0.10/task/{id}/cancel"),
        ))
        .await
    }

    /// A collection's description (entity type, high assurance, name).
    pub async fn get_endpoint(&self, collection: &CollectionId) -> Result<Endpoint, Error> {
        self.call(
            Call::new(
                Service::Transfer,
                Method::GET,
                format!("v0.10/endpoint/{collection}"),
            )
            .about(collection),
        )
        .await
    }

    /// Lists a directory on a collection.
    pub async fn ls(
        &self,
        collection: &CollectionId,
        path: &str,
        show_hidden: bool,
    ) -> Result<FileList, Error> {
        let call = Call::new(
            Service::Transfer,
            Method::GET,
            collection_path(collection, "ls"),
        )
        .query("path", path)
        .query("show_hidden", if show_hidden { "1" } else { "0" })
        .about(collection);
        self.call(call).await
    }

    /// Describes one path on a collection (404 `NotFound` when it does not exist).
    pub async fn stat(&self, collection: &CollectionId, path: &str) -> Result<FileEntry, Error> {
        let call = Call::new(
            Service::Transfer,
            Method::GET,
            collection_path(collection, "stat"),
        )
        .query("path", path)
        .about(collection);
        self.call(call).await
    }

    /// Creates a directory on a collection.
    pub async fn mkdir(&self, collection: &CollectionId, path: &str) -> Result<MkdirResult, Error> {
        let call = Call::new(
            Service::Transfer,
            Method::POST,
            collection_path(collection, "mkdir"),
        )
        .json(serde_json::json!({"DATA_TYPE": "mkdir", "path": path}))
        .about(collection);
        self.call(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_join_clauses_with_slashes() {
        let id: TaskId = "b8872740-7edc-11ec-9f33-ed182a728dff".parse().unwrap();
        let q = TaskQuery {
            label: Some("gstage grex 42 in 1".into()),
            statuses: vec![TaskStatus::Active, TaskStatus::Inactive],
            ..TaskQuery::default()
        };
        assert_eq!(
            task_filter(&[id, id], &q).unwrap(),
            "task_id:b8872740-7edc-11ec-9f33-ed182a728dff,b8872740-7edc-11ec-9f33-ed182a728dff/label:=gstage grex 42 in 1/status:ACTIVE,INACTIVE"
        );
        assert_eq!(task_filter(&[], &TaskQuery::default()).unwrap(), "");
    }

    #[test]
    fn labels_that_break_the_filter_syntax_are_refused() {
        for label in ["a/b", "a,b"] {
            let q = TaskQuery {
                label: Some(label.into()),
                ..TaskQuery::default()
            };
            assert!(matches!(task_filter(&[], &q), Err(Error::BadFilter { .. })));
        }
    }
}
