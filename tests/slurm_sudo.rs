//! A non-root SlurmUser (`slurm`) with the documented sudo rule, end to end on the real test bed
//! in burst buffer mode. See `tests/slurm_support` for the prerequisites.

mod slurm_support;

use std::fs;

use slurm_support::{World, field, run, text_of, world};

fn bed() -> &'static World {
    world("bb", "slurm")
}

#[test]
fn the_sudo_rule_is_the_documented_one() {
    let w = bed();
    let rule = fs::read_to_string("/etc/sudoers.d/gstage-testbed")
        .expect("slurm/testbed/up --slurm-user slurm writes the sudo rule");
    let gstage = w.var("GSTAGE_BIN");
    assert!(
        rule.contains(&format!(
            "slurm ALL=(ALL) NOPASSWD: {gstage} hook *, {gstage} bb *"
        )),
        "{rule}"
    );
    let ps = run(std::process::Command::new("ps").args(["-o", "user=", "-C", "slurmctld"]));
    assert!(
        ps.lines().any(|u| u.trim() == "slurm"),
        "slurmctld runs as: {ps}"
    );
}

#[test]
fn invalid_directives_are_rejected_at_submission_as_slurmuser() {
    let w = bed();
    let dir = w.job_dir("sudo-invalid");
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        "#!/bin/bash\n#GLOBUS stage-in remot:/x ./in/\necho\n",
    );
    let out = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .expect_err("sbatch must refuse the job");
    let text = text_of(&out);
    assert!(text.contains("unknown collection `remot`"), "{text}");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_jobs_own_values_are_checked_as_its_owner_through_sudo() {
    let w = bed();
    let dir = w.job_dir("sudo-setup");
    let script = dir.join("job.sh");
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
    // Slurm shows the Reason with `_` for spaces.
    assert!(info.contains("array_task_id_has_no_value"), "{info}");
    assert_eq!(field(&info, "JobState"), Some("PENDING"), "{info}");
    assert!(!dir.join("ran").exists(), "the job ran");
    run(w.slurm("scancel").arg(&job));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn staging_runs_as_each_jobs_owner_with_their_own_login() {
    let w = bed();
    let other = "gstage-test2";
    w.ensure_user(other);
    let a_identity = w.login(w.user(), "gstage-test@example.org");
    let b_identity = w.login(other, "gstage-test2@example.org");
    let (_, input) = w.remote_dir("sudo-in", &[("a.txt", 2048)]);
    let (out_root, output) = w.remote_dir("sudo-out", &[]);

    // User A's full cycle through the sudo rule.
    let a_dir = w.job_dir("sudo-a");
    let a_script = a_dir.join("job.sh");
    w.write_as_user(
        &a_script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{input}/ ./input/\n#GLOBUS stage-out ./results/ remote:{output}/%j/\n\
             mkdir -p results\nwc -c < input/a.txt > results/count.txt\n"
        ),
    );
    let a_job = w
        .sbatch(&a_dir, &[a_script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let info = w.wait_final(&a_job, 120);
    assert_eq!(field(&info, "JobState"), Some("COMPLETED"), "{info}");
    assert_eq!(
        w.wait_file(&out_root.join(&a_job).join("count.txt"), 60)
            .trim(),
        "2048"
    );
    let a_tasks = w.tasks_of(&a_job);
    assert_eq!(a_tasks.len(), 2, "{a_tasks:?}");
    assert!(
        a_tasks.iter().all(|t| t.owner_id == a_identity),
        "A's tasks use A's login"
    );
    // A keeps its files private.
    run(std::process::Command::new("chmod").arg("700").arg(&a_dir));

    // User B's job stages into A's private folder: done as B, the kernel refuses.
    let b_dir = w.job_dir("sudo-b");
    run(std::process::Command::new("chown")
        .arg(format!("{other}:"))
        .arg(&b_dir));
    let b_script = b_dir.join("job.sh");
    fs::write(
        &b_script,
        format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{input}/ {}/stolen/\n#GLOBUS stage-in remote:{input}/ ./mine/\ntouch ran\n",
            a_dir.display()
        ),
    )
    .expect("write B's script");
    run(std::process::Command::new("chown")
        .arg(format!("{other}:"))
        .arg(&b_script));
    let out = w
        .as_other(other, "sbatch")
        .arg("--parsable")
        .arg(format!("--chdir={}", b_dir.display()))
        .arg(&b_script)
        .output()
        .expect("run sbatch as B");
    assert!(out.status.success(), "{}", text_of(&out));
    let b_job = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let info = w.wait_job(&b_job, 60, "being held by its stage-in", |i| {
        i.contains("Reason=burst_buffer/lua:_slurm_bb_data_in")
    });
    assert!(
        info.contains("ermission_denied"),
        "B could not write into A's folder: {info}"
    );
    assert!(
        !a_dir.join("stolen").exists(),
        "B's job wrote into A's folder"
    );
    assert!(!b_dir.join("ran").exists(), "B's job ran");
    // A cannot read B's token store (0600, B's own), the only place B's login lives.
    let home = run(std::process::Command::new("getent").args(["passwd", other]));
    let store = format!(
        "{}/.config/gstage/tokens.json",
        home.trim().split(':').nth(5).unwrap_or_default()
    );
    let peek = w.as_user("cat").arg(&store).output().expect("run cat as A");
    assert!(!peek.status.success(), "A read B's token store `{store}`");
    assert!(w.tasks_of(&b_job).iter().all(|t| t.owner_id == b_identity));
    run(w.slurm("scancel").arg(&b_job));
    fs::remove_dir_all(&a_dir).ok();
    fs::remove_dir_all(&b_dir).ok();
}
