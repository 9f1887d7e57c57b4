//! The one HTTP client for Globus Auth and Transfer: base URLs, credentials, retries.
//!
//! Every request goes through [`GlobusClient::call`], which adds the bearer token (refreshing it
//! under the token store's lock when it is within a minute of expiry), sends, reads error answers
//! into [`ApiError`]s, retries transient failures under one [`RetryPolicy`], and on a 401
//! refreshes the token once and retries once.
//!
//! Proxies: the `HTTP(S)_PROXY`/`NO_PROXY` environment is honoured (compute and login nodes
//! often reach Globus only through a proxy), except when every base URL is a loopback address
//! (an emulator): no proxy can reach the local host's loopback interface, and an inherited
//! proxy setting would otherwise break those calls.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use super::error::{ApiError, CollectionNames, Error, Service};
use super::retry::{RetryPolicy, RetryState, Retryable};
use super::scopes::{self, AUTH_RESOURCE_SERVER, TRANSFER_RESOURCE_SERVER};
use super::secret::{AccessToken, ClientSecret};
use crate::config::{DEFAULT_AUTH_URL, DEFAULT_TRANSFER_URL};
use crate::env::{GSTAGE_AUTH_URL, GSTAGE_CLIENT_ID, GSTAGE_CLIENT_SECRET, GSTAGE_TRANSFER_URL};
use crate::tokens::{EXPIRY_MARGIN_SECS, StoredToken, TokenStore};

/// Who the client acts as.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Nobody: only calls that need no token (code exchange, native revocation).
    None,
    /// A fixed Transfer/Auth access token that cannot be refreshed.
    AccessToken(AccessToken),
    /// A confidential client (service identity) using the client credentials grant; its
    /// access tokens are kept in memory only.
    Client {
        /// The client id.
        id: String,
        /// The client secret.
        secret: ClientSecret,
    },
    /// The user's login in a token store, refreshed under the store's lock.
    Store(TokenStore),
}

