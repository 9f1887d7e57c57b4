//! The crash matrix: gstage is killed by `SIGKILL` at every named step boundary of stage-in,
//! stage-out, token refresh and ledger writes (`GSTAGE_CRASH_AT`, see `src/crashpoint.rs`), each
//! time a point is reached (`@1`, `@2`, … until a run gets through), then run again. After every
//! kill the token store and the ledger are readable and sound; after every re-run each planned
//! transfer has exactly one Globus task, recorded in the ledger, and its data has arrived.

mod engine_support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Output;

use engine_support::{Setup, World, assert_status, read, text};
use gstage::tokens::TokenStore;

/// Two stage-in tasks and two stage-out tasks (different options make different tasks).
const SCRIPT: &str = "\
#GLOBUS stage-in cedar:/input/a.dat ./in/%j/a.dat
#GLOBUS stage-in cedar:/input/b.dat ./in/%j/b.dat --sync-level size
#GLOBUS stage-out ./out/r.txt cedar:/results/%j/r.txt
#GLOBUS stage-out ./out/r.txt cedar:/results/%j/copy/r.txt --sync-level size";

/// More kills of one point than any run reaches it: the loop must end with a run that got through.
const MAX_HITS: u32 = 12;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    In,
    Out,
}

impl Dir {
    fn command(self) -> &'static str {
        match self {
            Dir::In => "stage-in",
            Dir::Out => "stage-out",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Dir::In => "in",
            Dir::Out => "out",
        }
    }
}

struct Matrix {
    w: World,
    script: String,
}

impl Matrix {
    fn new(setup: Setup) -> Matrix {
        let w = World::with(setup);
        std::fs::create_dir_all(w.run_dir().join("out")).expect("out dir");
        std::fs::write(w.run_dir().join("out/r.txt"), b"result 42\n").expect("result");
        let script = w
            .script("job.sh", SCRIPT)
            .to_str()
            .expect("utf-8")
            .to_owned();
        Matrix { w, script }
    }

    fn run(&self, dir: Dir, job: u64, crash_at: Option<&str>, wait: bool) -> Output {
        let job = job.to_string();
        let mut cmd = self.w.gstage(&[
            dir.command(),
            "--script",
            &self.script,
            "--job-id",
            &job,
            if wait { "--wait" } else { "--no-wait" },
        ]);
        cmd.env("GSTAGE_LEDGER", self.ledger_path(&job));
        if let Some(point) = crash_at {
            cmd.env("GSTAGE_CRASH_AT", point);
        }
        cmd.output().expect("gstage runs")
    }

    /// Makes the stored access token stale, so the next Transfer call refreshes it.
    fn expire_access_token(&self) {
        let store = self.store();
        let mut login = store.load().expect("store readable").expect("logged in");
        for t in login.tokens.values_mut() {
            t.expires_at_seconds = 0;
        }
        store.save(&login).expect("store saved");
    }

    /// Each job has its own ledger, so every sweep step starts from a new file and the first
    /// commit killed is the schema's.
    fn ledger_path(&self, job: &str) -> std::path::PathBuf {
        self.w.path(&format!("state/ledger-{job}.sqlite"))
    }

    fn ledger(&self, job: u64) -> gstage::ledger::Ledger {
        gstage::ledger::Ledger::open(&self.ledger_path(&job.to_string())).expect("ledger opens")
    }

    fn store(&self) -> TokenStore {
        TokenStore::at(self.w.path("config/gstage/tokens.json"))
    }

    /// What must hold right after a kill: both files parse and SQLite finds the ledger sound.
    fn assert_readable(&self, job: u64, what: &str) {
        let login = self
            .store()
            .load()
            .unwrap_or_else(|e| panic!("{what}: token store unreadable: {e}"))
            .unwrap_or_else(|| panic!("{what}: token store gone"));
        assert!(
            login.tokens.values().any(|t| t.refresh_token.is_some()),
            "{what}: the refresh token is kept"
        );
        let ledger = gstage::ledger::Ledger::open(&self.ledger_path(&job.to_string()))
            .unwrap_or_else(|e| panic!("{what}: ledger unreadable: {e}"));
        let problems = ledger.integrity_problems().expect("integrity check runs");
        assert!(problems.is_empty(), "{what}: ledger damaged: {problems:?}");
        ledger.list(&Default::default()).expect("records readable");
    }

