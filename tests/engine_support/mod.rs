//! The world the engine tests run in: an emulated Globus with a national site (`cedar`) and the
//! cluster's own collection (`grex`, a local directory mapped at `/`), a site config pointing
//! at it, a stored login, and a private ledger; `gstage` runs as a real process in it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use globus_emulator::{Collection, Config as EmuConfig, Emulator, EmulatorHandle};
use gstage::globus::TokenResponse;
use gstage::globus::scopes::transfer_scope_with_data_access;
use gstage::tokens::{StoredLogin, TokenStore};
use uuid::Uuid;

pub const ALICE: &str = "alice@umanitoba.ca";

pub struct World {
    pub emu: EmulatorHandle,
    pub dir: tempfile::TempDir,
    pub client_id: Uuid,
    pub cedar: Uuid,
    pub grex: Uuid,
}

/// Options of the emulated world.
#[derive(Default, Clone, Copy)]
pub struct Setup {
    /// Copy rate in bytes per second (unlimited when `None`).
    pub throughput: Option<u64>,
    /// Tasks of one user running at once (default 3, as the service).
    pub active_task_limit: Option<usize>,
    /// Unfinished tasks one user may have (default 100, as the service).
    pub pending_task_limit: Option<usize>,
    /// Add a confidential client (`CLI_CLIENT`, `CLI_SECRET`) for the globus CLI, and let
    /// collections be used without a `data_access` consent (client identities have none).
    pub globus_cli: bool,
    /// Globus Auth hands out a new refresh token on every refresh and spends the old one.
    pub rotate_refresh_tokens: bool,
}

/// The confidential client the globus CLI uses in [`Setup::globus_cli`] worlds.
pub const CLI_CLIENT: Uuid = Uuid::from_u128(0xc0ffee00_1234_4abc_8def_0123456789ab);
/// Its secret.
pub const CLI_SECRET: &str = "bench-secret";

impl World {
    pub fn new() -> World {
        World::with(Setup::default())
    }

    pub fn with(setup: Setup) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let client_id = Uuid::new_v4();
        let cedar = Uuid::new_v4();
        let grex = Uuid::new_v4();
        for d in ["cedar/input", "grex/run", "config", "state"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("dirs");
        }
        std::fs::write(dir.path().join("cedar/input/a.dat"), b"alpha\n").expect("file");
        std::fs::write(dir.path().join("cedar/input/b.dat"), b"bravo bravo\n").expect("file");
        let mut config = EmuConfig::new()
            .identity(globus_emulator::Identity::new(ALICE).name("Alice Tremblay"))
            .native_client(client_id)
            .collection(
                Collection::new(cedar, "Alliance Cedar", dir.path().join("cedar"))
                    .data_access_required(!setup.globus_cli),
            )
            .collection(
                Collection::new(grex, "Grex", dir.path().join("grex"))
                    .data_access_required(!setup.globus_cli),
            )
            .error_retry_seconds(0.2)
            .rotate_refresh_tokens(setup.rotate_refresh_tokens);
        if setup.globus_cli {
            config = config.confidential_client(CLI_CLIENT, CLI_SECRET);
        }
        if let Some(rate) = setup.throughput {
            config = config.throughput(rate);
        }
        if let Some(limit) = setup.active_task_limit {
            config = config.active_task_limit(limit);
        }
        if let Some(limit) = setup.pending_task_limit {
            config = config.pending_task_limit(limit);
        }
        let emu = Emulator::spawn(config).expect("the emulator starts");
        let site = format!(
            r#"[globus]
client_id = "{client_id}"
auth_url = "{base}"
transfer_url = "{base}"

[cluster]
name = "grex"
display_name = "Grex"
collection = "{grex}"
paths = [ {{ local = "{root}", collection = "/" }} ]

[collections.cedar]
id = "{cedar}"
display_name = "Alliance Cedar"

[poll]
interval_secs = 1
max_interval_secs = 2

[limits]
requests_per_second = 0
"#,
            base = emu.base_url(),
            root = dir.path().join("grex").display(),
        );
        std::fs::write(dir.path().join("site.toml"), site).expect("site config");
        let world = World {
            emu,
            dir,
            client_id,
            cedar,
            grex,
        };
        world.seed_login();
        world
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn ledger_path(&self) -> PathBuf {
        self.path("state/ledger.sqlite")
    }

    /// The job's working directory on the cluster.
    pub fn run_dir(&self) -> PathBuf {
        self.path("grex/run")
    }

    /// Writes a job script into the run directory.
    pub fn script(&self, name: &str, directives: &str) -> PathBuf {
        let path = self.run_dir().join(name);
        std::fs::write(&path, format!("#!/bin/bash\n{directives}\necho done\n")).expect("script");
        path
    }

    /// Stores a login as `gstage login` would (tokens minted by the emulator).
    pub fn seed_login(&self) {
        let scopes = format!(
            "openid profile email {}",
            transfer_scope_with_data_access(&[self.cedar.to_string(), self.grex.to_string()])
        );
        let minted = self
            .emu
            .mint_tokens(ALICE, &scopes, Some(self.client_id))
            .expect("the emulator mints tokens");
        let resp: TokenResponse =
            serde_json::from_value(minted.response).expect("a token response");
        let now = chrono::Utc::now().timestamp();
        let mut login = StoredLogin::new(Some(self.client_id.to_string()));
        login.consented_collections = vec![self.cedar.to_string(), self.grex.to_string()];
        for t in resp.into_stored(now) {
            login.tokens.insert(t.resource_server.clone(), t);
        }
        TokenStore::at(self.path("config/gstage/tokens.json"))
            .save(&login)
            .expect("store saved");
    }

    /// `gstage` with a clean environment: this world's config, login and ledger.
    pub fn gstage(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("gstage"));
        cmd.args(args)
            .current_dir(self.run_dir())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.dir.path())
            .env("USER", "alice")
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("GSTAGE_CONFIG", self.path("site.toml"))
            .env("GSTAGE_LEDGER", self.ledger_path());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.gstage(args).output().expect("gstage runs")
    }

    /// Transfer requests seen so far, as `METHOD /path`.
    pub fn transfer_requests(&self) -> Vec<String> {
        self.emu
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/v0.10/"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// Tasks at Globus whose label is exactly `label`.
    pub fn tasks_labelled(&self, label: &str) -> usize {
        self.emu
            .tasks()
            .iter()
            .filter(|t| t.label.as_deref() == Some(label))
            .count()
    }

    pub fn ledger(&self) -> gstage::ledger::Ledger {
        gstage::ledger::Ledger::open(&self.ledger_path()).expect("ledger opens")
    }

    /// Every token of the stored login (access and refresh), to check output never holds one.
    pub fn tokens(&self) -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        match v.as_str() {
                            Some(s) if k.ends_with("_token") && s.len() >= 8 => {
                                out.push(s.to_owned());
                            }
                            _ => walk(v, out),
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let raw =
            std::fs::read_to_string(self.path("config/gstage/tokens.json")).expect("token store");
        let v: serde_json::Value = serde_json::from_str(&raw).expect("token store JSON");
        let mut found = Vec::new();
        walk(&v, &mut found);
        assert!(!found.is_empty(), "the token store holds tokens");
        found
    }
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Asserts the exit status, showing the output when it differs.
#[track_caller]
pub fn assert_status(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
