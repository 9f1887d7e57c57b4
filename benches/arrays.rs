//! Job-array figures (printed, not asserted): an array whose every element stages its own file
//! and one shared file from the same site, its elements' stage-ins run as `gstage stage-in`
//! processes, at most `CONCURRENCY` at once, against the emulator (3 running / 100 pending tasks
//! per user, as Globus), once coalesced (the default) and once naive (one task per element,
//! `coalesce_arrays = false`, no shared rate limit). An element refused by the pending limit is
//! run again a second later, as Slurm runs a failed stage-in again.
//!
//! Printed per mode: Globus tasks created, Transfer requests, the busiest second of requests,
//! peak running and pending tasks, refused submissions, element re-runs, and the time from the
//! first element's start to the last element's stage-in returning (when the last element may
//! start).
//!
//! `scripts/array-bench` runs it with 1000 elements and 500 processes at once
//! (`cargo test --bench arrays -- --bench`); without `--bench` (as `cargo test --all-targets`
//! runs it) a small version runs. `ARRAY_BENCH_ELEMENTS` and `ARRAY_BENCH_CONCURRENCY` override.

#[path = "../tests/engine_support/mod.rs"]
mod engine_support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use engine_support::World;
use globus_emulator::busiest_second;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let number = |var: &str, full_value: usize, small: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if full { full_value } else { small })
    };
    let elements = number("ARRAY_BENCH_ELEMENTS", 1000, 20);
    let concurrency = number("ARRAY_BENCH_CONCURRENCY", 500, 10);
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "gstage job-array figures ({build} build): {elements} elements, at most {concurrency} stage-in processes at once"
    );
    let coalesced = run(elements, concurrency, true);
    let naive = run(elements, concurrency, false);
    let rows: [(&str, Show); 9] = [
        ("Globus tasks created", |f| f.tasks.to_string()),
        ("Transfer requests", |f| f.requests.to_string()),
        ("busiest second (requests)", |f| f.peak_rate.to_string()),
        ("peak running tasks (limit 3)", |f| {
            f.peak_running.to_string()
        }),
        ("peak pending tasks (limit 100)", |f| {
            f.peak_pending.to_string()
        }),
        ("submissions refused (pending limit)", |f| {
            f.refused.to_string()
        }),
        ("element stage-ins run again", |f| f.reruns.to_string()),
        ("elements whose files were missing", |f| {
            f.missing.to_string()
        }),
        ("time to the last element's start", |f| {
            format!("{:.1} s", f.last_start.as_secs_f64())
        }),
    ];
    println!(
        "{:<38} {:>14} {:>22}",
        "", "coalesced", "naive (task/element)"
    );
    for (name, show) in rows {
        println!("{name:<38} {:>14} {:>22}", show(&coalesced), show(&naive));
    }
}

/// One row's value from a mode's figures.
type Show = fn(&Figures) -> String;

struct Figures {
    tasks: u64,
    requests: usize,
    peak_rate: usize,
    peak_running: u64,
    peak_pending: u64,
    refused: u64,
    reruns: usize,
    missing: usize,
    last_start: Duration,
}

fn run(elements: usize, concurrency: usize, coalesce: bool) -> Figures {
    let w = World::new();
    let path = w.path("site.toml");
    let site = std::fs::read_to_string(&path).expect("site config");
    let base = site.split("\n[limits]\n").next().unwrap_or_default();
    let limits = if coalesce {
        "coalesce_arrays = true\nrequests_per_second = 15\nrequest_burst = 4\n"
    } else {
        "coalesce_arrays = false\nrequests_per_second = 0\n"
    };
    std::fs::write(&path, format!("{base}\n[limits]\n{limits}")).expect("site config");
    for i in 0..elements {
        std::fs::write(
            w.path(&format!("cedar/input/in_{i}.dat")),
            format!("element {i}\n").repeat(100),
        )
        .expect("input");
    }
    let script = w.script(
        "array.sh",
        "#GLOBUS stage-in cedar:/input/in_%a.dat ./in/\n#GLOBUS stage-in cedar:/input/a.dat ./common/",
    );
    let script = script.to_str().expect("a UTF-8 path").to_owned();
    let spawn = |index: usize| -> Child {
        let mut cmd = w.gstage(&["stage-in", "--script", &script]);
        cmd.env("SLURM_JOB_ID", (20_000 + index).to_string())
            .env("SLURM_ARRAY_JOB_ID", "20000")
            .env("SLURM_ARRAY_TASK_ID", index.to_string())
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .env("SLURM_ARRAY_TASK_MAX", (elements - 1).to_string())
            .env("SLURM_ARRAY_TASK_STEP", "1")
            .env("SLURM_JOB_NAME", "array.sh")
            .env("SLURM_CLUSTER_NAME", "grex")
            .env("SLURM_SUBMIT_DIR", w.run_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.spawn().expect("gstage starts")
    };
    let started = Instant::now();
    let mut queue: std::collections::VecDeque<(usize, Instant)> =
        (0..elements).map(|i| (i, started)).collect();
    let mut running: Vec<(usize, Child)> = Vec::new();
    let mut reruns = 0;
    let mut missing = 0;
    let mut last_start = Duration::ZERO;
    while !queue.is_empty() || !running.is_empty() {
        while running.len() < concurrency
            && queue.front().is_some_and(|(_, at)| *at <= Instant::now())
        {
            let Some((index, _)) = queue.pop_front() else {
                break;
            };
            running.push((index, spawn(index)));
        }
        let mut i = 0;
        while i < running.len() {
            match running[i].1.try_wait().expect("wait") {
                None => i += 1,
                Some(status) => {
                    let (index, _) = running.swap_remove(i);
                    if status.success() {
                        last_start = started.elapsed();
                        let own = w.run_dir().join(format!("in/in_{index}.dat"));
                        if !own.exists() {
                            missing += 1;
                        }
                    } else {
                        reruns += 1;
                        queue.push_back((index, Instant::now() + Duration::from_secs(1)));
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = w.emu.stats();
    let times = w.emu.transfer_request_times();
    Figures {
        tasks: stats.tasks_created,
        requests: times.len(),
        peak_rate: busiest_second(&times),
        peak_running: stats.peak_running_per_user,
        peak_pending: stats.peak_pending_per_user,
        refused: stats.refused_pending_limit,
        reruns,
        missing,
        last_start,
    }
}
