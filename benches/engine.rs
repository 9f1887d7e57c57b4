//! Engine figures (printed, not asserted):
//!
//! 1. Transfer requests per stage-in with a cached token: inside a job with the ledger in use
//!    (target 2: submission id + transfer), a job the ledger cannot vouch for (+1 label lookup),
//!    and a re-run (nothing sent).
//! 2. Wall time of `gstage status JOBID` with 1,000,000 ledger records (target < 20 ms), next to
//!    the same command on a one-record ledger and the in-process ledger query.
//! 3. `gstage stage-in` of a 100-item plan next to `globus transfer --batch` of the same items
//!    against the same emulator (the globus CLI from `.venv`, or `GSTAGE_TEST_GLOBUS_CLI`).
//!
//! `cargo bench --bench engine` (optimised) or `cargo test --bench engine -- --bench` (debug
//! build) prints the full figures; without `--bench` (as `cargo test --all-targets` runs it) a
//! small version runs so the program stays exercised.

#[path = "../tests/engine_support/mod.rs"]
mod engine_support;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use engine_support::{CLI_CLIENT, CLI_SECRET, Setup, World, assert_status, text};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "gstage engine figures ({build} build{})",
        if full { "" } else { ", small run" }
    );
    requests_per_stage_in();
    status_with_many_records(
        if full { 1_000_000 } else { 10_000 },
        if full { 21 } else { 3 },
    );
    versus_globus_cli(if full { 7 } else { 1 });
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A stage-in run inside job `job` (its `SLURM_*` context, started after the ledger's first use).
fn in_job(w: &World, script: &str, job: &str, start: Option<i64>) -> Command {
    let mut cmd = w.gstage(&["stage-in", "--script", script, "--no-wait"]);
    cmd.env("SLURM_JOB_ID", job)
        .env("SLURM_JOB_NAME", "job.sh")
        .env("SLURM_SUBMIT_DIR", w.run_dir())
        .env("SLURM_CLUSTER_NAME", "grex");
    if let Some(start) = start {
        cmd.env("SLURM_JOB_START_TIME", start.to_string());
    }
    cmd
}

fn run_ok(mut cmd: Command) -> Output {
    let out = cmd.output().expect("runs");
    assert_status(&out, 0);
    out
}

fn requests_per_stage_in() {
    let w = World::new();
    let script = w.script("job.sh", "#GLOBUS stage-in cedar:/input/ ./input/");
    let script = script.to_str().unwrap();
    // The first job of a fresh ledger (and a fresh token: the login was just stored).
    run_ok(in_job(&w, script, "100", None));
    let start = (chrono::Utc::now() + chrono::TimeDelta::seconds(60)).timestamp();
    let count = |w: &World, f: &dyn Fn()| {
        let (t0, a0) = (w.transfer_requests().len(), w.emu.requests().len());
        f();
        let t = w.transfer_requests().len() - t0;
        (t, w.emu.requests().len() - a0 - t)
    };
    let (common, auth) = count(&w, &|| {
        run_ok(in_job(&w, script, "101", Some(start)));
    });
    let (lookup, _) = count(&w, &|| {
        run_ok(in_job(&w, script, "102", None));
    });
    let (rerun, _) = count(&w, &|| {
        run_ok(in_job(&w, script, "101", Some(start)));
    });
    println!("\n1. Transfer requests per stage-in (one task, cached access token)");
    println!(
        "   inside a job, ledger in use          {common}   (target 2; plus {auth} Auth requests)"
    );
    println!("   job the ledger cannot vouch for      {lookup}   (label lookup first)");
    println!("   re-run of a staged job               {rerun}");
}

fn status_with_many_records(records: u64, runs: usize) {
    let w = World::new();
    let path = w.ledger_path();
    drop(w.ledger());
    let t0 = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(&path).expect("ledger file");
        conn.execute_batch("PRAGMA synchronous = OFF")
            .expect("pragma");
        let tx = conn.transaction().expect("transaction");
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO transfers (cluster, job_id, direction, seq, label, source_id,
                         source_name, destination_id, destination_name, items, submission_id,
                         task_id, state, files, files_transferred, bytes, bytes_transferred,
                         created_at, submitted_at, updated_at, completed_at, user)
                     VALUES ('grex', ?1, ?2, 1, ?3, ?4, 'Alliance Cedar', ?5, 'Grex', '[]', ?6, ?7,
                         'SUCCEEDED', 3, 3, 3000, 3000, ?8, ?8, ?8, ?8, 'alice')",
                )
                .expect("statement");
            let (cedar, grex) = (w.cedar.to_string(), w.grex.to_string());
            let now = chrono::Utc::now().timestamp_millis();
            for i in 0..records {
                let job = (1_000_000 + i / 2).to_string();
                let dir = if i % 2 == 0 { "in" } else { "out" };
                let at = now - i64::try_from(records - i).unwrap_or(0) * 1000;
                insert
                    .execute(rusqlite::params![
                        job,
                        dir,
                        format!("gstage grex {job} {dir} 1"),
                        cedar,
                        grex,
                        uuid::Uuid::new_v4().to_string(),
                        uuid::Uuid::new_v4().to_string(),
                        at,
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    let filled = t0.elapsed();
    let job = (1_000_000 + records / 4).to_string();
    let time_status = |w: &World, ledger: &PathBuf, job: &str| {
        let samples: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let out = w
                    .gstage(&["status", job])
                    .env("GSTAGE_LEDGER", ledger)
                    .output()
                    .expect("status runs");
                let took = t.elapsed();
                assert_status(&out, 0);
                assert!(
                    text(&out.stdout).contains("2 transfers"),
                    "{}",
                    text(&out.stdout)
                );
                took
            })
            .collect();
        median(samples)
    };
    let big = time_status(&w, &path, &job);
    // The same command on a ledger holding only this job.
    let small_path = w.path("state/small.sqlite");
    drop(gstage::ledger::Ledger::open(&small_path).expect("small ledger"));
    {
        let conn = rusqlite::Connection::open(&small_path).expect("small ledger");
        conn.execute("ATTACH DATABASE ?1 AS big", [path.to_str().unwrap()])
            .expect("attach");
        conn.execute(
            "INSERT INTO main.transfers SELECT * FROM big.transfers WHERE job_id = ?1",
            [&job],
        )
        .expect("copy the job");
    }
    let small = time_status(&w, &small_path, &job);
    let ledger = gstage::ledger::Ledger::open(&path).expect("ledger");
    let query: Vec<Duration> = (0..100)
        .map(|_| {
            let t = Instant::now();
            let r = ledger.get_by_job("grex", &job, None).expect("query");
            assert_eq!(r.len(), 2);
            t.elapsed()
        })
        .collect();
    println!(
        "\n2. `gstage status JOBID` (median of {runs} runs; the job's tasks are finished, so no request)"
    );
    println!(
        "   ledger with {records} records        {}   (target < 20 ms; filled in {:.1}s)",
        ms(big),
        filled.as_secs_f64()
    );
    println!("   ledger with this job only            {}", ms(small));
    println!(
        "   the ledger query alone (in process)  {:.3} ms",
        median(query).as_secs_f64() * 1000.0
    );
}

fn globus_cli() -> PathBuf {
    if let Some(path) = std::env::var_os("GSTAGE_TEST_GLOBUS_CLI") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/globus");
    assert!(
        path.exists(),
        "the globus CLI is missing at `.venv/bin/globus`: create it with `python3 -m venv .venv && .venv/bin/pip install globus-cli==3.44.0`, or set GSTAGE_TEST_GLOBUS_CLI"
    );
    path
}

fn versus_globus_cli(runs: usize) {
    let cli = globus_cli();
    let w = World::with(Setup {
        globus_cli: true,
        active_task_limit: Some(1000),
        pending_task_limit: Some(1000),
        ..Setup::default()
    });
    let batch_dir = w.path("cedar/batch");
    std::fs::create_dir_all(&batch_dir).unwrap();
    let mut directives = String::new();
    let mut batch = String::new();
    for i in 0..100 {
        std::fs::write(
            batch_dir.join(format!("f{i:03}.dat")),
            format!("item {i}\n"),
        )
        .unwrap();
        directives.push_str(&format!(
            "#GLOBUS stage-in cedar:/batch/f{i:03}.dat ./b%j/f{i:03}.dat\n"
        ));
        batch.push_str(&format!("f{i:03}.dat f{i:03}.dat\n"));
    }
    let script = w.script("batch.sh", directives.trim_end());
    let script = script.to_str().unwrap();
    std::fs::write(w.path("batch.txt"), batch).unwrap();
    // Put the ledger in use (and warm the caches) before timing.
    run_ok(in_job(&w, script, "300", None));
    let start = (chrono::Utc::now() + chrono::TimeDelta::seconds(60)).timestamp();
    let gstage: Vec<Duration> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            run_ok(in_job(&w, script, &(301 + i).to_string(), Some(start)));
            t.elapsed()
        })
        .collect();
    let home = tempfile::tempdir().unwrap();
    let url = format!("{}/", w.emu.base_url());
    let globus: Vec<Duration> = (0..runs)
        .map(|i| {
            let mut cmd = Command::new(&cli);
            for (key, _) in std::env::vars_os() {
                if key.to_string_lossy().starts_with("GLOBUS_") {
                    cmd.env_remove(key);
                }
            }
            cmd.args([
                "transfer",
                &format!("{}:/batch/", w.cedar),
                &format!("{}:/run/g{i}/", w.grex),
                "--batch",
                w.path("batch.txt").to_str().unwrap(),
                "--label",
                &format!("globus batch {i}"),
            ])
            .env("HOME", home.path())
            .env("GLOBUS_SDK_SERVICE_URL_AUTH", &url)
            .env("GLOBUS_SDK_SERVICE_URL_TRANSFER", &url)
            .env("GLOBUS_CLI_CLIENT_ID", CLI_CLIENT.to_string())
            .env("GLOBUS_CLI_CLIENT_SECRET", CLI_SECRET)
            .env("GLOBUS_CLI_INTERACTIVE", "0");
            let t = Instant::now();
            let out = cmd.output().expect("globus runs");
            let took = t.elapsed();
            assert!(
                out.status.success(),
                "globus transfer failed: {}{}\nrequests: {:?}",
                text(&out.stdout),
                text(&out.stderr),
                w.emu.requests().iter().rev().take(4).collect::<Vec<_>>()
            );
            took
        })
        .collect();
    let items = |label: &str| {
        w.emu
            .tasks()
            .iter()
            .filter(|t| t.label.as_deref().is_some_and(|l| l.starts_with(label)))
            .count()
    };
    assert_eq!(items("gstage grex 30"), runs + 1);
    assert_eq!(items("globus batch"), runs);
    let (g, c) = (median(gstage), median(globus));
    println!("\n3. Submitting 100 items as one task (median of {runs} runs, same emulator)");
    println!("   gstage stage-in (inside a job)       {}", ms(g));
    println!("   globus transfer --batch              {}", ms(c));
    println!(
        "   ratio globus / gstage                {:.1}x",
        c.as_secs_f64() / g.as_secs_f64()
    );
}
