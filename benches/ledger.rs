//! Ledger figures: median latency of `reserve`, `record_submitted` and `update_status`, and the
//! wall time of many concurrent writer processes, on local and network (forced) storage.
//!
//! `cargo bench --bench ledger` (optimised) or `cargo test --bench ledger -- --bench` (debug
//! build) prints the full figures; without `--bench` (as `cargo test --all-targets` runs it) a
//! small version runs so the program stays exercised.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gstage::ledger::{
    Collection, Counts, Direction, Ledger, Mode, NewTransfer, Options, State, StatusUpdate, Subject,
};
use uuid::Uuid;

const ROLE: &str = "GSTAGE_LEDGER_BENCH_ROLE";
const PATH: &str = "GSTAGE_LEDGER_BENCH_PATH";
const MODE: &str = "GSTAGE_LEDGER_BENCH_MODE";
const WORKER: &str = "GSTAGE_LEDGER_BENCH_WORKER";
const GO: &str = "GSTAGE_LEDGER_BENCH_GO";

/// Writes per process: 5 × (reserve, record_submitted, update_status ×2).
const WRITES_PER_PROCESS: usize = 20;

fn open(path: &Path, mode: Mode) -> Ledger {
    Ledger::open_with(
        path,
        Options {
            mode,
            busy_timeout: Duration::from_secs(300),
        },
    )
    .unwrap_or_else(|e| panic!("open ledger: {e}"))
}

fn transfer(job_id: &str, seq: u32) -> NewTransfer {
    NewTransfer {
        subject: Subject::Job {
            cluster: "grex".into(),
            job_id: job_id.into(),
            direction: Direction::In,
        },
        seq,
        label: format!("gstage grex {job_id} in {seq}"),
        source: Collection {
            id: Uuid::new_v4(),
            display_name: Some("Alliance Cedar".into()),
        },
        destination: Collection {
            id: Uuid::new_v4(),
            display_name: None,
        },
        items: r#"[{"source":"/project/in/","destination":"/home/alice/in/"}]"#.into(),
        submission_id: Some(Uuid::new_v4()),
        user: "alice".into(),
        array_job_id: None,
        array_task_id: None,
    }
}

fn status(state: State, done: u64) -> StatusUpdate {
    StatusUpdate {
        state,
        counts: Counts {
            files: 10,
            files_transferred: done,
            bytes: 10_000,
            bytes_transferred: done * 1000,
        },
        last_error: None,
        completed_at: None,
    }
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Auto => "auto",
        Mode::Local => "local",
        Mode::Network => "network",
    }
}

/// Median single-call latencies in one process.
fn latencies(dir: &Path, mode: Mode, n: usize) {
    let path = dir.join(format!("latency-{}.sqlite", mode_word(mode)));
    let mut ledger = open(&path, mode);
    let mut reserve = Vec::with_capacity(n);
    let mut submit = Vec::with_capacity(n);
    let mut update = Vec::with_capacity(n);
    let mut lookup = Vec::with_capacity(n);
    for i in 0..n {
        let job = format!("job{i}");
        let new = transfer(&job, 1);
        let t = Instant::now();
        let rec = ledger.reserve(&new).expect("reserve");
        reserve.push(t.elapsed());
        let task = Uuid::new_v4();
        let t = Instant::now();
        ledger.record_submitted(rec.id, task).expect("submit");
        submit.push(t.elapsed());
        let t = Instant::now();
        ledger
            .update_status(task, &status(State::Active, 5))
            .expect("update");
        update.push(t.elapsed());
        let t = Instant::now();
        let found = ledger.get_by_job("grex", &job, None).expect("get");
        lookup.push(t.elapsed());
        assert_eq!(found.len(), 1);
    }
    println!(
        "{:<8} reserve {:>7.3} ms   record_submitted {:>7.3} ms   update_status {:>7.3} ms   \
         get_by_job {:>7.3} ms   (medians of {n})",
        mode_word(mode),
        median_ms(reserve),
        median_ms(submit),
        median_ms(update),
        median_ms(lookup),
    );
}

fn writer(path: &Path, mode: Mode, worker: usize, go: &Path) {
    let mut ledger = open(path, mode);
    while !go.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    for seq in 1..=(WRITES_PER_PROCESS / 4) as u32 {
        let rec = ledger
            .reserve(&transfer(&format!("w{worker}"), seq))
            .expect("reserve");
        let task = Uuid::new_v4();
        ledger.record_submitted(rec.id, task).expect("submit");
        ledger
            .update_status(task, &status(State::Active, 5))
            .expect("update");
        ledger
            .update_status(task, &status(State::Succeeded, 10))
            .expect("update");
    }
}

fn spawn(path: &Path, mode: Mode, worker: usize, go: &Path) -> Child {
    Command::new(std::env::current_exe().expect("own path"))
        .env(ROLE, "writer")
        .env(PATH, path)
        .env(MODE, mode_word(mode))
        .env(WORKER, worker.to_string())
        .env(GO, go)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn writer")
}

