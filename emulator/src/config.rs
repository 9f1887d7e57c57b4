//! The emulated world: who can log in, with which clients, and which collections exist.
//!
//! Read from TOML (the binary's `--config`) or built in code by tests. Everything the real
//! service decides for itself but tests want to steer (token lifetime, refresh-token rotation,
//! copy throughput, the per-user active task limit) is a setting here.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use uuid::Uuid;

use crate::error::Error;
use crate::faults::FaultRule;

/// Token lifetime every SDK fixture shows (48 hours).
const DEFAULT_EXPIRES_IN: u64 = 172_800;
/// The documented per-user limit of concurrently running transfer tasks.
const DEFAULT_ACTIVE_TASK_LIMIT: usize = 3;
/// The per-user limit of unfinished (queued or running) tasks that the service's FAQ quotes.
const DEFAULT_PENDING_TASK_LIMIT: usize = 100;

/// The whole emulator configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// People (and their identity ids) who can log in.
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// `OAuth2` clients known to Auth.
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Collections backed by local directories.
    #[serde(default)]
    pub collections: Vec<Collection>,
    /// Lifetime of issued access tokens, in seconds.
    #[serde(default = "default_expires_in")]
    pub expires_in: u64,
    /// When true a refresh grant returns a new refresh token and invalidates the old one.
    #[serde(default)]
    pub rotate_refresh_tokens: bool,
    /// Copy rate in bytes per second; absent means as fast as the disk allows.
    #[serde(default)]
    pub throughput: Option<u64>,
    /// How many tasks of one user run at once; the others are queued.
    #[serde(default = "default_active_task_limit")]
    pub active_task_limit: usize,
    /// How many unfinished (queued or running) tasks one user may have; a submission beyond it
    /// is refused.
    #[serde(default = "default_pending_task_limit")]
    pub pending_task_limit: usize,
    /// Username or id the auto-approving authorize endpoint logs in as (default: the first identity).
    #[serde(default)]
    pub login_as: Option<String>,
    /// Seed of the random generator deciding probabilistic faults.
    #[serde(default)]
    pub seed: u64,
    /// Seconds between retries of a task whose source is missing (the real service backs off too).
    #[serde(default = "default_retry_interval")]
    pub error_retry_seconds: f64,
    /// Faults active from the start.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// Directory relative collection roots are resolved against (the config file's directory).
    #[serde(skip)]
    base_dir: Option<PathBuf>,
}

