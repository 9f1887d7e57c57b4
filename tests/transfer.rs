//! `gstage transfer` against the emulator: batch runs arrive byte for byte, a key never submits
//! twice (re-run, kill -9 between submitting and recording, a deleted ledger), a key reused for
//! other data is refused, a service identity can archive, a missing source fails before any
//! task exists, and include/exclude filters hold.

mod engine_support;

use std::path::Path;
use std::time::{Duration, Instant};

use engine_support::{CLI_CLIENT, CLI_SECRET, Setup, World, assert_status, read, text};
use globus_emulator::{Fault, FaultRule, TaskStatus};

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
    std::fs::write(path, bytes).expect("file written");
}

/// Results and logs in the run directory.
fn results(w: &World) {
    write(&w.run_dir().join("results/x.dat"), b"x-ray 1\n");
    write(&w.run_dir().join("results/deep/y.dat"), &[7u8; 70_000]);
    write(&w.run_dir().join("logs/run.log"), b"step 1 ok\nstep 2 ok\n");
}

fn key_tasks(w: &World, key: &str) -> usize {
    let prefix = format!("gstage transfer {key} ");
    w.emu
        .tasks()
        .iter()
        .filter(|t| t.label.as_deref().is_some_and(|l| l.starts_with(&prefix)))
        .count()
}

fn forget_ledger(w: &World) {
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut path = w.ledger_path().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    assert!(!w.ledger_path().exists());
}

#[test]
fn a_two_pair_batch_arrives_byte_for_byte_and_a_rerun_with_its_key_submits_nothing() {
    let w = World::new();
    results(&w);
    let batch = w.run_dir().join("pairs.txt");
    write(
        &batch,
        b"# nightly archive\n\n./results/   cedar:/archive/n1/results/\n./logs/run.log cedar:/archive/n1/logs/\n",
    );
    let out = w.run(&[
        "transfer",
        "--batch",
        "pairs.txt",
        "--key",
        "nightly-2026-11-28",
        "--wait",
        "--sync-level",
        "checksum",
    ]);
    assert_status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("(accepted)"), "{stdout}");
    let first_run: Vec<String> = w.transfer_requests();
    // Two pairs from one collection to another with the same options: one task, as the planner
    // groups directives.
    assert_eq!(w.emu.tasks().len(), 1);
    assert_eq!(w.emu.tasks()[0].status, TaskStatus::Succeeded);
    for (from, to) in [
        ("results/x.dat", "archive/n1/results/x.dat"),
        ("results/deep/y.dat", "archive/n1/results/deep/y.dat"),
        ("logs/run.log", "archive/n1/logs/run.log"),
    ] {
        assert_eq!(
            read(&w.run_dir().join(from)),
            read(&w.path("cedar").join(to)),
            "{from}"
        );
    }

    let again = w.run(&[
        "transfer",
        "--batch",
        "pairs.txt",
        "--key",
        "nightly-2026-11-28",
        "--wait",
        "--sync-level",
        "checksum",
    ]);
    assert_status(&again, 0);
    assert!(
        text(&again.stdout).contains("already submitted (ledger)"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(w.emu.tasks().len(), 1, "still one task at Globus");
    let posts = w
        .transfer_requests()
        .iter()
        .filter(|r| *r == "POST /v0.10/transfer")
        .count();
    assert_eq!(posts, 1, "the re-run sent nothing");
    let rerun = w.transfer_requests().len() - first_run.len();
    eprintln!(
        "Transfer requests: first run {} ({}), re-run with the ledger {rerun}",
        first_run.len(),
        first_run.join(", ")
    );
}

#[test]
fn the_same_key_for_other_data_is_refused_with_and_without_the_ledger() {
    let w = World::new();
    results(&w);
    assert_status(
        &w.run(&[
            "transfer",
            "./results/",
            "cedar:/archive/a/",
            "--key",
            "weekly-48",
        ]),
        0,
    );
    for round in ["with the ledger", "without the ledger"] {
        let out = w.run(&[
            "transfer",
            "./logs/",
            "cedar:/archive/a/",
            "--key",
            "weekly-48",
        ]);
        assert_status(&out, 2);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("archive key `weekly-48` was already used for other data"),
            "{round}: {stderr}"
        );
        assert!(stderr.contains("gstage status weekly-48"), "{stderr}");
        assert_eq!(w.emu.tasks().len(), 1, "{round}: nothing submitted");
        forget_ledger(&w);
    }
}

