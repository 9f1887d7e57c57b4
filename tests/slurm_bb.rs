//! Burst buffer mode end to end on the real test bed (SlurmUser=root): gstage's burst_buffer.lua,
//! the emulator as Globus, jobs submitted by the unprivileged test user. See
//! `tests/slurm_support` for the prerequisites.

mod slurm_support;

use std::fs;

use slurm_support::{World, exclusive, field, run, shared, text_of, world};

fn bed() -> &'static World {
    world("bb", "root")
}

/// How many emulator tasks carry an item whose source or destination path holds `needle` (a
/// unique path).
fn tasks_mentioning(w: &World, needle: &str) -> usize {
    w.emulator
        .tasks()
        .iter()
        .filter(|t| {
            t.items
                .iter()
                .any(|(from, to)| from.contains(needle) || to.contains(needle))
        })
        .count()
}

/// Whether any emulator task's document mentions `needle`.
fn any_task_mentions(w: &World, needle: &str) -> bool {
    tasks_mentioning(w, needle) > 0
}

#[test]
fn an_invalid_directive_makes_sbatch_fail_with_gstages_diagnostic_and_no_task() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("invalid");
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        "#!/bin/bash\n#GLOBUS stage-in remot:/data/in/ ./in/ --sync-level sometimes\n#GLOBUS stage-out ./out/ remote:/results/\necho never\n",
    );
    let out = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .expect_err("sbatch must refuse the job");
    let text = text_of(&out);
    assert!(text.contains("Burst Buffer request invalid"), "{text}");
    // The rendered diagnostic, with its fix, is what the user sees.
    assert!(text.contains("unknown collection `remot`"), "{text}");
    assert!(text.contains("did you mean `remote`"), "{text}");
    assert!(text.contains("sometimes"), "{text}");
    let queue = run(w
        .slurm("squeue")
        .args(["-h", "-u", w.user(), "-o", "%i %o"]));
    assert!(
        !queue.contains(script.to_str().unwrap_or_default()),
        "a job was queued: {queue}"
    );
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    assert!(!any_task_mentions(w, name), "a Globus task was submitted");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_valid_script_is_accepted_and_its_job_is_a_burst_buffer_job() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("accepted");
    let (_, remote) = w.remote_dir("accepted", &[("a.txt", 10)]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!("#!/bin/bash\n#GLOBUS stage-in remote:{remote}/ ./in/\necho ok\n"),
    );
    let job = w
        .sbatch(&dir, &["--hold", script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch refused a valid script: {}", text_of(&out)));
    let info = w.job(&job);
    assert!(
        field(&info, "BurstBuffer").is_some_and(|b| b.starts_with("#GLOBUS")),
        "{info}"
    );
    run(w.slurm("scancel").arg(&job));
    fs::remove_dir_all(&dir).ok();
}

/// `examples/jobs/*.sh` without their resource requests (this bed has one small node and no
/// GPUs); every `#GLOBUS` line stays where it is.
fn examples_for_the_bed() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jobs");
    let mut out: Vec<(String, String)> = fs::read_dir(&dir)
        .expect("examples/jobs is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .map(|p| {
            let text = fs::read_to_string(&p).expect("an example script");
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| {
                    !["--time", "--ntasks", "--gpus", "--mem", "--cpus-per-task"]
                        .iter()
                        .any(|o| l.starts_with("#SBATCH") && l.contains(o))
                })
                .collect();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), kept.join("\n") + "\n")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_example_job_script_is_accepted_by_the_burst_buffer() {
    let w = bed();
    let _turn = shared();
    let examples = examples_for_the_bed();
    assert!(examples.len() >= 5, "{examples:?}");
    for (name, text) in examples {
        let dir = w.job_dir(&format!("example-{}", name.trim_end_matches(".sh")));
        fs::create_dir_all(dir.join("logs")).expect("logs folder");
        run(std::process::Command::new("chown")
            .arg("-R")
            .arg(format!("{}:", w.user()))
            .arg(&dir));
        let script = dir.join(&name);
        w.write_as_user(&script, &text);
        let job = w
            .sbatch(&dir, &["--hold", script.to_str().expect("utf-8 path")])
            .unwrap_or_else(|out| panic!("sbatch refused {name}: {}", text_of(&out)));
        let info = w.job(&job);
        assert!(
            field(&info, "BurstBuffer").is_some_and(|b| b.contains("#GLOBUS")),
            "{name} is a burst buffer job: {info}"
        );
        run(w.slurm("scancel").arg(&job));
        fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn a_directive_that_fails_with_the_jobs_own_values_holds_it_with_the_reason() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("setup-fails");
    let script = dir.join("job.sh");
    // `%a` is fine at submission (the job could be an array), but this job is not one.
    w.write_as_user(
        &script,
        "#!/bin/bash\n#GLOBUS stage-in remote:/data/%a/ ./in/\ntouch ran\n",
    );
    let job = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch refused the script: {}", text_of(&out)));
    let info = w.wait_job(&job, 30, "being held by its stage-in", |i| {
        i.contains("Reason=burst_buffer/lua")
    });
    assert!(
        info.contains("%a"),
        "the Reason names the directive: {info}"
    );
    assert!(
        info.contains(&format!("scancel {job}")),
        "the Reason says how to fix it: {info}"
    );
    assert_eq!(field(&info, "JobState"), Some("PENDING"), "{info}");
    assert!(!dir.join("ran").exists(), "the job ran");
    run(w.slurm("scancel").arg(&job));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn full_cycle_stages_in_while_pending_then_out_after_the_job() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("cycle");
    let (_, input) = w.remote_dir("cycle-in", &[("a.txt", 64 * 1024), ("b.txt", 100)]);
    let (out_root, output) = w.remote_dir("cycle-out", &[]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{input}/ ./input/\n#GLOBUS stage-out ./results/ remote:{output}/%j/\n\
             mkdir -p results\nwc -c < input/a.txt > results/count.txt\necho \"$GSTAGE_STAGE_IN_TASKS\" > results/tasks.txt\n"
        ),
    );
    let job = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    // Stage-in runs while the job pends: no nodes are held.
    w.wait_job(&job, 30, "pending in BurstBufferStageIn", |i| {
        field(i, "JobState") == Some("PENDING") && field(i, "Reason") == Some("BurstBufferStageIn")
    });
    let info = w.wait_final(&job, 120);
    assert_eq!(field(&info, "JobState"), Some("COMPLETED"), "{info}");

    // The job read the staged files and saw its task ids.
    let count = fs::read_to_string(dir.join("results/count.txt")).unwrap_or_default();
    assert_eq!(count.trim(), (64 * 1024).to_string());
    let tasks = w.tasks_of(&job);
    let stage_in = tasks
        .iter()
        .find(|t| t.label.as_deref().is_some_and(|l| l.contains(" in ")))
        .unwrap_or_else(|| panic!("no stage-in task for job {job}"));
    let seen = fs::read_to_string(dir.join("results/tasks.txt")).unwrap_or_default();
    assert_eq!(seen.trim(), stage_in.task_id.to_string());

    // Its results reach the remote site after it ended.
    let arrived = w.wait_file(&out_root.join(&job).join("count.txt"), 60);
    assert_eq!(arrived.trim(), (64 * 1024).to_string());
    assert_eq!(w.tasks_of(&job).len(), 2, "one task per direction");

    // Both tasks are visible from Slurm and from gstage.
    let bbstat = run(w.slurm("scontrol").args(["show", "bbstat", "gstage", &job]));
    assert!(bbstat.contains(&stage_in.task_id.to_string()), "{bbstat}");
    assert_eq!(
        bbstat.matches("SUCCEEDED").count() + bbstat.matches("ACTIVE").count(),
        2,
        "{bbstat}"
    );
    let status = w
        .as_user(env!("CARGO_BIN_EXE_gstage"))
        .args(["status", &job])
        .output()
        .expect("run gstage status");
    let text = text_of(&status);
    assert!(status.status.success(), "{text}");
    for t in w.tasks_of(&job) {
        assert!(text.contains(&t.task_id.to_string()), "{text}");
    }
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_stage_in_from_a_missing_path_holds_the_job_with_the_path_in_its_reason() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("missing");
    let (_, remote) = w.remote_dir("missing", &[]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{remote}/nothing-here.dat ./in/\ntouch ran\n"
        ),
    );
    let job = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    // The engine gives a task that keeps failing on a missing file a grace of a minute.
    let info = w.wait_job(&job, 150, "being held for its failed stage-in", |i| {
        i.contains("Reason=burst_buffer/lua:_slurm_bb_data_in")
    });
    assert!(
        info.contains("nothing-here.dat"),
        "the Reason names the path: {info}"
    );
    assert!(info.contains("FILE_NOT_FOUND"), "{info}");
    assert!(
        info.contains(&format!("scancel_{job}")),
        "the Reason says what to do: {info}"
    );
    assert_eq!(field(&info, "JobState"), Some("PENDING"), "{info}");
    assert!(!dir.join("ran").exists(), "the job ran");
    run(w.slurm("scancel").arg(&job));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn when_decides_which_stage_outs_follow_a_failed_job() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("when");
    let (out_root, output) = w.remote_dir("when-out", &[]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-out ./logs/ remote:{output}/always/ --when always\n\
             #GLOBUS stage-out ./results/ remote:{output}/success/ --when success\n\
             mkdir -p logs results\necho log > logs/log.txt\necho result > results/r.txt\nexit 3\n"
        ),
    );
    let job = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let info = w.wait_final(&job, 60);
    assert_eq!(field(&info, "JobState"), Some("FAILED"), "{info}");
    assert_eq!(
        w.wait_file(&out_root.join("always/log.txt"), 60).trim(),
        "log"
    );
    let tasks = w.tasks_of(&job);
    assert_eq!(
        tasks.len(),
        1,
        "only the --when always stage-out runs: {tasks:?}"
    );
    assert!(
        !out_root.join("success").exists(),
        "a --when success stage-out ran"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn scancel_during_stage_in_cancels_the_globus_task() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("scancel");
    // About 30 s at the emulator's rate: long enough to cancel in the middle.
    let (_, remote) = w.remote_dir("scancel", &[("big.dat", 1024 * 1024)]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!("#!/bin/bash\n#GLOBUS stage-in remote:{remote}/ ./in/\ntouch ran\n"),
    );
    let job = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let task = loop {
        if let Some(t) = w.tasks_of(&job).into_iter().next() {
            break t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no stage-in task\n{}",
            w.log_tail()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    run(w.slurm("scancel").arg(&job));
    let info = w.wait_final(&job, 60);
    assert_eq!(field(&info, "JobState"), Some("CANCELLED"), "{info}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let now = w
            .emulator
            .tasks()
            .into_iter()
            .find(|t| t.task_id == task.task_id)
            .map(|t| t.status);
        if now == Some(globus_emulator::TaskStatus::Failed) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "task {} is still {now:?} after scancel\n{}",
            task.task_id,
            w.log_tail()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let doc = w.emulator.task_document(task.task_id).unwrap_or_default();
    assert!(
        doc.to_string().contains("CANCEL"),
        "cancelled, not failed otherwise: {doc}"
    );
    assert!(!dir.join("ran").exists(), "the job ran");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn each_array_element_stages_its_own_files() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("array");
    let (input_root, input) = w.remote_dir("array-in", &[]);
    for (i, word) in [(1, "one"), (2, "two")] {
        fs::create_dir_all(input_root.join(i.to_string())).expect("mkdir");
        fs::write(input_root.join(format!("{i}/x.txt")), word).expect("write");
    }
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{input}/%a/x.txt ./in-%a/\n\
             cat in-$SLURM_ARRAY_TASK_ID/x.txt > out-$SLURM_ARRAY_TASK_ID.txt\n"
        ),
    );
    let job = w
        .sbatch(&dir, &["--array=1-2", script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    for (i, word) in [(1, "one"), (2, "two")] {
        let out = w.wait_file(&dir.join(format!("out-{i}.txt")), 120);
        assert_eq!(out, word, "element {i} read its own file");
    }
    let records = run(w
        .slurm("squeue")
        .args(["-h", "-t", "all", "-j", &job, "-o", "%i %T"]));
    assert!(!records.contains("FAILED"), "{records}");
    // Both elements' files travelled in the array's one shared task, not one task each.
    assert_eq!(tasks_mentioning(w, &input), 1, "the array's stage-in tasks");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_slurmctld_restart_during_stage_in_leaves_one_task_and_one_run() {
    let w = bed();
    let _turn = exclusive();
    let dir = w.job_dir("restart");
    // About 8 s at the emulator's rate: the restart happens in the middle.
    let (_, input) = w.remote_dir("restart", &[("a.dat", 256 * 1024)]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!("#!/bin/bash\n#GLOBUS stage-in remote:{input}/ ./in/\necho run >> runs.txt\n"),
    );
    let job = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while w.tasks_of(&job).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no stage-in task\n{}",
            w.log_tail()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    w.restart_slurmctld();
    let info = w.wait_final(&job, 120);
    assert_eq!(field(&info, "JobState"), Some("COMPLETED"), "{info}");
    assert_eq!(
        w.tasks_of(&job).len(),
        1,
        "one Globus task for the job's stage-in"
    );
    let runs = fs::read_to_string(dir.join("runs.txt")).unwrap_or_default();
    assert_eq!(runs, "run\n", "the job ran once");
    fs::remove_dir_all(&dir).ok();
}

/// Clears the emulator's faults when the test ends, passed or not, so no other test sees them.
struct FaultsOn<'a>(&'a globus_emulator::EmulatorHandle);

impl Drop for FaultsOn<'_> {
    fn drop(&mut self) {
        self.0.clear_faults();
    }
}

/// The burst buffer part of the fault soak (docs/reliability.md): jobs staged in and out by
/// Slurm's own phases while a fifth of all Globus requests fail transiently. Every job runs with
/// its input, its results arrive, Globus holds exactly one task per direction and job, and the
/// user's ledger (`gstage list`, which reads nothing else) holds every one of them.
#[test]
fn twenty_burst_buffer_jobs_arrive_whole_under_transient_faults() {
    const JOBS: usize = 20;
    let w = bed();
    let _turn = exclusive();
    let dir = w.job_dir("soak");
    let (in_root, input) = w.remote_dir("soak-in", &[]);
    let (out_root, output) = w.remote_dir("soak-out", &[]);
    let mut scripts = Vec::new();
    for i in 0..JOBS {
        fs::create_dir_all(in_root.join(i.to_string())).expect("mkdir");
        fs::write(
            in_root.join(format!("{i}/a.txt")),
            format!("input of job {i}\n"),
        )
        .expect("write an input");
        let script = dir.join(format!("job-{i}.sh"));
        w.write_as_user(
            &script,
            &format!(
                "#!/bin/bash\n#GLOBUS stage-in remote:{input}/{i}/ ./in-{i}/\n\
                 #GLOBUS stage-out ./out-{i}/ remote:{output}/%j/\n\
                 mkdir -p out-{i}\ntr a-z A-Z < in-{i}/a.txt > out-{i}/a.txt\n"
            ),
        );
        scripts.push(script);
    }

    let before = w.emulator.stats();
    w.emulator.reseed(7);
    let _faults = FaultsOn(&w.emulator);
    for rule in globus_emulator::rules_for_shares(globus_emulator::transient_mix()) {
        w.emulator.inject(rule);
    }
    let started = std::time::Instant::now();
    let jobs: Vec<String> = scripts
        .iter()
        .map(|s| {
            w.sbatch(&dir, &[s.to_str().expect("utf-8 path")])
                .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)))
        })
        .collect();
    for (i, job) in jobs.iter().enumerate() {
        let info = w.wait_final(job, 600);
        assert_eq!(
            field(&info, "JobState"),
            Some("COMPLETED"),
            "job {i}: {info}"
        );
        let arrived = w.wait_file(&out_root.join(job).join("a.txt"), 300);
        assert_eq!(arrived, format!("INPUT OF JOB {i}\n"), "job {i}'s results");
    }
    let wall = started.elapsed();
    let after = w.emulator.stats();
    let requests = after.total_requests - before.total_requests;
    let faults = after.faults_injected - before.faults_injected;
    // The mix is 20 %; the seeded draw over a few hundred requests stays well above 10 %.
    assert!(
        faults * 10 >= requests,
        "only {faults} of {requests} requests were faulted"
    );

    let listed = w
        .as_user(env!("CARGO_BIN_EXE_gstage"))
        .args(["list", "--format", "json", "--limit", "1000"])
        .output()
        .expect("run gstage list");
    let ledger = text_of(&listed);
    assert!(listed.status.success(), "{ledger}");
    for job in &jobs {
        let tasks = w.tasks_of(job);
        assert_eq!(
            tasks.len(),
            2,
            "job {job}: one task per direction: {tasks:?}"
        );
        for t in &tasks {
            assert!(
                ledger.contains(&t.task_id.to_string()),
                "job {job}: task {} is not in the ledger",
                t.task_id
            );
        }
    }
    println!(
        "burst buffer soak: {JOBS} jobs, {} tasks, {faults} of {requests} requests faulted, \
         {:.1} s from the first sbatch to the last results",
        2 * JOBS,
        wall.as_secs_f64()
    );
    fs::remove_dir_all(&dir).ok();
}

