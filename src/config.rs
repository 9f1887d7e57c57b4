//! Site and user configuration: where Globus is, the cluster's own collection and how its paths
//! map, collection aliases, option defaults. The site file is read first, then the user's; a bad
//! file is an error naming the file, the key and the line, and unknown keys are errors so a typo
//! never silently does nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::collection::{Collection, CollectionId};
use crate::env;
use crate::options::{TaskSettings, backticked, nearest};

/// The site file read when `GSTAGE_CONFIG` is not set (and only if it exists).
pub const SITE_CONFIG_PATH: &str = "/etc/gstage/config.toml";
/// The default directive prefix, as `#SBATCH` is for Slurm.
pub const DEFAULT_PREFIX: &str = "#GLOBUS";
/// Globus Auth's production base URL.
pub const DEFAULT_AUTH_URL: &str = "https://auth.globus.org";
/// The Globus Transfer API's production base URL.
pub const DEFAULT_TRANSFER_URL: &str = "https://transfer.api.globus.org";

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config file exists (or was named) but could not be read.
    #[error("cannot read config file `{}`: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A config file is not valid TOML or holds a bad key or value.
    #[error("invalid config `{}` line {line}, column {column}{}: {message}{}", file.display(),
        key.as_ref().map(|k| format!(", key `{k}`")).unwrap_or_default(),
        help.as_ref().map(|h| format!("\n  help: {h}")).unwrap_or_default())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column of the offending text.
        column: usize,
        /// The dotted key, when known.
        key: Option<String>,
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: Option<String>,
    },
    /// An environment variable overriding the config holds a bad value.
    #[error(
        "invalid `{var}`: {message}\n  help: set `{var}` to a value such as `{example}`, or unset it"
    )]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        message: String,
        /// A valid value.
        example: &'static str,
    },
    /// The user's home directory is unknown (needed to find the user's config file).
    #[error(
        "cannot find the home directory of uid {uid} in the password database\n  help: set `XDG_CONFIG_HOME` to the directory holding `gstage/config.toml`"
    )]
    NoHome {
        /// The uid looked up.
        uid: u32,
    },
}

impl ConfigError {
    /// The process exit code for this error: a general failure, so that it is not mistaken for
    /// an invalid directive in the user's script.
    pub fn exit_code(&self) -> i32 {
        crate::exit::FAILURE
    }
}

/// The loaded configuration, site and user files merged, environment overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where Globus is and which app gstage is.
    pub globus: GlobusConfig,
    /// The cluster's own collection and how its paths map into it.
    pub cluster: ClusterConfig,
    /// Collection aliases usable as `NAME:PATH` in directives.
    pub collections: BTreeMap<String, Collection>,
    /// Option defaults, under every `defaults` directive.
    pub defaults: TaskSettings,
    /// The directive prefix, `#GLOBUS` unless the site changed it.
    pub directive_prefix: String,
    /// The task ledger.
    pub ledger: LedgerConfig,
    /// How often waiting commands poll.
    pub poll: PollConfig,
    /// The gate and stage-out jobs of wrapper mode.
    pub wrapper: WrapperConfig,
    /// Mail to users and log lines for admins when staging fails.
    pub notify: crate::notify::NotifyConfig,
    /// Request rate, task size and job-array coalescing.
    pub limits: crate::limits::LimitsConfig,
    /// The files read, site first.
    pub files: Vec<PathBuf>,
}

/// `[globus]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobusConfig {
    /// The site's registered native app.
    pub client_id: Option<String>,
    /// Globus Auth base URL (after `GSTAGE_AUTH_URL`).
    pub auth_url: String,
    /// Transfer API base URL (after `GSTAGE_TRANSFER_URL`).
    pub transfer_url: String,
    /// The longest one request may take, answer included (default 60 s).
    pub timeout_secs: Option<std::num::NonZeroU64>,
    /// The longest connecting may take (default 10 s).
    pub connect_timeout_secs: Option<std::num::NonZeroU64>,
}

