//! Globus error answers, read in one place, and what the user should do about each.
//!
//! Every non-2xx answer from Auth or Transfer becomes an [`ApiError`] through
//! [`ApiError::from_response`]; nothing else looks at error bodies. The body variants handled are
//! those of the API reference: Transfer's `{code, message, request_id, resource}`, consent and
//! session errors with `authorization_parameters` (lists or comma-joined strings), legacy
//! top-level `required_scopes`/`required_scope`, Auth's JSON:API `errors` list, RFC 6749
//! `{"error": "invalid_grant"}` and bodies that are not JSON at all.
//! [`ApiError::action`] turns one into what the caller does next, and consent or session
//! problems carry the exact `gstage login …` command that fixes them.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::scopes;

/// Which Globus service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Globus Auth (`/v2/...`).
    Auth,
    /// Globus Transfer (`/v0.10/...`).
    Transfer,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Auth => "globus auth",
            Service::Transfer => "globus transfer",
        })
    }
}

/// How a collection is called, so messages say "Alliance Cedar" instead of a bare UUID and the
/// fix uses the alias the user wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionName {
    /// The config alias (`cedar`), used in the suggested `gstage login --collection` command.
    pub alias: Option<String>,
    /// The collection's display name, used in messages.
    pub display_name: Option<String>,
}

/// Names of known collections by (lowercase) id.
pub type CollectionNames = HashMap<String, CollectionName>;

/// A collection an error is about, with whatever names are known for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionRef {
    /// The collection UUID.
    pub id: String,
    /// Alias and display name, when known.
    pub name: CollectionName,
}

impl CollectionRef {
    /// What to pass to `--collection`: the alias when there is one, else the id.
    pub fn argument(&self) -> &str {
        self.name.alias.as_deref().unwrap_or(&self.id)
    }
}

impl fmt::Display for CollectionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name.display_name, &self.name.alias) {
            (Some(d), _) => write!(f, "`{d}` ({})", self.id),
            (None, Some(a)) => write!(f, "`{a}` ({})", self.id),
            (None, None) => write!(f, "`{}`", self.id),
        }
    }
}

/// What Globus asks for before it will answer: consents and session requirements, normalised
/// from every body variant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationParameters {
    /// Text Globus wants shown to the user.
    pub session_message: Option<String>,
    /// Scopes that need consent (with their dependent `data_access` scopes).
    pub required_scopes: Vec<String>,
    /// Identities (ids or usernames) that must be in the session.
    pub session_required_identities: Vec<String>,
    /// Domains one of whose identities must have logged in recently.
    pub session_required_single_domain: Vec<String>,
    /// Authentication policies the session must satisfy.
    pub session_required_policies: Vec<String>,
    /// Whether the session must include multi-factor authentication.
    pub session_required_mfa: bool,
}

impl AuthorizationParameters {
    /// Whether a new login session (not only a consent) is needed.
    pub fn needs_session(&self) -> bool {
        !self.session_required_identities.is_empty()
            || !self.session_required_single_domain.is_empty()
            || !self.session_required_policies.is_empty()
            || self.session_required_mfa
    }

    /// Collections whose `data_access` consent is asked for.
    pub fn consent_collections(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for scope in &self.required_scopes {
            for id in scopes::data_access_collections(scope) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }
}

/// The `gstage login …` command that satisfies an error's requirements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginCommand {
    /// `--collection` arguments (aliases or ids).
    pub collections: Vec<String>,
    /// `--domain` arguments.
    pub domains: Vec<String>,
    /// `--identity` arguments.
    pub identities: Vec<String>,
    /// `--policy` arguments.
    pub policies: Vec<String>,
    /// `--mfa`.
    pub mfa: bool,
}

impl fmt::Display for LoginCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("gstage login")?;
        for (flag, values) in [
            ("--collection", &self.collections),
            ("--domain", &self.domains),
            ("--identity", &self.identities),
            ("--policy", &self.policies),
        ] {
            for v in values {
                write!(f, " {flag} {}", shell_word(v))?;
            }
        }
        if self.mfa {
            f.write_str(" --mfa")?;
        }
        Ok(())
    }
}

