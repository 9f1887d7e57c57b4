//! Job arrays at Globus's limits: many elements of one array staging in at once make a few
//! shared tasks, never more than 3 running / 100 pending per user, stay under the request rate,
//! and each element's stage-in returns only once its own files are there.

mod engine_support;

use std::process::{Child, Command, Stdio};

use engine_support::{World, text};
use globus_emulator::busiest_second;

/// Replaces the world's `[limits]` section (the engine tests' world turns the shared rate limit
/// off, so that their timing is the engine's own).
fn limits(w: &World, section: &str) {
    let path = w.path("site.toml");
    let site = std::fs::read_to_string(&path).unwrap();
    let base = site.split("\n[limits]\n").next().unwrap_or_default();
    std::fs::write(&path, format!("{base}\n[limits]\n{section}")).unwrap();
}

/// `gstage stage-in` as array element `index` of array 7000 (0..`count`) would run it inside the
/// job, followed by a check, in the same shell, that the element's own file and the shared one
/// are in place the moment it returns.
fn element(w: &World, script: &str, index: usize, count: usize) -> Child {
    let cmd = w.gstage(&[]);
    let gstage = cmd.get_program().to_owned();
    let check = format!(
        "\"$0\" stage-in --script \"$1\" || exit $?; cmp -s in/in_{index}.dat \"$2/in_{index}.dat\" && cmp -s common/a.dat \"$2/a.dat\" && echo PRESENT"
    );
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(check)
        .arg(gstage)
        .arg(script)
        .arg(w.path("cedar/input"))
        .current_dir(w.run_dir())
        .env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    let job_id = 7000 + index;
    sh.env("SLURM_JOB_ID", job_id.to_string())
        .env("SLURM_ARRAY_JOB_ID", "7000")
        .env("SLURM_ARRAY_TASK_ID", index.to_string())
        .env("SLURM_ARRAY_TASK_MIN", "0")
        .env("SLURM_ARRAY_TASK_MAX", (count - 1).to_string())
        .env("SLURM_ARRAY_TASK_STEP", "1")
        .env("SLURM_JOB_NAME", "analyse")
        .env("SLURM_CLUSTER_NAME", "grex")
        .env("SLURM_SUBMIT_DIR", w.run_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    sh.spawn().expect("the element starts")
}

#[test]
fn two_hundred_elements_share_three_tasks_and_start_with_their_files() {
    const ELEMENTS: usize = 200;
    let w = World::new();
    // The default budget (15 a second, bursts of 4), with small tasks.
    limits(
        &w,
        "requests_per_second = 15\nrequest_burst = 4\nmax_items_per_task = 80\n",
    );
    for i in 0..ELEMENTS {
        std::fs::write(
            w.path(&format!("cedar/input/in_{i}.dat")),
            format!("element {i}\n").repeat(50),
        )
        .unwrap();
    }
    let script = w.script(
        "array.sh",
        "#GLOBUS stage-in cedar:/input/in_%a.dat ./in/\n#GLOBUS stage-in cedar:/input/a.dat ./common/",
    );
    let script = script.to_str().unwrap().to_owned();
    let children: Vec<Child> = (0..ELEMENTS)
        .map(|i| element(&w, &script, i, ELEMENTS))
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("the element ends");
        assert!(
            out.status.success() && text(&out.stdout).contains("PRESENT"),
            "element {i}: exit {:?}\n{}\n{}",
            out.status.code(),
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let stats = w.emu.stats();
    // 200 own files and one shared file, at most 80 items a task: three tasks.
    assert_eq!(stats.tasks_created, 3, "{stats:?}");
    assert!(stats.peak_running_per_user <= 3, "{stats:?}");
    assert!(stats.peak_pending_per_user <= 100, "{stats:?}");
    assert_eq!(stats.refused_pending_limit, 0);
    let labels: Vec<String> = w
        .emu
        .tasks()
        .iter()
        .filter_map(|t| t.label.clone())
        .collect();
    for k in 1..=3 {
        let label = format!("gstage grex 7000 in array {k} of 3");
        assert!(labels.contains(&label), "{label} in {labels:?}");
    }
    let records = w
        .ledger()
        .get_by_job("grex", "7000_*", None)
        .expect("the ledger reads");
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.task_id.is_some()));
    let submissions = w
        .transfer_requests()
        .iter()
        .filter(|r| *r == "POST /v0.10/transfer")
        .count();
    assert_eq!(submissions, 3, "each shared task was sent once");
    let times = w.emu.transfer_request_times();
    assert!(
        busiest_second(&times) <= 20,
        "{} Transfer requests in one second",
        busiest_second(&times)
    );
}

#[test]
fn a_second_run_of_an_element_adopts_the_shared_task() {
    let w = World::new();
    for i in 0..4 {
        std::fs::write(w.path(&format!("cedar/input/in_{i}.dat")), format!("{i}\n")).unwrap();
    }
    let script = w.script(
        "array.sh",
        "#GLOBUS stage-in cedar:/input/in_%a.dat ./in/\n#GLOBUS stage-in cedar:/input/a.dat ./common/",
    );
    let script = script.to_str().unwrap().to_owned();
    for round in 0..2 {
        let out = element(&w, &script, 2, 4).wait_with_output().unwrap();
        assert!(
            out.status.success() && text(&out.stdout).contains("PRESENT"),
            "round {round}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(w.emu.stats().tasks_created, 1);
    let out = element(&w, &script, 3, 4).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        w.emu.stats().tasks_created,
        1,
        "another element adopts it too"
    );
    let task = &w.emu.tasks()[0];
    assert_eq!(
        task.label.as_deref(),
        Some("gstage grex 7000 in array 1 of 1")
    );
}

#[test]
fn paths_with_the_elements_job_id_are_staged_per_element() {
    let w = World::new();
    std::fs::write(w.path("cedar/input/in_0.dat"), b"zero\n").unwrap();
    std::fs::write(w.path("cedar/input/in_1.dat"), b"one\n").unwrap();
    // `%j` differs per element and cannot be known for the others: each element stages alone
    // (the check in `element` still finds its files, since `in/in_N.dat` is written either way).
    let script = w.script(
        "array.sh",
        "#GLOBUS stage-in cedar:/input/in_%a.dat ./in/\n#GLOBUS stage-in cedar:/input/a.dat ./common/\n#GLOBUS stage-in cedar:/input/b.dat ./j%j/",
    );
    let script = script.to_str().unwrap().to_owned();
    for i in 0..2 {
        let out = element(&w, &script, i, 2).wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(w.emu.stats().tasks_created, 2);
    assert!(w.path("grex/run/j7001/b.dat").exists());
}

#[test]
fn the_shared_rate_limit_holds_across_processes() {
    const JOBS: usize = 30;
    let w = World::new();
    limits(&w, "requests_per_second = 10\nrequest_burst = 2\n");
    let script = w.script("job.sh", "#GLOBUS stage-in cedar:/input/a.dat ./in%j/");
    let script = script.to_str().unwrap().to_owned();
    let children: Vec<Child> = (0..JOBS)
        .map(|i| {
            let job = (9000 + i).to_string();
            w.gstage(&[
                "stage-in",
                "--script",
                &script,
                "--job-id",
                &job,
                "--no-wait",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let times = w.emu.transfer_request_times();
    assert!(times.len() >= 2 * JOBS, "{} requests", times.len());
    // 10 a second and bursts of 2 allow 12 in any second; Globus allows 20.
    let busiest = busiest_second(&times);
    assert!(busiest <= 20, "{busiest} Transfer requests in one second");
    assert!(w.emu.stats().peak_pending_per_user <= 100);
}
