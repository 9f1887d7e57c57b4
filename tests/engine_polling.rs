//! Coalesced polling: 50 concurrent `gstage wait` processes on 50 tasks make at most one Transfer
//! request per poll interval in total, and all of them exit 0 when their task succeeds.

mod engine_support;

use std::time::{Duration, Instant};

use engine_support::{Setup, World, assert_status, text};

const JOBS: usize = 50;
const INTERVAL: Duration = Duration::from_secs(1);

#[test]
fn fifty_waiters_share_one_poll_per_interval() {
    let w = World::with(Setup {
        throughput: Some(4_000),
        active_task_limit: Some(JOBS),
        ..Setup::default()
    });
    std::fs::write(w.path("cedar/input/big.bin"), vec![1u8; 24_000]).unwrap();
    let script = w.script(
        "job.sh",
        "#GLOBUS stage-in cedar:/input/big.bin ./in%j/big.bin",
    );
    let script = script.to_str().unwrap().to_owned();
    let jobs: Vec<String> = (0..JOBS).map(|i| (5000 + i).to_string()).collect();
    std::thread::scope(|s| {
        for chunk in jobs.chunks(10) {
            let (w, script) = (&w, &script);
            s.spawn(move || {
                for job in chunk {
                    let out =
                        w.run(&["stage-in", "--script", script, "--job-id", job, "--no-wait"]);
                    assert_status(&out, 0);
                }
            });
        }
    });
    assert_eq!(w.emu.tasks().len(), JOBS);

    let before = w.transfer_requests().len();
    let started = Instant::now();
    let interval = format!("{}", INTERVAL.as_secs_f64());
    let children: Vec<_> = jobs
        .iter()
        .map(|job| {
            w.gstage(&["wait", job, "--interval", &interval])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("gstage wait starts")
        })
        .collect();
    for (job, child) in jobs.iter().zip(children) {
        let out = child.wait_with_output().expect("wait ends");
        assert_status(&out, 0);
        assert!(
            text(&out.stdout).contains("1 succeeded"),
            "job {job}: {}",
            text(&out.stdout)
        );
    }
    let elapsed = started.elapsed();
    let polls: Vec<String> = w.transfer_requests()[before..].to_vec();
    assert!(
        polls.iter().all(|r| r == "GET /v0.10/task_list"),
        "waiting made only shared polls: {polls:?}"
    );
    let allowed = (elapsed.as_secs_f64() / INTERVAL.as_secs_f64()).floor() as usize + 1;
    eprintln!(
        "{JOBS} waiters, {:.1}s: {} task_list requests (at most {allowed} allowed)",
        elapsed.as_secs_f64(),
        polls.len()
    );
    assert!(
        polls.len() <= allowed,
        "{} polls in {:.1}s is more than one per {INTERVAL:?}",
        polls.len(),
        elapsed.as_secs_f64()
    );
    assert!(!polls.is_empty());
    for t in w.emu.tasks() {
        assert_eq!(t.status, globus_emulator::TaskStatus::Succeeded);
    }
}