fn default_expires_in() -> u64 {
    DEFAULT_EXPIRES_IN
}
fn default_active_task_limit() -> usize {
    DEFAULT_ACTIVE_TASK_LIMIT
}
fn default_pending_task_limit() -> usize {
    DEFAULT_PENDING_TASK_LIMIT
}
fn default_retry_interval() -> f64 {
    1.0
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// An empty world with the service's defaults; add identities, clients and collections.
    #[must_use]
    pub fn new() -> Self {
        Self {
            identities: Vec::new(),
            clients: Vec::new(),
            collections: Vec::new(),
            expires_in: DEFAULT_EXPIRES_IN,
            rotate_refresh_tokens: false,
            throughput: None,
            active_task_limit: DEFAULT_ACTIVE_TASK_LIMIT,
            pending_task_limit: DEFAULT_PENDING_TASK_LIMIT,
            login_as: None,
            seed: 0,
            error_retry_seconds: default_retry_interval(),
            faults: Vec::new(),
            base_dir: None,
        }
    }

    /// Reads a TOML file; relative collection roots are taken from the file's directory.
    ///
    /// # Errors
    /// When the file cannot be read or is not a valid configuration.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::from_toml_str(&text).map_err(|err| match err {
            Error::ParseConfig { message, .. } => Error::ParseConfig {
                path: Some(path.to_path_buf()),
                message,
            },
            other => other,
        })?;
        config.base_dir = path.parent().map(Path::to_path_buf);
        Ok(config)
    }

    /// Parses TOML text; relative roots are taken from the current directory.
    ///
    /// # Errors
    /// When the text is not a valid configuration.
    pub fn from_toml_str(text: &str) -> Result<Self, Error> {
        let config: Self = toml::from_str(text).map_err(|err| Error::ParseConfig {
            path: None,
            message: err.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Adds an identity.
    #[must_use]
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identities.push(identity);
        self
    }

    /// Adds a native (public) client, which uses PKCE and has no secret.
    #[must_use]
    pub fn native_client(mut self, id: Uuid) -> Self {
        self.clients.push(Client {
            id,
            secret: None,
            name: None,
        });
        self
    }

    /// Adds a confidential client; it acts as its own identity in client-credentials grants.
    #[must_use]
    pub fn confidential_client(mut self, id: Uuid, secret: &str) -> Self {
        self.clients.push(Client {
            id,
            secret: Some(secret.to_owned()),
            name: None,
        });
        self
    }

    /// Adds a collection.
    #[must_use]
    pub fn collection(mut self, collection: Collection) -> Self {
        self.collections.push(collection);
        self
    }

    /// Sets the access-token lifetime in seconds.
    #[must_use]
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = seconds;
        self
    }

    /// Turns refresh-token rotation on or off.
    #[must_use]
    pub fn rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.rotate_refresh_tokens = rotate;
        self
    }

    /// Limits the copy rate (bytes per second) so progress can be watched.
    #[must_use]
    pub fn throughput(mut self, bytes_per_second: u64) -> Self {
        self.throughput = Some(bytes_per_second);
        self
    }

    /// Sets how many tasks of one user run at once.
    #[must_use]
    pub fn active_task_limit(mut self, limit: usize) -> Self {
        self.active_task_limit = limit;
        self
    }

    /// Sets how many unfinished tasks one user may have before submissions are refused.
    #[must_use]
    pub fn pending_task_limit(mut self, limit: usize) -> Self {
        self.pending_task_limit = limit;
        self
    }

    /// Chooses the identity (username or id) the authorize endpoint logs in as.
    #[must_use]
    pub fn login_as(mut self, who: &str) -> Self {
        self.login_as = Some(who.to_owned());
        self
    }

    /// Seeds the generator behind probabilistic faults.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Seconds between retries of a task whose source path is missing.
    #[must_use]
    pub fn error_retry_seconds(mut self, seconds: f64) -> Self {
        self.error_retry_seconds = seconds;
        self
    }

    /// Adds a fault active from the start.
    #[must_use]
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Checks what serde cannot: unique ids and usable settings.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let invalid = |message: String| Err(Error::InvalidConfig { message });
        for (i, c) in self.collections.iter().enumerate() {
            if self.collections[..i].iter().any(|o| o.id == c.id) {
                return invalid(format!("collection id `{}` appears twice", c.id));
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            if self.clients[..i].iter().any(|o| o.id == c.id) {
                return invalid(format!("client id `{}` appears twice", c.id));
            }
        }
        if let Some(who) = &self.login_as
            && self.find_identity(who).is_none()
        {
            return invalid(format!("`login_as = {who}` names no configured identity"));
        }
        if self.active_task_limit == 0 {
            return invalid("`active_task_limit` must be at least 1".to_owned());
        }
        if self.pending_task_limit < self.active_task_limit {
            return invalid("`pending_task_limit` must be at least `active_task_limit`".to_owned());
        }
        if !(self.error_retry_seconds.is_finite() && self.error_retry_seconds > 0.0) {
            return invalid("`error_retry_seconds` must be a positive number".to_owned());
        }
        if self.throughput == Some(0) {
            return invalid("`throughput` must be at least 1 byte per second".to_owned());
        }
        Ok(())
    }

    /// Finds an identity by id or username.
    pub(crate) fn find_identity(&self, who: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.id.to_string() == who || i.username.eq_ignore_ascii_case(who))
    }

    /// The identity the authorize endpoint logs in as.
    pub(crate) fn default_login(&self) -> Option<&Identity> {
        match &self.login_as {
            Some(who) => self.find_identity(who),
            None => self.identities.first(),
        }
    }

    /// The directory a collection's files live in.
    pub(crate) fn root_of(&self, collection: &Collection) -> PathBuf {
        match &self.base_dir {
            Some(base) if collection.root.is_relative() => base.join(&collection.root),
            _ => collection.root.clone(),
        }
    }
}

/// A Globus identity a person can log in as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Identity id (`sub` in tokens, `owner_id` of tasks).
    pub id: Uuid,
    /// Username such as `alice@umanitoba.ca`.
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Identity provider domain (default: the part of the username after `@`).
    #[serde(default)]
    pub identity_provider: Option<String>,
}

impl Identity {
    /// An identity with a fresh random id.
    #[must_use]
    pub fn new(username: &str) -> Self {
        Self {
            id: Uuid::new_v4(),
            username: username.to_owned(),
            name: None,
            email: None,
            identity_provider: None,
        }
    }

    /// Uses this identity id instead of a random one.
    #[must_use]
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    /// Sets the display name.
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Sets the e-mail address.
    #[must_use]
    pub fn email(mut self, email: &str) -> Self {
        self.email = Some(email.to_owned());
        self
    }