/// Wall time for `processes` concurrent writers of `WRITES_PER_PROCESS` writes each.
fn processes(dir: &Path, mode: Mode, processes: usize) {
    let path = dir.join(format!("procs-{}.sqlite", mode_word(mode)));
    drop(open(&path, mode));
    let go = dir.join(format!("go-{}", mode_word(mode)));
    let children: Vec<Child> = (0..processes).map(|w| spawn(&path, mode, w, &go)).collect();
    // Give every child time to open the ledger before the start signal.
    std::thread::sleep(Duration::from_millis(500 + 5 * processes as u64));
    let start = Instant::now();
    std::fs::write(&go, b"go").expect("start signal");
    let mut failed = 0;
    for mut child in children {
        if !child.wait().expect("wait").success() {
            failed += 1;
        }
    }
    let wall = start.elapsed();
    let rows = open(&path, mode)
        .list(&gstage::ledger::Filter::default())
        .expect("list")
        .len();
    let writes = processes * WRITES_PER_PROCESS;
    println!(
        "{:<8} {processes} processes x {WRITES_PER_PROCESS} writes: {:.2} s wall, {:.0} writes/s, \
         {rows} rows, {failed} failed processes",
        mode_word(mode),
        wall.as_secs_f64(),
        writes as f64 / wall.as_secs_f64(),
    );
}

/// Lookups in a large ledger: rows are bulk-inserted with SQL (the public API commits one
/// transfer per transaction, which would take minutes), then read through the API.
fn large(dir: &Path, rows: u64) {
    let path = dir.join("large.sqlite");
    let ledger = open(&path, Mode::Local);
    let started = Instant::now();
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         INSERT INTO transfers (cluster, job_id, direction, seq, label, source_id, destination_id,
             items, submission_id, task_id, state, created_at, updated_at, user)
         SELECT 'grex', CAST(i / 2 AS TEXT), CASE i % 2 WHEN 0 THEN 'in' ELSE 'out' END, 1,
             'gstage grex ' || (i / 2), '00000000-0000-0000-0000-000000000001',
             '00000000-0000-0000-0000-000000000002', '[]',
             printf('00000000-0000-4000-8000-%012d', i), printf('00000000-0000-4000-9000-%012d', i),
             CASE WHEN i % 1000 = 0 THEN 'ACTIVE' ELSE 'SUCCEEDED' END,
             1700000000000 + i, 1700000000000 + i, 'alice'
         FROM n;
         COMMIT;"
    ))
    .expect("bulk insert");
    drop(raw);
    let filled = started.elapsed();
    let mut by_job = Vec::new();
    let mut by_task = Vec::new();
    let mut seed = 12345u64;
    for _ in 0..200 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let i = 2 + seed % (rows - 2);
        let t = Instant::now();
        let found = ledger
            .get_by_job("grex", &(i / 2).to_string(), None)
            .expect("get_by_job");
        by_job.push(t.elapsed());
        assert!(!found.is_empty());
        let task: Uuid = format!("00000000-0000-4000-9000-{i:012}")
            .parse()
            .expect("uuid");
        let t = Instant::now();
        assert!(ledger.get_by_task(task).expect("get_by_task").is_some());
        by_task.push(t.elapsed());
    }
    let t = Instant::now();
    let active = ledger.active_task_ids().expect("active").len();
    let active_time = t.elapsed();
    let t = Instant::now();
    let recent = ledger
        .list(&gstage::ledger::Filter {
            limit: Some(50),
            ..Default::default()
        })
        .expect("list")
        .len();
    let list_time = t.elapsed();
    println!(
        "{rows} rows (filled in {:.1} s): get_by_job {:.3} ms, get_by_task {:.3} ms (medians of 200), \
         active_task_ids {:.1} ms ({active}), list newest {recent} {:.2} ms",
        filled.as_secs_f64(),
        median_ms(by_job),
        median_ms(by_task),
        active_time.as_secs_f64() * 1000.0,
        list_time.as_secs_f64() * 1000.0,
    );
}

fn main() {
    if std::env::var(ROLE).is_ok() {
        let var = |name: &str| std::env::var(name).expect("bench child environment");
        let mode: Mode = var(MODE).parse().expect("mode");
        let worker: usize = var(WORKER).parse().expect("worker");
        writer(
            &PathBuf::from(var(PATH)),
            mode,
            worker,
            &PathBuf::from(var(GO)),
        );
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let (n, procs, rows) = if full {
        (200, 200, 1_000_000)
    } else {
        (20, 10, 10_000)
    };
    let dir = tempfile::tempdir().expect("tempdir");
    println!("ledger figures ({})", if full { "full" } else { "quick" });
    for mode in [Mode::Local, Mode::Network] {
        latencies(dir.path(), mode, n);
    }
    for mode in [Mode::Local, Mode::Network] {
        processes(dir.path(), mode, procs);
    }
    large(dir.path(), rows);
}
