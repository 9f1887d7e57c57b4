//! `GET /endpoint/<id>` and `GET /endpoint_search`: collection documents.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::access;
use super::caller::Caller;
use crate::config::Collection;
use crate::error::ApiError;
use crate::store::Shared;

/// The `endpoint` document of a collection.
pub(crate) fn document(c: &Collection) -> Value {
    let is_collection = c.entity_type.contains("collection");
    json!({
        "DATA_TYPE": "endpoint",
        "id": c.id,
        "display_name": c.display_name,
        "canonical_name": format!("emulator#{}", c.id),
        "name": c.id,
        "entity_type": c.entity_type,
        "high_assurance": c.high_assurance,
        "non_functional": !is_collection && c.entity_type == "GCSv5_endpoint",
        "owner_id": c.id,
        "owner_string": "emulator@globus.org",
        "username": "emulator",
        "organization": "Globus Emulator",
        "department": Value::Null,
        "description": Value::Null,
        "keywords": Value::Null,
        "contact_email": Value::Null,
        "contact_info": Value::Null,
        "info_link": Value::Null,
        "subscription_id": Value::Null,
        "gcs_manager_url": Value::Null,
        "gcs_version": "5.4.0",
        "host_endpoint_id": Value::Null,
        "mapped_collection_id": Value::Null,
        "is_globus_connect": false,
        "gcp_connected": Value::Null,
        "gcp_paused": Value::Null,
        "public": true,
        "activated": true,
        "expires_in": -1,
        "default_directory": "/~/",
        "force_encryption": false,
        "force_verify": false,
        "disable_verify": false,
        "acl_available": false,
        "local_user_info_available": true,
        "https_server": Value::Null,
        "myproxy_server": Value::Null,
        "oauth_server": Value::Null,
        "DATA": [],
    })
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(document(&access::find(&shared, &id)?)))
}

pub(crate) async fn search(
    State(shared): State<Arc<Shared>>,
    _caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let number = |key: &str, default: usize| -> Result<usize, ApiError> {
        q.get(key).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("`{key}` must be an integer")))
        })
    };
    let limit = number("limit", 25)?.min(100);
    let offset = number("offset", 0)?;
    if offset + limit > 1000 {
        return Err(ApiError::bad_request("offset + limit must be at most 1000"));
    }
    let text = q.get("filter_fulltext").map(|t| t.to_lowercase());
    let types: Vec<&str> = q
        .get("filter_entity_type")
        .map(|t| t.split(',').collect())
        .unwrap_or_default();
    let hits: Vec<&Collection> = shared
        .config
        .collections
        .iter()
        .filter(|c| {
            text.as_ref().is_none_or(|t| {
                c.display_name.to_lowercase().contains(t) || c.id.to_string().contains(t)
            })
        })
        .filter(|c| types.is_empty() || types.contains(&c.entity_type.as_str()))
        .collect();
    let page: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| document(c))
        .collect();
    Ok(Json(json!({
        "DATA_TYPE": "endpoint_list", "offset": offset, "limit": limit,
        "has_next_page": offset + page.len() < hits.len(), "DATA": page,
    })))
}
