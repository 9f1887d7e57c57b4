//! The `gstage sbatch` wrapper's pure part: finding the script among sbatch's options, and the
//! command lines of the job chain.
//!
//! The chain, in submission order:
//! 1. the user's job, submitted **held** (`--hold`) with `--kill-on-invalid-dep=yes`, so that its
//!    id is known before anything is staged: `%j` and the task labels use the real job id, and
//!    `gstage status JOBID` works as in the other modes;
//! 2. the stage-in, submitted to Globus at once (it overlaps the queue wait);
//! 3. a *gate* job that waits for the stage-in (`gstage bb data_in JOBID SCRIPT`): it fails when
//!    the stage-in fails;
//! 4. the user's job gets `Dependency=afterok:<gate>` and is released (unless the user asked for
//!    `--hold`): a failed gate makes its dependency impossible, and Slurm cancels it;
//! 5. a *stage-out* job after the user's job (`afterany`) that submits its stage-out
//!    (`gstage bb data_out JOBID SCRIPT`), honouring `--when` from the job's exit code.
//!
//! Without stage-in tasks there is no gate, and the job is released at once.

use std::path::PathBuf;

use crate::config::WrapperConfig;

/// sbatch's long options that take no value, or only an attached (`--opt=value`) one; every
/// other long option takes the next word when it has no `=`.
const LONG_FLAGS: [&str; 26] = [
    "contiguous",
    "exclusive",
    "get-user-env",
    "help",
    "hold",
    "ignore-pbs",
    "immediate",
    "nice",
    "no-kill",
    "no-requeue",
    "oversubscribe",
    "overcommit",
    "parsable",
    "propagate",
    "quiet",
    "reboot",
    "requeue",
    "spread-job",
    "test-only",
    "usage",
    "use-min-nodes",
    "verbose",
    "version",
    "wait",
    "exact",
    "export-file-none",
];

/// sbatch's short options that take no value (or only an attached one).
const SHORT_FLAGS: &str = "hHIkOQsuVvW";

/// sbatch's command line, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbatchLine {
    /// Options before the script, passed to sbatch unchanged.
    pub options: Vec<String>,
    /// The job script.
    pub script: PathBuf,
    /// The script's own arguments.
    pub script_args: Vec<String>,
}

/// Why the command line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No script was named.
    #[error(
        "no job script given; use `gstage sbatch [sbatch options] SCRIPT [ARGS]` (`--wrap` jobs have no #GLOBUS lines: use `--bb` with a burst buffer site, or write a script)"
    )]
    NoScript,
    /// An option needs a value that is missing.
    #[error("sbatch option `{0}` needs a value")]
    MissingValue(String),
}

impl Error {
    /// Exit code: usage.
    pub fn exit_code(&self) -> i32 {
        crate::exit::USAGE
    }
}

impl SbatchLine {
    /// Splits `[sbatch options] SCRIPT [ARGS]` as sbatch does: options until the first word that
    /// is neither an option nor an option's value.
    pub fn parse(words: &[String]) -> Result<SbatchLine, Error> {
        let mut options = Vec::new();
        let mut i = 0;
        while let Some(word) = words.get(i) {
            if word == "--" {
                i += 1;
                break;
            }
            if let Some(long) = word.strip_prefix("--") {
                options.push(word.clone());
                i += 1;
                if long == "wrap" {
                    return Err(Error::NoScript);
                }
                if !long.contains('=') && !LONG_FLAGS.contains(&long) {
                    let value = words
                        .get(i)
                        .ok_or_else(|| Error::MissingValue(word.clone()))?;
                    options.push(value.clone());
                    i += 1;
                }
                continue;
            }
            if let Some(short) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
                options.push(word.clone());
                i += 1;
                // `-Hv` is flags only; `-N2` carries its value; `-N 2` takes the next word.
                let takes_next = short
                    .chars()
                    .position(|c| !SHORT_FLAGS.contains(c))
                    .is_some_and(|p| p + 1 == short.chars().count());
                if takes_next {
                    let value = words
                        .get(i)
                        .ok_or_else(|| Error::MissingValue(word.clone()))?;
                    options.push(value.clone());
                    i += 1;
                }
                continue;
            }
            break;
        }
        let script = words.get(i).ok_or(Error::NoScript)?;
        Ok(SbatchLine {
            options,
            script: PathBuf::from(script),
            script_args: words.get(i + 1..).unwrap_or_default().to_vec(),
        })
    }

    /// Whether the job is an array (`--array`, `-a`). The wrapper stages an array once, for all
    /// of its elements, before any of them runs.
    pub fn is_array(&self) -> bool {
        self.options.iter().any(|o| {
            o == "--array"
                || o.starts_with("--array=")
                || (o.starts_with("-a") && !o.starts_with("--"))
        })
    }

    /// Whether the user asked for the job to stay held.
    pub fn user_holds(&self) -> bool {
        self.options.iter().any(|o| {
            o == "--hold" || (o.starts_with('-') && !o.starts_with("--") && o.contains('H'))
        })
    }
}

/// The sbatch arguments of the user's job: theirs, plus held, parsable and killed when its
/// dependency cannot be met.
pub fn user_job_args(line: &SbatchLine) -> Vec<String> {
    let mut args = vec![
        "--parsable".to_owned(),
        "--hold".to_owned(),
        "--kill-on-invalid-dep=yes".to_owned(),
    ];
    args.extend(line.options.iter().filter(|o| *o != "--parsable").cloned());
    args.push(line.script.display().to_string());
    args.extend(line.script_args.iter().cloned());
    args
}

