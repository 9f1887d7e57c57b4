//! Shared by the Slurm end-to-end tests: the test bed in the mode a test binary needs, the
//! emulator as Globus (in this process), gstage's configuration pointing at it, the test user's
//! token store, and helpers to submit jobs as that user and watch them.
//!
//! Prerequisites (a missing one FAILS the test with how to get it): root, Debian/Ubuntu with apt
//! (the test bed installs Slurm), `slurm/testbed/up` able to run. Each test binary starts the test
//! bed in its mode once (`up` is idempotent; switching modes restarts the daemons).

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use globus_emulator::{Collection, Config as EmulatorConfig, Emulator, EmulatorHandle, Identity};
use uuid::Uuid;

/// The native app gstage logs in through, in the emulator and gstage's config.
pub const CLIENT_ID: &str = "9d5b6a8e-1b7c-4a43-9f4e-6f6d1e0c2a11";
/// The "national site" collection.
pub const REMOTE_ID: &str = "3f1e2d4c-5b6a-4789-8abc-0d1e2f3a4b5c";
/// The cluster's own collection.
pub const CLUSTER_ID: &str = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d";

/// Emulator copy rate: a 64 KiB input takes about 2 s, long enough to see a job wait for it.
pub const THROUGHPUT: u64 = 32 * 1024;

const FINAL_STATES: [&str; 9] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
];

/// One test bed, emulator and configuration for the whole test binary.
pub struct World {
    pub mode: String,
    pub slurm_user: String,
    pub vars: HashMap<String, String>,
    pub emulator: EmulatorHandle,
    /// The remote collection's root (a local folder).
    pub remote_root: PathBuf,
    /// gstage's site configuration file.
    pub config: PathBuf,
    pub users: Mutex<Vec<String>>,
}

static WORLD: OnceLock<World> = OnceLock::new();

/// Tests that restart daemons run alone; the others share the test bed.
static TURN: RwLock<()> = RwLock::new(());

/// A turn on the test bed shared with other tests.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    TURN.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The test bed alone (for restarting daemons).
pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    TURN.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The test bed in `mode` with `slurm_user`, the emulator, and the test user logged in.
#[track_caller]
pub fn world(mode: &str, slurm_user: &str) -> &'static World {
    WORLD.get_or_init(|| World::start(mode, slurm_user))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn testbed_dir() -> PathBuf {
    std::env::var_os("GSTAGE_TESTBED_DIR")
        .map_or_else(|| repo().join("target/slurm-testbed"), PathBuf::from)
}