/// `[cluster]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The cluster's name, used in task labels when Slurm does not say.
    pub name: Option<String>,
    /// The name shown for the cluster's collection (default: the cluster's name).
    pub display_name: Option<String>,
    /// The cluster's own collection.
    pub collection: Option<CollectionId>,
    /// Local roots and where they appear in the collection.
    pub paths: Vec<PathMapping>,
}

/// One `{ local = "/home", collection = "/home" }` mapping.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathMapping {
    /// An absolute local directory.
    pub local: AbsolutePath,
    /// Where it appears in the cluster's collection (absolute, `/~/` allowed).
    pub collection: CollectionPath,
}

/// An absolute, normalised local path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct AbsolutePath(PathBuf);

impl AbsolutePath {
    /// The path.
    pub fn as_path(&self) -> &Path {
        &self.0
    }
}

impl TryFrom<String> for AbsolutePath {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let p = PathBuf::from(&s);
        if p.is_absolute() {
            Ok(Self(normalize(&p)))
        } else {
            Err(format!(
                "`{s}` is not an absolute path; write it starting with `/`"
            ))
        }
    }
}

/// A path inside a collection: starts with `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct CollectionPath(String);

impl CollectionPath {
    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CollectionPath {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.starts_with('/') {
            Ok(Self(s))
        } else {
            Err(format!(
                "`{s}` is not a collection path; write it starting with `/` (`/~/` is the home directory)"
            ))
        }
    }
}

/// Lexically normalises an absolute path: drops `.`, resolves `..`, no file system access.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

impl ClusterConfig {
    /// Where an absolute, normalised local path appears in the cluster's collection, by the
    /// longest mapped root containing it; `None` when no root contains it.
    pub fn map_path(&self, local: &Path) -> Option<String> {
        let (mapping, rest) = self
            .paths
            .iter()
            .filter_map(|m| local.strip_prefix(m.local.as_path()).ok().map(|r| (m, r)))
            .max_by_key(|(m, _)| m.local.as_path().components().count())?;
        let mut out = mapping.collection.as_str().trim_end_matches('/').to_owned();
        for part in rest.components() {
            out.push('/');
            out.push_str(&part.as_os_str().to_string_lossy());
        }
        if out.is_empty() {
            out.push('/');
        }
        Some(out)
    }

    /// The mapped local roots, for messages.
    pub fn roots(&self) -> Vec<String> {
        self.paths
            .iter()
            .map(|m| m.local.as_path().display().to_string())
            .collect()
    }
}

/// `[ledger]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerConfig {
    /// The ledger file (after `GSTAGE_LEDGER`); `None` means the ledger's own default.
    pub path: Option<PathBuf>,
}

/// `[poll]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollConfig {
    /// Seconds between the first polls of a waiting command.
    pub interval_secs: u64,
    /// The longest gap between polls once backing off.
    pub max_interval_secs: u64,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            interval_secs: 5,
            max_interval_secs: 60,
        }
    }
}

/// `[wrapper]`: the tiny gate and stage-out jobs of `gstage sbatch`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WrapperConfig {
    /// Partition for the gate and stage-out jobs (for example an `xfer` partition).
    pub partition: Option<String>,
    /// QOS for them.
    pub qos: Option<String>,
    /// Account to charge them to.
    pub account: Option<String>,
    /// Their time limit, in Slurm's syntax.
    pub time_limit: String,
}

impl Default for WrapperConfig {
    fn default() -> Self {
        Self {
            partition: None,
            qos: None,
            account: None,
            time_limit: "00:15:00".to_owned(),
        }
    }
}

/// A collection alias: letters, digits, `-`, `_`, `.`; not a UUID (that would be ambiguous).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
struct AliasName(String);