/// What the helper jobs of one user job share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Partition, QOS and time limit of the helpers.
    pub helpers: WrapperConfig,
    /// The user's job.
    pub job_id: u64,
    /// Where the helpers run and write their output (the job's working directory).
    pub work_dir: PathBuf,
    /// The gstage they run, by its full path.
    pub gstage: PathBuf,
    /// The copy of the job script they read (the user may edit the original meanwhile).
    pub script_copy: PathBuf,
}

impl Chain {
    /// The sbatch arguments of a helper job `name` running `gstage bb <phase> JOBID SCRIPT`.
    pub fn helper_args(&self, name: &str, dependency: Option<String>, phase: &str) -> Vec<String> {
        let mut args = vec![
            "--parsable".to_owned(),
            format!("--job-name={name}"),
            "--ntasks=1".to_owned(),
            "--cpus-per-task=1".to_owned(),
            format!("--time={}", self.helpers.time_limit),
            format!("--chdir={}", self.work_dir.display()),
            format!("--output={name}-%j.out"),
        ];
        if let Some(p) = &self.helpers.partition {
            args.push(format!("--partition={p}"));
        }
        if let Some(q) = &self.helpers.qos {
            args.push(format!("--qos={q}"));
        }
        if let Some(a) = &self.helpers.account {
            args.push(format!("--account={a}"));
        }
        if let Some(d) = dependency {
            args.push(format!("--dependency={d}"));
        }
        args.push(format!(
            "--wrap={} bb {phase} {} {}",
            shell_quote(&self.gstage.display().to_string()),
            self.job_id,
            shell_quote(&self.script_copy.display().to_string())
        ));
        args
    }
}

/// Quotes one word for /bin/sh.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn arrays_are_recognised_in_each_spelling() {
        for line in [
            "--array=1-4 job.sh",
            "--array 1-4 job.sh",
            "-a 1-4 job.sh",
            "-a1-4 job.sh",
        ] {
            assert!(
                SbatchLine::parse(&words(line)).unwrap().is_array(),
                "{line}"
            );
        }
        for line in [
            "job.sh",
            "--job-name a job.sh",
            "-p array job.sh",
            "job.sh --array=1-2",
        ] {
            assert!(
                !SbatchLine::parse(&words(line)).unwrap().is_array(),
                "{line}"
            );
        }
    }

    #[test]
    fn the_script_follows_the_options() {
        let table = [
            ("job.sh", vec![], "job.sh", vec![]),
            (
                "-p short --time=1:00 -N2 -n 4 --hold job.sh a -b",
                words("-p short --time=1:00 -N2 -n 4 --hold"),
                "job.sh",
                words("a -b"),
            ),
            (
                "-Hv --mem 4G --exclusive job.sh",
                words("-Hv --mem 4G --exclusive"),
                "job.sh",
                vec![],
            ),
            (
                "--parsable -- job.sh x",
                words("--parsable"),
                "job.sh",
                words("x"),
            ),
        ];
        for (line, options, script, args) in table {
            let parsed = SbatchLine::parse(&words(line)).unwrap();
            assert_eq!(parsed.options, options, "{line}");
            assert_eq!(parsed.script, PathBuf::from(script), "{line}");
            assert_eq!(parsed.script_args, args, "{line}");
        }
    }

    #[test]
    fn no_script_or_a_missing_value_is_a_usage_error() {
        assert_eq!(SbatchLine::parse(&words("-p short")), Err(Error::NoScript));
        assert_eq!(
            SbatchLine::parse(&words("--wrap hostname")),
            Err(Error::NoScript)
        );
        assert_eq!(
            SbatchLine::parse(&words("--partition")),
            Err(Error::MissingValue("--partition".to_owned()))
        );
    }

    #[test]
    fn the_users_job_is_held_and_killed_on_a_failed_gate() {
        let line = SbatchLine::parse(&words("--parsable -p x job.sh arg")).unwrap();
        assert_eq!(
            user_job_args(&line),
            words("--parsable --hold --kill-on-invalid-dep=yes -p x job.sh arg")
        );
        assert!(!line.user_holds());
        assert!(SbatchLine::parse(&words("-H job.sh")).unwrap().user_holds());
    }

    #[test]
    fn helper_jobs_run_one_quoted_gstage_phase() {
        let helpers = WrapperConfig {
            partition: Some("xfer".to_owned()),
            time_limit: "1-00:00:00".to_owned(),
            ..WrapperConfig::default()
        };
        let chain = Chain {
            helpers,
            job_id: 42,
            work_dir: PathBuf::from("/home/a/run"),
            gstage: PathBuf::from("/usr/bin/gstage"),
            script_copy: PathBuf::from("/home/a/it's.sh"),
        };
        let args = chain.helper_args("gstage-in-42", Some("afterany:42".to_owned()), "data_in");
        assert!(args.contains(&"--partition=xfer".to_owned()));
        assert!(args.contains(&"--dependency=afterany:42".to_owned()));
        assert_eq!(
            args.last().unwrap(),
            r"--wrap='/usr/bin/gstage' bb data_in 42 '/home/a/it'\''s.sh'"
        );
    }
}
