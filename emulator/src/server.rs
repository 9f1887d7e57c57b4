//! Serving: the listener (whose connections can be reset on demand), the middleware that
//! records requests and injects faults, and the [`Emulator`] / [`EmulatorHandle`] types.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

use crate::config::Config;
use crate::control::{self, MintedTokens};
use crate::error::{ApiError, Error, PendingResource};
use crate::faults::{Fault, FaultRule};
use crate::hostile;
use crate::store::{RequestRecord, Shared, Stats};
use crate::task::{TaskSnapshot, TaskStatus};

/// A TCP stream that can be told to die: further I/O fails and closing sends a reset.
struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

fn reset_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "injected connection reset",
    )
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.reset.load(Ordering::SeqCst) {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.reset.load(Ordering::SeqCst) {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.reset.load(Ordering::SeqCst) {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            // A zero linger turns the close into an RST, which is what a reset fault promises.
            let _ = self.inner.set_zero_linger();
        }
    }
}

struct ResettableListener(TcpListener);

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let _ = inner.set_nodelay(true);
                    return (
                        ResettableStream {
                            inner,
                            reset: Arc::new(AtomicBool::new(false)),
                        },
                        addr,
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The per-connection switch a handler flips to reset its connection.
#[derive(Clone)]
struct ConnectionSwitch(Arc<AtomicBool>);

impl Connected<IncomingStream<'_, ResettableListener>> for ConnectionSwitch {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        Self(Arc::clone(&stream.io().reset))
    }
}

/// The error answer an injected fault gives.
fn fault_error(shared: &Shared, fault: &Fault, path: &str) -> ApiError {
    match fault {
        Fault::RateLimit { retry_after } => {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "ClientError.RequestLimitExceeded",
                "Rate limit exceeded; retry later",
            );
            e.retry_after = Some(*retry_after);
            e
        }
        Fault::Status { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = match status.as_u16() {
                503 => "ServiceUnavailable",
                502 => "ServerError.BadGateway",
                504 => "ServerError.GatewayTimeout",
                _ => "ServerError.InternalError",
            };
            ApiError::new(status, code, format!("Injected server error {}", status.as_u16()))
        }
        Fault::ConsentRequired { collections } => {
            let mut ids = collections.clone();
            if ids.is_empty() {
                ids = collection_in_path(path).into_iter().collect();
            }
            if ids.is_empty() {
                ids = shared
                    .config
                    .collections
                    .iter()
                    .filter(|c| c.needs_data_access())
                    .map(|c| c.id)
                    .collect();
            }
            crate::transfer::consent_error(&ids)
        }
        Fault::AuthPolicyFailed { policies } => {
            let message = "Failing collection authentication policy";
            ApiError::new(StatusCode::FORBIDDEN, "AuthPolicyFailed", message).with(
                "authorization_parameters",
                json!({"session_message": message, "session_required_policies": policies.join(",")}),
            )
        }
        Fault::LoginFailed { domain } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "ExternalError.DirListingFailed.LoginFailed",
            format!("Command Failed: Error (login)\nMessage: Login Failed\n---\nDetails: 530-GridFTP-Message: {{\"authorization_parameters\": {{\"session_required_single_domain\": [\"{domain}\"]}}}}\n"),
        )
        .with(
            "authorization_parameters",
            json!({"session_message": "Login failed", "session_required_single_domain": [domain]}),
        ),
        Fault::ExpiredToken => ApiError::unauthenticated("Token is not active"),
        Fault::ConnectionReset
        | Fault::ResetAfter
        | Fault::Stall { .. }
        | Fault::StallAnswer { .. }
        | Fault::MalformedJson
        | Fault::WrongTypes
        | Fault::HugeBody { .. }
        | Fault::BareStatus { .. }
        | Fault::SlowDrip { .. }
        | Fault::Redirect { .. } => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ServerError.InternalError", "fault")
        }
    }
}

fn collection_in_path(path: &str) -> Option<Uuid> {
    let rest = path
        .strip_prefix("/v0.10/operation/endpoint/")
        .or_else(|| path.strip_prefix("/v0.10/endpoint/"))?;
    Uuid::parse_str(rest.split('/').next()?).ok()
}

