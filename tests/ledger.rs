//! The ledger's promises at the level of whole processes: hundreds of concurrent writers lose
//! nothing and never reserve twice, a writer killed with SIGKILL leaves every acknowledged write
//! and a sound file, and one poll lease holder emerges from a crowd. Each test starts copies of
//! this test binary as the competing processes (`child_process` below, selected by environment).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gstage::ledger::{
    Collection, Counts, Direction, Error, Ledger, Mode, NewTransfer, Options, State, StatusUpdate,
    Subject,
};
use uuid::Uuid;

const ROLE: &str = "GSTAGE_LEDGER_TEST_ROLE";
const PATH: &str = "GSTAGE_LEDGER_TEST_PATH";
const MODE: &str = "GSTAGE_LEDGER_TEST_MODE";
const WORKER: &str = "GSTAGE_LEDGER_TEST_WORKER";
const GO: &str = "GSTAGE_LEDGER_TEST_GO";

/// How many writer processes race in the concurrency tests.
const WRITERS: usize = 200;
/// Lease contenders.
const CONTENDERS: usize = 100;
/// The (job, direction, seq) every writer tries to reserve.
const SHARED: usize = 8;
/// Own transfers per writer (reserve + submit + status = 3 writes each).
const OWN: u32 = 4;

/// Process-heavy tests run one at a time so the machine is not flooded.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Auto => "auto",
        Mode::Local => "local",
        Mode::Network => "network",
    }
}

fn open(path: &Path, mode: Mode) -> Ledger {
    Ledger::open_with(
        path,
        Options {
            mode,
            busy_timeout: Duration::from_secs(120),
        },
    )
    .unwrap_or_else(|e| panic!("open ledger: {e}"))
}

fn transfer(job_id: &str, direction: Direction, seq: u32) -> NewTransfer {
    NewTransfer {
        subject: Subject::Job {
            cluster: "grex".into(),
            job_id: job_id.into(),
            direction,
        },
        seq,
        label: format!("gstage grex {job_id} {direction} {seq}"),
        source: Collection {
            id: Uuid::from_u128(0xc0ffee),
            display_name: Some("Alliance Cedar".into()),
        },
        destination: Collection {
            id: Uuid::from_u128(0xbeef),
            display_name: Some("Grex".into()),
        },
        items: r#"[{"source":"/project/in/","destination":"/home/alice/in/","recursive":true}]"#
            .into(),
        submission_id: Some(Uuid::new_v4()),
        user: "alice".into(),
        array_job_id: None,
        array_task_id: None,
    }
}

/// The `k`-th transfer every writer competes for.
fn shared(k: usize) -> (String, Direction, u32) {
    let direction = if k.is_multiple_of(2) {
        Direction::In
    } else {
        Direction::Out
    };
    (
        format!("shared-{}", k / 4),
        direction,
        ((k / 2) % 2) as u32 + 1,
    )
}

fn succeeded(files: u64) -> StatusUpdate {
    StatusUpdate {
        state: State::Succeeded,
        counts: Counts {
            files,
            files_transferred: files,
            bytes: files * 1000,
            bytes_transferred: files * 1000,
        },
        last_error: None,
        completed_at: None,
    }
}