/// The active stage-out task whose source lies under `dir`, with the element index it serves.
fn active_stage_out_under(w: &World, dir: &std::path::Path) -> Option<(uuid::Uuid, String)> {
    let prefix = format!("{}/out-", dir.display());
    w.emulator.tasks().into_iter().find_map(|t| {
        let (from, _) = t.items.first()?;
        let index = from.strip_prefix(&prefix)?.trim_end_matches('/').to_owned();
        (t.status == globus_emulator::TaskStatus::Active).then_some((t.task_id, index))
    })
}

#[test]
fn cancelling_one_array_element_leaves_its_siblings_transfers_alone() {
    let w = bed();
    let _turn = shared();
    let dir = w.job_dir("element-cancel");
    let (out_root, output) = w.remote_dir("element-cancel-out", &[]);
    let script = dir.join("job.sh");
    // The element that holds the array's own job id (the one a careless teardown would take for
    // the whole array) waits to be cancelled; the other writes results that take about 10 s to
    // stage out at the emulator's rate.
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-out ./out-%a/ remote:{output}/%a/\n\
             if [ \"$SLURM_JOB_ID\" = \"$SLURM_ARRAY_JOB_ID\" ]; then sleep 300; fi\n\
             mkdir -p out-$SLURM_ARRAY_TASK_ID\n\
             head -c 327680 /dev/zero > out-$SLURM_ARRAY_TASK_ID/big.bin\n"
        ),
    );
    let array = w
        .sbatch(&dir, &["--array=1-2", script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let (task, staging) = loop {
        if let Some(found) = active_stage_out_under(w, &dir) {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no element's stage-out started\n{}",
            w.log_tail()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let victim = if staging == "1" { "2" } else { "1" };
    let victim_job = format!("{array}_{victim}");
    let info = w.job(&victim_job);
    assert_eq!(
        field(&info, "JobId"),
        Some(array.as_str()),
        "the waiting element holds the array's job id: {info}"
    );
    // `--hurry`: no stage-out, teardown at once (with `hurry`), where tasks are cancelled.
    run(w.slurm("scancel").args(["--hurry", &victim_job]));
    let info = w.wait_final(&victim_job, 60);
    assert_eq!(field(&info, "JobState"), Some("CANCELLED"), "{info}");

    // The sibling's stage-out goes on to the end and its results arrive whole.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let status = loop {
        let status = w
            .emulator
            .tasks()
            .into_iter()
            .find(|t| t.task_id == task)
            .map(|t| t.status);
        if status != Some(globus_emulator::TaskStatus::Active) {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "task {task} never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(
        status,
        Some(globus_emulator::TaskStatus::Succeeded),
        "element {staging}'s stage-out was stopped by its sibling's cancel"
    );
    let arrived = fs::metadata(out_root.join(&staging).join("big.bin")).map(|m| m.len());
    assert_eq!(arrived.ok(), Some(327_680));
    fs::remove_dir_all(&dir).ok();
}
