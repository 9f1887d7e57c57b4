//! Fault soak: many staged jobs in direct mode (`gstage stage-in`, the job's work,
//! `gstage stage-out`, each job context given by flags) while the emulator fails a fifth of all
//! requests with transient faults: 429 with `Retry-After`, 500/502/503, connection resets
//! before and after the request is served, and 5 s stalls, drawn from a seeded generator.
//!
//! Afterwards every job's data has arrived byte for byte in both directions, Globus holds
//! exactly one task per planned transfer (a reset after an accepted submission is resolved by
//! `Duplicate`, never by a second task), the ledger records every task Globus created, no
//! request was retried more than the retry budget allows, and no log line holds a token.
//!
//! The CI size is 30 jobs. `scripts/soak` runs 200 jobs and a fault-free run of the same jobs,
//! and prints the figures (`SOAK_JOBS`, `SOAK_COMPARE`, `SOAK_SEED` set the size, the
//! comparison and the seed).

mod engine_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use engine_support::{World, text};
use globus_emulator::{rules_for_shares, transient_mix};
use gstage::globus::RetryPolicy;
use rand::{RngExt, SeedableRng};

/// Jobs staged at once.
const LANES: usize = 8;
/// The first job id.
const FIRST_JOB: usize = 5000;
/// Only a hung command reaches this (a hang guard, not a speed check).
const HANG_GUARD: Duration = Duration::from_secs(600);

const SCRIPT: &str = "#GLOBUS stage-in cedar:/soak/in/%j/ ./jobs/%j/input/
#GLOBUS stage-out ./jobs/%j/results/ cedar:/soak/out/%j/";

/// What one soak measured.
#[derive(Debug, Default)]
struct Figures {
    jobs: usize,
    jobs_ok: usize,
    failures: Vec<String>,
    planned: usize,
    tasks: usize,
    duplicate_tasks: usize,
    lost_task_ids: usize,
    unrecorded_or_unfinished: usize,
    mismatched_files: Vec<String>,
    requests: u64,
    faults: u64,
    faults_by_kind: BTreeMap<String, u64>,
    duplicate_answers: usize,
    retries_total: u64,
    retries_max: u64,
    token_in_logs: bool,
    wall: Duration,
}

/// The job's input files: two, of job-specific content and size.
fn write_inputs(w: &World, job: usize, seed: u64) {
    let dir = w.path(&format!("cedar/soak/in/{job}"));
    std::fs::create_dir_all(&dir).expect("input dir");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ job as u64);
    let size = rng.random_range(1..=64 * 1024);
    let data: Vec<u8> = (0..size).map(|_| rng.random::<u8>()).collect();
    std::fs::write(dir.join("a.dat"), data).expect("input a");
    std::fs::write(dir.join("b.txt"), format!("job {job} parameters\n")).expect("input b");
}

/// The job's work: results derived from its input.
fn run_job(w: &World, job: usize) -> Result<(), String> {
    let input = w.path(&format!("grex/run/jobs/{job}/input"));
    let results = w.path(&format!("grex/run/jobs/{job}/results"));
    std::fs::create_dir_all(&results).map_err(|e| e.to_string())?;
    let mut a = std::fs::read(input.join("a.dat")).map_err(|e| format!("input a: {e}"))?;
    a.reverse();
    std::fs::write(results.join("out.dat"), a).map_err(|e| e.to_string())?;
    std::fs::write(results.join("log.txt"), format!("job {job} done\n")).map_err(|e| e.to_string())
}

/// Runs gstage with a hang guard; the exit code and standard error.
fn run_guarded(w: &World, args: &[&str]) -> (Option<i32>, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let stderr = out.path().join("stderr");
    let mut child = w
        .gstage(args)
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(&stderr).expect("stderr file"),
        ))
        .spawn()
        .expect("gstage starts");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("status") {
            break s;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`gstage {}` hung: killed after {HANG_GUARD:?}\n{}",
                args.join(" "),
                text(&std::fs::read(&stderr).unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code(),
        text(&std::fs::read(&stderr).unwrap_or_default()),
    )
}

/// `retry=N` of each "retrying" debug line: one per retry, N counting the retries of one
/// request.
fn retries_logged(log: &str) -> Vec<u64> {
    let mut plain = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
        .lines()
        .filter(|l| l.contains("retrying"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("retry="))
                .and_then(|n| n.parse().ok())
        })
        .collect()
}

