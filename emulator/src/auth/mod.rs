//! Globus Auth: the `OAuth2` endpoints a native app and a confidential client use.

mod authorize;
mod client;
mod info;
mod issue;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::store::Shared;

pub(crate) use issue::{Grant, issue_tokens, principal_of_identity, record_consents};

/// Routes under `/v2/`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v2/oauth2/token", post(token::token))
        .route("/v2/oauth2/authorize", get(authorize::authorize))
        .route("/v2/web/auth-code", get(authorize::show_code))
        .route("/v2/oauth2/token/revoke", post(info::revoke))
        .route("/v2/oauth2/token/introspect", post(info::introspect))
        .route("/v2/oauth2/token/validate", post(info::validate))
        .route(
            "/v2/oauth2/userinfo",
            get(info::userinfo).post(info::userinfo),
        )
        .route("/v2/api/identities", get(info::identities))
}