impl TryFrom<String> for AliasName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let valid = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            Err(format!(
                "`{s}` cannot be a collection alias; use letters, digits, `-`, `_` and `.`"
            ))
        } else if s.parse::<CollectionId>().is_ok() {
            Err(format!(
                "`{s}` is a UUID and cannot be an alias; pick a name such as `cedar`"
            ))
        } else {
            Ok(Self(s))
        }
    }
}

/// A directive prefix: starts with `#`, no whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
struct Prefix(String);

impl TryFrom<String> for Prefix {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() >= 2 && s.starts_with('#') && !s.chars().any(char::is_whitespace) {
            Ok(Self(s))
        } else {
            Err(format!(
                "`{s}` cannot be a directive prefix; it must start with `#`, as `#GLOBUS` does, and hold no spaces"
            ))
        }
    }
}

/// An `http` or `https` base URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
struct BaseUrl(String);

impl TryFrom<String> for BaseUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        match url::Url::parse(&s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {
                Ok(Self(s.trim_end_matches('/').to_owned()))
            }
            _ => Err(format!(
                "`{s}` is not an http(s) URL such as `https://auth.globus.org`"
            )),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    directive_prefix: Option<Spanned<Prefix>>,
    globus: Option<RawGlobus>,
    cluster: Option<Spanned<RawCluster>>,
    #[serde(default)]
    collections: BTreeMap<AliasName, RawCollection>,
    defaults: Option<TaskSettings>,
    ledger: Option<RawLedger>,
    poll: Option<PollConfig>,
    wrapper: Option<WrapperConfig>,
    notify: Option<Spanned<crate::notify::NotifyConfig>>,
    limits: Option<crate::limits::LimitsConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobus {
    client_id: Option<String>,
    auth_url: Option<BaseUrl>,
    transfer_url: Option<BaseUrl>,
    timeout_secs: Option<std::num::NonZeroU64>,
    connect_timeout_secs: Option<std::num::NonZeroU64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    name: Option<String>,
    display_name: Option<String>,
    collection: Option<CollectionId>,
    #[serde(default)]
    paths: Vec<PathMapping>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollection {
    id: CollectionId,
    display_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLedger {
    path: Option<PathBuf>,
}

/// One parsed file and where it came from.
struct Layer {
    file: PathBuf,
    text: String,
    raw: RawConfig,
}

impl Config {
    /// Loads the site file (`GSTAGE_CONFIG`, else `/etc/gstage/config.toml` if present), then the
    /// user's `$XDG_CONFIG_HOME/gstage/config.toml` (home from the password database), then the
    /// environment overrides.
    pub fn load() -> Result<Self, ConfigError> {
        let uid = nix::unistd::getuid();
        let home = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.dir);
        let lookup = |name: &str| std::env::var(name).ok();
        Self::load_with(&lookup, home.as_deref()).map_err(|e| match e {
            ConfigError::NoHome { .. } => ConfigError::NoHome { uid: uid.as_raw() },
            other => other,
        })
    }

    /// `load` with the environment and home directory given, for tests and hooks that act for
    /// another user.
    pub fn load_with(
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        let mut layers = Vec::new();
        let site = env(env::GSTAGE_CONFIG).map(PathBuf::from);
        let explicit = site.is_some();
        let site = site.unwrap_or_else(|| PathBuf::from(SITE_CONFIG_PATH));
        if let Some(layer) = read_layer(&site, explicit)? {
            layers.push(layer);
        }
        let user_dir = match env(env::XDG_CONFIG_HOME).filter(|d| !d.is_empty()) {
            Some(dir) => Some(PathBuf::from(dir)),
            None => home.map(|h| h.join(".config")),
        };
        if let Some(dir) = user_dir
            && let Some(layer) = read_layer(&dir.join("gstage").join("config.toml"), false)?
        {
            layers.push(layer);
        }
        let mut config = merge(layers)?;
        config.apply_env(env)?;
        Ok(config)
    }

    /// One file's configuration, without environment overrides; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        let raw = parse_raw(text, origin)?;
        merge(vec![Layer {
            file: origin.to_owned(),
            text: text.to_owned(),
            raw,
        }])
    }

    /// The cluster's own collection, named for people.
    pub fn cluster_collection(&self) -> Option<Collection> {
        let id = self.cluster.collection?;
        let display_name = self
            .cluster
            .display_name
            .clone()
            .or_else(|| self.cluster.name.clone())
            .unwrap_or_else(|| "cluster".to_owned());
        Some(Collection { id, display_name })
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for (var, slot, example) in [
            (
                env::GSTAGE_AUTH_URL,
                &mut self.globus.auth_url,
                DEFAULT_AUTH_URL,
            ),
            (
                env::GSTAGE_TRANSFER_URL,
                &mut self.globus.transfer_url,
                DEFAULT_TRANSFER_URL,
            ),
        ] {
            if let Some(value) = env(var).filter(|v| !v.is_empty()) {
                *slot = BaseUrl::try_from(value)
                    .map_err(|message| ConfigError::Env {
                        var,
                        message,
                        example,
                    })?
                    .0;
            }
        }
        if let Some(path) = env(env::GSTAGE_LEDGER).filter(|v| !v.is_empty()) {
            self.ledger.path = Some(PathBuf::from(path));
        }
        Ok(())
    }
}

fn read_layer(file: &Path, must_exist: bool) -> Result<Option<Layer>, ConfigError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                file: file.to_owned(),
                source,
            });
        }
    };
    let raw = parse_raw(&text, file)?;
    Ok(Some(Layer {
        file: file.to_owned(),
        text,
        raw,
    }))
}

