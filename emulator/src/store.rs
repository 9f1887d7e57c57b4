//! Everything the emulated services remember: tokens, codes, consents, tasks, counters.
//!
//! One `Store` behind one mutex: requests are short and never hold it across an `await`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::Config;
use crate::faults::FaultState;
use crate::task::Task;

/// State shared by every request handler, task runner and the control surface.
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// When the emulator started; request times count from here.
    pub(crate) started: std::time::Instant,
    store: Mutex<Store>,
    pub(crate) faults: Mutex<FaultState>,
    /// Woken when a task frees a slot or changes state, so queued tasks re-check.
    pub(crate) wakeup: Notify,
    /// Where the emulator answers, for links it hands out.
    pub(crate) base_url: Mutex<String>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let faults = FaultState::new(config.seed, config.faults.clone());
        Arc::new(Self {
            config,
            started: std::time::Instant::now(),
            store: Mutex::new(Store::default()),
            faults: Mutex::new(faults),
            wakeup: Notify::new(),
            base_url: Mutex::new(String::new()),
        })
    }

    /// Locks the store; a poisoned lock (a panicked handler) still yields the data.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where the emulator answers, such as `http://127.0.0.1:8123`.
    pub(crate) fn base_url(&self) -> String {
        self.base_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Who a token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    pub(crate) id: Uuid,
    pub(crate) username: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) domain: String,
}

/// What a login proved, checked against collection policies.
#[derive(Debug, Clone, Default)]
pub(crate) struct Session {
    pub(crate) domains: Vec<String>,
    pub(crate) policies: Vec<String>,
    pub(crate) mfa: bool,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub(crate) principal: Principal,
    pub(crate) client_id: Uuid,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource_server: String,
    pub(crate) issued_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) revoked: bool,
    pub(crate) session: Session,
}

impl AccessToken {
    pub(crate) fn is_active(&self) -> bool {
        !self.revoked && Utc::now() < self.expires_at
    }
}

/// An issued refresh token; `active` turns false when revoked or rotated away.
#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub(crate) principal: Principal,
    pub(crate) client_id: Uuid,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource_server: String,
    pub(crate) active: bool,
    pub(crate) session: Session,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) principal: Principal,
    pub(crate) client_id: Uuid,
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) code_challenge: Option<String>,
    pub(crate) offline: bool,
    pub(crate) session: Session,
}

/// One request as the emulator saw it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Status answered (0 for a connection reset).
    pub status: u16,
    /// Name of the injected fault, if one was.
    pub fault: Option<String>,
    /// When it arrived, in milliseconds since the emulator started (for request-rate figures).
    pub at_ms: u64,
}

/// The most of `at_ms` (arrival times in milliseconds) that fall in any one-second window: the
/// request rate a per-user limit such as Transfer's 20 per second is measured against.
#[must_use]
pub fn busiest_second(at_ms: &[u64]) -> usize {
    let mut sorted = at_ms.to_vec();
    sorted.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for (end, &t) in sorted.iter().enumerate() {
        while t - sorted[start] >= 1000 {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Request and fault counters, for assertions such as "the retry really happened".
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Requests seen (control calls excluded).
    pub total_requests: u64,
    /// Requests per `METHOD /path`.
    pub requests_by_route: BTreeMap<String, u64>,
    /// Faults injected.
    pub faults_injected: u64,
    /// Tasks created (duplicates of a submission id do not count).
    pub tasks_created: u64,
    /// The most tasks one user ever had running at once (the active limit caps it).
    pub peak_running_per_user: u64,
    /// The most unfinished tasks one user ever had (the pending limit caps it).
    pub peak_pending_per_user: u64,
    /// Submissions refused because the user had too many unfinished tasks.
    pub refused_pending_limit: u64,
}

#[derive(Default)]
pub(crate) struct Store {
    pub(crate) access_tokens: HashMap<String, AccessToken>,
    pub(crate) refresh_tokens: HashMap<String, RefreshToken>,
    pub(crate) codes: HashMap<String, AuthCode>,
    /// (identity, client, collection) triples that have `data_access` consent.
    pub(crate) consents: HashSet<(Uuid, Uuid, Uuid)>,
    pub(crate) submissions: HashMap<String, Uuid>,
    pub(crate) tasks: Vec<Task>,
    pub(crate) stats: Stats,
    pub(crate) log: Vec<RequestRecord>,
}

impl Store {
    pub(crate) fn task(&self, id: Uuid) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    pub(crate) fn task_mut(&mut self, id: Uuid) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| t.id == id)
    }
}

/// A fresh opaque secret for tokens and codes.
pub(crate) fn secret_string(len: usize) -> String {
    use rand::RngExt;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}
