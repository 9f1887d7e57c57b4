//! Latency of `gstage bb job_process`, which slurmctld runs at every submission of a job with
//! #GLOBUS lines while holding its locks: median and p99 over 1000 calls, next to spawning
//! `/bin/true` (the floor any external command pays). Target: median under 5 ms.
//!
//! Run: `cargo bench --bench bb_job_process` (figures are printed; nothing is asserted).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CALLS: usize = 1000;

const CONFIG: &str = r#"
[cluster]
name = "bench"
collection = "6c1b1e0a-0000-4000-8000-000000000001"
paths = [ { local = "/home", collection = "/home" } ]

[collections.cedar]
id = "6c1b1e0a-0000-4000-8000-000000000002"
display_name = "Cedar"
"#;

const SCRIPT: &str = "#!/bin/bash\n#SBATCH --time=04:00:00\n#GLOBUS stage-in  cedar:/project/def-lab/runs/input/ ./input/ --sync-level checksum\n#GLOBUS stage-in  cedar:/project/def-lab/ref/genome.fa ./ref/\n#GLOBUS stage-out ./results/ cedar:/project/def-lab/runs/%j/ --when always\npython analyse.py input/ results/\n";

fn measure(mut make: impl FnMut() -> Command) -> Vec<Duration> {
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let mut cmd = make();
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let start = Instant::now();
        let status = cmd.status().expect("the command starts");
        times.push(start.elapsed());
        assert!(status.success(), "the command failed: {status}");
    }
    times.sort();
    times
}

fn report(name: &str, times: &[Duration]) {
    let at = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times.get(i).copied().unwrap_or_default().as_secs_f64() * 1000.0
    };
    println!(
        "{name:<28} median {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms   ({} calls)",
        at(0.5),
        at(0.99),
        at(1.0),
        times.len()
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG).expect("write the config");
    let hash = dir.path().join("hash.2/job.42");
    std::fs::create_dir_all(&hash).expect("make the script folder");
    let script = hash.join("script");
    std::fs::write(&script, SCRIPT).expect("write the script");
    let gstage = Path::new(env!("CARGO_BIN_EXE_gstage"));

    // Warm the page cache for both binaries.
    let _ = Command::new(gstage).arg("--version").output();
    let _ = Command::new("/bin/true").status();

    let spawn = measure(|| Command::new("/bin/true"));
    let bb = measure(|| {
        let mut c = Command::new(gstage);
        c.args(["bb", "job_process"])
            .arg(&script)
            .env_clear()
            .env("GSTAGE_CONFIG", &config)
            .env("XDG_CONFIG_HOME", dir.path());
        c
    });
    println!(
        "gstage bb job_process latency ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimised"
        }
    );
    report("/bin/true (process spawn)", &spawn);
    report("gstage bb job_process", &bb);
}
