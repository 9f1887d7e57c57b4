//! Prints how long the emulator takes to start and to copy a tree unthrottled, next to
//! `cp -r` of the same tree. Run: `cargo run -p globus-emulator --example bench_copy [MiB]`.

use std::path::Path;
use std::time::{Duration, Instant};

use globus_emulator::{Collection, Config, Emulator, Identity};
use serde_json::json;

const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

fn make_tree(root: &Path, mib: usize) -> std::io::Result<(usize, u64)> {
    let mut files = 0;
    let mut bytes = 0u64;
    let big = vec![7u8; 1 << 20];
    for i in 0..mib {
        let dir = root.join(format!("big/d{}", i % 8));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("f{i}.bin")), &big)?;
        files += 1;
        bytes += big.len() as u64;
    }
    for i in 0..1000 {
        let dir = root.join(format!("small/d{}", i % 20));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("s{i}.txt")), format!("small file {i}\n"))?;
        files += 1;
        bytes += 16;
    }
    Ok((files, bytes))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let dir = tempfile::tempdir()?;
    let (src, dst, cp_dst) = (
        dir.path().join("src"),
        dir.path().join("dst"),
        dir.path().join("cp"),
    );
    for d in [&src, &dst, &cp_dst] {
        std::fs::create_dir_all(d)?;
    }
    let (files, bytes) = make_tree(&src.join("tree"), mib)?;

    let started = Instant::now();
    let cp = std::process::Command::new("cp")
        .arg("-r")
        .arg(src.join("tree"))
        .arg(&cp_dst)
        .status()?;
    let cp_time = started.elapsed();
    if !cp.success() {
        return Err("cp -r failed".into());
    }

    let (s, d) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let config = Config::new()
        .identity(Identity::new("bench@example.org"))
        .native_client(uuid::Uuid::new_v4())
        .collection(Collection::new(s, "src", &src).data_access_required(false))
        .collection(Collection::new(d, "dst", &dst).data_access_required(false));
    let started = Instant::now();
    let emulator = Emulator::start(config, "127.0.0.1:0".parse()?).await?;
    let startup = started.elapsed();
    let token = emulator
        .mint_tokens("bench@example.org", TRANSFER, None)?
        .access_token;
    let http = reqwest::Client::new();
    let base = emulator.base_url();

    let started = Instant::now();
    let accepted: serde_json::Value = http
        .post(format!("{base}/v0.10/transfer"))
        .bearer_auth(&token)
        .json(&json!({"DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4(),
            "source_endpoint": s, "destination_endpoint": d,
            "DATA": [{"DATA_TYPE": "transfer_item", "source_path": "/tree/", "destination_path": "/tree/", "recursive": true}]}))
        .send()
        .await?
        .json()
        .await?;
    let task_id = accepted["task_id"].as_str().ok_or("no task id")?.to_owned();
    let status = loop {
        let task: serde_json::Value = http
            .get(format!("{base}/v0.10/task/{task_id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if task["status"] != "ACTIVE" {
            break task["status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let emu_time = started.elapsed();
    emulator.shutdown();

    println!(
        "tree: {files} files, {:.1} MiB",
        bytes as f64 / f64::from(1 << 20)
    );
    println!("emulator startup: {:.1} ms", startup.as_secs_f64() * 1e3);
    println!("cp -r:            {:.3} s", cp_time.as_secs_f64());
    println!("emulator ({status}): {:.3} s", emu_time.as_secs_f64());
    println!(
        "ratio emulator / cp -r: {:.2}",
        emu_time.as_secs_f64() / cp_time.as_secs_f64()
    );
    Ok(())
}
