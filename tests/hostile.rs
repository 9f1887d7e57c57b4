//! Hostile answers: real `gstage` commands against an emulator that answers like a broken proxy,
//! a wrong URL or a misbehaving service. Whatever comes back, gstage exits with a clear error
//! (exit 1), never panics, never prints a token, never reads an oversized body whole, never
//! follows a redirect to another host, and always finishes: each run has a generous wall-clock
//! guard that kills it and fails the test if it hangs (a hang guard, not a speed check).

mod engine_support;

use std::net::TcpListener;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use engine_support::{World, text};
use globus_emulator::{Fault, FaultRule};

/// Far beyond what any run below needs with the short timeouts set here; only a hang hits it.
const HANG_GUARD: Duration = Duration::from_secs(180);

/// The routes each command's hostile answer is served on.
struct Route {
    /// What the command is, for messages.
    name: &'static str,
    method: &'static str,
    prefix: &'static str,
}

const WHOAMI: Route = Route {
    name: "whoami",
    method: "GET",
    prefix: "/v2/oauth2/userinfo",
};
const STATUS: Route = Route {
    name: "status",
    method: "GET",
    prefix: "/v0.10/task_list",
};
const STAGE_IN: Route = Route {
    name: "stage-in",
    method: "POST",
    prefix: "/v0.10/transfer",
};

/// A world whose config gives each request 2 s (so slow answers time out quickly).
fn world() -> World {
    let w = World::new();
    let site = w.path("site.toml");
    let config = std::fs::read_to_string(&site).expect("site config");
    let config = config.replacen(
        "[globus]\n",
        "[globus]\ntimeout_secs = 2\nconnect_timeout_secs = 2\n",
        1,
    );
    std::fs::write(&site, config).expect("site config");
    w
}

/// What one run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs gstage, killing it and failing the test if it outlives [`HANG_GUARD`].
fn run_guarded(w: &World, args: &[&str]) -> Run {
    let out = tempfile::tempdir().expect("temp dir");
    let file = |name: &str| std::fs::File::create(out.path().join(name)).expect("output file");
    let mut child = w
        .gstage(args)
        .stdout(Stdio::from(file("stdout")))
        .stderr(Stdio::from(file("stderr")))
        .spawn()
        .expect("gstage starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("status") {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read(out.path().join("stderr")).unwrap_or_default();
            panic!(
                "`gstage {}` hung: killed after {HANG_GUARD:?}\nstderr:\n{}",
                args.join(" "),
                text(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |name: &str| text(&std::fs::read(out.path().join(name)).unwrap_or_default());
    Run {
        code: status.code(),
        stdout: read("stdout"),
        stderr: read("stderr"),
    }
}

/// Runs `route`'s command while every request to its route gets `fault`, and checks that it
/// fails cleanly with a message containing `expect`.
fn check(w: &World, fault: &Fault, route: &Route, expect: &str) -> Run {
    let script = w.script("job.sh", "#GLOBUS stage-in cedar:/input/ ./input/");
    let script = script.to_str().expect("utf-8 path").to_owned();
    w.emu.clear_faults();
    w.emu
        .inject(FaultRule::new(fault.clone()).on(route.method, route.prefix));
    let args: Vec<&str> = match route.name {
        "whoami" => vec!["whoami"],
        "status" => vec!["status", "77"],
        _ => vec![
            "stage-in",
            "--script",
            &script,
            "--job-id",
            "66",
            "--no-wait",
        ],
    };
    let run = run_guarded(w, &args);
    w.emu.clear_faults();
    let what = format!(
        "`gstage {}` against {fault:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, Some(1), "exit status of {what}");
    assert!(!run.stderr.contains("panicked"), "a panic in {what}");
    assert!(
        run.stderr.contains("error:") && run.stderr.contains(expect),
        "the error of {what} should say `{expect}`"
    );
    for token in w.tokens() {
        assert!(
            !run.stderr.contains(&token) && !run.stdout.contains(&token),
            "a token in the output of {what}"
        );
    }
    run
}

/// After a hostile answer to `POST /transfer`, a re-run with an honest service ends with
/// exactly one task for the job: the hostile answer may have hidden an accepted submission.
fn rerun_makes_one_task(w: &World) {
    let script = w.path("grex/run/job.sh");
    let run = run_guarded(
        w,
        &[
            "stage-in",
            "--script",
            script.to_str().expect("utf-8 path"),
            "--job-id",
            "66",
            "--no-wait",
        ],
    );
    assert_eq!(run.code, Some(0), "re-run:\n{}", run.stderr);
    assert_eq!(w.tasks_labelled("gstage grex 66 in 1"), 1);
    let records = w
        .ledger()
        .get_by_job("grex", "66", None)
        .expect("ledger query");
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].task_id,
        w.emu
            .tasks()
            .iter()
            .find(|t| t.label.as_deref() == Some("gstage grex 66 in 1"))
            .map(|t| t.task_id)
    );
}

/// Every command, one hostile kind.
fn every_command(fault: &Fault, expect: &str) {
    let w = world();
    check(&w, fault, &WHOAMI, expect);
    check(&w, fault, &STATUS, expect);
    check(&w, fault, &STAGE_IN, expect);
    rerun_makes_one_task(&w);
}

const UNEXPECTED: &str = "unexpected answer from";

#[test]
fn malformed_json_is_an_unexpected_answer() {
    every_command(&Fault::MalformedJson, UNEXPECTED);
}

#[test]
fn wrong_json_types_are_an_unexpected_answer() {
    every_command(&Fault::WrongTypes, UNEXPECTED);
}

#[test]
fn a_huge_announced_body_is_refused_unread() {
    every_command(
        &Fault::HugeBody {
            bytes: 50 << 20,
            declared: true,
        },
        "MiB and was refused",
    );
}

#[test]
fn a_huge_chunked_body_is_refused_at_the_limit() {
    every_command(
        &Fault::HugeBody {
            bytes: 50 << 20,
            declared: false,
        },
        "MiB and was refused",
    );
}

#[test]
fn a_teapot_is_reported_with_its_status() {
    every_command(
        &Fault::BareStatus { status: 418 },
        "answered 418 `HTTP418`: unexpected status (check",
    );
}

#[test]
fn a_redirect_without_location_is_not_followed() {
    every_command(
        &Fault::BareStatus { status: 302 },
        "nowhere (no usable `Location`)",
    );
}

#[test]
fn no_content_where_json_is_expected_is_an_empty_answer() {
    every_command(&Fault::BareStatus { status: 204 }, "the answer was empty");
}

#[test]
fn a_slow_drip_times_out_and_gives_up() {
    every_command(
        &Fault::SlowDrip {
            bytes_per_second: 1,
        },
        "timed out",
    );
}

/// A listener on another loopback address that counts connections: where a followed
/// redirect would carry the token.
fn elsewhere() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.2:0").expect("127.0.0.2 is a local address");
    let addr = listener.local_addr().expect("address");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for _ in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (format!("http://{addr}"), hits)
}

#[test]
fn a_redirect_to_another_host_is_not_followed_and_gets_no_token() {
    let (host, hits) = elsewhere();
    let fault = Fault::Redirect {
        location: Some(format!("{host}/v0.10/collect-the-token")),
    };
    every_command(&fault, &format!("redirect to `{host}`"));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a connection reached the redirect's target"
    );
    // The default target, in TEST-NET-2, is named too.
    let w = world();
    check(
        &w,
        &Fault::Redirect { location: None },
        &STATUS,
        "`http://198.51.100.1`",
    );
}
