//! The staging commands as processes against the emulator: stage-in and stage-out (with
//! `--when` and `--optional`), exactly-once re-runs, status, list, wait and cancel.

mod engine_support;

use engine_support::{World, assert_status, read, text};

const STAGE_IN: &str = "#GLOBUS stage-in cedar:/input/ ./input/";

#[test]
fn stage_in_copies_the_input_and_records_the_task() {
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    let out = w.run(&[
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "101",
        "--interval",
        "0.2",
    ]);
    assert_status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("stage-in task 1: "), "{stdout}");
    assert!(stdout.contains("\"gstage grex 101 in 1\""), "{stdout}");
    assert!(
        stdout.contains("stage-in for job 101 on grex: 1 task (1 submitted); 1 succeeded"),
        "{stdout}"
    );
    assert_eq!(read(&w.path("grex/run/input/a.dat")), b"alpha\n");
    assert_eq!(read(&w.path("grex/run/input/b.dat")), b"bravo bravo\n");
    assert_eq!(w.tasks_labelled("gstage grex 101 in 1"), 1);
    let records = w.ledger().get_by_job("grex", "101", None).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].state, gstage::ledger::State::Succeeded);
    assert_eq!(records[0].task_id, Some(w.emu.tasks()[0].task_id));
}

#[test]
fn a_rerun_adopts_the_recorded_task_and_sends_nothing() {
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    let args = [
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "102",
        "--no-wait",
    ];
    assert_status(&w.run(&args), 0);
    let posts = |w: &World| {
        w.transfer_requests()
            .iter()
            .filter(|r| *r == "POST /v0.10/transfer")
            .count()
    };
    assert_eq!(posts(&w), 1);
    let out = w.run(&args);
    assert_status(&out, 0);
    assert!(
        text(&out.stdout).contains("(1 already submitted)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(posts(&w), 1, "a re-run must not submit again");
    assert_eq!(w.tasks_labelled("gstage grex 102 in 1"), 1);
}

#[test]
fn a_lost_ledger_is_recovered_by_label_without_a_second_task() {
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    let args = [
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "103",
        "--no-wait",
    ];
    assert_status(&w.run(&args), 0);
    let first = w.emu.tasks()[0].task_id;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", w.ledger_path().display()));
    }
    let out = w.run(&args);
    assert_status(&out, 0);
    assert!(
        text(&out.stdout).contains("found at Globus by label"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(w.tasks_labelled("gstage grex 103 in 1"), 1);
    let records = w.ledger().get_by_job("grex", "103", None).unwrap();
    assert_eq!(
        records[0].task_id,
        Some(first),
        "the ledger adopts the original task"
    );
}

#[test]
fn a_crash_after_sending_is_resolved_by_duplicate() {
    // The state a kill between `POST /transfer` and recording its answer leaves: the ledger
    // holds a reserved submission id that Globus already accepted.
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    let config = gstage::config::Config::load_with(
        &|k| match k {
            "GSTAGE_CONFIG" => Some(w.path("site.toml").display().to_string()),
            _ => None,
        },
        None,
    )
    .unwrap();
    let ctx = gstage::slurm::context::JobContext::from_env(
        &[
            ("SLURM_JOB_ID", "104"),
            ("SLURM_JOB_NAME", "job.sh"),
            ("USER", "alice"),
            ("SLURM_JOB_WORK_DIR", w.run_dir().to_str().unwrap()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect(),
        chrono::Utc::now(),
    )
    .unwrap();
    let planned = gstage::plan::plan_script(
        &std::fs::read_to_string(&script).unwrap(),
        &gstage::directive::ParseOptions::from_config(&config),
        &ctx,
        &config,
    )
    .unwrap();
    let task = &planned.plan.stage_in[0];
    let sid = uuid::Uuid::new_v4();
    let mut ledger = w.ledger();
    ledger
        .reserve(&gstage::ledger::NewTransfer {
            subject: gstage::ledger::Subject::Job {
                cluster: "grex".into(),
                job_id: "104".into(),
                direction: gstage::ledger::Direction::In,
            },
            seq: 1,
            label: task.label.clone(),
            source: gstage::ledger::Collection {
                id: w.cedar,
                display_name: None,
            },
            destination: gstage::ledger::Collection {
                id: w.grex,
                display_name: None,
            },
            items: gstage::engine::items_summary(task),
            submission_id: Some(sid),
            user: "alice".into(),
            array_job_id: None,
            array_task_id: None,
        })
        .unwrap();
    drop(ledger);
    let doc = gstage::engine::transfer_document(task, gstage::globus::SubmissionId(sid));
    let client = gstage::globus::GlobusClient::builder()
        .auth_url(w.emu.base_url())
        .transfer_url(w.emu.base_url())
        .client_id(w.client_id.to_string())
        .credentials(gstage::globus::Credentials::Store(
            gstage::tokens::TokenStore::at(w.path("config/gstage/tokens.json")),
        ))
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sent = rt.block_on(client.submit_transfer(&doc)).unwrap();
    let out = w.run(&[
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "104",
        "--no-wait",
    ]);
    assert_status(&out, 0);
    assert!(
        text(&out.stdout).contains("already submitted (Globus confirmed)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(w.emu.tasks().len(), 1, "Duplicate, not a second task");
    let records = w.ledger().get_by_job("grex", "104", None).unwrap();
    assert_eq!(records[0].task_id, Some(sent.task_id.0));
}

#[test]
fn inside_a_job_with_a_ledger_in_use_a_stage_in_costs_two_requests() {
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    // An earlier job puts the ledger in use.
    assert_status(
        &w.run(&[
            "stage-in",
            "--script",
            script.to_str().unwrap(),
            "--job-id",
            "200",
            "--no-wait",
        ]),
        0,
    );
    let before = w.transfer_requests().len();
    let started = (chrono::Utc::now() + chrono::TimeDelta::seconds(60))
        .timestamp()
        .to_string();
    let run_dir = w.run_dir();
    let job = |start: Option<&str>| {
        let mut cmd = w.gstage(&[
            "stage-in",
            "--script",
            script.to_str().unwrap(),
            "--no-wait",
        ]);
        cmd.env("SLURM_JOB_ID", "201")
            .env("SLURM_JOB_NAME", "job.sh")
            .env("SLURM_SUBMIT_DIR", &run_dir)
            .env("SLURM_CLUSTER_NAME", "grex");
        if let Some(s) = start {
            cmd.env("SLURM_JOB_START_TIME", s);
        }
        cmd
    };
    assert_status(&job(Some(&started)).output().unwrap(), 0);
    let sent: Vec<String> = w.transfer_requests()[before..].to_vec();
    assert_eq!(sent, ["GET /v0.10/submission_id", "POST /v0.10/transfer"]);

    // Without the start time, a job the ledger does not know is first looked up by label.
    let mut cmd = job(None);
    cmd.env("SLURM_JOB_ID", "202");
    let before = w.transfer_requests().len();
    assert_status(&cmd.output().unwrap(), 0);
    let sent: Vec<String> = w.transfer_requests()[before..].to_vec();
    assert_eq!(
        sent,
        [
            "GET /v0.10/task_list",
            "GET /v0.10/submission_id",
            "POST /v0.10/transfer"
        ]
    );
}

#[test]
fn stage_in_creates_missing_destination_directories() {
    let w = World::new();
    let script = w.script(
        "job.sh",
        "#GLOBUS stage-in cedar:/input/a.dat ./deep/er/a.dat",
    );
    assert!(!w.path("grex/run/deep/er").exists());
    let out = w.run(&[
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "105",
        "--no-wait",
    ]);
    assert_status(&out, 0);
    assert!(
        w.path("grex/run/deep/er").is_dir(),
        "made before the task runs"
    );
}

const WHEN: &str = "#GLOBUS stage-out ./results/ cedar:/runs/%j/ok/ --when success
#GLOBUS stage-out ./results/ cedar:/runs/%j/bad/ --when failure
#GLOBUS stage-out ./results/ cedar:/runs/%j/all/ --when always";

fn stage_out(w: &World, job: &str, extra: &[&str]) -> std::process::Output {
    std::fs::create_dir_all(w.path("grex/run/results")).unwrap();
    std::fs::write(w.path("grex/run/results/out.txt"), b"42\n").unwrap();
    let script = w.script("when.sh", WHEN);
    let mut args = vec![
        "stage-out",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        job,
        "--wait",
        "--interval",
        "0.2",
    ];
    args.extend_from_slice(extra);
    w.run(&args)
}

#[test]
fn when_success_failure_and_always_follow_the_exit_code() {
    let w = World::new();
    let out = stage_out(&w, "300", &["--exit-code", "0"]);
    assert_status(&out, 0);
    assert!(
        text(&out.stdout).contains("3 tasks (2 submitted, 1 skipped by --when)"),
        "{}",
        text(&out.stdout)
    );
    assert!(w.path("cedar/runs/300/ok/out.txt").exists());
    assert!(w.path("cedar/runs/300/all/out.txt").exists());
    assert!(!w.path("cedar/runs/300/bad").exists());

    let out = stage_out(&w, "301", &["--exit-code", "1"]);
    assert_status(&out, 0);
    assert!(!w.path("cedar/runs/301/ok").exists());
    assert!(w.path("cedar/runs/301/bad/out.txt").exists());
    assert!(w.path("cedar/runs/301/all/out.txt").exists());
}

#[test]
fn when_follows_the_job_state_and_the_epilog_variables() {
    let w = World::new();
    assert_status(&stage_out(&w, "302", &["--job-state", "TIMEOUT"]), 0);
    assert!(w.path("cedar/runs/302/bad/out.txt").exists());
    assert!(!w.path("cedar/runs/302/ok").exists());

    std::fs::create_dir_all(w.path("grex/run/results")).unwrap();
    let script = w.script("when.sh", WHEN);
    let out = w
        .gstage(&[
            "stage-out",
            "--script",
            script.to_str().unwrap(),
            "--job-id",
            "303",
            "--wait",
            "--interval",
            "0.2",
        ])
        .env("SLURM_JOB_EXIT_CODE2", "0:0")
        .output()
        .unwrap();
    assert_status(&out, 0);
    assert!(w.path("cedar/runs/303/ok/out.txt").exists());
    assert!(!w.path("cedar/runs/303/bad").exists());
}

#[test]
fn an_unknown_outcome_submits_nothing_and_says_how_to_give_it() {
    let w = World::new();
    let out = stage_out(&w, "304", &[]);
    assert_status(&out, 2);
    assert!(
        text(&out.stderr).contains("--exit-code"),
        "{}",
        text(&out.stderr)
    );
    assert!(w.emu.tasks().is_empty());
    // `--when always` alone needs no outcome.
    let script = w.script("always.sh", "#GLOBUS stage-out ./results/ cedar:/runs/%j/");
    let out = w.run(&[
        "stage-out",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "305",
    ]);
    assert_status(&out, 0);
    assert_eq!(w.tasks_labelled("gstage grex 305 out 1"), 1);
}

#[test]
fn a_missing_source_fails_fast_with_its_path() {
    let w = World::new();
    let script = w.script(
        "job.sh",
        "#GLOBUS stage-in cedar:/nowhere/data.bin ./input/",
    );
    let out = w.run(&[
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "400",
        "--interval",
        "0.3",
        "--grace",
        "1s",
    ]);
    assert_status(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("FILE_NOT_FOUND") && stderr.contains("/nowhere/data.bin"),
        "{stderr}"
    );
    assert!(stderr.contains("cancelled"), "{stderr}");
    let t = &w.emu.tasks()[0];
    assert_eq!(
        t.status,
        globus_emulator::TaskStatus::Failed,
        "the task was cancelled at Globus"
    );
    let rec = &w.ledger().get_by_job("grex", "400", None).unwrap()[0];
    assert_eq!(rec.state, gstage::ledger::State::Failed);
    assert!(
        rec.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("/nowhere/data.bin")
    );
}

#[test]
fn an_optional_stage_in_failure_does_not_fail_the_job() {
    let w = World::new();
    let script = w.script(
        "job.sh",
        "#GLOBUS stage-in cedar:/input/ ./input/\n#GLOBUS stage-in cedar:/missing.dat ./extra/missing.dat --optional",
    );
    let out = w.run(&[
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "401",
        "--interval",
        "0.3",
        "--grace",
        "1s",
    ]);
    assert_status(&out, 0);
    assert!(
        text(&out.stderr).contains("warning: optional transfer"),
        "{}",
        text(&out.stderr)
    );
    assert!(w.path("grex/run/input/a.dat").exists());
    assert!(
        w.path("grex/run/extra").is_dir(),
        "the optional destination directory still exists"
    );
}

#[test]
fn json_output_of_stage_in() {
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    let out = w.run(&[
        "--format",
        "json",
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "106",
        "--no-wait",
    ]);
    assert_status(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["job_id"], 106);
    assert_eq!(v["direction"], "in");
    assert_eq!(v["tasks"][0]["label"], "gstage grex 106 in 1");
    assert_eq!(v["tasks"][0]["submission"], "accepted");
    assert_eq!(
        v["tasks"][0]["task_id"],
        w.emu.tasks()[0].task_id.to_string()
    );
}

#[test]
fn invalid_directives_submit_nothing() {
    let w = World::new();
    let script = w.script("bad.sh", "#GLOBUS stage-in nosuch:/x ./x/");
    let out = w.run(&[
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "107",
    ]);
    assert_status(&out, 2);
    assert!(text(&out.stderr).contains("nothing was submitted"));
    assert!(w.transfer_requests().is_empty());
    let out = w.run(&["stage-in", "--script", script.to_str().unwrap()]);
    assert_status(&out, 2);
    assert!(
        text(&out.stderr).contains("--job-id"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn status_of_a_job_from_the_ledger_and_from_another_host() {
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    assert_status(
        &w.run(&[
            "stage-in",
            "--script",
            script.to_str().unwrap(),
            "--job-id",
            "500",
            "--interval",
            "0.2",
        ]),
        0,
    );
    let out = w.run(&["status", "500"]);
    assert_status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("job 500 on grex: 1 transfer"), "{stdout}");
    assert!(stdout.contains("SUCCEEDED, 2/2 files"), "{stdout}");

    // Another host: the same login, an empty ledger.
    let out = w
        .gstage(&["--format", "json", "status", "500"])
        .env("GSTAGE_LEDGER", w.path("state/other-host.sqlite"))
        .output()
        .unwrap();
    assert_status(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tasks"][0]["label"], "gstage grex 500 in 1");
    assert_eq!(v["tasks"][0]["state"], "SUCCEEDED");
    assert_eq!(v["tasks"][0]["source_of_truth"], "globus");

    let task = w.emu.tasks()[0].task_id.to_string();
    let out = w.run(&["status", &task]);
    assert_status(&out, 0);
    assert!(text(&out.stdout).contains(&task));

    assert_status(&w.run(&["status", "999"]), 3);
    // Neither a job id, a task id nor an archive key (those hold no blanks).
    assert_status(&w.run(&["status", "not a job"]), 2);
}

#[test]
fn list_filters_by_state_and_time() {
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    assert_status(
        &w.run(&[
            "stage-in",
            "--script",
            script.to_str().unwrap(),
            "--job-id",
            "600",
            "--interval",
            "0.2",
        ]),
        0,
    );
    let bad = w.script("bad.sh", "#GLOBUS stage-in cedar:/gone.dat ./gone.dat");
    assert_status(
        &w.run(&[
            "stage-in",
            "--script",
            bad.to_str().unwrap(),
            "--job-id",
            "601",
            "--interval",
            "0.3",
            "--grace",
            "1s",
        ]),
        1,
    );
    let out = w.run(&["list"]);
    assert_status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("gstage grex 600 in 1") && stdout.contains("gstage grex 601 in 1"),
        "{stdout}"
    );
    let out = w.run(&["--format", "json", "list", "--state", "failed"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["job_id"], "601");
    let out = w.run(&["--format", "json", "list", "--since", "2030-01-01"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["tasks"].as_array().unwrap().is_empty());
    let out = w.run(&["--format", "json", "list", "--since", "1h"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tasks"].as_array().unwrap().len(), 2);
}

fn slow_world() -> World {
    let w = World::with(engine_support::Setup {
        throughput: Some(2_000),
        ..Default::default()
    });
    std::fs::write(w.path("cedar/input/big.bin"), vec![7u8; 12_000]).unwrap();
    w
}

#[test]
fn cancel_a_job_and_a_task() {
    let w = slow_world();
    let script = w.script("job.sh", STAGE_IN);
    assert_status(
        &w.run(&[
            "stage-in",
            "--script",
            script.to_str().unwrap(),
            "--job-id",
            "700",
            "--no-wait",
        ]),
        0,
    );
    let out = w.run(&["cancel", "700"]);
    assert_status(&out, 0);
    assert!(
        text(&out.stdout).contains("CANCELED"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(w.emu.tasks()[0].status, globus_emulator::TaskStatus::Failed);
    assert_eq!(
        w.ledger().get_by_job("grex", "700", None).unwrap()[0].state,
        gstage::ledger::State::Canceled
    );

    assert_status(
        &w.run(&[
            "stage-in",
            "--script",
            script.to_str().unwrap(),
            "--job-id",
            "701",
            "--no-wait",
        ]),
        0,
    );
    let task = w.emu.tasks()[1].task_id.to_string();
    let out = w.run(&["--format", "json", "cancel", &task]);
    assert_status(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tasks"][0]["state"], "CANCELED");
    assert_status(&w.run(&["cancel", "702"]), 3);
}

#[test]
fn wait_times_out_with_the_chosen_code_and_then_succeeds() {
    let w = slow_world();
    let script = w.script("job.sh", STAGE_IN);
    assert_status(
        &w.run(&[
            "stage-in",
            "--script",
            script.to_str().unwrap(),
            "--job-id",
            "800",
            "--no-wait",
        ]),
        0,
    );
    let out = w.run(&[
        "wait",
        "800",
        "--timeout",
        "1s",
        "--timeout-exit-code",
        "75",
        "--interval",
        "0.3",
    ]);
    assert_status(&out, 75);
    assert!(
        text(&out.stderr).contains("timed out"),
        "{}",
        text(&out.stderr)
    );
    let task = w.emu.tasks()[0].task_id.to_string();
    let out = w.run(&["wait", &task, "--interval", "0.5"]);
    assert_status(&out, 0);
    assert!(
        text(&out.stdout).contains("1 succeeded"),
        "{}",
        text(&out.stdout)
    );
    // Plain lines (not a bar) when stderr is not a terminal.
    assert!(
        text(&out.stderr).contains("\"gstage grex 800 in 1\": SUCCEEDED"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_inactive_task_needs_attention() {
    let w = slow_world();
    let script = w.script("job.sh", STAGE_IN);
    assert_status(
        &w.run(&[
            "stage-in",
            "--script",
            script.to_str().unwrap(),
            "--job-id",
            "801",
            "--no-wait",
        ]),
        0,
    );
    let task = w.emu.tasks()[0].task_id;
    w.emu
        .set_task_status(task, globus_emulator::TaskStatus::Inactive)
        .unwrap();
    let out = w.run(&["wait", "801", "--stop-on-attention", "--interval", "0.3"]);
    assert_status(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("needs attention") && stderr.contains("gstage login"),
        "{stderr}"
    );
    assert_eq!(
        w.ledger().get_by_task(task).unwrap().unwrap().state,
        gstage::ledger::State::Inactive
    );
}

#[test]
fn wait_without_anything_to_wait_for_is_not_found() {
    let w = World::new();
    assert_status(&w.run(&["wait"]), 3);
    assert_status(&w.run(&["wait", "12345"]), 3);
}

#[test]
fn a_missing_consent_is_recorded_and_a_rerun_submits_once() {
    let w = World::new();
    let script = w.script("job.sh", STAGE_IN);
    let args = [
        "stage-in",
        "--script",
        script.to_str().unwrap(),
        "--job-id",
        "900",
        "--no-wait",
    ];
    w.emu.inject(
        globus_emulator::FaultRule::new(globus_emulator::Fault::ConsentRequired {
            collections: vec![w.cedar],
        })
        .on("POST", "/v0.10/transfer")
        .times(1),
    );
    let out = w.run(&args);
    assert_status(&out, 4);
    assert!(
        text(&out.stderr).contains("gstage login"),
        "{}",
        text(&out.stderr)
    );
    let rec = &w.ledger().get_by_job("grex", "900", None).unwrap()[0];
    assert_eq!(rec.state, gstage::ledger::State::NeedsAttention);
    assert!(
        rec.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("gstage login")
    );
    let sid = rec.submission_id;

    let out = w.run(&args);
    assert_status(&out, 0);
    assert_eq!(w.tasks_labelled("gstage grex 900 in 1"), 1);
    let rec = &w.ledger().get_by_job("grex", "900", None).unwrap()[0];
    assert_eq!(
        rec.submission_id, sid,
        "the re-run re-sent the reserved submission id"
    );
    assert_eq!(rec.state, gstage::ledger::State::Submitted);
}

#[test]
fn a_job_id_staged_before_with_other_data_is_refused_not_adopted() {
    let w = World::new();
    let first = w.script("first.sh", "#GLOBUS stage-in cedar:/input/a.dat ./a.dat");
    let args = |s: &std::path::Path| {
        vec![
            "stage-in".to_owned(),
            "--script".to_owned(),
            s.to_str().unwrap().to_owned(),
            "--job-id".to_owned(),
            "150".to_owned(),
            "--no-wait".to_owned(),
        ]
    };
    let run = |s: &std::path::Path| {
        let a = args(s);
        w.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_status(&run(&first), 0);
    // Same job id and label, other data: a reused job id or an edited script.
    let second = w.script("second.sh", "#GLOBUS stage-in cedar:/input/b.dat ./b.dat");
    let out = run(&second);
    assert_status(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("the ledger records task 1 as"), "{err}");
    assert!(
        err.contains("/input/a.dat"),
        "the recorded items are shown: {err}"
    );
    assert!(
        err.contains("/input/b.dat"),
        "the planned items are shown: {err}"
    );
    assert_eq!(w.emu.tasks().len(), 1, "no second task was submitted");
}

#[test]
fn a_submission_beyond_the_pending_limit_waits_for_room_instead_of_failing() {
    // One unfinished task allowed: the second job's stage-out is refused until the first
    // job's task ends (about 3 s at this rate), then goes through with the same submission id.
    let w = World::with(engine_support::Setup {
        throughput: Some(4_000),
        active_task_limit: Some(1),
        pending_task_limit: Some(1),
        ..Default::default()
    });
    std::fs::create_dir_all(w.path("grex/run/results")).unwrap();
    std::fs::write(w.path("grex/run/results/big.bin"), vec![5u8; 12_000]).unwrap();
    let script = w.script("out.sh", "#GLOBUS stage-out ./results/ cedar:/runs/%j/");
    let script = script.to_str().unwrap();
    let first = w.run(&[
        "stage-out",
        "--script",
        script,
        "--job-id",
        "900",
        "--exit-code",
        "0",
    ]);
    assert_status(&first, 0);
    let second = w.run(&[
        "-v",
        "stage-out",
        "--script",
        script,
        "--job-id",
        "901",
        "--exit-code",
        "0",
        "--wait",
        "--interval",
        "0.5",
    ]);
    assert_status(&second, 0);
    let err = text(&second.stderr);
    assert!(
        err.contains("pending tasks") && err.contains("waiting"),
        "{err}"
    );
    assert!(w.emu.stats().refused_pending_limit >= 1);
    assert_eq!(
        w.emu.tasks().len(),
        2,
        "one task per job, however many tries"
    );
    assert_eq!(
        std::fs::read(w.path("cedar/runs/901/big.bin")).unwrap(),
        vec![5u8; 12_000]
    );
}