fn wait_for(go: &Path) {
    let start = Instant::now();
    while !go.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the start signal `{}` never appeared",
            go.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One writer's work: race for every shared transfer, race to submit the first one, then
/// reserve, submit and finish its own transfers. Reports each outcome on stdout.
fn writer(path: &Path, mode: Mode, worker: usize, go: Option<&Path>) -> Vec<String> {
    let mut ledger = open(path, mode);
    if let Some(go) = go {
        wait_for(go);
    }
    let mut out = Vec::new();
    let mut report = |line: String| {
        println!("LEDGER {line}");
        out.push(line);
    };
    let mut first_shared = None;
    for i in 0..SHARED {
        let k = (i + worker) % SHARED;
        let (job, direction, seq) = shared(k);
        let rec = ledger
            .reserve(&transfer(&job, direction, seq))
            .unwrap_or_else(|e| panic!("worker {worker}: reserve shared: {e}"));
        let sub = rec.submission_id.expect("reserved with an id");
        report(format!("SHARED {job} {direction} {seq} {sub}"));
        if k == 0 {
            first_shared = Some(rec.id);
        }
    }
    let mine = Uuid::new_v4();
    match ledger.record_submitted(first_shared.expect("shared 0 reserved"), mine) {
        Ok(rec) => report(format!("SUBMITTED {}", rec.task_id.expect("task id"))),
        Err(Error::TaskConflict { existing, .. }) => report(format!("CONFLICT {existing}")),
        Err(e) => panic!("worker {worker}: record_submitted shared: {e}"),
    }
    for seq in 1..=OWN {
        let job = format!("w{worker}");
        let rec = ledger
            .reserve(&transfer(&job, Direction::Out, seq))
            .unwrap_or_else(|e| panic!("worker {worker}: reserve: {e}"));
        let task = Uuid::new_v4();
        ledger
            .record_submitted(rec.id, task)
            .unwrap_or_else(|e| panic!("worker {worker}: record_submitted: {e}"));
        ledger
            .update_status(task, &succeeded(u64::from(seq)))
            .unwrap_or_else(|e| panic!("worker {worker}: update_status: {e}"));
        report(format!("OWN {job} {seq} {task}"));
    }
    out
}

/// Writes until killed, acknowledging each completed reserve + submit on stdout.
fn ack_writer(path: &Path, mode: Mode, round: usize) {
    let mut ledger = open(path, mode);
    for i in 0..1_000_000u32 {
        let job = format!("r{round}-k{i}");
        let rec = ledger
            .reserve(&transfer(&job, Direction::In, 1))
            .unwrap_or_else(|e| panic!("reserve: {e}"));
        let task = Uuid::new_v4();
        ledger
            .record_submitted(rec.id, task)
            .unwrap_or_else(|e| panic!("record_submitted: {e}"));
        println!(
            "LEDGER ACK {job} {} {task}",
            rec.submission_id.expect("reserved with an id")
        );
    }
}

fn lease_contender(path: &Path, mode: Mode, go: &Path) {
    let mut ledger = open(path, mode);
    wait_for(go);
    let holder = format!("test-host:{}", std::process::id());
    let got = ledger
        .try_acquire_poll_lease(&holder, Duration::from_secs(600))
        .unwrap_or_else(|e| panic!("lease: {e}"));
    println!("LEDGER LEASE {got}");
}

/// The child entry point. Run directly (no role in the environment) it checks the writer
/// workload in a single process, which the multi-process tests then multiply.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        let lines = writer(&path, Mode::Local, 0, None);
        assert_eq!(lines.len(), SHARED + 1 + OWN as usize);
        assert!(lines.iter().any(|l| l.starts_with("SUBMITTED ")));
        let ledger = open(&path, Mode::Local);
        assert_eq!(ledger.get_by_job("grex", "w0", None).unwrap().len(), 4);
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let path = PathBuf::from(var(PATH));
    let mode: Mode = var(MODE).parse().expect("mode");
    let worker: usize = var(WORKER).parse().expect("worker");
    match role.as_str() {
        "writer" => {
            writer(&path, mode, worker, Some(Path::new(&var(GO))));
        }
        "ack-writer" => ack_writer(&path, mode, worker),
        "lease" => lease_contender(&path, mode, Path::new(&var(GO))),
        other => panic!("unknown child role `{other}`"),
    }
}

fn spawn(role: &str, path: &Path, mode: Mode, worker: usize, go: &Path) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    Command::new(exe)
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(ROLE, role)
        .env(PATH, path)
        .env(MODE, mode_word(mode))
        .env(WORKER, worker.to_string())
        .env(GO, go)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child test process")
}