/// `slurm/testbed/up` in `mode`, with gstage's config passed to the lua and hooks.
#[track_caller]
fn testbed_up(mode: &str, slurm_user: &str, config: &Path) {
    let mut up = Command::new(repo().join("slurm/testbed/up"));
    up.args(["--mode", mode, "--slurm-user", slurm_user])
        .env("GSTAGE_BIN", env!("CARGO_BIN_EXE_gstage"))
        .env("GSTAGE_CONFIG", config)
        .env_remove("GSTAGE_TRANSFER_URL")
        .env_remove("GSTAGE_AUTH_URL")
        .env_remove("GSTAGE_LEDGER");
    if let Ok(port) = std::env::var("GSTAGE_TESTBED_PORT") {
        up.args(["--port", &port]);
    }
    if let Some(d) = std::env::var_os("GSTAGE_TESTBED_DIR") {
        up.arg("--dir").arg(d);
    }
    let out = up.output().expect("run slurm/testbed/up");
    assert!(
        out.status.success(),
        "slurm/testbed/up --mode {mode} --slurm-user {slurm_user} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl World {
    /// Stops slurmctld (SIGTERM, by the test bed's pid file) and starts the test bed again.
    #[track_caller]
    pub fn restart_slurmctld(&self) {
        let pidfile = Path::new(self.var("GSTAGE_TESTBED_DIR")).join("run/slurmctld.pid");
        let pid = fs::read_to_string(&pidfile)
            .unwrap_or_else(|e| panic!("no `{}`: {e}", pidfile.display()))
            .trim()
            .to_owned();
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(
            comm.trim(),
            "slurmctld",
            "pid {pid} is not the test bed's slurmctld"
        );
        run(Command::new("kill").args(["-TERM", &pid]));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{pid}")).exists() {
            assert!(
                Instant::now() < deadline,
                "slurmctld {pid} did not stop in 30 s"
            );
            sleep(Duration::from_millis(100));
        }
        testbed_up(&self.mode, &self.slurm_user, &self.config);
    }

    fn start(mode: &str, slurm_user: &str) -> World {
        assert_eq!(
            run(Command::new("id").arg("-u")).trim(),
            "0",
            "run the Slurm end-to-end tests as root: they start the test bed and submit jobs as its unprivileged user"
        );
        let dir = testbed_dir();
        let shared = dir.join("gstage");
        fs::create_dir_all(&shared).expect("create the test bed's gstage folder");
        let remote_root = shared.join("remote");
        fs::create_dir_all(&remote_root).expect("create the remote collection");
        for d in [&dir, &shared, &remote_root] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let emulator = Emulator::spawn(
            EmulatorConfig::new()
                .identity(Identity::new("gstage-test@example.org"))
                .identity(Identity::new("gstage-test2@example.org"))
                .native_client(Uuid::parse_str(CLIENT_ID).expect("uuid"))
                .collection(
                    Collection::new(
                        Uuid::parse_str(REMOTE_ID).expect("uuid"),
                        "National site",
                        &remote_root,
                    )
                    .data_access_required(false),
                )
                .collection(
                    Collection::new(Uuid::parse_str(CLUSTER_ID).expect("uuid"), "Cluster", "/")
                        .data_access_required(false),
                )
                .throughput(THROUGHPUT)
                .active_task_limit(20)
                // The engine reads the last 100 events to date a permanent error; at one retry
                // every 2 s they span more than its one-minute grace.
                .error_retry_seconds(2.0),
        )
        .expect("the emulator starts");
        let url = emulator.base_url();
        let config = shared.join("config.toml");
        let jobs = dir.join("jobs");
        let text = format!(
            r#"# Written by the Slurm end-to-end tests.
[globus]
client_id = "{CLIENT_ID}"
auth_url = "{url}"
transfer_url = "{url}"

[cluster]
name = "gstage-testbed"
collection = "{CLUSTER_ID}"
paths = [ {{ local = "{jobs}", collection = "{jobs}" }} ]

[collections.remote]
id = "{REMOTE_ID}"
display_name = "National site"

# The aliases examples/jobs/ uses, so the examples can be submitted here as written.
[collections.cedar]
id = "{REMOTE_ID}"

[collections.narval]
id = "{REMOTE_ID}"

[collections.nearline]
id = "{REMOTE_ID}"

[poll]
interval_secs = 1
max_interval_secs = 2
"#,
            jobs = jobs.display()
        );
        fs::write(&config, text).expect("write gstage's config");
        fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).expect("chmod config");

        testbed_up(mode, slurm_user, &config);
        let vars = fs::read_to_string(dir.join("env"))
            .map(|t| parse_env_file(&t))
            .expect("slurm/testbed/up wrote its env file");
        let world = World {
            mode: mode.to_owned(),
            slurm_user: slurm_user.to_owned(),
            vars,
            emulator,
            remote_root,
            config,
            users: Mutex::new(Vec::new()),
        };
        let _ = world.login(world.user(), "gstage-test@example.org");
        world
    }

    #[track_caller]
    pub fn var(&self, name: &str) -> &str {
        self.vars.get(name).map(String::as_str).unwrap_or_else(|| {
            panic!("the test bed's env file lacks {name}; rerun slurm/testbed/up")
        })
    }

    pub fn user(&self) -> &str {
        self.vars
            .get("GSTAGE_TESTBED_USER")
            .map_or("gstage-test", String::as_str)
    }

    /// Creates a second unprivileged user if missing (for isolation tests).
    pub fn ensure_user(&self, user: &str) {
        if Command::new("id")
            .arg(user)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return;
        }
        run(Command::new("useradd").args([
            "--create-home",
            "--shell",
            "/bin/bash",
            "--user-group",
            user,
        ]));
    }

    /// Writes `user`'s token store (0600, theirs) with tokens the emulator minted for `identity`;
    /// returns the identity's id.
    pub fn login(&self, user: &str, identity: &str) -> Uuid {
        let minted = self
            .emulator
            .mint_tokens(
                identity,
                "urn:globus:auth:scope:transfer.api.globus.org:all openid profile email",
                Some(Uuid::parse_str(CLIENT_ID).expect("uuid")),
            )
            .expect("the emulator mints tokens");
        let home = PathBuf::from(
            run(Command::new("getent").args(["passwd", user]))
                .trim()
                .split(':')
                .nth(5)
                .expect("a home in passwd")
                .to_owned(),
        );
        let store = home.join(".config/gstage/tokens.json");
        let mut login = gstage::tokens::StoredLogin::new(Some(CLIENT_ID.to_owned()));
        let response: gstage::globus::auth::TokenResponse =
            serde_json::from_value(minted.response.clone()).expect("a token response");
        for token in response.into_stored(chrono::Utc::now().timestamp()) {
            login.tokens.insert(token.resource_server.clone(), token);
        }
        let text = serde_json::to_string_pretty(&login).expect("serialise the store");
        run(Command::new("runuser")
            .args(["-u", user, "--", "mkdir", "-p", "-m", "700"])
            .arg(store.parent().expect("parent")));
        let tmp = store.with_extension("seed");
        fs::write(&tmp, text).expect("write the store");
        run(Command::new("chown").arg(format!("{user}:")).arg(&tmp));
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).expect("chmod store");
        fs::rename(&tmp, &store).expect("install the store");
        minted.identity_id
    }

    /// A Slurm client command run as root.
    pub fn slurm(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", self.var("SLURM_CONF"));
        cmd
    }

    /// A command run as the test user, with a login environment (HOME, USER) and SLURM_CONF.
    pub fn as_user(&self, program: &str) -> Command {
        self.as_other(self.user(), program)
    }

    pub fn as_other(&self, user: &str, program: &str) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", user, "--", "env"])
            .arg(format!("SLURM_CONF={}", self.var("SLURM_CONF")))
            .arg(format!("GSTAGE_CONFIG={}", self.config.display()))
            .arg(program);
        cmd.env_remove("GSTAGE_LEDGER")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME");
        cmd
    }

    /// A fresh folder the test user owns, for a job's files.
    pub fn job_dir(&self, name: &str) -> PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = Path::new(self.var("GSTAGE_TESTBED_JOBS"))
            .join(format!("{name}-{}-{nanos}", std::process::id()));
        run(self.as_user("mkdir").arg("-p").arg(&dir));
        dir
    }

    /// Writes a file as the test user.
    pub fn write_as_user(&self, path: &Path, text: &str) {
        fs::write(path, text).unwrap_or_else(|e| panic!("write `{}`: {e}", path.display()));
        run(Command::new("chown")
            .arg(format!("{}:", self.user()))
            .arg(path));
    }

    /// A fresh folder in the remote collection, with `files` (name, size in bytes).
    pub fn remote_dir(&self, name: &str, files: &[(&str, usize)]) -> (PathBuf, String) {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let rel = format!("/{name}-{}-{nanos}", std::process::id());
        let dir = self.remote_root.join(rel.trim_start_matches('/'));
        fs::create_dir_all(&dir).expect("create a remote folder");
        for (file, size) in files {
            let body: String = (0..*size)
                .map(|i| char::from(b'a' + u8::try_from(i % 26).unwrap_or(0)))
                .collect();
            fs::write(dir.join(file), body).expect("write a remote file");
        }
        (dir, rel)
    }

    /// `sbatch --parsable` as the test user: the job id, or the failed output.
    pub fn sbatch(&self, dir: &Path, args: &[&str]) -> Result<String, Output> {
        let out = self
            .as_user("sbatch")
            .arg("--parsable")
            .arg(format!("--chdir={}", dir.display()))
            .args(args)
            .output()
            .expect("run sbatch");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout)
                .trim()
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned())
        } else {
            Err(out)
        }
    }

    /// `scontrol -o show job ID` as root.
    pub fn job(&self, job_id: &str) -> String {
        run(self.slurm("scontrol").args(["-o", "show", "job", job_id]))
    }

    /// Waits (at most `secs`) until `check` holds for the job's record; returns the record.
    #[track_caller]
    pub fn wait_job(
        &self,
        job_id: &str,
        secs: u64,
        what: &str,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let info = self.job(job_id);
            if check(&info) {
                return info;
            }
            assert!(
                Instant::now() < deadline,
                "job {job_id}: {what} did not happen in {secs} s: {info}\n{}",
                self.log_tail()
            );
            sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the job reaches a final state; returns its record.
    #[track_caller]
    pub fn wait_final(&self, job_id: &str, secs: u64) -> String {
        self.wait_job(job_id, secs, "reaching a final state", |info| {
            FINAL_STATES.contains(&field(info, "JobState").unwrap_or_default())
        })
    }

    /// The emulator's tasks whose label names the job.
    pub fn tasks_of(&self, job_id: &str) -> Vec<globus_emulator::TaskSnapshot> {
        let needle = format!("gstage gstage-testbed {job_id} ");
        self.emulator
            .tasks()
            .into_iter()
            .filter(|t| t.label.as_deref().is_some_and(|l| l.starts_with(&needle)))
            .collect()
    }

    /// The end of the slurmctld log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.var("GSTAGE_TESTBED_CTLD_LOG")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(40);
        format!(
            "slurmctld log (end):\n{}",
            lines.get(from..).unwrap_or_default().join("\n")
        )
    }

    /// Waits for a file to exist (results arriving), at most `secs`.
    #[track_caller]
    pub fn wait_file(&self, path: &Path, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(text) = fs::read_to_string(path) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "`{}` did not appear in {secs} s\n{}",
                path.display(),
                self.log_tail()
            );
            sleep(Duration::from_millis(200));
        }
    }
}

/// The uid that owns a path.
pub fn owner_of(path: &Path) -> u32 {
    fs::metadata(path).map_or(u32::MAX, |m| m.uid())
}

/// Reads the `export NAME='value'` lines `slurm/testbed/up` writes.
pub fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('='))
        .map(|(name, value)| {
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// The value of `NAME=value` in Slurm's one-line output (up to the next space).
pub fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
}

/// Runs a command that must succeed; its stdout.
#[track_caller]
pub fn run(cmd: &mut Command) -> String {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|err| panic!("cannot run {cmd:?}: {err}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stdout and stderr of a finished command, for messages.
pub fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