impl Credentials {
    /// Client credentials from `GSTAGE_CLIENT_ID` and `GSTAGE_CLIENT_SECRET`, when both are
    /// set; an error when only one is.
    pub fn from_env() -> Result<Option<Credentials>, Error> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (get(GSTAGE_CLIENT_ID), get(GSTAGE_CLIENT_SECRET)) {
            (Some(id), Some(secret)) => Ok(Some(Credentials::Client {
                id,
                secret: ClientSecret::new(secret),
            })),
            (Some(_), None) => Err(Error::HalfClientCredentials {
                set: GSTAGE_CLIENT_ID,
                missing: GSTAGE_CLIENT_SECRET,
            }),
            (None, Some(_)) => Err(Error::HalfClientCredentials {
                set: GSTAGE_CLIENT_SECRET,
                missing: GSTAGE_CLIENT_ID,
            }),
            (None, None) => Ok(None),
        }
    }

    /// Client credentials from the environment, else the user's default token store.
    pub fn discover() -> Result<Credentials, Error> {
        match Credentials::from_env()? {
            Some(c) => Ok(c),
            None => Ok(Credentials::Store(TokenStore::default_location()?)),
        }
    }

    fn can_renew(&self) -> bool {
        matches!(self, Credentials::Client { .. } | Credentials::Store(_))
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// No credentials.
    None,
    /// A bearer token for this resource server.
    Bearer(&'static str),
    /// HTTP Basic with the confidential client's id and secret.
    Basic,
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// None.
    Empty,
    /// JSON.
    Json(serde_json::Value),
    /// A form (token grants); values may be secrets and are never logged.
    Form(Vec<(&'static str, String)>),
}

/// One API call, resent as is on retries.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) service: Service,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Body,
    pub(crate) auth: Auth,
    /// Collections the call is about, to name them in errors.
    pub(crate) collections: Vec<String>,
}

impl Call {
    pub(crate) fn new(service: Service, method: Method, path: impl Into<String>) -> Call {
        let auth = match service {
            Service::Transfer => Auth::Bearer(TRANSFER_RESOURCE_SERVER),
            Service::Auth => Auth::Bearer(AUTH_RESOURCE_SERVER),
        };
        Call {
            service,
            method,
            path: path.into(),
            query: Vec::new(),
            body: Body::Empty,
            auth,
            collections: Vec::new(),
        }
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Call {
        self.query.push((key, value.into()));
        self
    }

    pub(crate) fn json(mut self, body: serde_json::Value) -> Call {
        self.body = Body::Json(body);
        self
    }

    pub(crate) fn form(mut self, form: Vec<(&'static str, String)>) -> Call {
        self.body = Body::Form(form);
        self
    }

    pub(crate) fn auth(mut self, auth: Auth) -> Call {
        self.auth = auth;
        self
    }

    pub(crate) fn about(mut self, collection: &crate::collection::CollectionId) -> Call {
        self.collections.push(collection.to_string());
        self
    }
}

#[derive(Debug, Clone)]
struct CachedToken {
    token: AccessToken,
    expires_at: i64,
}

/// The Globus client. Build one with [`GlobusClient::builder`].
#[derive(Debug)]
pub struct GlobusClient {
    http: reqwest::Client,
    auth_url: Url,
    transfer_url: Url,
    client_id: Option<String>,
    credentials: Credentials,
    retry: RetryPolicy,
    names: CollectionNames,
    data_access: Vec<String>,
    cache: tokio::sync::Mutex<HashMap<String, CachedToken>>,
    timeout: Duration,
    limiter: Option<super::limiter::RateLimiter>,
}

/// Builds a [`GlobusClient`] from explicit values (the commands take them from the config).
#[derive(Debug, Default)]
pub struct GlobusClientBuilder {
    auth_url: Option<String>,
    transfer_url: Option<String>,
    client_id: Option<String>,
    credentials: Option<Credentials>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    names: CollectionNames,
    data_access: Vec<String>,
}

impl GlobusClientBuilder {
    /// Auth's base URL (default `https://auth.globus.org`).
    pub fn auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }

    /// Transfer's base URL (default `https://transfer.api.globus.org`).
    pub fn transfer_url(mut self, url: impl Into<String>) -> Self {
        self.transfer_url = Some(url.into());
        self
    }

    /// The site's registered native app (needed to log in and to refresh).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// Like [`client_id`](Self::client_id), for a value that may be unset.
    pub fn maybe_client_id(mut self, id: Option<String>) -> Self {
        self.client_id = id;
        self
    }

    /// Who to act as (default: nobody).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The longest one request may take (default 60 s, as globus-sdk).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The longest connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The retry budget of each request.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Names of known collections, used in error messages and suggested commands.
    pub fn collection_names(mut self, names: CollectionNames) -> Self {
        self.names = names
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        self
    }

    /// Collections whose `data_access` a service identity asks for with its token.
    pub fn data_access_collections(mut self, ids: Vec<String>) -> Self {
        self.data_access = ids;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<GlobusClient, Error> {
        let auth_url = base_url(
            self.auth_url.as_deref().unwrap_or(DEFAULT_AUTH_URL),
            GSTAGE_AUTH_URL,
        )?;
        let transfer_url = base_url(
            self.transfer_url.as_deref().unwrap_or(DEFAULT_TRANSFER_URL),
            GSTAGE_TRANSFER_URL,
        )?;
        let timeout = self.timeout.unwrap_or(Duration::from_secs(60));
        let mut http = reqwest::Client::builder()
            .user_agent(concat!("gstage/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(10)));
        if is_loopback(&auth_url) && is_loopback(&transfer_url) {
            http = http.no_proxy();
        }
        Ok(GlobusClient {
            http: http.build().map_err(Error::Setup)?,
            auth_url,
            transfer_url,
            client_id: self.client_id.filter(|c| !c.is_empty()),
            credentials: self.credentials.unwrap_or(Credentials::None),
            retry: self.retry.unwrap_or_default(),
            names: self.names,
            data_access: self.data_access,
            cache: tokio::sync::Mutex::new(HashMap::new()),
            timeout,
            limiter: None,
        })
    }
}

fn base_url(raw: &str, var: &'static str) -> Result<Url, Error> {
    let bad = |reason: &str| Error::BadUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
        var,
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http and https are supported"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("give only scheme, host, port and path"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The largest answer read. Globus's largest answers gstage asks for (1000 tasks in a
/// `task_list` page) are a few MiB; anything far larger is not Globus speaking, and reading
/// it whole could exhaust a login node's memory.
pub(crate) const MAX_BODY: usize = 32 << 20;

/// Reads a body of at most `limit` bytes: `Err(None)` when it is larger (announced or not),
/// `Err(Some(_))` when the connection fails or times out on the way.
async fn read_body(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Option<reqwest::Error>> {
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Some)? {
        if body.len() + chunk.len() > limit {
            return Err(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Where a redirect points, as `` `scheme://host:port` `` (the path may hold anything), or a
/// note that it points nowhere.
fn redirect_target(from: &Url, location: Option<&reqwest::header::HeaderValue>) -> String {
    match location
        .and_then(|v| v.to_str().ok())
        .and_then(|l| from.join(l).ok())
    {
        Some(to) => format!("`{}`", to.origin().ascii_serialization()),
        None => "nowhere (no usable `Location`)".to_string(),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

pub(crate) fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, Error>> + Send + 'a>>;

impl GlobusClient {
    /// Starts building a client.
    pub fn builder() -> GlobusClientBuilder {
        GlobusClientBuilder::default()
    }

    /// Shares `limiter` (a request-rate limit kept in a file) with the user's other processes:
    /// every Transfer request, retries included, waits for its slot.
    pub fn with_rate_limiter(mut self, limiter: Option<super::limiter::RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// Who the shared rate limit is kept for: the token store's owner, or the service identity.
    pub fn rate_limit_identity(&self) -> String {
        match &self.credentials {
            Credentials::Store(store) => store.path().display().to_string(),
            Credentials::Client { id, .. } => format!("client {id}"),
            Credentials::AccessToken(_) | Credentials::None => "token".to_owned(),
        }
    }

    /// Auth's base URL, with a trailing `/`.
    pub fn auth_url(&self) -> &Url {
        &self.auth_url
    }

    /// Transfer's base URL, with a trailing `/`.
    pub fn transfer_url(&self) -> &Url {
        &self.transfer_url
    }

    /// The native app client id, if configured.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Who the client acts as.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Names of known collections.
    pub fn collection_names(&self) -> &CollectionNames {
        &self.names
    }

    fn base(&self, service: Service) -> &Url {
        match service {
            Service::Auth => &self.auth_url,
            Service::Transfer => &self.transfer_url,
        }
    }

    /// Sends a call and reads its JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let bytes = self.execute(&call).await?;
        decode(call.service, &call.path, &bytes)
    }

    /// Sends a call with retries, token renewal on 401, and client consent on
    /// `ConsentRequired`; returns the body of the 2xx answer.
    async fn execute(&self, call: &Call) -> Result<Vec<u8>, Error> {
        let mut state = RetryState::new(self.retry);
        let mut stale: Option<AccessToken> = None;
        let mut renewed = false;
        let mut consented = false;
        loop {
            let token = match call.auth {
                Auth::Bearer(rs) => Some(self.access_token(rs, stale.as_ref()).await?),
                Auth::None | Auth::Basic => None,
            };
            self.take_rate_slot(call).await;
            let err = match self.send_once(call, token.as_ref()).await {
                Ok(body) => return Ok(body),
                Err(err) => err,
            };
            if let (Error::Api(api), Auth::Bearer(rs)) = (&err, call.auth) {
                if api.http_status == 401 && !renewed && self.credentials.can_renew() {
                    tracing::debug!(path = %call.path, "access token refused; renewing it once");
                    renewed = true;
                    stale = token;
                    continue;
                }
                if let (Some(params), Credentials::Client { .. }) =
                    (&api.authorization, &self.credentials)
                    && !consented
                    && rs == TRANSFER_RESOURCE_SERVER
                    && !params.required_scopes.is_empty()
                {
                    // A service identity consents by asking for the scope (as globus-cli does).
                    consented = true;
                    Box::pin(self.client_consent(rs, &params.required_scopes)).await?;
                    continue;
                }
            }
            let retryable = retryable(&err);
            match state.next_delay(retryable) {
                Some(delay) => {
                    tracing::debug!(
                        path = %call.path,
                        retry = state.retries(),
                        delay_ms = delay.as_millis() as u64,
                        error = %err,
                        "retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                None if retryable != Retryable::No && state.retries() > 0 => {
                    return Err(Error::RetriesExhausted {
                        retries: state.retries(),
                        elapsed: state.elapsed(),
                        last: Box::new(err),
                    });
                }
                None => return Err(err),
            }
        }
    }

    /// Waits for this request's slot under the shared Transfer rate limit. The limit is a
    /// courtesy that keeps many processes from being refused: when its file cannot be used, the
    /// request goes anyway (a 429 is still retried after `Retry-After`) and a warning says why.
    async fn take_rate_slot(&self, call: &Call) {
        let Some(limiter) = self
            .limiter
            .as_ref()
            .filter(|_| call.service == Service::Transfer)
        else {
            return;
        };
        if let Err(e) = limiter.acquire().await {
            tracing::warn!("{e}");
        }
    }

    async fn send_once(&self, call: &Call, token: Option<&AccessToken>) -> Result<Vec<u8>, Error> {
        let base = self.base(call.service);
        let url = base.join(&call.path).map_err(|e| Error::BadUrl {
            url: format!("{base}{}", call.path),
            reason: e.to_string(),
            var: match call.service {
                Service::Auth => GSTAGE_AUTH_URL,
                Service::Transfer => GSTAGE_TRANSFER_URL,
            },
        })?;
        let mut req = self
            .http
            .request(call.method.clone(), url)
            .header(reqwest::header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        match call.auth {
            Auth::Bearer(_) => {
                if let Some(t) = token {
                    req = req.bearer_auth(t.expose());
                }
            }
            Auth::Basic => {
                if let Credentials::Client { id, secret } = &self.credentials {
                    req = req.basic_auth(id, Some(secret.expose()));
                }
            }
            Auth::None => {}
        }
        req = match &call.body {
            Body::Empty => req,
            Body::Json(v) => req.json(v),
            Body::Form(f) => req.form(f),
        };
        let network = |source: reqwest::Error| {
            if source.is_timeout() {
                Error::TimedOut {
                    service: call.service,
                    base: base.to_string(),
                    secs: self.timeout.as_secs(),
                }
            } else {
                Error::Network {
                    service: call.service,
                    base: base.to_string(),
                    source,
                }
            }
        };
        let resp = req.send().await.map_err(network)?;
        let status = resp.status();
        if status.is_redirection() {
            // Redirects are never followed: the token would go wherever `Location` says.
            return Err(Error::Redirected {
                service: call.service,
                status: status.as_u16(),
                to: redirect_target(resp.url(), resp.headers().get(reqwest::header::LOCATION)),
            });
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let too_large = || Error::TooLarge {
            service: call.service,
            what: call.path.clone(),
            limit_mib: MAX_BODY >> 20,
        };
        let body = read_body(resp, MAX_BODY)
            .await
            .map_err(|e| e.map_or_else(too_large, network))?;
        tracing::debug!(
            method = %call.method,
            path = %call.path,
            status = status.as_u16(),
            "globus answered"
        );
        if status.is_success() {
            return Ok(body);
        }
        let err =
            ApiError::from_response(call.service, status.as_u16(), retry_after.as_deref(), &body)
                .with_collections(&call.collections, &self.names);
        tracing::debug!(code = %err.code, request_id = ?err.request_id, "globus error");
        Err(Error::Api(Box::new(err)))
    }

    /// A usable access token for `resource_server`, other than `stale` (one the service just
    /// refused).
    fn access_token<'a>(
        &'a self,
        resource_server: &'static str,
        stale: Option<&'a AccessToken>,
    ) -> TokenFuture<'a> {
        Box::pin(async move {
            let now = now_secs();
            let mut cache = self.cache.lock().await;
            if let Some(c) = cache.get(resource_server)
                && now < c.expires_at - EXPIRY_MARGIN_SECS
                && stale != Some(&c.token)
            {
                return Ok(c.token.clone());
            }
            let fresh = match &self.credentials {
                Credentials::None => return Err(Error::NoCredentials),
                Credentials::AccessToken(t) => return Ok(t.clone()),
                Credentials::Client { .. } => {
                    let scope = if resource_server == TRANSFER_RESOURCE_SERVER {
                        scopes::transfer_scope_with_data_access(&self.data_access)
                    } else {
                        scopes::IDENTITY_SCOPES.join(" ")
                    };
                    let resp = self.client_credentials_grant(&scope).await?;
                    let grant = resp
                        .into_stored(now)
                        .into_iter()
                        .find(|t| t.resource_server == resource_server)
                        .ok_or_else(|| Error::IncompleteLogin {
                            what: format!("token for `{resource_server}`"),
                        })?;
                    CachedToken {
                        token: grant.access_token,
                        expires_at: grant.expires_at_seconds,
                    }
                }
                Credentials::Store(store) => {
                    let t = self.store_token(store, resource_server, stale).await?;
                    CachedToken {
                        token: t.access_token,
                        expires_at: t.expires_at_seconds,
                    }
                }
            };
            cache.insert(resource_server.to_string(), fresh.clone());
            Ok(fresh.token)
        })
    }

    /// Refreshes the stored access token for `resource_server` now, even if it is still fresh,
    /// and returns its new expiry: `gstage doctor` proves that the refresh token works before a
    /// job depends on it. Only a stored login can be refreshed.
    pub async fn renew(&self, resource_server: &'static str) -> Result<i64, Error> {
        let Credentials::Store(store) = &self.credentials else {
            return Err(Error::NoCredentials);
        };
        let login = store.load()?.ok_or_else(|| Error::NotLoggedIn {
            path: store.path().to_path_buf(),
        })?;
        let current = login
            .tokens
            .get(resource_server)
            .map(|t| t.access_token.clone());
        let t = self
            .store_token(store, resource_server, current.as_ref())
            .await?;
        self.cache.lock().await.remove(resource_server);
        Ok(t.expires_at_seconds)
    }

    /// Gets a token from the store, refreshing it under the store's lock when needed.
    async fn store_token(
        &self,
        store: &TokenStore,
        resource_server: &'static str,
        stale: Option<&AccessToken>,
    ) -> Result<StoredToken, Error> {
        let usable = |t: &StoredToken| t.is_fresh(now_secs()) && stale != Some(&t.access_token);
        let login = store.load()?.ok_or_else(|| Error::NotLoggedIn {
            path: store.path().to_path_buf(),
        })?;
        let missing = || Error::IncompleteLogin {
            what: format!("token for `{resource_server}`"),
        };
        if let Some(t) = login.tokens.get(resource_server).filter(|t| usable(t)) {
            return Ok(t.clone());
        }
        let lock_store = store.clone();
        let lock = tokio::task::spawn_blocking(move || lock_store.lock())
            .await
            .map_err(|e| crate::tokens::Error::Io {
                action: "lock",
                path: store.path().to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })??;
        // Another process may have refreshed while this one waited for the lock.
        let mut login = store.load()?.ok_or_else(|| Error::NotLoggedIn {
            path: store.path().to_path_buf(),
        })?;
        let current = login.tokens.get(resource_server).ok_or_else(missing)?;
        if usable(current) {
            return Ok(current.clone());
        }
        let refresh = current
            .refresh_token
            .clone()
            .ok_or_else(|| Error::IncompleteLogin {
                what: format!("refresh token for `{resource_server}`"),
            })?;
        let client_id = login
            .client_id
            .clone()
            .or_else(|| self.client_id.clone())
            .ok_or(Error::MissingClientId)?;
        tracing::debug!(resource_server, "refreshing the access token");
        let resp = self.refresh_grant(&client_id, &refresh).await?;
        crate::crashpoint::reached("refresh/received");
        let now = now_secs();
        for mut t in resp.into_stored(now) {
            if t.refresh_token.is_none()
                && let Some(old) = login.tokens.get(&t.resource_server)
            {
                t.refresh_token = old.refresh_token.clone();
            }
            login.tokens.insert(t.resource_server.clone(), t);
        }
        store.save(&login)?;
        drop(lock);
        login
            .tokens
            .get(resource_server)
            .cloned()
            .ok_or_else(missing)
    }

    async fn client_consent(&self, resource_server: &str, scopes: &[String]) -> Result<(), Error> {
        let resp = self.client_credentials_grant(&scopes.join(" ")).await?;
        let now = now_secs();
        let mut cache = self.cache.lock().await;
        for t in resp.into_stored(now) {
            if t.resource_server == resource_server {
                cache.insert(
                    t.resource_server.clone(),
                    CachedToken {
                        token: t.access_token,
                        expires_at: t.expires_at_seconds,
                    },
                );
            }
        }
        Ok(())
    }
}

/// Reads a 2xx answer's JSON; any bytes give a value or an error, never a panic.
pub(crate) fn decode<T: DeserializeOwned>(
    service: Service,
    path: &str,
    bytes: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        service,
        what: path.to_string(),
        detail: if bytes.iter().all(u8::is_ascii_whitespace) {
            "the answer was empty".to_string()
        } else {
            match service {
                // Auth answers carry tokens: name only where parsing failed.
                Service::Auth => format!("malformed at line {} column {}", e.line(), e.column()),
                Service::Transfer => e.to_string(),
            }
        },
    })
}

/// Whether sending the same request again may help.
pub(crate) fn retryable(err: &Error) -> Retryable {
    match err {
        Error::Api(e) if e.is_transient() => Retryable::Yes {
            retry_after: e.retry_after,
        },
        Error::Network { .. } | Error::TimedOut { .. } => Retryable::Yes { retry_after: None },
        _ => Retryable::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_get_a_trailing_slash_and_bad_ones_are_refused() {
        assert_eq!(
            base_url("http://127.0.0.1:8080", "X").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            base_url("https://h/prefix", "X").unwrap().as_str(),
            "https://h/prefix/"
        );
        assert!(base_url("ftp://h", "X").is_err());
        assert!(base_url("not a url", "X").is_err());
        assert!(base_url("https://u:p@h/", "X").is_err());
    }

    #[test]
    fn loopback_detection() {
        for u in [
            "http://127.0.0.1:1/",
            "http://localhost/",
            "http://[::1]:5/",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        assert!(!is_loopback(
            &Url::parse("https://auth.globus.org/").unwrap()
        ));
    }

    mod arbitrary_answers {
        use super::super::super::auth::TokenResponse;
        use super::super::super::models::{SubmitResult, Task};
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                Just(serde_json::json!(42)),
                Just(serde_json::json!(null)),
                Just(serde_json::json!(["x"])),
                Just(serde_json::json!({"a": 1})),
                ".*".prop_map(serde_json::Value::from),
            ]
        }

        proptest! {
            /// Whatever bytes an answer holds, decoding gives a value or an error, never a
            /// panic; Auth errors never quote the body (it may hold tokens).
            #[test]
            fn bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = decode::<Task>(Service::Transfer, "v0.10/task/x", &bytes);
                if let Err(e) = decode::<TokenResponse>(Service::Auth, "v2/oauth2/token", &bytes) {
                    let shown = e.to_string();
                    let body = String::from_utf8_lossy(&bytes);
                    prop_assert!(body.trim().len() < 8 || !shown.contains(body.trim()), "{}", shown);
                }
                for status in [200u16, 302, 400, 401, 403, 418, 429, 500, 503] {
                    let _ = ApiError::from_response(Service::Transfer, status, Some("x"), &bytes).to_string();
                }
            }

            /// The right keys with values of any type never panic the decoder either.
            #[test]
            fn wrong_types_never_panic(v in any_json()) {
                let doc = serde_json::json!({"DATA_TYPE": "transfer_result", "task_id": v, "code": v, "DATA": v, "status": v});
                let bytes = serde_json::to_vec(&doc).unwrap_or_default();
                let _ = decode::<SubmitResult>(Service::Transfer, "v0.10/transfer", &bytes);
                let _ = decode::<Task>(Service::Transfer, "v0.10/task/x", &bytes);
            }
        }
    }

    #[test]
    fn debug_of_a_client_shows_no_secret() {
        let c = GlobusClient::builder()
            .credentials(Credentials::Client {
                id: "cid".into(),
                secret: ClientSecret::new("very-secret-value"),
            })
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("very-secret-value"));
        let c = GlobusClient::builder()
            .credentials(Credentials::AccessToken(AccessToken::new(
                "AT-secret-value",
            )))
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("AT-secret-value"));
    }
}
