//! May this caller use this collection? Existence, allowed identities, `data_access` consent
//! and session policies, answered with the errors Transfer gives.

use axum::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::caller::Caller;
use crate::config::Collection;
use crate::error::ApiError;
use crate::scope::data_access_requirement;
use crate::store::{Shared, Store};

/// Whether the check is for a synchronous file operation (ls/stat/mkdir) or a submission;
/// an unmet domain requirement is a 502 `LoginFailed` on the former, 403 on the latter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    Operation,
    Submission,
}

/// The configured collection, or 404.
pub(crate) fn find(shared: &Shared, id: &str) -> Result<Collection, ApiError> {
    Uuid::parse_str(id)
        .ok()
        .and_then(|id| shared.config.collections.iter().find(|c| c.id == id))
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "EndpointNotFound",
                format!("No such endpoint or collection with id '{id}'"),
            )
        })
}

/// 403 `ConsentRequired` for `data_access` on `collections`.
pub(crate) fn consent_error(collections: &[Uuid]) -> ApiError {
    let scope = data_access_requirement(collections);
    let message = "Missing required data_access consent";
    ApiError::new(StatusCode::FORBIDDEN, "ConsentRequired", message)
        .with("required_scopes", json!([scope]))
        .with(
            "authorization_parameters",
            json!({"required_scopes": [scope], "session_message": message}),
        )
}

/// Checks everything but consent, which is checked for all collections at once.
fn check_one(caller: &Caller, c: &Collection, usage: Use) -> Result<(), ApiError> {
    if !c.allows(caller.principal.id, &caller.principal.username) {
        let code = match usage {
            Use::Operation => "EndpointPermissionDenied",
            Use::Submission => "PermissionDenied",
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code,
            format!(
                "Identity '{}' is not allowed to access collection '{}'",
                caller.principal.username, c.display_name
            ),
        ));
    }
    let missing_policies: Vec<&str> = c
        .required_policies
        .iter()
        .filter(|p| !caller.session.policies.contains(p))
        .map(String::as_str)
        .collect();
    if !missing_policies.is_empty() || (c.require_mfa && !caller.session.mfa) {
        let message = "Failing collection authentication policy";
        let mut params = json!({"session_message": message});
        if !missing_policies.is_empty() {
            params["session_required_policies"] = json!(missing_policies.join(","));
        }
        if c.require_mfa && !caller.session.mfa {
            params["session_required_mfa"] = json!(true);
        }
        return Err(
            ApiError::new(StatusCode::FORBIDDEN, "AuthPolicyFailed", message)
                .with("authorization_parameters", params),
        );
    }
    if let Some(domain) = &c.required_domain
        && !caller
            .session
            .domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    {
        let params = json!({
            "session_message": format!("Collection '{}' requires a session in domain '{domain}'", c.display_name),
            "session_required_single_domain": [domain],
        });
        return Err(match usage {
            Use::Operation => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "ExternalError.DirListingFailed.LoginFailed",
                format!(
                    "Command Failed: Error (login)\nEndpoint: {} ({})\nMessage: Login Failed\n---\nDetails: 530-Login incorrect. : GlobusError: v=1 c=LOGIN_DENIED\n530-GridFTP-Message: {{\"authorization_parameters\": {}}}\n",
                    c.display_name, c.id, json!({"session_required_single_domain": [domain]})
                ),
            ),
            Use::Submission => ApiError::new(
                StatusCode::FORBIDDEN,
                "AuthPolicyFailed",
                format!("Collection '{}' requires a session in domain '{domain}'", c.display_name),
            ),
        }
        .with("authorization_parameters", params));
    }
    Ok(())
}

/// Checks the caller may use every collection in `collections`.
pub(crate) fn check(
    store: &Store,
    caller: &Caller,
    collections: &[&Collection],
    usage: Use,
) -> Result<(), ApiError> {
    for c in collections {
        check_one(caller, c, usage)?;
    }
    let mut missing: Vec<Uuid> = Vec::new();
    for c in collections {
        if c.needs_data_access()
            && !store
                .consents
                .contains(&(caller.principal.id, caller.client_id, c.id))
            && !missing.contains(&c.id)
        {
            missing.push(c.id);
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(consent_error(&missing))
    }
}
