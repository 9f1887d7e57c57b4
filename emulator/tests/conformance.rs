//! The real `globus` CLI (pinned globus-cli) driven against the emulator in client-credentials
//! mode: the CLI is the oracle that the emulator speaks the API the way clients expect.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{SECRET, World, content, write};
use globus_emulator::{Emulator, EmulatorHandle, Fault, FaultRule};
use serde_json::Value;

/// Where the globus CLI is: `GSTAGE_TEST_GLOBUS_CLI`, else the workspace's `.venv`.
fn globus_cli() -> PathBuf {
    if let Some(path) = std::env::var_os("GSTAGE_TEST_GLOBUS_CLI") {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "GSTAGE_TEST_GLOBUS_CLI points at `{}`, which does not exist; run `bash scripts/test` (it installs globus-cli into .venv)",
            path.display()
        );
        return path;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/globus");
    assert!(
        path.exists(),
        "the globus CLI is missing (looked at GSTAGE_TEST_GLOBUS_CLI and `.venv/bin/globus`); run `bash scripts/test` (it installs globus-cli into .venv)"
    );
    path
}

/// One CLI run's outcome.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn json(&self) -> Value {
        assert_eq!(
            self.code, 0,
            "globus failed: {}\n{}",
            self.stdout, self.stderr
        );
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("globus printed no JSON ({e}): {}", self.stdout))
    }
}

/// A spawned emulator plus an isolated CLI home pointed at it.
struct Oracle {
    world: World,
    emulator: EmulatorHandle,
    home: tempfile::TempDir,
    cli: PathBuf,
}

impl Oracle {
    fn new(world: World, config: globus_emulator::Config) -> Self {
        let cli = globus_cli();
        let emulator = Emulator::spawn(config).expect("emulator starts");
        Self {
            world,
            emulator,
            home: tempfile::tempdir().expect("home"),
            cli,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let url = format!("{}/", self.emulator.base_url());
        let mut cmd = Command::new(&self.cli);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GLOBUS_") {
                cmd.env_remove(key);
            }
        }
        let out = cmd
            .args(args)
            .env("HOME", self.home.path())
            .env("GLOBUS_SDK_SERVICE_URL_AUTH", &url)
            .env("GLOBUS_SDK_SERVICE_URL_TRANSFER", &url)
            .env("GLOBUS_CLI_CLIENT_ID", self.world.confidential.to_string())
            .env("GLOBUS_CLI_CLIENT_SECRET", SECRET)
            .env("GLOBUS_CLI_INTERACTIVE", "0")
            .output()
            .expect("globus runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-F", "json"]);
        self.run(&all).json()
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("`{key}` missing or not a string in {v}"))
}