    /// Exactly one Globus task per planned transfer, the ledger agrees, and the data is there.
    fn assert_exactly_once(&self, dir: Dir, job: u64, what: &str) {
        let ledger = self.ledger(job);
        let records = ledger
            .get_by_job("grex", &job.to_string(), None)
            .expect("records");
        for seq in 1..=2u32 {
            let label = format!("gstage grex {job} {} {seq}", dir.word());
            let tasks: Vec<_> = self
                .w
                .emu
                .tasks()
                .into_iter()
                .filter(|t| t.label.as_deref() == Some(label.as_str()))
                .collect();
            assert_eq!(tasks.len(), 1, "{what}: `{label}` has exactly one task");
            let record = records
                .iter()
                .find(|r| r.seq == seq && r.label == label)
                .unwrap_or_else(|| panic!("{what}: `{label}` is recorded"));
            assert_eq!(
                record.task_id,
                Some(tasks[0].task_id),
                "{what}: the ledger records `{label}`'s task"
            );
        }
        match dir {
            Dir::In => {
                let got = self.w.run_dir().join(format!("in/{job}"));
                assert_eq!(read(&got.join("a.dat")), b"alpha\n", "{what}");
                assert_eq!(read(&got.join("b.dat")), b"bravo bravo\n", "{what}");
            }
            Dir::Out => {
                let got = self.w.path(&format!("cedar/results/{job}"));
                assert_eq!(read(&got.join("r.txt")), b"result 42\n", "{what}");
                assert_eq!(read(&got.join("copy/r.txt")), b"result 42\n", "{what}");
            }
        }
    }

    /// Kills a `dir` run at `point` the 1st, 2nd, … time it is reached (a fresh job each time)
    /// until a run gets through; after every kill checks the files, re-runs and checks the
    /// outcome. Returns how many runs were killed. `before` runs before each killed run.
    fn sweep(&self, dir: Dir, point: &str, first_job: u64, before: &dyn Fn(&Matrix)) -> u32 {
        for n in 1..=MAX_HITS {
            let job = first_job + u64::from(n);
            let what = format!("{} killed at {point}@{n} (job {job})", dir.command());
            if dir == Dir::Out {
                // Stage-out follows a stage-in in a job's life.
                assert_status(&self.run(Dir::In, job, None, true), 0);
            }
            before(self);
            let out = self.run(dir, job, Some(&format!("{point}@{n}")), false);
            if out.status.success() {
                assert!(n > 1, "{point} was never reached: {}", text(&out.stderr));
                self.assert_readable(job, &format!("{what}: run got through"));
                assert_status(&self.run(dir, job, None, true), 0);
                self.assert_exactly_once(dir, job, &what);
                return n - 1;
            }
            assert_eq!(
                out.status.signal(),
                Some(libc_sigkill()),
                "{what}: died by SIGKILL, not {:?}: {}",
                out.status,
                text(&out.stderr)
            );
            self.assert_readable(job, &what);
            let again = self.run(dir, job, None, true);
            assert_status(&again, 0);
            self.assert_readable(job, &format!("{what}, then re-run"));
            self.assert_exactly_once(dir, job, &what);
        }
        panic!("{point} was reached more than {MAX_HITS} times in one run");
    }
}

fn libc_sigkill() -> i32 {
    nix::sys::signal::Signal::SIGKILL as i32
}

fn nothing(_: &Matrix) {}

#[test]
fn stage_in_survives_a_kill_at_every_step() {
    let m = Matrix::new(Setup::default());
    let mut job = 1000;
    for (point, kills) in [
        ("stage-in/planned", 1),
        ("stage-in/reserved", 1),
        // One kill per task: after the first POST, after the second.
        ("stage-in/submitted", 2),
        ("stage-in/recorded", 2),
    ] {
        assert_eq!(m.sweep(Dir::In, point, job, &nothing), kills, "{point}");
        job += 100;
    }
}

#[test]
fn stage_out_survives_a_kill_at_every_step() {
    let m = Matrix::new(Setup::default());
    let mut job = 2000;
    for (point, kills) in [
        ("stage-out/planned", 1),
        ("stage-out/reserved", 1),
        ("stage-out/submitted", 2),
        ("stage-out/recorded", 2),
    ] {
        assert_eq!(m.sweep(Dir::Out, point, job, &nothing), kills, "{point}");
        job += 100;
    }
}