/// Quotes a value for a POSIX shell when it holds anything beyond plain word characters.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@:/+=,".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What the caller does next about an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A transient failure: try again after a backoff.
    Retry,
    /// The user must log in (again), with this exact command; exit 4.
    Relogin {
        /// The command to run, e.g. `gstage login --collection cedar`.
        command: String,
    },
    /// The thing asked about does not exist (or is not visible to this identity); exit 3.
    NotFound,
    /// Anything else: report and stop; exit 1.
    Fail,
}

/// A Globus error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Which service answered.
    pub service: Service,
    /// The HTTP status.
    pub http_status: u16,
    /// Globus' error code (`ConsentRequired`, `ClientError.NotFound`, `invalid_grant`…).
    pub code: String,
    /// Globus' message, or a summary when the body had none.
    pub message: String,
    /// Globus' request id, for support tickets.
    pub request_id: Option<String>,
    /// The resource path Globus reports (informational only: its form varies).
    pub resource: Option<String>,
    /// The RFC 6749 `error` field of an OAuth answer (`invalid_grant`…).
    pub oauth_error: Option<String>,
    /// Consent or session requirements, when Globus asked for any.
    pub authorization: Option<AuthorizationParameters>,
    /// `Retry-After`, honoured for 429 and 503 only.
    pub retry_after: Option<Duration>,
    /// Collections the failed request was about, with their names.
    pub collections: Vec<CollectionRef>,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A list of strings that Globus sends either as a JSON list or as one comma-joined string.
fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
        Some(Value::Number(n)) => n.as_u64().is_some_and(|n| n != 0),
        _ => false,
    }
}

fn push_unique(into: &mut Vec<String>, more: Vec<String>) {
    for m in more {
        if !into.contains(&m) {
            into.push(m);
        }
    }
}

/// A short, single-line, printable summary of a body that is not JSON.
fn summarize_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(160)
        .collect();
    line
}

fn status_reason(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not found",
        409 => "conflict",
        429 => "too many requests",
        500 => "internal server error",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timeout",
        _ => "unexpected status (check that the configured service URL points at Globus)",
    }
}

impl ApiError {
    /// Reads an error answer. Never fails: any body, JSON or not, gives an error that says what
    /// is known. `retry_after` is the raw `Retry-After` header, if any.
    pub fn from_response(
        service: Service,
        http_status: u16,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> ApiError {
        let mut err = ApiError {
            service,
            http_status,
            code: String::new(),
            message: String::new(),
            request_id: None,
            resource: None,
            oauth_error: None,
            authorization: None,
            retry_after: None,
            collections: Vec::new(),
        };
        if matches!(http_status, 429 | 503) {
            err.retry_after = retry_after
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Duration::from_secs_f64(s.min(86_400.0)));
        }
        let json: Option<Value> = serde_json::from_slice(body).ok();
        match json {
            Some(v) if v.is_object() => err.read_json(&v),
            _ => {
                err.code = format!("HTTP{http_status}");
                let text = summarize_text(body);
                err.message = if text.is_empty() {
                    status_reason(http_status).to_string()
                } else {
                    format!("{} ({text})", status_reason(http_status))
                };
            }
        }
        if err.code.is_empty() {
            err.code = format!("HTTP{http_status}");
        }
        if err.message.is_empty() {
            err.message = status_reason(http_status).to_string();
        }
        err
    }