fn parse_raw(text: &str, file: &Path) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| invalid_from_toml(&e, text, file))
}

/// Turns toml's error into one naming the file, line, column and dotted key, with a
/// did-you-mean for unknown keys.
fn invalid_from_toml(e: &toml::de::Error, text: &str, file: &Path) -> ConfigError {
    let (line, column) = e.span().map_or((1, 1), |span| line_col(text, span.start));
    // Without its input, toml's Display ends with "in `a.b`": the key path it was reading.
    let mut bare = e.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let key = shown
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("in `").and_then(|k| k.strip_suffix('`')))
        .map(str::to_owned);
    let (message, help) = reword(e.message());
    let key = match (key, unknown_field(e.message())) {
        (Some(k), Some((field, _))) => Some(format!("{k}.{field}")),
        (None, Some((field, _))) => Some(field.to_owned()),
        (k, None) => k,
    };
    ConfigError::Invalid {
        file: file.to_owned(),
        line,
        column,
        key,
        message,
        help,
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" → (`x`, [`a`, `b`]).
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest.split('`').skip(1).step_by(2).collect();
    Some((field, expected))
}

fn reword(message: &str) -> (String, Option<String>) {
    if let Some((field, expected)) = unknown_field(message) {
        let help = match nearest(field, expected.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None if expected.is_empty() => "remove it".to_owned(),
            None => format!("the keys allowed here are {}", backticked(&expected)),
        };
        return (format!("unknown key `{field}`"), Some(help));
    }
    (message.trim_end().to_owned(), None)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn merge(layers: Vec<Layer>) -> Result<Config, ConfigError> {
    let mut config = Config {
        globus: GlobusConfig {
            client_id: None,
            auth_url: DEFAULT_AUTH_URL.to_owned(),
            transfer_url: DEFAULT_TRANSFER_URL.to_owned(),
            timeout_secs: None,
            connect_timeout_secs: None,
        },
        cluster: ClusterConfig::default(),
        collections: BTreeMap::new(),
        defaults: TaskSettings::default(),
        directive_prefix: DEFAULT_PREFIX.to_owned(),
        ledger: LedgerConfig::default(),
        poll: PollConfig::default(),
        wrapper: WrapperConfig::default(),
        notify: crate::notify::NotifyConfig::default(),
        limits: crate::limits::LimitsConfig::default(),
        files: Vec::new(),
    };
    let site_file = (layers.len() > 1).then(|| layers.first().map(|l| l.file.clone()));
    for (index, layer) in layers.into_iter().enumerate() {
        let Layer { file, text, raw } = layer;
        // Once a site file exists, what the cluster is and how its scripts are read belong to
        // the site: a user file may not change them (the controller hooks would disagree).
        if let (true, Some(Some(site))) = (index > 0, &site_file) {
            let locked = [
                ("cluster", raw.cluster.as_ref().map(Spanned::span)),
                (
                    "directive_prefix",
                    raw.directive_prefix.as_ref().map(Spanned::span),
                ),
                ("notify", raw.notify.as_ref().map(Spanned::span)),
            ];
            if let Some((key, Some(span))) = locked.into_iter().find(|(_, s)| s.is_some()) {
                let (line, column) = line_col(&text, span.start);
                return Err(ConfigError::Invalid {
                    file,
                    line,
                    column,
                    key: Some(key.to_owned()),
                    message: format!("`{key}` is set by the site config `{}`", site.display()),
                    help: Some(format!(
                        "remove `{key}` from this file, or ask the site to change it"
                    )),
                });
            }
        }
        if let Some(prefix) = raw.directive_prefix {
            config.directive_prefix = prefix.into_inner().0;
        }
        if let Some(g) = raw.globus {
            if g.client_id.is_some() {
                config.globus.client_id = g.client_id;
            }
            if let Some(u) = g.auth_url {
                config.globus.auth_url = u.0;
            }
            if let Some(u) = g.transfer_url {
                config.globus.transfer_url = u.0;
            }
            if g.timeout_secs.is_some() {
                config.globus.timeout_secs = g.timeout_secs;
            }
            if g.connect_timeout_secs.is_some() {
                config.globus.connect_timeout_secs = g.connect_timeout_secs;
            }
        }
        if let Some(c) = raw.cluster {
            let c = c.into_inner();
            config.cluster = ClusterConfig {
                name: c.name,
                display_name: c.display_name,
                collection: c.collection,
                paths: c.paths,
            };
        }
        for (alias, c) in raw.collections {
            let display_name = c.display_name.unwrap_or_else(|| alias.0.clone());
            config.collections.insert(
                alias.0,
                Collection {
                    id: c.id,
                    display_name,
                },
            );
        }
        if let Some(d) = raw.defaults {
            config.defaults = config.defaults.overlay(&d);
        }
        if let Some(path) = raw.ledger.and_then(|l| l.path) {
            config.ledger.path = Some(path);
        }
        if let Some(p) = raw.poll {
            config.poll = p;
        }
        if let Some(w) = raw.wrapper {
            config.wrapper = w;
        }
        if let Some(n) = raw.notify {
            config.notify = n.into_inner();
        }
        if let Some(l) = raw.limits {
            config.limits = l;
        }
        config.files.push(file);
    }
    Ok(config)
}

impl fmt::Display for Config {
    /// A short summary for `doctor` and debugging: files read and the cluster.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        write!(
            f,
            "config from {} (cluster {}, {} aliases)",
            if files.is_empty() {
                "built-in defaults".to_owned()
            } else {
                files.join(", ")
            },
            self.cluster.name.as_deref().unwrap_or("unnamed"),
            self.collections.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::SyncLevel;

    const SAMPLE: &str = r#"
[globus]
client_id = "11111111-2222-3333-4444-555555555555"

[cluster]
name = "grex"
collection = "aaaaaaaa-0000-0000-0000-000000000001"
paths = [ { local = "/home", collection = "/home" },
          { local = "/home/projects", collection = "/projects" } ]

[collections.cedar]
id = "cccccccc-0000-0000-0000-000000000002"
display_name = "Alliance Cedar"

[defaults]
sync_level = "checksum"
verify_checksum = true
"#;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, Path::new("site.toml"))
    }

    #[test]
    fn sample_loads_with_defaults() {
        let c = load(SAMPLE).unwrap();
        assert_eq!(c.cluster.name.as_deref(), Some("grex"));
        assert_eq!(c.globus.auth_url, DEFAULT_AUTH_URL);
        assert_eq!(c.globus.transfer_url, DEFAULT_TRANSFER_URL);
        assert_eq!(c.directive_prefix, "#GLOBUS");
        assert_eq!(c.defaults.sync_level, Some(SyncLevel::Checksum));
        let cedar = c.collections.get("cedar").unwrap();
        assert_eq!(cedar.display_name, "Alliance Cedar");
        assert_eq!(cedar.id.to_string(), "cccccccc-0000-0000-0000-000000000002");
    }

    #[test]
    fn request_timeouts_are_optional_and_never_zero() {
        let c = load("[globus]\ntimeout_secs = 5\nconnect_timeout_secs = 2\n").unwrap();
        assert_eq!(c.globus.timeout_secs.map(|t| t.get()), Some(5));
        assert_eq!(c.globus.connect_timeout_secs.map(|t| t.get()), Some(2));
        assert_eq!(load(SAMPLE).unwrap().globus.timeout_secs, None);
        assert!(load("[globus]\ntimeout_secs = 0\n").is_err());
    }

    #[test]
    fn paths_map_by_longest_root() {
        let c = load(SAMPLE).unwrap();
        let table = [
            ("/home/alice/run", Some("/home/alice/run")),
            ("/home/projects/lab/x", Some("/projects/lab/x")),
            ("/home", Some("/home")),
            ("/homer/x", None),
            ("/scratch/x", None),
        ];
        for (local, want) in table {
            assert_eq!(
                c.cluster.map_path(Path::new(local)).as_deref(),
                want,
                "{local}"
            );
        }
    }

    /// Each bad file → (line, key, words the message or help must hold).
    #[test]
    fn errors_name_file_key_and_line() {
        let table: [(&str, usize, &str, &str); 8] = [
            (
                "[cluster]\nnmae = \"grex\"\n",
                2,
                "cluster.nmae",
                "did you mean `name`?",
            ),
            (
                "[globus]\nauth_url = \"ftp://x\"\n",
                2,
                "globus.auth_url",
                "http(s) URL",
            ),
            (
                "[cluster]\ncollection = \"not-a-uuid\"\n",
                2,
                "cluster.collection",
                "not a collection UUID",
            ),
            (
                "[defaults]\nsync_level = \"chksum\"\n",
                2,
                "defaults.sync_level",
                "checksum",
            ),
            (
                "[colections.cedar]\nid = \"x\"\n",
                1,
                "colections",
                "did you mean `collections`?",
            ),
            (
                "[cluster]\npaths = [ { local = \"home\", collection = \"/home\" } ]\n",
                2,
                "cluster.paths",
                "not an absolute path",
            ),
            (
                "directive_prefix = \"GLOBUS\"\n",
                1,
                "directive_prefix",
                "must start with `#`",
            ),
            (
                "[poll]\ninterval_secs = \"often\"\n",
                2,
                "poll.interval_secs",
                "invalid type",
            ),
        ];
        for (text, line, key, words) in table {
            let err = load(text).unwrap_err();
            let shown = err.to_string();
            let ConfigError::Invalid {
                file,
                line: got_line,
                key: got_key,
                ..
            } = &err
            else {
                panic!("{text:?}: {err}");
            };
            assert_eq!(file, Path::new("site.toml"), "{text:?}");
            assert_eq!(*got_line, line, "{text:?}: {shown}");
            assert!(
                got_key.as_deref().is_some_and(|k| k.starts_with(key)),
                "{text:?}: key {got_key:?} in {shown}"
            );
            assert!(shown.contains(words), "{text:?}: {shown}");
            assert!(shown.contains("site.toml"), "{shown}");
        }
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let err = load("[cluster]\nname = \n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 2, .. }), "{err}");
    }

    fn env_of(pairs: &[(&'static str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: BTreeMap<&str, String> = pairs.iter().cloned().collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn site_then_user_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site.toml");
        std::fs::write(&site, SAMPLE).unwrap();
        let user_dir = dir.path().join("xdg").join("gstage");
        std::fs::create_dir_all(&user_dir).unwrap();
        std::fs::write(
            user_dir.join("config.toml"),
            "[defaults]\nsync_level = \"size\"\n[collections.narval]\nid = \"dddddddd-0000-0000-0000-000000000003\"\n",
        )
        .unwrap();
        let env = env_of(&[
            (env::GSTAGE_CONFIG, site.display().to_string()),
            (
                env::XDG_CONFIG_HOME,
                dir.path().join("xdg").display().to_string(),
            ),
            (env::GSTAGE_TRANSFER_URL, "http://127.0.0.1:9/".to_owned()),
            (env::GSTAGE_LEDGER, "/tmp/ledger.db".to_owned()),
        ]);
        let c = Config::load_with(&env, None).unwrap();
        assert_eq!(c.defaults.sync_level, Some(SyncLevel::Size));
        assert_eq!(c.defaults.verify_checksum, Some(true));
        assert!(c.collections.contains_key("cedar") && c.collections.contains_key("narval"));
        assert_eq!(c.globus.transfer_url, "http://127.0.0.1:9");
        assert_eq!(c.ledger.path.as_deref(), Some(Path::new("/tmp/ledger.db")));
        assert_eq!(c.files.len(), 2);
    }

    #[test]
    fn user_file_cannot_change_the_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site.toml");
        std::fs::write(&site, SAMPLE).unwrap();
        let user_dir = dir.path().join("gstage");
        std::fs::create_dir_all(&user_dir).unwrap();
        std::fs::write(
            user_dir.join("config.toml"),
            "\n[cluster]\nname = \"mine\"\n",
        )
        .unwrap();
        let env = env_of(&[
            (env::GSTAGE_CONFIG, site.display().to_string()),
            (env::XDG_CONFIG_HOME, dir.path().display().to_string()),
        ]);
        let err = Config::load_with(&env, None).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { line: 2, key: Some(k), .. } if k == "cluster"),
            "{err}"
        );
    }

    #[test]
    fn named_site_file_must_exist_and_bad_env_is_reported() {
        let env = env_of(&[(env::GSTAGE_CONFIG, "/nonexistent/gstage.toml".to_owned())]);
        assert!(matches!(
            Config::load_with(&env, None),
            Err(ConfigError::Read { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site.toml");
        std::fs::write(&site, "").unwrap();
        let env = env_of(&[
            (env::GSTAGE_CONFIG, site.display().to_string()),
            (env::GSTAGE_AUTH_URL, "not a url".to_owned()),
        ]);
        let err = Config::load_with(&env, None).unwrap_err();
        assert!(err.to_string().contains("GSTAGE_AUTH_URL"), "{err}");
    }

    proptest::proptest! {
        // Case count: PROPTEST_CASES (proptest reads it); the CI default keeps the suite fast.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var(env::PROPTEST_CASES).ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
        ))]

        #[test]
        fn arbitrary_text_never_panics(text in "(\\[[a-z.]{0,12}\\]\n|[a-z_]{1,10} = (\"[^\"]{0,10}\"|[0-9]{1,3}|true|\\[)\n|[ -~]{0,20}\n){0,8}") {
            if let Err(ConfigError::Invalid { line, .. }) = load(&text) {
                proptest::prop_assert!(line >= 1 && line <= text.split('\n').count());
            }
        }
    }
}