#[test]
fn kill_9_between_submitting_and_recording_then_rerun_leaves_one_task() {
    let w = World::new();
    results(&w);
    // Globus creates the task, then the answer is held back: the process is killed while the
    // task exists but before its id can be recorded.
    w.emu.inject(
        FaultRule::new(Fault::StallAnswer { seconds: 60.0 })
            .on("POST", "/v0.10/transfer")
            .times(1),
    );
    let args = [
        "transfer",
        "./results/",
        "cedar:/archive/c/",
        "--key",
        "crash-1",
    ];
    let mut child = w
        .gstage(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("gstage starts");
    let started = Instant::now();
    while w.emu.tasks().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the task was never submitted"
        );
        assert!(
            child.try_wait().expect("status").is_none(),
            "gstage ended before its answer came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let records = w.ledger().get_by_key("crash-1").expect("records");
    assert_eq!(records.len(), 1);
    assert!(
        records[0].submission_id.is_some() && records[0].task_id.is_none(),
        "killed after submitting and before recording: {records:?}"
    );

    let out = w.run(&args);
    assert_status(&out, 0);
    assert!(
        text(&out.stdout).contains("(duplicate)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(w.emu.tasks().len(), 1, "one task at Globus");
    let records = w.ledger().get_by_key("crash-1").expect("records");
    assert_eq!(records[0].task_id, Some(w.emu.tasks()[0].task_id));
}

#[test]
fn with_the_ledger_deleted_a_rerun_finds_the_task_by_label() {
    let w = World::new();
    results(&w);
    let args = [
        "transfer",
        "./results/",
        "cedar:/archive/d/",
        "--key",
        "nightly-2026-11-29",
        "--label",
        "nightly, results/",
    ];
    assert_status(&w.run(&args), 0);
    assert_eq!(key_tasks(&w, "nightly-2026-11-29"), 1);
    forget_ledger(&w);

    let out = w.run(&args);
    assert_status(&out, 0);
    assert!(
        text(&out.stdout).contains("(found by label)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(w.emu.tasks().len(), 1, "one task at Globus");
    let records = w
        .ledger()
        .get_by_key("nightly-2026-11-29")
        .expect("records");
    assert_eq!(records.len(), 1, "the run is recorded again");
    assert_eq!(records[0].task_id, Some(w.emu.tasks()[0].task_id));

    // `status KEY` and `list --key-prefix` show it, also as JSON.
    let status = w.run(&["status", "nightly-2026-11-29", "--format", "json"]);
    assert_status(&status, 0);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(v["key"], "nightly-2026-11-29");
    assert_eq!(
        v["tasks"][0]["task_id"],
        w.emu.tasks()[0].task_id.to_string()
    );
    forget_ledger(&w);
    let listed = w.run(&["list", "--key-prefix", "nightly-"]);
    assert_status(&listed, 0);
    let stdout = text(&listed.stdout);
    assert!(
        stdout.contains("nightly-2026-11-29")
            && stdout.contains(&w.emu.tasks()[0].task_id.to_string()),
        "found at Globus without a ledger:\n{stdout}"
    );
}

#[test]
fn status_and_list_audit_archive_runs_from_the_ledger() {
    let w = World::new();
    results(&w);
    for day in ["28", "29"] {
        let key = format!("nightly-2026-11-{day}");
        let dest = format!("cedar:/archive/{day}/");
        assert_status(
            &w.run(&["transfer", "./results/", &dest, "--key", &key, "--wait"]),
            0,
        );
    }
    assert_status(
        &w.run(&[
            "transfer",
            "./logs/",
            "cedar:/archive/w/",
            "--key",
            "weekly-48",
        ]),
        0,
    );
    let out = w.run(&["list", "--key-prefix", "nightly-", "--format", "json"]);
    assert_status(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let tasks = v["tasks"].as_array().expect("tasks");
    let keys: Vec<&str> = tasks.iter().filter_map(|t| t["key"].as_str()).collect();
    assert_eq!(keys, ["nightly-2026-11-28", "nightly-2026-11-29"]);
    for t in tasks {
        assert_eq!(t["state"], "SUCCEEDED");
        assert_eq!(t["files_transferred"], 2);
        assert_eq!(t["bytes_transferred"], 70_008);
    }
    let text_out = text(&w.run(&["list", "--key-prefix", "nightly-"]).stdout);
    assert!(
        text_out.contains("KEY") && text_out.contains("BYTES"),
        "{text_out}"
    );
    assert!(!text_out.contains("weekly-48"), "{text_out}");
    let status = w.run(&["status", "nightly-2026-11-28"]);
    assert_status(&status, 0);
    assert!(
        text(&status.stdout).contains("archive nightly-2026-11-28: 1 transfer"),
        "{}",
        text(&status.stdout)
    );
    assert_status(&w.run(&["status", "never-used"]), 3);
}

#[test]
fn a_service_identity_archives_with_client_credentials() {
    let w = World::with(Setup {
        globus_cli: true,
        ..Setup::default()
    });
    results(&w);
    // No user login at all: only the client's id and secret.
    std::fs::remove_file(w.path("config/gstage/tokens.json")).expect("login removed");
    let out = w
        .gstage(&[
            "transfer",
            "./results/",
            "cedar:/archive/svc/",
            "--key",
            "svc-1",
            "--wait",
        ])
        .env("GSTAGE_CLIENT_ID", CLI_CLIENT.to_string())
        .env("GSTAGE_CLIENT_SECRET", CLI_SECRET)
        .output()
        .expect("gstage runs");
    assert_status(&out, 0);
    assert!(!text(&out.stdout).contains(CLI_SECRET) && !text(&out.stderr).contains(CLI_SECRET));
    let tasks = w.emu.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].owner_id, CLI_CLIENT,
        "owned by the service identity"
    );
    assert_eq!(
        read(&w.run_dir().join("results/deep/y.dat")),
        read(&w.path("cedar/archive/svc/deep/y.dat"))
    );
}

#[test]
fn a_missing_source_fails_fast_naming_the_path_and_submits_nothing() {
    let w = World::new();
    results(&w);
    let out = w.run(&["transfer", "--batch", "pairs.txt", "--key", "missing-1"]);
    assert_status(&out, 3);
    assert!(text(&out.stderr).contains("batch file `pairs.txt` does not exist"));

    let out = w.run(&[
        "transfer",
        "./results/",
        "cedar:/archive/m/",
        "cedar:/input/nope.dat",
        "./in/nope.dat",
        "--key",
        "missing-1",
    ]);
    assert_status(&out, 2);

    let out = w.run(&[
        "transfer",
        "cedar:/input/nope.dat",
        "./in/nope.dat",
        "--key",
        "missing-1",
        "--wait",
    ]);
    assert_status(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("source `/input/nope.dat` does not exist on `Alliance Cedar`"),
        "{stderr}"
    );
    assert!(w.emu.tasks().is_empty(), "no task was created");
}

#[test]
fn a_recursive_tree_with_an_exclude_filter_arrives_without_the_excluded_files() {
    let w = World::new();
    let tree = w.run_dir().join("tree");
    write(&tree.join("a.txt"), b"alpha\n");
    write(&tree.join("sub/b.txt"), b"bravo\n");
    write(&tree.join("sub/deeper/c.bin"), &[42u8; 12_345]);
    write(&tree.join("scratch.tmp"), b"drop me\n");
    write(&tree.join("sub/partial.tmp"), b"drop me too\n");
    let out = w.run(&[
        "transfer",
        "./tree/",
        "cedar:/archive/tree/",
        "--recursive",
        "--exclude",
        "*.tmp",
        "--key",
        "tree-1",
        "--wait",
        "--format",
        "json",
    ]);
    assert_status(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["key"], "tree-1");
    assert_eq!(v["wait"]["tasks"][0]["state"], "SUCCEEDED");
    let dest = w.path("cedar/archive/tree");
    for file in ["a.txt", "sub/b.txt", "sub/deeper/c.bin"] {
        assert_eq!(read(&tree.join(file)), read(&dest.join(file)), "{file}");
    }
    for file in ["scratch.tmp", "sub/partial.tmp"] {
        assert!(!dest.join(file).exists(), "{file} was excluded");
    }
}

#[test]
fn keys_are_checked_and_job_symbols_need_a_job() {
    let w = World::new();
    results(&w);
    let out = w.run(&["transfer", "./results/", "cedar:/a/", "--key", "night/ly"]);
    assert_status(&out, 2);
    assert!(text(&out.stderr).contains("archive key `night/ly` holds `/`"));
    let out = w.run(&["transfer", "./results/", "cedar:/a/", "--key", "job-%j"]);
    assert_status(&out, 2);
    assert!(text(&out.stderr).contains("uses `%j`, which needs a job"));
    // In an epilog or a workflow step, the job's id names the run.
    let out = w
        .gstage(&[
            "transfer",
            "./results/",
            "cedar:/archive/jobs/%j/",
            "--key",
            "job-%j",
        ])
        .env("SLURM_JOB_ID", "4242")
        .output()
        .expect("gstage runs");
    assert_status(&out, 0);
    assert_eq!(key_tasks(&w, "job-4242"), 1);
}
