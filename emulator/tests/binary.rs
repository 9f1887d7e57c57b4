//! The `globus-emulator` binary: prints its URL first, serves, and stops on SIGTERM; the
//! example config is valid.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use globus_emulator::Config;

fn example() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/emulator.toml")
}

#[test]
fn example_config_parses_with_roots_next_to_it() {
    let config = Config::from_file(example()).expect("example config is valid");
    assert_eq!(config.identities.len(), 2);
    assert_eq!(config.collections.len(), 3);
    assert!(
        config
            .collections
            .iter()
            .any(|c| c.high_assurance && !c.needs_data_access())
    );
}

#[test]
fn bad_config_names_the_problem() {
    let err = Config::from_toml_str("expires_in = \"soon\"").expect_err("type error");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("expires_in"), "{err}");
    let err = Config::from_toml_str("login_as = \"nobody\"").expect_err("unknown identity");
    assert!(err.to_string().contains("`login_as = nobody`"), "{err}");
}

#[test]
fn binary_prints_its_url_first_and_serves_until_terminated() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_globus-emulator"))
        .args(["--config"])
        .arg(example())
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let url = first.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "first line: {first:?}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (status, body) = runtime.block_on(async {
        let resp = reqwest::get(format!("{url}/v0.10/task_list"))
            .await
            .expect("request");
        let status = resp.status();
        (
            status,
            resp.json::<serde_json::Value>().await.expect("json"),
        )
    });
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "ClientError.AuthenticationFailed");

    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("exit");
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
}