#[test]
fn transfer_with_every_option_arrives_once_and_reports_like_the_service() {
    let world = World::new();
    let src = world.root("cedar").join("runs/input");
    let big = content(300_000, 1);
    write(&src.join("big.dat"), &big);
    write(&src.join("nested/small.txt"), b"small file\n");
    write(&src.join("scratch.tmp"), b"excluded");
    write(&world.root("archive").join("stage/stale.txt"), b"delete me");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    std::fs::File::options()
        .write(true)
        .open(src.join("big.dat"))
        .and_then(|f| f.set_modified(old))
        .expect("set mtime");
    let config = world.config();
    let o = Oracle::new(world, config);
    let (cedar, archive) = (o.world.cedar.to_string(), o.world.archive.to_string());

    let sid = o.json(&["task", "generate-submission-id"]);
    let sid = str_of(&sid, "value").to_owned();
    uuid::Uuid::parse_str(&sid).expect("submission id is a uuid");

    let src_arg = format!("{cedar}:/runs/input/");
    let dst_arg = format!("{archive}:/stage/");
    let args = [
        "transfer",
        &src_arg,
        &dst_arg,
        "--recursive",
        "--submission-id",
        &sid,
        "--sync-level",
        "checksum",
        "--verify-checksum",
        "--preserve-timestamp",
        "--encrypt-data",
        "--notify",
        "off",
        "--skip-source-errors",
        "--fail-on-quota-errors",
        "--delete-destination-extra",
        "--exclude",
        "*.tmp",
        "--label",
        "conformance run",
        "--deadline",
        "2030-01-01 00:00:00",
    ];
    let accepted = o.json(&args);
    assert_eq!(str_of(&accepted, "code"), "Accepted");
    assert_eq!(str_of(&accepted, "DATA_TYPE"), "transfer_result");
    assert_eq!(str_of(&accepted, "submission_id"), sid);
    let task_id = str_of(&accepted, "task_id").to_owned();

    let duplicate = o.json(&args);
    assert_eq!(str_of(&duplicate, "code"), "Duplicate");
    assert_eq!(str_of(&duplicate, "task_id"), task_id);
    assert_eq!(
        o.emulator.tasks().len(),
        1,
        "a repeated submission id made a second task"
    );

    let wait = o.run(&["task", "wait", &task_id, "--timeout", "120"]);
    assert_eq!(wait.code, 0, "task wait: {}{}", wait.stdout, wait.stderr);

    let task = o.json(&["task", "show", &task_id]);
    assert_eq!(str_of(&task, "status"), "SUCCEEDED");
    assert_eq!(str_of(&task, "label"), "conformance run");
    assert_eq!(str_of(&task, "deadline"), "2030-01-01T00:00:00+00:00");
    assert_eq!(task["type"], "TRANSFER");
    assert_eq!(task["sync_level"], 3);
    assert_eq!(task["verify_checksum"], true);
    assert_eq!(task["preserve_timestamp"], true);
    assert_eq!(task["encrypt_data"], true);
    assert_eq!(task["delete_destination_extra"], true);
    assert_eq!(task["notify_on_succeeded"], false);
    assert_eq!(task["files_transferred"], 2);
    assert_eq!(task["bytes_transferred"], big.len() as u64 + 11);
    assert_eq!(task["filter_rules"][0]["method"], "exclude");
    assert!(task["completion_time"].is_string());
    assert!(task["fatal_error"].is_null());

    let dst = o.world.root("archive").join("stage");
    assert_eq!(
        std::fs::read(dst.join("big.dat")).expect("big.dat arrived"),
        big
    );
    assert_eq!(
        std::fs::read(dst.join("nested/small.txt")).expect("small arrived"),
        b"small file\n"
    );
    assert!(
        !dst.join("scratch.tmp").exists(),
        "excluded file was copied"
    );
    assert!(
        !dst.join("stale.txt").exists(),
        "destination extra was not deleted"
    );
    let mtime = std::fs::metadata(dst.join("big.dat"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(mtime, old, "mtime not preserved");

    let list = o.json(&["task", "list"]);
    let ids: Vec<&str> = list["DATA"]
        .as_array()
        .expect("task list DATA")
        .iter()
        .filter_map(|t| t["task_id"].as_str())
        .collect();
    assert_eq!(ids, vec![task_id.as_str()]);

    let events = o.json(&["task", "event-list", &task_id]);
    let codes: Vec<&str> = events["DATA"]
        .as_array()
        .expect("event DATA")
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert_eq!(codes.first(), Some(&"SUCCEEDED"), "newest first: {codes:?}");
    assert_eq!(codes.last(), Some(&"STARTED"));

    let ls = o.json(&["ls", &format!("{archive}:/stage/")]);
    let names: Vec<&str> = ls["DATA"]
        .as_array()
        .expect("ls DATA")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, vec!["big.dat", "nested"]);
    assert_eq!(ls["DATA"][1]["type"], "dir");

    // A file item with an external checksum and a size sync level: already there, so skipped.
    let md5 = "5eb63bbbe01eeed093cb22bb8f5acdc3"; // md5("hello world")
    write(&o.world.root("cedar").join("hello.txt"), b"hello world");
    let one = o.json(&[
        "transfer",
        &format!("{cedar}:/hello.txt"),
        &format!("{archive}:/hello.txt"),
        "--external-checksum",
        md5,
        "--checksum-algorithm",
        "MD5",
        "--sync-level",
        "size",
    ]);
    let one_id = str_of(&one, "task_id").to_owned();
    assert_eq!(o.run(&["task", "wait", &one_id, "--timeout", "60"]).code, 0);
    assert_eq!(
        std::fs::read(o.world.root("archive").join("hello.txt")).expect("hello"),
        b"hello world"
    );
    let again = o.json(&[
        "transfer",
        &format!("{cedar}:/hello.txt"),
        &format!("{archive}:/hello.txt"),
        "--sync-level",
        "size",
    ]);
    let again_id = str_of(&again, "task_id").to_owned();
    assert_eq!(
        o.run(&["task", "wait", &again_id, "--timeout", "60"]).code,
        0
    );
    let again_task = o.json(&["task", "show", &again_id]);
    assert_eq!(again_task["files_skipped"], 1);
    assert_eq!(again_task["files_transferred"], 0);
}

#[test]
fn mkdir_endpoint_show_and_search_answer_like_the_service() {
    let world = World::new();
    let config = world.config();
    let o = Oracle::new(world, config);
    let archive = o.world.archive.to_string();

    let made = o.json(&["mkdir", &format!("{archive}:/new/")]);
    assert_eq!(str_of(&made, "code"), "DirectoryCreated");
    assert!(o.world.root("archive").join("new").is_dir());
    let exists = o.run(&["mkdir", &format!("{archive}:/new/"), "-F", "json"]);
    assert_eq!(exists.code, 1);
    assert!(
        exists.stderr.contains("ExternalError.MkdirFailed.Exists"),
        "{}",
        exists.stderr
    );

    let endpoint = o.json(&["endpoint", "show", &o.world.endpoint.to_string()]);
    assert_eq!(endpoint["id"], o.world.endpoint.to_string());
    assert_eq!(endpoint["entity_type"], "GCSv5_endpoint");
    assert_eq!(endpoint["display_name"], "Cedar endpoint");

    let collection = o.run(&["endpoint", "show", &archive]);
    assert_eq!(
        collection.code, 3,
        "a collection is not an endpoint: {}",
        collection.stderr
    );
    assert!(
        collection.stderr.contains("collection show"),
        "{}",
        collection.stderr
    );

    let found = o.json(&["endpoint", "search", "archive"]);
    let hits: Vec<&str> = found["DATA"]
        .as_array()
        .expect("search DATA")
        .iter()
        .filter_map(|e| e["display_name"].as_str())
        .collect();
    assert_eq!(hits, vec!["Lab archive"]);

    let missing = o.run(&[
        "task",
        "show",
        &uuid::Uuid::new_v4().to_string(),
        "-F",
        "json",
    ]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("TaskNotFound"),
        "{}",
        missing.stderr
    );
}

#[test]
fn cancel_fails_the_task_and_wait_exits_one() {
    let world = World::new();
    write(
        &world.root("archive").join("slow.bin"),
        &content(200_000, 2),
    );
    let config = world.config().throughput(20_000);
    let o = Oracle::new(world, config);
    let archive = o.world.archive.to_string();
    let submitted = o.json(&[
        "transfer",
        &format!("{archive}:/slow.bin"),
        &format!("{archive}:/copy/slow.bin"),
    ]);
    let task_id = str_of(&submitted, "task_id").to_owned();
    let active = o.json(&["task", "show", &task_id]);
    assert_eq!(active["status"], "ACTIVE");
    assert!(active["completion_time"].is_null());

    let canceled = o.json(&["task", "cancel", &task_id]);
    assert_eq!(str_of(&canceled, "code"), "Canceled");
    let task = o.json(&["task", "show", &task_id]);
    assert_eq!(task["status"], "FAILED");
    assert_eq!(task["fatal_error"]["code"], "CANCELED");
    assert!(task["completion_time"].is_string());
    let events = o.json(&["task", "event-list", &task_id]);
    assert_eq!(events["DATA"][0]["code"], "CANCELED");
    assert_eq!(events["DATA"][0]["is_error"], true);
    let wait = o.run(&["task", "wait", &task_id, "--timeout", "30"]);
    assert_eq!(
        wait.code, 1,
        "wait on a FAILED task: {}{}",
        wait.stdout, wait.stderr
    );
}

#[test]
fn consent_errors_and_transient_faults_behave_as_the_cli_expects() {
    let world = World::new();
    write(&world.root("cedar").join("data/a.txt"), b"a");
    let config = world.config();
    let o = Oracle::new(world, config);
    let cedar = o.world.cedar.to_string();

    // No consent yet: the CLI (a client identity) consents through client_credentials and
    // retries the same call once, and the old token then works.
    let listed = o.json(&["ls", &format!("{cedar}:/data/")]);
    assert_eq!(listed["DATA"][0]["name"], "a.txt");
    let log = o.emulator.requests();
    let trail: Vec<(String, u16)> = log.iter().map(|r| (r.path.clone(), r.status)).collect();
    let ls_path = format!("/v0.10/operation/endpoint/{cedar}/ls");
    assert_eq!(
        trail,
        vec![
            ("/v2/oauth2/token".to_owned(), 200),
            (ls_path.clone(), 403),
            ("/v2/oauth2/token".to_owned(), 200),
            (ls_path.clone(), 200),
        ]
    );

    // Consent still missing after the retry: the CLI prints its hint and exits 4.
    o.emulator.inject(
        FaultRule::new(Fault::ConsentRequired {
            collections: vec![],
        })
        .on("GET", "/v0.10/operation/")
        .times(2),
    );
    let denied = o.run(&["ls", &format!("{cedar}:/data/")]);
    assert_eq!(denied.code, 4, "{}{}", denied.stdout, denied.stderr);
    let scope = format!(
        "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/{cedar}/data_access]"
    );
    let hint = format!("globus session consent '{scope}'");
    assert!(
        denied.stdout.contains(&hint) || denied.stderr.contains(&hint),
        "{}{}",
        denied.stdout,
        denied.stderr
    );

    // The same error as JSON carries required_scopes at the top level and in the GARE.
    o.emulator.inject(
        FaultRule::new(Fault::ConsentRequired {
            collections: vec![],
        })
        .on("GET", "/v0.10/operation/")
        .times(2),
    );
    let raw = o.run(&["ls", &format!("{cedar}:/data/"), "-F", "json"]);
    assert_ne!(raw.code, 0);
    let body: Value = serde_json::from_str(raw.stderr.trim()).expect("error body as JSON");
    assert_eq!(body["code"], "ConsentRequired");
    assert_eq!(body["required_scopes"][0], scope.as_str());
    assert_eq!(
        body["authorization_parameters"]["required_scopes"][0],
        scope.as_str()
    );

    // Transient faults are retried transparently.
    let before = o.emulator.stats().faults_injected;
    for fault in [
        Fault::Status { status: 503 },
        Fault::RateLimit { retry_after: 1 },
        Fault::ConnectionReset,
    ] {
        o.emulator.inject(
            FaultRule::new(fault.clone())
                .on("GET", "/v0.10/operation/")
                .times(1),
        );
        let ok = o.json(&["ls", &format!("{cedar}:/data/")]);
        assert_eq!(ok["DATA"][0]["name"], "a.txt", "after {fault:?}");
    }
    assert_eq!(o.emulator.stats().faults_injected, before + 3);
}
