//! Wrapper mode (`gstage sbatch`) end to end on the real test bed without any site integration
//! (plain mode). See `tests/slurm_support` for the prerequisites.

mod slurm_support;

use std::fs;

use slurm_support::{World, field, run, text_of, world};

fn bed() -> &'static World {
    world("plain", "root")
}

fn gstage_sbatch(w: &World, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    w.as_user(env!("CARGO_BIN_EXE_gstage"))
        .arg("sbatch")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run gstage sbatch")
}

/// The test user's queued jobs whose command lies in `dir`.
fn queued(w: &World, dir: &std::path::Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    run(w
        .slurm("squeue")
        .args(["-h", "-u", w.user(), "-o", "%i %j %o %Z"]))
    .lines()
    .filter(|l| l.contains(&dir))
    .map(str::to_owned)
    .collect()
}

#[test]
fn dry_run_shows_the_chain_and_submits_nothing() {
    let w = bed();
    let dir = w.job_dir("wrap-dry");
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        "#!/bin/bash\n#GLOBUS stage-in remote:/data/in/ ./in/\n#GLOBUS stage-out ./out/ remote:/results/%j/\necho\n",
    );
    let out = gstage_sbatch(
        w,
        &dir,
        &["--dry-run", "-p", "debug", "--time=5", "job.sh", "arg1"],
    );
    let text = text_of(&out);
    assert!(out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.first().is_some_and(|l| l.contains("--hold")
            && l.contains("--kill-on-invalid-dep=yes")
            && l.contains("'-p' 'debug' '--time=5' 'job.sh' 'arg1'")),
        "the user's job keeps every sbatch option: {text}"
    );
    assert!(
        text.contains("bb data_in <JOBID>"),
        "a gate job waits for the stage-in: {text}"
    );
    assert!(text.contains("Dependency=afterok:<GATE>"), "{text}");
    assert!(text.contains("--dependency=afterany:<JOBID>"), "{text}");
    assert!(text.contains("bb data_out <JOBID>"), "{text}");
    assert_eq!(
        queued(w, &dir),
        Vec::<String>::new(),
        "--dry-run submitted a job"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn invalid_directives_submit_nothing() {
    let w = bed();
    let dir = w.job_dir("wrap-invalid");
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        "#!/bin/bash\n#GLOBUS stage-in remot:/x ./in/\necho\n",
    );
    let out = gstage_sbatch(w, &dir, &["job.sh"]);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("unknown collection `remot`"), "{text}");
    assert!(text.contains("nothing was submitted"), "{text}");
    assert_eq!(queued(w, &dir), Vec::<String>::new(), "a job was submitted");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn online_finds_a_missing_input_before_anything_is_queued() {
    let w = bed();
    let dir = w.job_dir("wrap-online");
    let (remote_dir, remote) = w.remote_dir("online", &[("a.dat", 10)]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{remote}/a.dat ./a.dat\n#GLOBUS stage-in remote:{remote}/missing.dat ./m.dat\necho\n"
        ),
    );
    let out = gstage_sbatch(w, &dir, &["--online", "-p", "debug", "job.sh"]);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("/missing.dat`"), "{text}");
    assert!(text.contains("does not exist on National site"), "{text}");
    assert!(text.contains("nothing was submitted"), "{text}");
    assert_eq!(queued(w, &dir), Vec::<String>::new(), "a job was submitted");

    // With the input in place, the same command submits.
    fs::write(remote_dir.join("missing.dat"), b"here now").expect("write the input");
    let out = gstage_sbatch(w, &dir, &["--online", "--dry-run", "-p", "debug", "job.sh"]);
    assert!(out.status.success(), "{}", text_of(&out));
    fs::remove_dir_all(&dir).ok();
}

