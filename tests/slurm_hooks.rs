//! Controller hooks mode end to end on the real test bed: PrologSlurmctld / EpilogSlurmctld call
//! `gstage hook prolog|epilog` through slurm/hooks with an empty environment. See
//! `tests/slurm_support` for the prerequisites.

mod slurm_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use slurm_support::{World, field, text_of, world};

fn bed() -> &'static World {
    world("hooks", "root")
}

#[test]
fn a_job_without_directives_runs_untouched() {
    let w = bed();
    let dir = w.job_dir("hooks-plain");
    let script = dir.join("job.sh");
    w.write_as_user(&script, "#!/bin/bash\necho plain > plain.txt\n");
    let job = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let info = w.wait_final(&job, 60);
    assert_eq!(field(&info, "JobState"), Some("COMPLETED"), "{info}");
    assert_eq!(
        fs::read_to_string(dir.join("plain.txt")).unwrap_or_default(),
        "plain\n"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_prolog_that_cannot_stage_keeps_the_job_from_running() {
    let w = bed();
    let dir = w.job_dir("hooks-invalid");
    let script = dir.join("job.sh");
    // Nothing checks scripts at submission in this mode; `%a` fails for a job that is no array.
    w.write_as_user(
        &script,
        "#!/bin/bash\n#GLOBUS stage-in remote:/data/%a/ ./in/\ntouch ran\n",
    );
    let job = w
        .sbatch(
            &dir,
            &["--no-requeue", script.to_str().expect("utf-8 path")],
        )
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let info = w.wait_final(&job, 60);
    assert_eq!(field(&info, "JobState"), Some("CANCELLED"), "{info}");
    assert!(!dir.join("ran").exists(), "the job's script ran");
    // Hook output goes nowhere; the reason is left where the user looks.
    assert!(
        info.contains("Comment=gstage: ") && info.contains("array task id"),
        "the job's comment names the directive: {info}"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_prolog_stages_in_and_the_epilog_stages_out() {
    let w = bed();
    let dir = w.job_dir("hooks-cycle");
    let (_, input) = w.remote_dir("hooks-in", &[("a.txt", 4096)]);
    let (out_root, output) = w.remote_dir("hooks-out", &[]);
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{input}/ ./input/\n#GLOBUS stage-out ./results/ remote:{output}/%j/\n\
             mkdir -p results\nwc -c < input/a.txt > results/count.txt\n"
        ),
    );
    let job = w
        .sbatch(&dir, &[script.to_str().expect("utf-8 path")])
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let info = w.wait_final(&job, 120);
    assert_eq!(field(&info, "JobState"), Some("COMPLETED"), "{info}");
    assert_eq!(
        fs::read_to_string(dir.join("results/count.txt"))
            .unwrap_or_default()
            .trim(),
        "4096",
        "the job read its staged input"
    );
    let arrived = w.wait_file(&out_root.join(&job).join("count.txt"), 60);
    assert_eq!(arrived.trim(), "4096");
    let tasks = w.tasks_of(&job);
    assert_eq!(tasks.len(), 2, "one task per direction: {tasks:?}");
    fs::remove_dir_all(&dir).ok();
}

/// A folder only root can write, inside the cluster's mapped root.
fn root_only_dir(w: &World, name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::path::Path::new(w.var("GSTAGE_TESTBED_JOBS"))
        .join(format!("{name}-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).expect("create a root-only folder");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod 700");
    assert_eq!(slurm_support::owner_of(&dir), 0, "the folder is root's");
    dir
}

#[test]
fn the_root_run_prolog_creates_destinations_only_as_the_jobs_user() {
    let w = bed();
    let private = root_only_dir(w, "hooks-root-only");
    let (_, input) = w.remote_dir("hooks-steer-in", &[("a.txt", 64)]);
    let dir = w.job_dir("hooks-steer");
    let script = dir.join("job.sh");
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{input}/ {}/planted/\ntouch ran\n",
            private.display()
        ),
    );
    let job = w
        .sbatch(
            &dir,
            &["--no-requeue", script.to_str().expect("utf-8 path")],
        )
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let info = w.wait_final(&job, 60);
    // The prolog runs as root, which could create the folder; as the job's user it cannot.
    assert_eq!(field(&info, "JobState"), Some("CANCELLED"), "{info}");
    assert!(
        info.contains("Permission denied") && info.contains("planted"),
        "the comment names the refused destination: {info}"
    );
    assert!(!private.join("planted").exists(), "created as root");
    assert!(!dir.join("ran").exists(), "the job ran");
    assert!(w.tasks_of(&job).is_empty(), "nothing submitted");
    fs::remove_dir_all(&dir).ok();
    fs::remove_dir_all(&private).ok();
}

#[test]
fn system_paths_in_directives_are_refused_before_anything_is_touched() {
    let w = bed();
    let (_, input) = w.remote_dir("hooks-system-in", &[("a.txt", 64)]);
    let (_, output) = w.remote_dir("hooks-system-out", &[]);
    let dir = w.job_dir("hooks-system");
    let script = dir.join("job.sh");
    let planted = format!("/etc/gstage-planted-{}", std::process::id());
    w.write_as_user(
        &script,
        &format!(
            "#!/bin/bash\n#GLOBUS stage-in remote:{input}/ {planted}/\n#GLOBUS stage-out /etc/shadow remote:{output}/%j/shadow\ntouch ran\n"
        ),
    );
    let job = w
        .sbatch(
            &dir,
            &["--no-requeue", script.to_str().expect("utf-8 path")],
        )
        .unwrap_or_else(|out| panic!("sbatch failed: {}", text_of(&out)));
    let info = w.wait_final(&job, 60);
    assert_eq!(field(&info, "JobState"), Some("CANCELLED"), "{info}");
    assert!(
        info.contains("/etc/shadow") && info.contains(w.var("GSTAGE_TESTBED_JOBS")),
        "the comment names the path and the mapped roots: {info}"
    );
    assert!(!std::path::Path::new(&planted).exists(), "created in /etc");
    assert!(w.tasks_of(&job).is_empty(), "nothing submitted");
    fs::remove_dir_all(&dir).ok();
}
