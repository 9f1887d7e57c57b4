//! The burst buffer phases' own logic, free of I/O: what `job_process` may check without knowing
//! the job, how a failure becomes one line of a job's Reason, and what `paths` puts in a job's
//! environment.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::directive::{Diagnostics, ParseOptions};
use crate::plan::{Planned, plan_script};
use crate::slurm::context::JobContext;

/// The variable `paths` sets in the job's environment: the stage-in task ids, comma-separated.
pub const STAGE_IN_TASKS_VAR: &str = "GSTAGE_STAGE_IN_TASKS";
/// The variable `paths` sets: the label prefix of the job's tasks (`gstage <cluster> <jobid>`),
/// by which `gstage status` and the Globus web app find them.
pub const LABEL_VAR: &str = "GSTAGE_LABEL";

/// The longest Reason text gstage writes: Slurm shows it in `squeue`/`scontrol` on one line.
pub const MAX_REASON_CHARS: usize = 400;

/// The stored script's job id, from Slurm's layout `<StateSaveLocation>/hash.N/job.<id>/script`.
pub fn job_id_from_script_path(path: &Path) -> Option<u64> {
    path.parent()?
        .file_name()?
        .to_str()?
        .strip_prefix("job.")?
        .parse()
        .ok()
}

/// Checks a script at submission, inside slurmctld, where nothing about the job but its script is
/// known (its owner, working directory and array index are not): the directives' syntax, options,
/// collections, deadlines and absolute cluster paths. Relative paths resolve against a placeholder
/// folder deep inside the first mapped root, `%a` and `$HOME` against placeholders; the real values
/// are checked again when the job's stage-in is set up, where a failure holds the job with the
/// message. No I/O, no network: this runs with slurmctld's locks held. Returns the warnings.
pub fn validate_offline(
    script: &str,
    job_id: Option<u64>,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Planned, Diagnostics> {
    let placeholder = placeholder_dir(config);
    let ctx = JobContext {
        job_id: job_id.unwrap_or(0),
        array_job_id: None,
        array_task_id: Some(0),
        user: "user".to_owned(),
        job_name: "job".to_owned(),
        work_dir: placeholder.clone(),
        submit_dir: placeholder.clone(),
        cluster_name: None,
        home: Some(placeholder),
        now,
    };
    plan_script(script, &ParseOptions::from_config(config), &ctx, config)
}

/// A working directory deep inside the first mapped root, so that relative paths (even with a few
/// `..`) resolve inside it as they would for a real job.
fn placeholder_dir(config: &Config) -> PathBuf {
    let root = config
        .cluster
        .paths
        .first()
        .map_or_else(|| PathBuf::from("/"), |m| m.local.as_path().to_path_buf());
    root.join("gstage-job/a/b/c/d/e/f/g/h")
}

/// Makes a message fit a job's Reason: one line, at most `MAX_REASON_CHARS` characters.
pub fn one_line(text: &str) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let mut out: String = joined.chars().take(MAX_REASON_CHARS).collect();
    if joined.chars().count() > MAX_REASON_CHARS {
        out.push('…');
    }
    out
}

/// The `KEY=VALUE` lines `paths` writes for Slurm to add to the job's environment.
pub fn path_lines(label_prefix: &str, stage_in_tasks: &[String]) -> String {
    let clean = |s: &str| s.replace(['\n', '\r'], " ");
    format!(
        "{STAGE_IN_TASKS_VAR}={}\n{LABEL_VAR}={}\n",
        clean(&stage_in_tasks.join(",")),
        clean(label_prefix)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_toml_str(
            r#"
[cluster]
name = "grex"
collection = "6c1b1e0a-0000-4000-8000-000000000001"
paths = [ { local = "/home", collection = "/home" } ]

[collections.cedar]
id = "6c1b1e0a-0000-4000-8000-000000000002"
"#,
            Path::new("config.toml"),
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn job_id_comes_from_slurms_script_layout() {
        assert_eq!(
            job_id_from_script_path(Path::new("/var/spool/slurmctld/hash.2/job.42/script")),
            Some(42)
        );
        assert_eq!(job_id_from_script_path(Path::new("/tmp/job.sh")), None);
        assert_eq!(job_id_from_script_path(Path::new("script")), None);
    }

    #[test]
    fn offline_validation_accepts_what_depends_on_the_job() {
        let script = "#!/bin/bash\n#GLOBUS stage-in cedar:/p/%a/in/ ./in/\n#GLOBUS stage-out ../out/ cedar:/p/%j/\n#GLOBUS stage-out $HOME/log cedar:/p/log\necho\n";
        let planned = validate_offline(script, Some(7), &config(), now()).unwrap();
        assert_eq!(planned.plan.stage_in.len(), 1);
        assert_eq!(planned.plan.stage_out.len(), 1);
        assert!(planned.plan.stage_out[0].label.contains(" 7 "));
    }

    #[test]
    fn offline_validation_rejects_what_the_script_gets_wrong() {
        let script = "#!/bin/bash\n#GLOBUS stage-in cedr:/p/in/ ./in/\n#GLOBUS stage-in cedar:/x /etc/passwd\n#GLOBUS stage-out ./o/ cedar:/o/ --when sometimes\n";
        let diags = validate_offline(script, None, &config(), now()).unwrap_err();
        let text = diags.render(script, "job.sh", false);
        assert!(text.contains("cedr"), "{text}");
        assert!(text.contains("/etc/passwd"), "{text}");
        assert!(text.contains("sometimes"), "{text}");
        assert_eq!(diags.errors().count(), 3, "{text}");
    }

    #[test]
    fn reasons_are_one_bounded_line() {
        assert_eq!(one_line("a\n\n  b  \nc"), "a; b; c");
        let long = "x".repeat(1000);
        assert_eq!(one_line(&long).chars().count(), MAX_REASON_CHARS + 1);
    }

    #[test]
    fn path_lines_cannot_inject_variables() {
        let text = path_lines("gstage grex 7", &["a".to_owned(), "b\nEVIL=1".to_owned()]);
        assert_eq!(
            text,
            "GSTAGE_STAGE_IN_TASKS=a,b EVIL=1\nGSTAGE_LABEL=gstage grex 7\n"
        );
    }
}