/// Starts `n` children of `role`, releases them at once, and returns each one's report lines.
fn crowd(role: &str, n: usize, path: &Path, mode: Mode) -> Vec<Vec<String>> {
    let go = path.with_extension("go");
    let children: Vec<Child> = (0..n).map(|w| spawn(role, path, mode, w, &go)).collect();
    std::fs::write(&go, b"go").expect("start signal");
    children
        .into_iter()
        .enumerate()
        .map(|(w, child)| {
            let out = child.wait_with_output().expect("wait for child");
            assert!(
                out.status.success(),
                "{role} {w} failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            reports(&out.stdout)
        })
        .collect()
}

fn reports(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("LEDGER ").map(str::to_string))
        .collect()
}

fn assert_sound(path: &Path) {
    let raw = rusqlite::Connection::open(path).expect("raw open");
    let check: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok", "integrity_check of {}", path.display());
}

fn concurrent_writers(mode: Mode) {
    let _serial = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    // Not created beforehand: the writers also race to create and migrate the file.
    let path = dir.path().join("state/gstage/ledger.sqlite");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let all = crowd("writer", WRITERS, &path, mode);

    let mut shared_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut submitted = Vec::new();
    let mut conflicts = BTreeSet::new();
    let mut own = Vec::new();
    for lines in &all {
        assert_eq!(lines.len(), SHARED + 1 + OWN as usize, "{lines:?}");
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["SHARED", job, dir, seq, sub] => {
                    shared_ids
                        .entry(format!("{job} {dir} {seq}"))
                        .or_default()
                        .insert((*sub).to_string());
                }
                ["SUBMITTED", task] => submitted.push((*task).to_string()),
                ["CONFLICT", task] => {
                    conflicts.insert((*task).to_string());
                }
                ["OWN", job, seq, task] => {
                    own.push(((*job).to_string(), (*seq).to_string(), (*task).to_string()));
                }
                _ => panic!("unexpected report `{line}`"),
            }
        }
    }

    let ledger = open(&path, mode);
    // Exactly one submission id per shared (job, direction, seq), the one stored.
    assert_eq!(shared_ids.len(), SHARED);
    for (k, key) in (0..SHARED).map(|k| {
        let (job, dir, seq) = shared(k);
        (k, format!("{job} {dir} {seq}"))
    }) {
        let ids = &shared_ids[&key];
        assert_eq!(
            ids.len(),
            1,
            "shared transfer {k} ({key}) got {} ids",
            ids.len()
        );
        let (job, dir, seq) = shared(k);
        let stored = ledger.get_by_job("grex", &job, Some(dir)).expect("read");
        let rec = stored.iter().find(|r| r.seq == seq).expect("stored");
        assert!(ids.contains(&rec.submission_id.expect("id").to_string()));
    }
    // Exactly one task recorded for the transfer everyone tried to submit.
    assert_eq!(submitted.len(), 1, "submitted: {submitted:?}");
    assert!(
        conflicts.iter().all(|c| *c == submitted[0]),
        "{conflicts:?}"
    );
    let (job, dir, seq) = shared(0);
    let first = ledger.get_by_job("grex", &job, Some(dir)).expect("read");
    let first = first.iter().find(|r| r.seq == seq).expect("stored");
    assert_eq!(
        first.task_id.map(|t| t.to_string()),
        Some(submitted[0].clone())
    );
    // No lost rows: every writer's own transfers are there, finished, with their task ids.
    assert_eq!(own.len(), WRITERS * OWN as usize);
    for (job, seq, task) in &own {
        let rec = ledger
            .get_by_task(task.parse().expect("uuid"))
            .expect("read")
            .unwrap_or_else(|| panic!("task {task} of {job} is missing"));
        assert_eq!(rec.job_id(), Some(job.as_str()));
        assert_eq!(rec.seq.to_string(), *seq);
        assert_eq!(rec.state, State::Succeeded);
        assert_eq!(rec.counts.files, u64::from(rec.seq));
    }
    let total = ledger
        .list(&gstage::ledger::Filter::default())
        .expect("list")
        .len();
    assert_eq!(total, SHARED + WRITERS * OWN as usize);
    assert!(ledger.integrity_problems().expect("check").is_empty());
    drop(ledger);
    assert_sound(&path);
}