/// Job ids from `gstage sbatch --format json`.
fn submit_json(w: &World, dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = w
        .as_user(env!("CARGO_BIN_EXE_gstage"))
        .args(["--format", "json", "sbatch"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run gstage sbatch");
    let text = text_of(&out);
    assert!(out.status.success(), "gstage sbatch failed: {text}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn id(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_u64)
        .map(|n| n.to_string())
        .unwrap_or_else(|| panic!("no `{key}` in {v}"))
}

#[test]
fn the_chain_stages_in_runs_the_job_and_stages_out() {
    let w = bed();
    let dir = w.job_dir("wrap-cycle");
    let (_, input) = w.remote_dir("wrap-in", &[("a.txt", 4096)]);
    let (out_root, output) = w.remote_dir("wrap-out", &[]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#SBATCH --time=5\n#GLOBUS stage-in remote:{input}/ ./input/\n#GLOBUS stage-out ./results/ remote:{output}/%j/\n\
             mkdir -p results\nwc -c < input/a.txt > results/count.txt\necho \"$1\" > results/arg.txt\n"
        ),
    );
    let ids = submit_json(w, &dir, &["--job-name=wrapped", "job.sh", "an-arg"]);
    let job = id(&ids, "job_id");
    let gate = id(&ids, "gate_job_id");
    let stage_out = id(&ids, "stage_out_job_id");
    let info = w.job(&job);
    assert!(
        info.contains(&format!("afterok:{gate}")) || field(&info, "JobState") != Some("PENDING"),
        "{info}"
    );
    assert_eq!(
        field(&info, "JobName"),
        Some("wrapped"),
        "sbatch options pass through: {info}"
    );
    for (which, j) in [("gate", &gate), ("job", &job), ("stage-out", &stage_out)] {
        let end = w.wait_final(j, 120);
        assert_eq!(
            field(&end, "JobState"),
            Some("COMPLETED"),
            "{which} job: {end}"
        );
    }
    assert_eq!(
        fs::read_to_string(dir.join("results/count.txt"))
            .unwrap_or_default()
            .trim(),
        "4096"
    );
    assert_eq!(
        fs::read_to_string(dir.join("results/arg.txt"))
            .unwrap_or_default()
            .trim(),
        "an-arg"
    );
    let arrived = w.wait_file(&out_root.join(&job).join("count.txt"), 60);
    assert_eq!(arrived.trim(), "4096");
    assert_eq!(w.tasks_of(&job).len(), 2, "one task per direction");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_failed_stage_in_cancels_the_job_instead_of_running_it() {
    let w = bed();
    let dir = w.job_dir("wrap-fail");
    let (_, remote) = w.remote_dir("wrap-fail", &[]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!("#!/bin/bash\n#SBATCH --time=5\n#GLOBUS stage-in remote:{remote}/absent.dat ./in/\ntouch ran\n"),
    );
    let ids = submit_json(w, &dir, &["job.sh"]);
    let job = id(&ids, "job_id");
    let gate = id(&ids, "gate_job_id");
    // The engine gives a task that keeps failing on a missing file a grace of a minute.
    let end = w.wait_final(&gate, 180);
    assert_eq!(field(&end, "JobState"), Some("FAILED"), "gate: {end}");
    let end = w.wait_final(&job, 60);
    assert_eq!(field(&end, "JobState"), Some("CANCELLED"), "job: {end}");
    assert!(!dir.join("ran").exists(), "the job ran");
    let log =
        fs::read_to_string(dir.join(format!("gstage-in-{job}-{gate}.out"))).unwrap_or_default();
    assert!(
        log.contains("absent.dat"),
        "the gate's output names the path: {log}"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_array_is_staged_once_and_percent_a_is_refused_with_the_way_out() {
    let w = bed();
    let dir = w.job_dir("wrap-array");
    let whole = dir.join("whole.sh");
    w.write_as_user(
        &whole,
        "#!/bin/bash\n#GLOBUS stage-in remote:/data/in/ ./in/\n#GLOBUS stage-out ./out/ remote:/results/%A/\necho\n",
    );
    let out = gstage_sbatch(w, &dir, &["--dry-run", "--array=1-4", "whole.sh"]);
    let text = text_of(&out);
    assert!(
        out.status.success(),
        "%A has the array's id by then: {text}"
    );
    assert!(text.contains("'--array=1-4' 'whole.sh'"), "{text}");
    assert!(text.contains("bb data_in <JOBID>"), "{text}");

    let each = dir.join("each.sh");
    w.write_as_user(
        &each,
        "#!/bin/bash\n#GLOBUS stage-in remote:/data/in/%a/ ./in/\necho\n",
    );
    let out = gstage_sbatch(w, &dir, &["--dry-run", "-a", "1-4", "each.sh"]);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("stages a job array once"), "{text}");
    assert!(text.contains("burst buffer integration"), "{text}");
    assert_eq!(
        queued(w, &dir),
        Vec::<String>::new(),
        "nothing was submitted"
    );
    fs::remove_dir_all(&dir).ok();
}
