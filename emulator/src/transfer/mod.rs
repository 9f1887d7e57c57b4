//! Globus Transfer API v0.10: submission, tasks, collections and file operations.

mod access;
mod caller;
mod endpoint;
mod operation;
mod submit;
mod task_list;
mod tasks;
mod time;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::store::Shared;

pub(crate) use access::consent_error;

/// Routes under `/v0.10/`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v0.10/submission_id", get(submit::submission_id))
        .route("/v0.10/transfer", post(submit::submit))
        .route("/v0.10/task_list", get(task_list::task_list))
        .route("/v0.10/task/{id}", get(tasks::show))
        .route("/v0.10/task/{id}/event_list", get(tasks::event_list))
        .route(
            "/v0.10/task/{id}/successful_transfers",
            get(tasks::successful_transfers),
        )
        .route("/v0.10/task/{id}/cancel", post(tasks::cancel))
        .route("/v0.10/endpoint/{id}", get(endpoint::show))
        .route("/v0.10/endpoint_search", get(endpoint::search))
        .route("/v0.10/operation/endpoint/{id}/ls", get(operation::ls))
        .route("/v0.10/operation/endpoint/{id}/stat", get(operation::stat))
        .route(
            "/v0.10/operation/endpoint/{id}/mkdir",
            post(operation::mkdir),
        )
}

/// Limit/offset paging as Transfer does it: at most 1000 results reachable.
pub(crate) fn paging(
    q: &std::collections::HashMap<String, String>,
    default_limit: usize,
) -> Result<(usize, usize), crate::error::ApiError> {
    let number = |key: &str, default: usize| -> Result<usize, crate::error::ApiError> {
        q.get(key).map_or(Ok(default), |v| {
            v.parse::<usize>().map_err(|_| {
                crate::error::ApiError::bad_request(format!(
                    "`{key}` must be a non-negative integer, not `{v}`"
                ))
            })
        })
    };
    let limit = number("limit", default_limit)?;
    let offset = number("offset", 0)?;
    if limit > 1000 || offset.saturating_add(limit) > 1000 {
        return Err(crate::error::ApiError::bad_request(
            "offset + limit must be at most 1000",
        ));
    }
    Ok((limit, offset))
}
