//! `gstage demo`, the README's main command: the whole cycle on an embedded emulator, exit 0.

use std::process::Command;

#[test]
fn the_demo_runs_the_whole_cycle_and_verifies_it() {
    let keep = tempfile::tempdir().expect("temp dir");
    let out = Command::new(assert_cmd::cargo::cargo_bin!("gstage"))
        .args(["demo", "--keep"])
        .arg(keep.path())
        .env_remove("GSTAGE_CONFIG")
        .env_remove("GSTAGE_LEDGER")
        .output()
        .expect("gstage demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("All 6 files arrived intact"), "{stdout}");
    assert!(
        stdout.contains("(recorded)"),
        "the re-run adopts the task: {stdout}"
    );
    let results = keep.path().join("cedar/project/def-lab/runs/1001");
    let log =
        std::fs::read_to_string(results.join("log.txt")).expect("results at the national site");
    assert_eq!(log, "job 1001 (analyse) ranked 125 samples\n");
}
