//! The job-script corpus: every `tests/corpus/*.sh` is checked with `gstage check` for one fixed
//! job, and its exit status, stdout and stderr must equal `<name>.out`. Scripts named `ok_*` must
//! be valid and `err_*` invalid. When output changes on purpose, the test writes
//! `<name>.out.new` next to the script: review it and rename it to `<name>.out`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus")
}

fn run(dir: &Path, script: &str) -> String {
    let mut cmd = Command::cargo_bin("gstage").expect("the gstage binary is built");
    for (k, _) in std::env::vars() {
        if k.starts_with("SLURM_") || k.starts_with("GSTAGE_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .current_dir(dir)
        .env("GSTAGE_CONFIG", dir.join("config.toml"))
        .env("XDG_CONFIG_HOME", dir.join("no-user-config"))
        .args([
            "check",
            "--job-id",
            "4242",
            "--user",
            "alice",
            "--job-name",
            "analyse",
        ])
        .args(["--cluster", "grex", "--workdir", "/home/alice/run", script])
        .output()
        .expect("gstage runs");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn corpus_matches_expected_output() {
    let dir = corpus_dir();
    let mut scripts: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/corpus exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".sh"))
        .collect();
    scripts.sort();
    assert!(
        scripts.len() >= 40,
        "the corpus holds {} scripts",
        scripts.len()
    );
    let mut failures = Vec::new();
    for script in &scripts {
        let got = run(&dir, script);
        let stem = script.trim_end_matches(".sh");
        let want_status = if stem.starts_with("ok_") {
            "exit: 0\n"
        } else {
            "exit: 2\n"
        };
        if !got.starts_with(want_status) {
            failures.push(format!("{script}: expected {want_status}got:\n{got}"));
        }
        let expected = dir.join(format!("{stem}.out"));
        match std::fs::read_to_string(&expected) {
            Ok(want) if want == got => {}
            _ => {
                std::fs::write(dir.join(format!("{stem}.out.new")), &got).expect("write .out.new");
                failures.push(format!(
                    "{script}: output differs from {stem}.out (or it is missing); review {stem}.out.new and rename it"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