fn files_equal(a: &std::path::Path, b: &std::path::Path) -> bool {
    matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// Stages `jobs` jobs in [`LANES`] lanes, with `faults` on or off, and measures the result.
fn soak(jobs: usize, faults: bool, seed: u64) -> Figures {
    let w = World::new();
    for job in FIRST_JOB..FIRST_JOB + jobs {
        write_inputs(&w, job, seed);
    }
    let script = w.script("soak.sh", SCRIPT);
    let script = script.to_str().expect("utf-8 path").to_owned();
    w.emu.reseed(seed);
    if faults {
        for rule in rules_for_shares(transient_mix()) {
            w.emu.inject(rule);
        }
    }
    let secrets = w.tokens();
    let next = AtomicUsize::new(FIRST_JOB);
    let figures = Mutex::new(Figures::default());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..LANES {
            s.spawn(|| {
                loop {
                    let job = next.fetch_add(1, Ordering::SeqCst);
                    if job >= FIRST_JOB + jobs {
                        break;
                    }
                    let id = job.to_string();
                    let common = ["--script", &script, "--job-id", &id, "--wait"];
                    let mut logs = String::new();
                    let mut outcome = Ok(());
                    let (code, log) = run_guarded(
                        &w,
                        &[&["-v", "stage-in"], &common[..], &["--interval", "0.5"]].concat(),
                    );
                    logs.push_str(&log);
                    if code != Some(0) {
                        outcome = Err(format!("stage-in exited {code:?}: {log}"));
                    }
                    if outcome.is_ok() {
                        outcome = run_job(&w, job);
                    }
                    if outcome.is_ok() {
                        let (code, log) = run_guarded(
                            &w,
                            &[
                                &["-v", "stage-out"],
                                &common[..],
                                &["--exit-code", "0", "--interval", "0.5"],
                            ]
                            .concat(),
                        );
                        logs.push_str(&log);
                        if code != Some(0) {
                            outcome = Err(format!("stage-out exited {code:?}: {log}"));
                        }
                    }
                    let retries = retries_logged(&logs);
                    let leaked = secrets.iter().any(|t| logs.contains(t.as_str()));
                    let mut f = figures.lock().expect("figures");
                    f.retries_total += retries.len() as u64;
                    f.retries_max = f.retries_max.max(retries.into_iter().max().unwrap_or(0));
                    f.token_in_logs |= leaked;
                    match outcome {
                        Ok(()) => f.jobs_ok += 1,
                        Err(e) => f.failures.push(format!("job {job}: {e}")),
                    }
                }
            });
        }
    });
    let mut f = figures.into_inner().expect("figures");
    f.wall = started.elapsed();
    f.jobs = jobs;
    f.planned = 2 * jobs;

    // What Globus holds, against what was planned and what the ledger recorded.
    let tasks = w.emu.tasks();
    f.tasks = tasks.len();
    let mut by_label: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tasks {
        *by_label
            .entry(t.label.clone().unwrap_or_default())
            .or_default() += 1;
    }
    f.duplicate_tasks = by_label.values().map(|n| n.saturating_sub(1)).sum();
    let ledger = w.ledger();
    let mut recorded = BTreeSet::new();
    for job in FIRST_JOB..FIRST_JOB + jobs {
        let records = ledger
            .get_by_job("grex", &job.to_string(), None)
            .expect("ledger query");
        for r in records {
            match r.task_id {
                Some(id) if r.state == gstage::ledger::State::Succeeded => {
                    recorded.insert(id);
                }
                _ => f.unrecorded_or_unfinished += 1,
            }
        }
        let arrived = |from: String, to: String| files_equal(&w.path(&from), &w.path(&to));
        for name in ["a.dat", "b.txt"] {
            if !arrived(
                format!("cedar/soak/in/{job}/{name}"),
                format!("grex/run/jobs/{job}/input/{name}"),
            ) {
                f.mismatched_files.push(format!("job {job} input/{name}"));
            }
        }
        for name in ["out.dat", "log.txt"] {
            if !arrived(
                format!("grex/run/jobs/{job}/results/{name}"),
                format!("cedar/soak/out/{job}/{name}"),
            ) {
                f.mismatched_files.push(format!("job {job} results/{name}"));
            }
        }
    }
    f.lost_task_ids = tasks
        .iter()
        .filter(|t| !recorded.contains(&t.task_id))
        .count();

    let stats = w.emu.stats();
    f.requests = stats.total_requests;
    f.faults = stats.faults_injected;
    for r in w.emu.requests() {
        if let Some(kind) = &r.fault {
            *f.faults_by_kind.entry(kind.clone()).or_default() += 1;
        }
        if r.method == "POST" && r.path == "/v0.10/transfer" && r.status == 200 {
            f.duplicate_answers += 1;
        }
    }
    f
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs_f64();
    format!("{}m{:04.1}s", (s / 60.0).floor(), s % 60.0)
}