#[test]
fn a_kill_between_post_and_record_is_resent_under_the_same_submission_id() {
    let m = Matrix::new(Setup::default());
    let out = m.run(Dir::In, 3001, Some("stage-in/submitted"), false);
    assert_eq!(out.status.signal(), Some(libc_sigkill()));
    // Globus has the task, the ledger only its reservation: the window the rule is for.
    assert_eq!(m.w.tasks_labelled("gstage grex 3001 in 1"), 1);
    let record = m
        .ledger(3001)
        .get_by_job("grex", "3001", None)
        .expect("records")
        .into_iter()
        .find(|r| r.seq == 1)
        .expect("reserved");
    assert!(record.submission_id.is_some() && record.task_id.is_none());
    let again = m.run(Dir::In, 3001, None, false);
    assert_status(&again, 0);
    assert!(
        text(&again.stdout).contains("duplicate"),
        "the re-sent submission is Globus's duplicate: {}",
        text(&again.stdout)
    );
    m.assert_exactly_once(Dir::In, 3001, "re-sent");
}

#[test]
fn every_ledger_commit_survives_a_kill_before_and_after_it() {
    let m = Matrix::new(Setup::default());
    // A stage-in commits: the new ledger's schema, two reservations, two task ids.
    let before = m.sweep(Dir::In, "ledger/before-commit", 4000, &nothing);
    let after = m.sweep(Dir::In, "ledger/after-commit", 4100, &nothing);
    assert_eq!(before, 5, "every commit of a stage-in was killed before it");
    assert_eq!(before, after, "the same commits, killed after");
    eprintln!("a stage-in run makes {before} ledger commits; each was killed before and after");
}

#[test]
fn a_token_refresh_survives_a_kill_at_every_step() {
    let m = Matrix::new(Setup::default());
    let mut job = 5000;
    for point in ["refresh/received", "tokens/written", "tokens/renamed"] {
        let kills = m.sweep(Dir::In, point, job, &Matrix::expire_access_token);
        assert_eq!(kills, 1, "{point}: one refresh per run");
        job += 100;
    }
    // A kill before the rename leaves its temporary file behind: private, like the store.
    for entry in std::fs::read_dir(m.w.path("config/gstage")).expect("store dir") {
        let entry = entry.expect("entry");
        let mode = entry.metadata().expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?} is private", entry.file_name());
    }
}

#[test]
fn with_rotating_refresh_tokens_a_kill_after_the_rename_keeps_the_login() {
    let m = Matrix::new(Setup {
        rotate_refresh_tokens: true,
        ..Setup::default()
    });
    m.expire_access_token();
    let out = m.run(Dir::In, 6001, Some("tokens/renamed"), false);
    assert_eq!(out.status.signal(), Some(libc_sigkill()));
    m.assert_readable(6001, "killed after the rename");
    assert_status(&m.run(Dir::In, 6001, None, true), 0);
    m.assert_exactly_once(Dir::In, 6001, "after the rename");
}

/// The residual risk docs/security.md names: when Globus rotates refresh tokens, a kill after
/// Globus answered but before the new token is on disk leaves a spent token. The store stays
/// readable and the next run says plainly to log in again (exit 4); nothing is submitted twice.
#[test]
fn with_rotating_refresh_tokens_a_kill_before_the_rename_asks_for_a_login() {
    for (job, point) in [(7001, "refresh/received"), (7002, "tokens/written")] {
        let m = Matrix::new(Setup {
            rotate_refresh_tokens: true,
            ..Setup::default()
        });
        m.expire_access_token();
        let out = m.run(Dir::In, job, Some(point), false);
        assert_eq!(out.status.signal(), Some(libc_sigkill()), "{point}");
        m.assert_readable(job, point);
        let again = m.run(Dir::In, job, None, false);
        assert_status(&again, 4);
        let err = text(&again.stderr);
        assert!(err.contains("gstage login"), "{point}: {err}");
        assert!(!err.contains("AT-") && !err.contains("RT-"), "{err}");
        assert_eq!(m.w.tasks_labelled(&format!("gstage grex {job} in 1")), 0);
    }
}
