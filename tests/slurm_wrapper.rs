//! Wrapper mode (`gstage sbatch`) end to end on the real test bed without any site integration
//! (plain mode). See `tests/slurm_support` for the prerequisites.

mod slurm_support;

use std::fs;

use slurm_support::{World, run, text_of, world};

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

fn queued(w: &World) -> String {
    run(w
        .slurm("squeue")
        .args(["-h", "-u", w.user(), "-o", "%i %j %o"]))
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
    let before = queued(w);
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
    assert_eq!(queued(w), before, "--dry-run submitted a job");
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
    let before = queued(w);
    let out = gstage_sbatch(w, &dir, &["job.sh"]);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("unknown collection `remot`"), "{text}");
    assert!(text.contains("nothing was submitted"), "{text}");
    assert_eq!(queued(w), before, "a job was submitted");
    fs::remove_dir_all(&dir).ok();
}
