//! The Globus Auth and Transfer client.
//!
//! One [`GlobusClient`], built from explicit base URLs and credentials, serves every call; no
//! `reqwest` type leaves this module. Errors become [`ApiError`]s whose [`Action`] says what to
//! do (retry, log in with an exact command, not found, fail); retries follow the official
//! client's rules ([`retry`]). Tokens are [`secret`] newtypes that print as `****`.

pub mod auth;
pub mod client;
pub mod error;
pub mod limiter;
pub mod models;
pub mod retry;
pub mod scopes;
pub mod secret;
pub mod setup;
pub mod transfer;

pub use auth::{AuthorizeRequest, Pkce, SessionRequirements, TokenGrant, TokenResponse};
pub use client::{Credentials, GlobusClient, GlobusClientBuilder};
pub use error::{
    Action, ApiError, AuthorizationParameters, CollectionName, CollectionNames, CollectionRef,
    Error, LoginCommand, Service,
};
pub use limiter::RateLimiter;
pub use models::{
    CancelResult, Endpoint, Event, FileEntry, FileList, FilterMethod, FilterRule, FilterRuleTag,
    FilterType, MkdirResult, SubmissionId, SubmitCode, SubmitResult, SuccessfulTransfer, SyncLevel,
    Task, TaskId, TaskStatus, TransferDocument, TransferItem, UserInfo,
};
pub use retry::RetryPolicy;
pub use secret::{AccessToken, AuthCode, ClientSecret, CodeVerifier, RefreshToken};
pub use transfer::TaskQuery;

/// Results of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