/// The figures as a table, for `scripts/soak` (shown with `--nocapture`).
fn print_table(faulted: &Figures, fault_free: Option<&Figures>, seed: u64) {
    let share: f64 = transient_mix().iter().map(|(_, s)| s).sum();
    let mut rows: Vec<(String, String)> = vec![
        (
            "jobs (staged in and out)".into(),
            format!("{} ({} ok)", faulted.jobs, faulted.jobs_ok),
        ),
        (
            "tasks at Globus (planned)".into(),
            format!("{} ({})", faulted.tasks, faulted.planned),
        ),
        (
            "duplicate tasks".into(),
            faulted.duplicate_tasks.to_string(),
        ),
        ("lost task ids".into(), faulted.lost_task_ids.to_string()),
        (
            "files not arrived byte for byte".into(),
            faulted.mismatched_files.len().to_string(),
        ),
        (
            "faults injected".into(),
            format!(
                "{} of {} requests ({:.1} %)",
                faulted.faults,
                faulted.requests,
                100.0 * faulted.faults as f64 / faulted.requests.max(1) as f64
            ),
        ),
        (
            "  by kind".into(),
            faulted
                .faults_by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "resubmissions answered Duplicate".into(),
            faulted.duplicate_answers.to_string(),
        ),
        (
            "retries: total, max per request".into(),
            format!("{}, {}", faulted.retries_total, faulted.retries_max),
        ),
    ];
    match fault_free {
        Some(base) => {
            rows.push((
                "requests: faulted / fault-free".into(),
                format!(
                    "{} / {} = {:.2}",
                    faulted.requests,
                    base.requests,
                    faulted.requests as f64 / base.requests.max(1) as f64
                ),
            ));
            rows.push((
                "wall time: faulted / fault-free".into(),
                format!("{} / {}", minutes(faulted.wall), minutes(base.wall)),
            ));
        }
        None => rows.push(("wall time".into(), minutes(faulted.wall))),
    }
    println!(
        "soak: {} jobs in {LANES} lanes, {:.0} % transient faults, seed {seed}",
        faulted.jobs,
        share * 100.0
    );
    for (k, v) in rows {
        println!("  {k:<34} {v}");
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("`{name}` must be a whole number, not `{v}`")),
        Err(_) => default,
    }
}

#[test]
fn staged_jobs_under_twenty_percent_faults_arrive_once_and_whole() {
    let jobs = usize::try_from(env_number("SOAK_JOBS", 30)).expect("job count");
    let seed = env_number("SOAK_SEED", 7);
    let fault_free = (env_number("SOAK_COMPARE", 0) != 0).then(|| soak(jobs, false, seed));
    let f = soak(jobs, true, seed);
    print_table(&f, fault_free.as_ref(), seed);

    assert!(
        f.failures.is_empty(),
        "jobs failed:\n{}",
        f.failures.join("\n")
    );
    assert!(
        f.mismatched_files.is_empty(),
        "not arrived byte for byte: {:?}",
        f.mismatched_files
    );
    assert_eq!(f.tasks, f.planned, "one task per planned transfer");
    assert_eq!(f.duplicate_tasks, 0, "duplicate tasks");
    assert_eq!(
        f.lost_task_ids, 0,
        "tasks Globus created that the ledger lacks"
    );
    assert_eq!(
        f.unrecorded_or_unfinished, 0,
        "ledger records without a task id or not succeeded"
    );
    assert!(!f.token_in_logs, "a token appeared in a debug log");
    // The faults really happened, and every retry answered one of them within the budget.
    assert!(f.faults > 0, "no fault was injected");
    assert!(f.retries_total > 0, "no retry was logged");
    assert!(
        f.retries_max <= u64::from(RetryPolicy::default().max_retries),
        "a request was retried {} times",
        f.retries_max
    );
    assert!(
        f.retries_total <= f.faults,
        "{} retries for {} faults",
        f.retries_total,
        f.faults
    );
}
