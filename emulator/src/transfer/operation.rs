//! Synchronous file operations: `ls`, `stat`, `mkdir` on a collection's directory.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::access::{self, Use};
use super::caller::Caller;
use crate::config::Collection;
use crate::error::{ApiError, request_id};
use crate::paths;
use crate::store::Shared;

/// Checks access and maps the collection path to a local one.
fn local(
    shared: &Shared,
    caller: &Caller,
    id: &str,
    path: &str,
) -> Result<(Collection, PathBuf), ApiError> {
    let collection = access::find(shared, id)?;
    access::check(&shared.store(), caller, &[&collection], Use::Operation)?;
    let root = shared.config.root_of(&collection);
    let local = paths::resolve(&root, path).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((collection, local))
}

fn io_error(err: &std::io::Error, c: &Collection, path: &str) -> ApiError {
    match err.kind() {
        std::io::ErrorKind::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "ClientError.NotFound",
            format!(
                "Directory '{path}' not found on endpoint '{}'",
                c.display_name
            ),
        ),
        std::io::ErrorKind::PermissionDenied => ApiError::new(
            StatusCode::FORBIDDEN,
            "EndpointPermissionDenied",
            format!(
                "Permission denied on '{path}' at endpoint '{}'",
                c.display_name
            ),
        ),
        _ => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "ExternalError.DirListingFailed",
            format!("Error listing '{path}': {err}"),
        ),
    }
}

/// The `file` document of a local path (symlinks described by what they point at).
fn file_doc(name: &str, local: &std::path::Path) -> std::io::Result<Value> {
    let link = std::fs::symlink_metadata(local)?;
    let (meta, link_target) = if link.file_type().is_symlink() {
        let target = std::fs::read_link(local)?.to_string_lossy().into_owned();
        match std::fs::metadata(local) {
            Ok(m) => (Some(m), Some(target)),
            Err(_) => (None, Some(target)),
        }
    } else {
        (Some(link.clone()), None)
    };
    let shown = meta.as_ref().unwrap_or(&link);
    let kind = match &meta {
        None => "invalid_symlink",
        Some(m) if m.is_dir() => "dir",
        Some(_) => "file",
    };
    let modified: DateTime<Utc> = shown.modified().map_or_else(|_| Utc::now(), DateTime::from);
    Ok(json!({
        "DATA_TYPE": "file",
        "name": name,
        "type": kind,
        "size": shown.len(),
        "permissions": format!("{:04o}", shown.permissions().mode() & 0o7777),
        "user": shown.uid().to_string(),
        "group": shown.gid().to_string(),
        "last_modified": modified.format("%Y-%m-%d %H:%M:%S+00:00").to_string(),
        "link_target": link_target,
        "link_group": Value::Null,
        "link_user": Value::Null,
        "link_size": Value::Null,
        "link_last_modified": Value::Null,
    }))
}

pub(crate) async fn ls(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let path = q.get("path").map_or("/~/", String::as_str);
    let (collection, local) = local(&shared, &caller, &id, path)?;
    let show_hidden = q
        .get("show_hidden")
        .is_none_or(|v| !matches!(v.as_str(), "0" | "false" | "False"));
    let shown_path = if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    };
    let meta = std::fs::metadata(&local).map_err(|e| io_error(&e, &collection, &shown_path))?;
    if !meta.is_dir() {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "ExternalError.DirListingFailed.NotDirectory",
            format!("Directory Listing Failed: '{shown_path}' is not a directory"),
        ));
    }
    let mut names: Vec<String> = std::fs::read_dir(&local)
        .map_err(|e| io_error(&e, &collection, &shown_path))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| show_hidden || !n.starts_with('.'))
        .collect();
    names.sort();
    let (limit, offset) = {
        let n = |k: &str, d: usize| q.get(k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(d);
        (n("limit", 100_000), n("offset", 0))
    };
    let entries: Vec<Value> = names
        .iter()
        .skip(offset)
        .take(limit)
        .filter_map(|n| file_doc(n, &local.join(n)).ok())
        .collect();
    Ok(Json(json!({
        "DATA_TYPE": "file_list", "endpoint": collection.id, "path": shown_path,
        "absolute_path": Value::Null, "length": entries.len(), "total": names.len(),
        "offset": offset, "limit": limit,
        "rename_supported": true, "symlink_supported": true, "DATA": entries,
    })))
}

pub(crate) async fn stat(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let path = q
        .get("path")
        .ok_or_else(|| ApiError::bad_request("Missing required parameter 'path'"))?;
    let (collection, local) = local(&shared, &caller, &id, path)?;
    let name = paths::components(path)
        .ok()
        .and_then(|c| c.last().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "/".to_owned());
    file_doc(&name, &local)
        .map(Json)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!(
                    "Path not found, Error (list)\nEndpoint: {} ({})\nFile: {path}\n",
                    collection.display_name, collection.id
                ),
            ),
            _ => io_error(&e, &collection, path),
        })
}

pub(crate) async fn mkdir(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))?;
    let path = body
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("Missing required field 'path'"))?;
    let (collection, local) = local(&shared, &caller, &id, path)?;
    match std::fs::create_dir(&local) {
        Ok(()) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "DATA_TYPE": "mkdir_result", "code": "DirectoryCreated",
                "message": "The directory was created successfully",
                "request_id": request_id(),
                "resource": format!("/operation/endpoint/{id}/mkdir"),
            })),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "ExternalError.MkdirFailed.Exists",
            format!(
                "Path already exists, Error Path '{path}' already exists on endpoint '{}'",
                collection.display_name
            ),
        )),
        Err(e) => Err(io_error(&e, &collection, path)),
    }
}