/// `resource` as Transfer reports it: the path without the version prefix.
fn resource_of(path: &str) -> &str {
    path.strip_prefix("/v0.10").unwrap_or(path)
}

async fn observe(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let at_ms = u64::try_from(shared.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    if path.starts_with("/_emulator/") {
        return next.run(req).await;
    }
    let fault = shared.faults().pick(&method, &path);
    let switch = req
        .extensions()
        .get::<ConnectInfo<ConnectionSwitch>>()
        .map(|ConnectInfo(s)| s.clone());
    let reset = |switch: Option<ConnectionSwitch>| {
        if let Some(s) = switch {
            s.0.store(true, Ordering::SeqCst);
        }
    };
    let response = match &fault {
        None => serve(next, req, &path).await,
        Some(Fault::Stall { seconds }) => {
            tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await;
            serve(next, req, &path).await
        }
        Some(Fault::StallAnswer { seconds }) => {
            let answer = serve(next, req, &path).await;
            tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await;
            answer
        }
        Some(Fault::ConnectionReset) => {
            reset(switch);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Some(Fault::ResetAfter) => {
            let served = serve(next, req, &path).await;
            reset(switch);
            served
        }
        Some(f) if hostile::reshapes(f) => hostile::reshape(f, serve(next, req, &path).await).await,
        Some(f) => hostile::answer(f, &path, query.as_deref()).unwrap_or_else(|| {
            fault_error(&shared, f, &path).into_response_for(resource_of(&path))
        }),
    };
    let status = if matches!(fault, Some(Fault::ConnectionReset | Fault::ResetAfter)) {
        0
    } else {
        response.status().as_u16()
    };
    let mut store = shared.store();
    store.stats.total_requests += 1;
    *store
        .stats
        .requests_by_route
        .entry(format!("{method} {path}"))
        .or_default() += 1;
    if fault.is_some() {
        store.stats.faults_injected += 1;
    }
    store.log.push(RequestRecord {
        method,
        path,
        query,
        status,
        fault: fault.as_ref().map(|f| f.name().to_owned()),
        at_ms,
    });
    response
}

/// The real answer, with the request path filled into an error body's `resource`.
async fn serve(next: Next, req: Request, path: &str) -> Response {
    let mut response = next.run(req).await;
    if let Some(PendingResource(err)) = response.extensions_mut().remove::<PendingResource>() {
        response = err.into_response_for(resource_of(path));
    }
    response
}

async fn unexpected(req: Request) -> Response {
    let message = format!("unexpected request {} {}", req.method(), req.uri().path());
    ApiError::new(StatusCode::NOT_FOUND, "ClientError.NotFound", message).into_response()
}

fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(crate::auth::router())
        .merge(crate::transfer::router())
        .merge(control::router())
        .fallback(unexpected)
        .method_not_allowed_fallback(unexpected)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            observe,
        ))
        .with_state(shared)
}

