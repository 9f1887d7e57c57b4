//! Errors of the emulator itself, and the error bodies it answers API calls with.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Why the emulator could not start or be configured.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read emulator config `{}`: {source}; check the path given to --config", path.display())]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The configuration is not valid TOML or has unknown or mistyped keys.
    #[error("invalid emulator config{}: {message}", path.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default())]
    ParseConfig {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What the TOML parser said.
        message: String,
    },
    /// The configuration parses but makes no sense.
    #[error("invalid emulator config: {message}")]
    InvalidConfig {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on `{addr}`: {source}; choose another address with --listen")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The background runtime of a spawned emulator could not start.
    #[error("cannot start the emulator's runtime: {0}")]
    Runtime(std::io::Error),
    /// A control call named something that does not exist.
    #[error("{0}")]
    NotFound(String),
}

impl Error {
    /// The process exit code for this error (2: bad config or usage, 3: not found, 1: other).
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::ParseConfig { .. } | Self::InvalidConfig { .. } | Self::ReadConfig { .. } => 2,
            Self::NotFound(_) => 3,
            Self::Bind { .. } | Self::Runtime(_) => 1,
        }
    }
}

/// A Transfer error answer in the "type zero" shape: `{code, message, request_id, resource}`,
/// plus whatever extra top-level fields the code carries (`required_scopes`, `authorization_parameters`).
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Dotted error code.
    pub code: String,
    /// Human text.
    pub message: String,
    /// Extra top-level fields.
    pub extra: serde_json::Map<String, Value>,
    /// Seconds for a Retry-After header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with no extra fields.
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            extra: serde_json::Map::new(),
            retry_after: None,
        }
    }

    /// 400 `ClientError.BadRequest`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ClientError.BadRequest", message)
    }

    /// 401 for a missing, expired or revoked bearer token.
    pub(crate) fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "ClientError.AuthenticationFailed",
            message,
        )
    }

    /// Adds a top-level field.
    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// Renders the body for a request to `resource`.
    pub(crate) fn body(&self, resource: &str) -> Value {
        let mut body = json!({
            "code": self.code,
            "message": self.message,
            "request_id": request_id(),
            "resource": resource,
        });
        if let Value::Object(map) = &mut body {
            for (k, v) in &self.extra {
                map.insert(k.clone(), v.clone());
            }
        }
        body
    }

    /// The response for a request to `resource`.
    pub(crate) fn into_response_for(self, resource: &str) -> Response {
        let body = self.body(resource);
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}

/// Handlers return `ApiError` directly; the resource is filled in by the middleware that
/// knows the path, so the error carries it through an extension.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.clone().into_response_for("");
        response.extensions_mut().insert(PendingResource(self));
        response
    }
}

/// Marks a response whose body still needs the request path as `resource`.
#[derive(Clone)]
pub(crate) struct PendingResource(pub(crate) ApiError);

/// A request id in the nine-character style Transfer uses.
pub(crate) fn request_id() -> String {
    use rand::RngExt;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..9)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// An `OAuth2` (RFC 6749) token-endpoint error: `{"error": ..., "error_description": ...}`.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl OAuthError {
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description: description.into(),
        }
    }
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }
    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
        }
    }
    pub(crate) fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: description.into(),
        }
    }
    pub(crate) fn invalid_scope(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_scope",
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}