    fn read_json(&mut self, v: &Value) {
        let first = v
            .get("errors")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
            .filter(|e| e.is_object());
        self.oauth_error = str_field(v, "error").map(str::to_string);
        self.code = str_field(v, "code")
            .or_else(|| first.and_then(|e| str_field(e, "code")))
            .or(self.oauth_error.as_deref())
            .unwrap_or_default()
            .to_string();
        self.message = str_field(v, "message")
            .or_else(|| first.and_then(|e| str_field(e, "detail")))
            .or_else(|| first.and_then(|e| str_field(e, "title")))
            .or_else(|| str_field(v, "error_description"))
            .unwrap_or_default()
            .to_string();
        self.request_id = str_field(v, "request_id")
            .or_else(|| first.and_then(|e| str_field(e, "id")))
            .map(str::to_string);
        self.resource = str_field(v, "resource").map(str::to_string);

        let mut params = AuthorizationParameters::default();
        let mut present = false;
        for source in [Some(v), first, v.get("authorization_parameters")]
            .into_iter()
            .flatten()
        {
            let Some(obj) = source.as_object() else {
                continue;
            };
            push_unique(
                &mut params.required_scopes,
                string_list(obj.get("required_scopes")),
            );
            push_unique(
                &mut params.required_scopes,
                string_list(obj.get("required_scope")),
            );
            push_unique(
                &mut params.required_scopes,
                string_list(obj.get("unapproved_scopes")),
            );
        }
        if let Some(ap) = v.get("authorization_parameters").filter(|a| a.is_object()) {
            present = true;
            params.session_message = str_field(ap, "session_message").map(str::to_string);
            params.session_required_identities = string_list(ap.get("session_required_identities"));
            params.session_required_single_domain =
                string_list(ap.get("session_required_single_domain"));
            params.session_required_policies = string_list(ap.get("session_required_policies"));
            params.session_required_mfa = truthy(ap.get("session_required_mfa"));
        }
        let consent = self.code == "ConsentRequired"
            || self.code.eq_ignore_ascii_case("dependent_consent_required");
        if present || consent {
            self.authorization = Some(params);
        }
    }

    /// Adds the collections the request was about, plus those named by required scopes, with
    /// the names known for them.
    pub fn with_collections(mut self, context: &[String], names: &CollectionNames) -> ApiError {
        let mut ids: Vec<String> = self
            .authorization
            .as_ref()
            .map(AuthorizationParameters::consent_collections)
            .unwrap_or_default();
        push_unique(&mut ids, context.to_vec());
        for id in ids {
            if self.collections.iter().any(|c| c.id == id) {
                continue;
            }
            let name = names
                .get(&id.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            self.collections.push(CollectionRef { id, name });
        }
        self
    }

    /// Whether the refresh or code grant was refused because the token or code is no longer
    /// valid: the user must log in again. Real Auth may answer 400 or 401 for it.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self.http_status, 400 | 401)
            && self.oauth_error.as_deref() == Some("invalid_grant")
    }

    /// Whether trying the same request again may succeed: 429, 500, 502, 503 and 504, except a
    /// 5xx whose code names an endpoint-side problem (`ExternalError…`, `EndpointError…`) and
    /// any answer asking for consent or a new session.
    pub fn is_transient(&self) -> bool {
        if self.authorization.is_some() {
            return false;
        }
        match self.http_status {
            429 => true,
            500 | 502 | 503 | 504 => {
                !(self.code.contains("ExternalError") || self.code.contains("EndpointError"))
            }
            _ => false,
        }
    }

    /// The `gstage login …` command that satisfies this error, when logging in can fix it.
    pub fn login_command(&self) -> Option<LoginCommand> {
        if let Some(p) = &self.authorization {
            let consent = p.consent_collections();
            let collections = self
                .collections
                .iter()
                .filter(|c| consent.contains(&c.id))
                .map(|c| c.argument().to_string())
                .collect();
            return Some(LoginCommand {
                collections,
                domains: p.session_required_single_domain.clone(),
                identities: p.session_required_identities.clone(),
                policies: p.session_required_policies.clone(),
                mfa: p.session_required_mfa,
            });
        }
        if self.is_invalid_grant() || self.http_status == 401 {
            return Some(LoginCommand::default());
        }
        None
    }

    /// What to do about this error.
    pub fn action(&self) -> Action {
        if let Some(cmd) = self.login_command() {
            return Action::Relogin {
                command: cmd.to_string(),
            };
        }
        if self.http_status == 404 {
            return Action::NotFound;
        }
        if self.is_transient() {
            return Action::Retry;
        }
        Action::Fail
    }

    /// The process exit code for this error (DESIGN: 3 not found, 4 login needed, else 1).
    pub fn exit_code(&self) -> i32 {
        match self.action() {
            Action::Relogin { .. } => 4,
            Action::NotFound => 3,
            Action::Retry | Action::Fail => 1,
        }
    }

    fn collections_text(&self, only: Option<&[String]>) -> String {
        let list: Vec<String> = self
            .collections
            .iter()
            .filter(|c| only.is_none_or(|ids| ids.contains(&c.id)))
            .map(ToString::to_string)
            .collect();
        list.join(", ")
    }

