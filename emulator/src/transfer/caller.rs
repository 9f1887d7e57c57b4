//! The identity behind a Transfer call, from its bearer token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::ApiError;
use crate::scope::TRANSFER_RS;
use crate::store::{Principal, Session, Shared};

/// An authenticated Transfer caller.
pub(crate) struct Caller {
    pub(crate) principal: Principal,
    pub(crate) client_id: Uuid,
    pub(crate) session: Session,
}

impl FromRequestParts<Arc<Shared>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .ok_or_else(|| ApiError::unauthenticated("No Authentication provided."))?;
        let store = shared.store();
        let record = store
            .access_tokens
            .get(&token)
            .ok_or_else(|| ApiError::unauthenticated("Token is not active"))?;
        if !record.is_active() {
            return Err(ApiError::unauthenticated("Token is not active"));
        }
        if record.resource_server != TRANSFER_RS {
            return Err(ApiError::unauthenticated(
                "Token is not valid for the Transfer service",
            ));
        }
        Ok(Self {
            principal: record.principal.clone(),
            client_id: record.client_id,
            session: record.session.clone(),
        })
    }
}