/// A running emulator on the caller's tokio runtime. Dropping it does not stop it; call
/// [`Emulator::shutdown`] (or use [`Emulator::spawn`], whose handle stops on drop).
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds `addr` (use port 0 for a free port) and serves Auth and Transfer on it.
    ///
    /// # Errors
    /// When the configuration is invalid or the address cannot be bound.
    pub async fn start(config: Config, addr: SocketAddr) -> Result<Self, Error> {
        config.validate()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let shared = Shared::new(config);
        *shared
            .base_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = format!("http://{local}");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let service =
            app(Arc::clone(&shared)).into_make_service_with_connect_info::<ConnectionSwitch>();
        let server =
            axum::serve(ResettableListener(listener), service).with_graceful_shutdown(async {
                let _ = rx.await;
            });
        tokio::spawn(async move {
            let _ = server.await;
        });
        Ok(Self {
            shared,
            addr: local,
            stop: std::sync::Mutex::new(Some(tx)),
        })
    }

    /// Starts an emulator on its own thread and runtime, listening on a free local port;
    /// for synchronous tests and command-line embedding. Dropping the handle stops it.
    ///
    /// # Errors
    /// When the configuration is invalid or no runtime or port is available.
    pub fn spawn(config: Config) -> Result<EmulatorHandle, Error> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("globus-emulator".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(Error::Runtime(e)));
                        return;
                    }
                };
                let started =
                    runtime.block_on(Self::start(config, SocketAddr::from(([127, 0, 0, 1], 0))));
                let ok = started.is_ok();
                let _ = ready_tx.send(started);
                if ok {
                    runtime.block_on(async {
                        let _ = stop_rx.await;
                    });
                }
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(Error::Runtime)?;
        let emulator = ready_rx.recv().map_err(|_| {
            Error::Runtime(std::io::Error::other("emulator thread died while starting"))
        })??;
        Ok(EmulatorHandle {
            emulator,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Stops serving (open connections finish their requests).
    pub fn shutdown(&self) {
        if let Some(tx) = self
            .stop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            let _ = tx.send(());
        }
    }

    /// `http://127.0.0.1:PORT`: Auth answers under `/v2/`, Transfer under `/v0.10/`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds a fault rule (see [`FaultRule`]).
    pub fn inject(&self, rule: FaultRule) {
        self.shared.faults().add(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Restarts the generator behind probabilistic faults.
    pub fn reseed(&self, seed: u64) {
        self.shared.faults().reseed(seed);
    }

    /// Revokes a refresh or access token; returns whether it existed.
    pub fn revoke_token(&self, token: &str) -> bool {
        control::revoke(&self.shared, token)
    }

    /// Makes every issued access token expired (the next Transfer call gets 401).
    pub fn expire_access_tokens(&self) {
        control::expire_access_tokens(&self.shared);
    }

    /// Issues tokens (with a refresh token) for `identity` (username or id) and `scopes`,
    /// as a login would, recording the `data_access` consents the scopes carry. `client_id`
    /// defaults to the first native client.
    ///
    /// # Errors
    /// When the identity or a client is not configured, or the scope string is malformed.
    pub fn mint_tokens(
        &self,
        identity: &str,
        scopes: &str,
        client_id: Option<Uuid>,
    ) -> Result<MintedTokens, Error> {
        control::mint(&self.shared, identity, scopes, client_id)
    }

    /// Records a `data_access` consent directly.
    pub fn grant_consent(&self, identity_id: Uuid, client_id: Uuid, collection_id: Uuid) {
        self.shared
            .store()
            .consents
            .insert((identity_id, client_id, collection_id));
    }

    /// Suspends (`Inactive`) or resumes (`Active`) an unfinished task.
    ///
    /// # Errors
    /// When the task does not exist or has finished.
    pub fn set_task_status(&self, task_id: Uuid, status: TaskStatus) -> Result<(), Error> {
        control::set_task_status(&self.shared, task_id, status)
    }

    /// Request and fault counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.store().stats.clone()
    }

    /// Every request seen, oldest first (control calls excluded).
    #[must_use]
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.store().log.clone()
    }

    /// When each Transfer API request arrived (milliseconds since the emulator started), oldest
    /// first: Auth and control calls excluded.
    #[must_use]
    pub fn transfer_request_times(&self) -> Vec<u64> {
        self.shared
            .store()
            .log
            .iter()
            .filter(|r| r.path.starts_with("/v0.10/"))
            .map(|r| r.at_ms)
            .collect()
    }

    /// Every task ever created, oldest first.
    #[must_use]
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        control::tasks(&self.shared)
    }

    /// The full Transfer document of a task, as its owner would see it.
    #[must_use]
    pub fn task_document(&self, task_id: Uuid) -> Option<serde_json::Value> {
        self.shared
            .store()
            .task(task_id)
            .map(crate::task::Task::to_json)
    }
}

/// An emulator on its own thread; stops when dropped. Dereferences to [`Emulator`].
pub struct EmulatorHandle {
    emulator: Emulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("emulator", &self.emulator)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for EmulatorHandle {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        &self.emulator
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.emulator.shutdown();
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