    fn detail(&self) -> String {
        let mut s = format!("{} `{}`: {}", self.http_status, self.code, self.message);
        if let Some(id) = &self.request_id {
            s.push_str(&format!(", request id `{id}`"));
        }
        s
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.authorization {
            let command = self.login_command().unwrap_or_default();
            let consent = p.consent_collections();
            if p.needs_session() {
                let on = self.collections_text(None);
                if on.is_empty() {
                    write!(f, "{} requires a new login session", self.service)?;
                } else {
                    write!(f, "collection {on} requires a new login session")?;
                }
                let mut needs = Vec::new();
                if !p.session_required_single_domain.is_empty() {
                    needs.push(format!(
                        "an identity from `{}`",
                        p.session_required_single_domain.join("` or `")
                    ));
                }
                if !p.session_required_identities.is_empty() {
                    needs.push(format!(
                        "identity `{}`",
                        p.session_required_identities.join("`, `")
                    ));
                }
                if !p.session_required_policies.is_empty() {
                    needs.push(format!(
                        "authentication policy `{}`",
                        p.session_required_policies.join("`, `")
                    ));
                }
                if p.session_required_mfa {
                    needs.push("multi-factor authentication".to_string());
                }
                if !needs.is_empty() {
                    write!(f, " with {}", needs.join(" and "))?;
                }
            } else if !consent.is_empty() {
                write!(
                    f,
                    "globus needs your consent to access collection {}",
                    self.collections_text(Some(&consent))
                )?;
            } else {
                write!(f, "{} needs a new consent", self.service)?;
            }
            return write!(
                f,
                " ({}); a batch job cannot do this, so log in interactively with `{command}`",
                self.detail()
            );
        }
        if self.is_invalid_grant() {
            return write!(
                f,
                "your globus login has expired or was revoked ({}); log in again with `gstage login`",
                self.detail()
            );
        }
        if self.http_status == 401 {
            return write!(
                f,
                "{} refused the access token ({}); log in again with `gstage login`",
                self.service,
                self.detail()
            );
        }
        let on = self.collections_text(None);
        if self.http_status == 404 {
            if on.is_empty() {
                return write!(f, "not found: {} answered {}", self.service, self.detail());
            }
            return write!(
                f,
                "not found on collection {on}: {} answered {}; check the collection id and path",
                self.service,
                self.detail()
            );
        }
        if on.is_empty() {
            write!(f, "{} answered {}", self.service, self.detail())
        } else {
            write!(
                f,
                "{} answered {} for collection {on}",
                self.service,
                self.detail()
            )
        }
    }
}

impl std::error::Error for ApiError {}