#[test]
fn hundreds_of_writer_processes_lose_nothing_and_reserve_once_local() {
    concurrent_writers(Mode::Local);
}

#[test]
fn hundreds_of_writer_processes_lose_nothing_and_reserve_once_network() {
    concurrent_writers(Mode::Network);
}

/// A tiny deterministic generator for kill moments (no timing is asserted).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn sigkill_mid_write_keeps_every_acknowledged_write() {
    let _serial = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.sqlite");
    let go = dir.path().join("unused.go");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..8usize {
        let mode = if round.is_multiple_of(2) {
            Mode::Local
        } else {
            Mode::Network
        };
        let mut child = spawn("ack-writer", &path, mode, round, &go);
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let target = 3 + (next(&mut seed) % 40) as usize;
        let mut acked = Vec::new();
        let mut line = String::new();
        while acked.len() < target {
            line.clear();
            let n = stdout.read_line(&mut line).expect("read child");
            if n == 0 {
                let mut err = String::new();
                let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
                panic!("writer ended before being killed: {err}");
            }
            if let Some(ack) = line.trim_end().strip_prefix("LEDGER ACK ") {
                acked.push(ack.to_string());
            }
        }
        // Let it get somewhere inside its next writes, then kill it without warning.
        std::thread::sleep(Duration::from_micros(next(&mut seed) % 3000));
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("SIGKILL");
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).expect("drain");
        acked.extend(
            rest.lines()
                .filter_map(|l| l.strip_prefix("LEDGER ACK ").map(str::to_string)),
        );
        let status = child.wait().expect("reap");
        assert!(!status.success(), "the writer must have been killed");

        let ledger = open(&path, mode);
        assert!(
            ledger.integrity_problems().expect("check").is_empty(),
            "round {round}"
        );
        for ack in &acked {
            let words: Vec<&str> = ack.split(' ').collect();
            let [job, sub, task] = words.as_slice() else {
                panic!("bad ack `{ack}`");
            };
            let recs = ledger.get_by_job("grex", job, None).expect("read");
            assert_eq!(
                recs.len(),
                1,
                "round {round}: {job} acknowledged but missing"
            );
            assert_eq!(
                recs[0].submission_id.map(|s| s.to_string()).as_deref(),
                Some(*sub)
            );
            assert_eq!(
                recs[0].task_id.map(|t| t.to_string()).as_deref(),
                Some(*task)
            );
            assert_eq!(recs[0].state, State::Submitted);
        }
        // Whatever the kill interrupted is either absent or a whole earlier step.
        let mut i = acked.len();
        while let Some(rec) = ledger
            .get_by_job("grex", &format!("r{round}-k{i}"), None)
            .expect("read")
            .pop()
        {
            assert!(
                matches!(rec.state, State::Reserved | State::Submitted),
                "{rec:?}"
            );
            assert_eq!(rec.state == State::Submitted, rec.task_id.is_some());
            i += 1;
        }
        drop(ledger);
        assert_sound(&path);
    }
}

fn one_lease_holder(mode: Mode) {
    let _serial = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.sqlite");
    drop(open(&path, mode));
    let all = crowd("lease", CONTENDERS, &path, mode);
    let holders = all
        .iter()
        .filter(|lines| lines.iter().any(|l| l == "LEASE true"))
        .count();
    let losers = all
        .iter()
        .filter(|lines| lines.iter().any(|l| l == "LEASE false"))
        .count();
    assert_eq!((holders, losers), (1, CONTENDERS - 1));
}

#[test]
fn one_poll_lease_holder_among_many_processes_local() {
    one_lease_holder(Mode::Local);
}

#[test]
fn one_poll_lease_holder_among_many_processes_network() {
    one_lease_holder(Mode::Network);
}
