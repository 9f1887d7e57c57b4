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