/// Everything that can go wrong talking to Globus.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Globus answered with an error.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The service could not be reached, or the connection broke or timed out.
    #[error(
        "cannot reach {service} at `{base}`: {source}; check the network, the proxy settings (`HTTPS_PROXY`, `NO_PROXY`) and the configured service URL"
    )]
    Network {
        /// Which service.
        service: Service,
        /// Its base URL.
        base: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// No complete answer came within the request timeout (a stalled or trickling answer).
    #[error(
        "no complete answer from {service} at `{base}` within {secs}s (timed out); check the network and the proxy settings, or raise `timeout_secs` under `[globus]` in the config"
    )]
    TimedOut {
        /// Which service.
        service: Service,
        /// Its base URL.
        base: String,
        /// The request timeout, in seconds.
        secs: u64,
    },
    /// A transient failure outlasted the retry budget.
    #[error("{last} (failed after {retries} retries in {:.1}s)", elapsed.as_secs_f64())]
    RetriesExhausted {
        /// Retries made after the first attempt.
        retries: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last failure.
        last: Box<Error>,
    },
    /// A 2xx answer did not have the expected shape.
    #[error(
        "unexpected answer from {service} to `{what}`: {detail}; check that the configured service URL points at Globus"
    )]
    Decode {
        /// Which service.
        service: Service,
        /// The request path.
        what: String,
        /// What was wrong (without the body: it may hold tokens).
        detail: String,
    },
    /// An answer was larger than any Globus answer gstage asks for.
    #[error(
        "the answer from {service} to `{what}` is larger than {limit_mib} MiB and was refused; check that the configured service URL points at Globus and not at a proxy or portal page"
    )]
    TooLarge {
        /// Which service.
        service: Service,
        /// The request path.
        what: String,
        /// The limit, in MiB.
        limit_mib: usize,
    },
    /// The service answered with a redirect, which is never followed (the credentials would
    /// go with it).
    #[error(
        "{service} answered {status} with a redirect to {to}, which gstage does not follow so that your credentials stay with Globus; check that the configured service URL is Globus's own address"
    )]
    Redirected {
        /// Which service.
        service: Service,
        /// The HTTP status.
        status: u16,
        /// Where it pointed (origin only), already quoted.
        to: String,
    },
    /// There is no stored login and no client credentials.
    #[error("not logged in to globus (no token store at `{path}`); run `gstage login`")]
    NotLoggedIn {
        /// The store looked at.
        path: std::path::PathBuf,
    },
    /// The stored login lacks what is needed (a token for a service, a refresh token).
    #[error("the stored globus login has no {what}; log in again with `gstage login`")]
    IncompleteLogin {
        /// What is missing.
        what: String,
    },
    /// No credentials were given for a call that needs them.
    #[error(
        "no globus credentials: run `gstage login`, or set both `GSTAGE_CLIENT_ID` and `GSTAGE_CLIENT_SECRET` for a service identity"
    )]
    NoCredentials,
    /// Only one of the client credential variables is set.
    #[error(
        "`{set}` is set but `{missing}` is not; set both for a service identity, or neither to use `gstage login`"
    )]
    HalfClientCredentials {
        /// The variable that is set.
        set: &'static str,
        /// The one that is missing.
        missing: &'static str,
    },
    /// No native app client id is configured.
    #[error(
        "no globus client id is configured; set `client_id` under `[globus]` in the site config"
    )]
    MissingClientId,
    /// A configured URL is not a valid base URL.
    #[error(
        "the globus service URL `{url}` is not valid: {reason}; fix it in the config or in `{var}`"
    )]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
        /// The environment variable that overrides it.
        var: &'static str,
    },
    /// A value cannot be used in a Transfer filter.
    #[error("cannot search Transfer for `{value}`: {reason}")]
    BadFilter {
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The HTTP client could not be set up (TLS roots, proxy settings).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(reqwest::Error),
    /// The token store failed.
    #[error(transparent)]
    Tokens(#[from] crate::tokens::Error),
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl Error {
    /// What to do about it.
    pub fn action(&self) -> Action {
        match self {
            Error::Api(e) => e.action(),
            Error::RetriesExhausted { last, .. } => match last.action() {
                Action::Retry => Action::Fail,
                other => other,
            },
            Error::NotLoggedIn { .. } | Error::IncompleteLogin { .. } | Error::NoCredentials => {
                Action::Relogin {
                    command: LoginCommand::default().to_string(),
                }
            }
            Error::Tokens(crate::tokens::Error::Corrupt { .. }) => Action::Relogin {
                command: LoginCommand::default().to_string(),
            },
            Error::Network { .. } | Error::TimedOut { .. } => Action::Retry,
            _ => Action::Fail,
        }
    }

    /// The API error inside, if Globus answered.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::RetriesExhausted { last, .. } => last.api(),
            _ => None,
        }
    }

    /// The process exit code (DESIGN: 3 not found, 4 login needed, else 1).
    pub fn exit_code(&self) -> i32 {
        match self.action() {
            Action::Relogin { .. } => 4,
            Action::NotFound => 3,
            Action::Retry | Action::Fail => match self {
                Error::Tokens(e) => e.exit_code(),
                _ => 1,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLL: &str = "6c1f5f54-8d4e-4c3b-9f4a-1b2c3d4e5f60";

    fn parse(status: u16, body: &str) -> ApiError {
        ApiError::from_response(Service::Transfer, status, None, body.as_bytes())
    }

    fn names() -> CollectionNames {
        let mut n = CollectionNames::new();
        n.insert(
            COLL.to_string(),
            CollectionName {
                alias: Some("cedar".into()),
                display_name: Some("Alliance Cedar".into()),
            },
        );
        n
    }

    #[test]
    fn transfer_type_zero_body() {
        let e = parse(
            404,
            r#"{"code":"TaskNotFound","message":"Task 1 not found","request_id":"abc123XYZ","resource":"/task/1"}"#,
        );
        assert_eq!(e.code, "TaskNotFound");
        assert_eq!(e.message, "Task 1 not found");
        assert_eq!(e.request_id.as_deref(), Some("abc123XYZ"));
        assert_eq!(e.resource.as_deref(), Some("/task/1"));
        assert_eq!(e.action(), Action::NotFound);
        assert_eq!(e.exit_code(), 3);
    }

    #[test]
    fn consent_required_names_the_collection_and_the_command() {
        let scope = format!(
            "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/{COLL}/data_access]"
        );
        let body = serde_json::json!({
            "authorization_parameters": {"required_scopes": [scope], "session_message": "Missing required data_access consent"},
            "code": "ConsentRequired", "message": "Missing required data_access consent",
            "request_id": "m8RfX3cES", "required_scopes": [scope],
            "resource": format!("/operation/endpoint/{COLL}/ls")
        });
        let e = parse(403, &body.to_string()).with_collections(&[], &names());
        assert_eq!(
            e.action(),
            Action::Relogin {
                command: "gstage login --collection cedar".into()
            }
        );
        assert_eq!(e.exit_code(), 4);
        let msg = e.to_string();
        assert!(msg.contains("`Alliance Cedar`"), "{msg}");
        assert!(msg.contains("`gstage login --collection cedar`"), "{msg}");

        let unnamed = parse(403, &body.to_string()).with_collections(&[], &CollectionNames::new());
        assert_eq!(
            unnamed.login_command().unwrap().to_string(),
            format!("gstage login --collection {COLL}")
        );
    }

    #[test]
    fn legacy_singular_required_scope() {
        let body = format!(
            r#"{{"code":"ConsentRequired","message":"m","required_scope":"https://auth.globus.org/scopes/{COLL}/data_access"}}"#
        );
        let e = parse(403, &body).with_collections(&[], &CollectionNames::new());
        assert_eq!(
            e.login_command().unwrap().collections,
            vec![COLL.to_string()]
        );
    }

    #[test]
    fn auth_policy_failed_with_comma_joined_policies() {
        let e = parse(
            403,
            r#"{"authorization_parameters":{"session_message":"Failing collection authentication policy","session_required_policies":"p1, p2"},
                "code":"AuthPolicyFailed","message":"Failing collection authentication policy","request_id":"MSbPbMR9n","resource":"/operation/endpoint/x/ls"}"#,
        );
        let p = e.authorization.clone().unwrap();
        assert_eq!(p.session_required_policies, ["p1", "p2"]);
        assert_eq!(
            e.action(),
            Action::Relogin {
                command: "gstage login --policy p1 --policy p2".into()
            }
        );
        assert!(!e.is_transient());
    }

    #[test]
    fn login_failed_502_with_domain_is_not_retried() {
        let e = parse(
            502,
            r#"{"code":"ExternalError.DirListingFailed.LoginFailed","message":"Login failed","request_id":"r1",
                "authorization_parameters":{"session_required_single_domain":["umanitoba.ca"]}}"#,
        )
        .with_collections(&[COLL.to_string()], &names());
        assert!(!e.is_transient());
        assert_eq!(
            e.action(),
            Action::Relogin {
                command: "gstage login --domain umanitoba.ca".into()
            }
        );
        let msg = e.to_string();
        assert!(msg.contains("collection `Alliance Cedar`"), "{msg}");
        assert!(msg.contains("an identity from `umanitoba.ca`"), "{msg}");
    }

    #[test]
    fn domains_as_comma_string_identities_and_mfa() {
        let e = parse(
            403,
            r#"{"code":"AuthorizationRequired","message":"m","authorization_parameters":{
                "session_required_single_domain":"a.ca,b.ca","session_required_identities":["alice@a.ca"],
                "session_required_mfa":true}}"#,
        );
        assert_eq!(
            e.login_command().unwrap().to_string(),
            "gstage login --domain a.ca --domain b.ca --identity alice@a.ca --mfa"
        );
        let mfa_as_text = parse(
            403,
            r#"{"code":"X","authorization_parameters":{"session_required_mfa":"True"}}"#,
        );
        assert!(mfa_as_text.authorization.unwrap().session_required_mfa);
    }

    #[test]
    fn oauth_invalid_grant_at_400_and_401() {
        for status in [400, 401] {
            let e = ApiError::from_response(
                Service::Auth,
                status,
                None,
                br#"{"error":"invalid_grant","error_description":"refresh token revoked"}"#,
            );
            assert!(e.is_invalid_grant());
            assert_eq!(e.code, "invalid_grant");
            assert_eq!(e.message, "refresh token revoked");
            assert_eq!(
                e.action(),
                Action::Relogin {
                    command: "gstage login".into()
                }
            );
            assert!(e.to_string().contains("log in again with `gstage login`"));
        }
        let other =
            ApiError::from_response(Service::Auth, 400, None, br#"{"error":"invalid_client"}"#);
        assert!(!other.is_invalid_grant());
        assert_eq!(other.action(), Action::Fail);
    }

    #[test]
    fn auth_json_api_errors() {
        let e = ApiError::from_response(
            Service::Auth,
            401,
            None,
            br#"{"errors":[{"status":"401","id":"5f2d","code":"UNAUTHORIZED","detail":"Call must be authenticated","title":"Unauthorized"}],
                "error_description":"Unauthorized","error":"unauthorized"}"#,
        );
        assert_eq!(e.code, "UNAUTHORIZED");
        assert_eq!(e.message, "Call must be authenticated");
        assert_eq!(e.request_id.as_deref(), Some("5f2d"));
        assert_eq!(e.exit_code(), 4);
    }

    #[test]
    fn auth_dependent_consent_required() {
        let body = format!(
            r#"{{"errors":[{{"code":"dependent_consent_required","detail":"d","unapproved_scopes":["https://auth.globus.org/scopes/{COLL}/data_access"]}}],"error":"dependent_consent_required"}}"#
        );
        let e = ApiError::from_response(Service::Auth, 403, None, body.as_bytes())
            .with_collections(&[], &names());
        assert_eq!(
            e.login_command().unwrap().to_string(),
            "gstage login --collection cedar"
        );
    }

    #[test]
    fn non_json_and_odd_bodies_never_panic() {
        let e = parse(502, "<html><body>Bad Gateway</body></html>");
        assert_eq!(e.code, "HTTP502");
        assert!(e.message.contains("Bad Gateway"));
        assert!(e.is_transient());
        for body in [
            "",
            "null",
            "[]",
            "42",
            r#"{"code": 5, "message": []}"#,
            r#"{"authorization_parameters": "x"}"#,
            r#"{"errors": "x"}"#,
            r#"{"errors": [1]}"#,
            "\u{0}\u{1}binary",
        ] {
            let e = parse(500, body);
            assert!(!e.code.is_empty() && !e.message.is_empty());
            let _ = e.to_string();
        }
    }

    #[test]
    fn transient_statuses_and_their_exceptions() {
        for s in [429, 500, 502, 503, 504] {
            assert!(
                parse(s, r#"{"code":"ServiceUnavailable","message":"m"}"#).is_transient(),
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 409, 501] {
            assert!(
                !parse(s, r#"{"code":"X","message":"m"}"#).is_transient(),
                "{s}"
            );
        }
        assert!(
            !parse(
                502,
                r#"{"code":"ExternalError.DirListingFailed.GCDisconnected"}"#
            )
            .is_transient()
        );
        assert!(!parse(500, r#"{"code":"EndpointError"}"#).is_transient());
        assert!(parse(429, r#"{"code":"ExternalError"}"#).is_transient());
    }

    #[test]
    fn retry_after_only_for_429_and_503() {
        let b = br#"{"code":"X"}"#;
        let e = ApiError::from_response(Service::Transfer, 429, Some("3"), b);
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        let e = ApiError::from_response(Service::Transfer, 503, Some(" 1.5 "), b);
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
        let e = ApiError::from_response(Service::Transfer, 500, Some("3"), b);
        assert_eq!(e.retry_after, None);
        let e = ApiError::from_response(
            Service::Transfer,
            429,
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            b,
        );
        assert_eq!(e.retry_after, None);
        let e = ApiError::from_response(Service::Transfer, 429, Some("-1"), b);
        assert_eq!(e.retry_after, None);
    }

    #[test]
    fn values_with_odd_characters_are_quoted_in_the_command() {
        let cmd = LoginCommand {
            identities: vec!["o'brien x".into()],
            ..LoginCommand::default()
        };
        assert_eq!(cmd.to_string(), r"gstage login --identity 'o'\''brien x'");
    }
}
