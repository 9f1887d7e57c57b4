//! `gstage check --online` against the emulator: what would make the stage-in fail a day later
//! in the queue is found now, with the fix, and nothing is submitted.

mod engine_support;

use engine_support::{World, assert_status, text};
use globus_emulator::{Fault, FaultRule};
use serde_json::Value;

fn check(w: &World, directives: &str) -> std::process::Output {
    let script = w.script("job.sh", directives);
    w.run(&["check", "--online", script.to_str().unwrap()])
}

/// `check --online --format json`: the exit status and the online checks, as
/// `(name, ok, detail, fix)` lines.
fn check_json(w: &World, directives: &str) -> (Option<i32>, Vec<String>) {
    let script = w.script("job.sh", directives);
    let out = w.run(&[
        "check",
        "--online",
        "--format",
        "json",
        script.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json ({e}): {}", text(&out.stdout)));
    let lines = doc["online"]
        .as_array()
        .expect("the online checks")
        .iter()
        .map(|c| {
            format!(
                "{} | {} | {} | {}",
                c["name"].as_str().unwrap_or_default(),
                if c["ok"] == Value::Bool(true) {
                    "ok"
                } else {
                    "FAILED"
                },
                c["detail"].as_str().unwrap_or_default(),
                c["fix"].as_str().unwrap_or_default()
            )
        })
        .collect();
    (out.status.code(), lines)
}

fn has(lines: &[String], wanted: &str) -> bool {
    lines.iter().any(|l| l.contains(wanted))
}

fn no_submission(w: &World) {
    let posts: Vec<String> = w
        .transfer_requests()
        .into_iter()
        .filter(|r| r.starts_with("POST"))
        .collect();
    assert!(posts.is_empty(), "nothing is submitted: {posts:?}");
    assert!(w.emu.tasks().is_empty());
}

#[test]
fn a_plan_whose_collections_access_and_sources_are_in_place_passes() {
    let w = World::new();
    let out = check(
        &w,
        "#GLOBUS stage-in cedar:/input/ ./input/\n#GLOBUS stage-out ./results/ cedar:/results/%j/",
    );
    assert_status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("collection Alliance Cedar"), "{stdout}");
    assert!(stdout.contains("collection Grex"), "{stdout}");
    assert!(stdout.contains("source Alliance Cedar:/input/"), "{stdout}");
    assert!(stdout.contains("exists"), "{stdout}");
    assert!(stdout.contains("checks passed"), "{stdout}");
    no_submission(&w);
}

#[test]
fn a_missing_source_is_named_with_its_line_and_exits_3() {
    let w = World::new();
    let directives = "#GLOBUS stage-in cedar:/input/a.dat ./a.dat\n#GLOBUS stage-in cedar:/input/missing.dat ./m.dat";
    let (code, lines) = check_json(&w, directives);
    assert_eq!(code, Some(3), "{lines:#?}");
    assert!(
        has(&lines, "source Alliance Cedar:/input/a.dat | ok | exists"),
        "{lines:#?}"
    );
    assert!(
        has(
            &lines,
            "source Alliance Cedar:/input/missing.dat | FAILED | `/input/missing.dat` does not exist on Alliance Cedar | fix the path in the directive on line 3"
        ),
        "{lines:#?}"
    );
    let out = check(&w, directives);
    assert_status(&out, 3);
    assert!(
        text(&out.stderr).contains("1 of 5 online checks failed"),
        "{}",
        text(&out.stderr)
    );
    no_submission(&w);
}

#[test]
fn an_optional_missing_source_does_not_fail_the_check() {
    let w = World::new();
    let out = check(
        &w,
        "#GLOBUS stage-in --optional cedar:/input/missing.dat ./m.dat",
    );
    assert_status(&out, 0);
    assert!(text(&out.stdout).contains("--optional"));
}

#[test]
fn an_unknown_collection_exits_3() {
    let w = World::new();
    let (code, lines) = check_json(
        &w,
        "#GLOBUS stage-in 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9:/data/ ./data/",
    );
    assert_eq!(code, Some(3), "{lines:#?}");
    assert!(
        has(
            &lines,
            "| FAILED | globus knows no collection `0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9`"
        ),
        "{lines:#?}"
    );
}

#[test]
fn a_missing_consent_exits_4_with_the_login_to_run() {
    let w = World::new();
    // Globus asks for a data_access consent for cedar, as for a login made before the site
    // configured it.
    w.emu.inject(
        FaultRule::new(Fault::ConsentRequired {
            collections: Vec::new(),
        })
        .on("GET", &format!("/v0.10/operation/endpoint/{}", w.cedar)),
    );
    let (code, lines) = check_json(&w, "#GLOBUS stage-in cedar:/input/ ./input/");
    assert_eq!(code, Some(4), "{lines:#?}");
    assert!(
        has(&lines, "gstage login --collection cedar"),
        "the fix names the login to run: {lines:#?}"
    );
    no_submission(&w);
}