    /// The domain sessions and collection policies speak of.
    #[must_use]
    pub fn domain(&self) -> String {
        self.identity_provider.clone().unwrap_or_else(|| {
            self.username
                .rsplit_once('@')
                .map_or_else(String::new, |(_, d)| d.to_owned())
        })
    }
}

/// An `OAuth2` client registered with Auth.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// Client id.
    pub id: Uuid,
    /// Secret of a confidential client; absent for a native app.
    #[serde(default)]
    pub secret: Option<String>,
    /// Free-form name, shown nowhere but in the config.
    #[serde(default)]
    pub name: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "****"))
            .field("name", &self.name)
            .finish()
    }
}

impl Client {
    /// The username Globus gives a client's own identity.
    pub(crate) fn username(&self) -> String {
        format!("{}@clients.auth.globus.org", self.id)
    }
}

/// A collection whose files live in a local directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    /// Collection id.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Entity type, such as `GCSv5_mapped_collection`.
    #[serde(default = "default_entity_type")]
    pub entity_type: String,
    /// High-assurance collections take no `data_access` scope and usually demand a session.
    #[serde(default)]
    pub high_assurance: bool,
    /// The local directory that is the collection's `/`.
    pub root: PathBuf,
    /// Identities (ids or usernames) allowed to use it; empty means everybody.
    #[serde(default)]
    pub allowed_identities: Vec<String>,
    /// Whether the `data_access` consent is needed (default: mapped `GCSv5` and not high assurance).
    #[serde(default)]
    pub data_access_required: Option<bool>,
    /// A domain the session must have authenticated with.
    #[serde(default)]
    pub required_domain: Option<String>,
    /// Authentication policies the session must satisfy.
    #[serde(default)]
    pub required_policies: Vec<String>,
    /// Whether the session must have used multi-factor authentication.
    #[serde(default)]
    pub require_mfa: bool,
}

fn default_entity_type() -> String {
    "GCSv5_mapped_collection".to_owned()
}

impl Collection {
    /// A mapped `GCSv5` collection rooted at `root`.
    #[must_use]
    pub fn new(id: Uuid, display_name: &str, root: impl Into<PathBuf>) -> Self {
        Self {
            id,
            display_name: display_name.to_owned(),
            entity_type: default_entity_type(),
            high_assurance: false,
            root: root.into(),
            allowed_identities: Vec::new(),
            data_access_required: None,
            required_domain: None,
            required_policies: Vec::new(),
            require_mfa: false,
        }
    }

    /// Sets the entity type.
    #[must_use]
    pub fn entity_type(mut self, entity_type: &str) -> Self {
        entity_type.clone_into(&mut self.entity_type);
        self
    }

    /// Marks the collection high-assurance.
    #[must_use]
    pub fn high_assurance(mut self, on: bool) -> Self {
        self.high_assurance = on;
        self
    }

    /// Restricts use to the given identity (id or username); call again to add more.
    #[must_use]
    pub fn allow(mut self, who: &str) -> Self {
        self.allowed_identities.push(who.to_owned());
        self
    }

    /// Overrides whether the `data_access` consent is needed.
    #[must_use]
    pub fn data_access_required(mut self, on: bool) -> Self {
        self.data_access_required = Some(on);
        self
    }

    /// Demands a session authenticated in `domain`.
    #[must_use]
    pub fn required_domain(mut self, domain: &str) -> Self {
        self.required_domain = Some(domain.to_owned());
        self
    }

    /// Demands a session satisfying the policy `policy`; call again to add more.
    #[must_use]
    pub fn required_policy(mut self, policy: &str) -> Self {
        self.required_policies.push(policy.to_owned());
        self
    }

    /// Demands a session that used multi-factor authentication.
    #[must_use]
    pub fn require_mfa(mut self, on: bool) -> Self {
        self.require_mfa = on;
        self
    }

    /// Whether Transfer demands the `data_access` consent for this collection.
    #[must_use]
    pub fn needs_data_access(&self) -> bool {
        self.data_access_required
            .unwrap_or(self.entity_type == "GCSv5_mapped_collection" && !self.high_assurance)
    }

    /// Whether `identity` may use the collection at all.
    pub(crate) fn allows(&self, id: Uuid, username: &str) -> bool {
        self.allowed_identities.is_empty()
            || self
                .allowed_identities
                .iter()
                .any(|a| a == &id.to_string() || a.eq_ignore_ascii_case(username))
    }
}
