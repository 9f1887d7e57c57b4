//! The job a plan is made for: ids, user, names and directories, taken from Slurm's variables
//! (inside a job or a hook) or from flags. Built from a map of variables, never from the process
//! environment, so a hook acting for another user's job cannot leak its own values in.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::env;

/// Why a job context could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// A variable every job has is missing.
    #[error("`{var}` is not set\n  help: run inside a Slurm job, or give the value with `{flag}`")]
    Missing {
        /// The variable.
        var: &'static str,
        /// The flag that gives the value instead.
        flag: &'static str,
    },
    /// A variable holds a value of the wrong form.
    #[error("`{var}` is `{value}`, which is not {expected}\n  help: give the value with `{flag}`")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
        /// The flag that gives the value instead.
        flag: &'static str,
    },
}

impl ContextError {
    /// Exit code: bad usage (the caller gave, or lacks, the job's values).
    pub fn exit_code(&self) -> i32 {
        crate::exit::USAGE
    }
}

/// The job's values that directives may use, and the time plans count deadlines from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobContext {
    /// `SLURM_JOB_ID` (`%j`): for an array element, its own id.
    pub job_id: u64,
    /// `SLURM_ARRAY_JOB_ID` (`%A`), for array elements.
    pub array_job_id: Option<u64>,
    /// `SLURM_ARRAY_TASK_ID` (`%a`), for array elements.
    pub array_task_id: Option<u32>,
    /// The job's owner (`%u`).
    pub user: String,
    /// `SLURM_JOB_NAME` (`%x`).
    pub job_name: String,
    /// Where relative paths resolve (`%d`).
    pub work_dir: PathBuf,
    /// `SLURM_SUBMIT_DIR`.
    pub submit_dir: PathBuf,
    /// `SLURM_CLUSTER_NAME`; the config's cluster name is used when absent.
    pub cluster_name: Option<String>,
    /// The owner's home directory (`$HOME`).
    pub home: Option<PathBuf>,
    /// When the plan is made; relative deadlines count from here.
    pub now: DateTime<Utc>,
}

impl JobContext {
    /// The context of the job described by Slurm's variables (`SLURM_JOB_ID`, `SLURM_JOB_NAME`,
    /// `SLURM_ARRAY_*`, `SLURM_SUBMIT_DIR`, `SLURM_JOB_WORK_DIR` or `PWD`, `SLURM_CLUSTER_NAME`,
    /// `SLURM_JOB_USER` or `USER`, `HOME`).
    pub fn from_env(
        vars: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Self, ContextError> {
        let get = |var: &str| vars.get(var).filter(|v| !v.is_empty()).cloned();
        let number = |var: &'static str, flag: &'static str| -> Result<Option<u64>, ContextError> {
            get(var)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| ContextError::Invalid {
                        var,
                        value: v.clone(),
                        expected: "a job id",
                        flag,
                    })
                })
                .transpose()
        };
        let job_id = number(env::SLURM_JOB_ID, "--job-id")?.ok_or(ContextError::Missing {
            var: env::SLURM_JOB_ID,
            flag: "--job-id",
        })?;
        let array_job_id = number(env::SLURM_ARRAY_JOB_ID, "--array-job-id")?;
        let array_task_id = get(env::SLURM_ARRAY_TASK_ID)
            .map(|v| {
                v.parse::<u32>().map_err(|_| ContextError::Invalid {
                    var: env::SLURM_ARRAY_TASK_ID,
                    value: v.clone(),
                    expected: "an array index",
                    flag: "--array-task-id",
                })
            })
            .transpose()?;
        let user =
            get(env::SLURM_JOB_USER)
                .or_else(|| get(env::USER))
                .ok_or(ContextError::Missing {
                    var: env::USER,
                    flag: "--user",
                })?;
        let job_name = get(env::SLURM_JOB_NAME).ok_or(ContextError::Missing {
            var: env::SLURM_JOB_NAME,
            flag: "--job-name",
        })?;
        let absolute = |var: &'static str| -> Result<Option<PathBuf>, ContextError> {
            get(var)
                .map(|v| {
                    let p = PathBuf::from(&v);
                    if p.is_absolute() {
                        Ok(p)
                    } else {
                        Err(ContextError::Invalid {
                            var,
                            value: v,
                            expected: "an absolute path",
                            flag: "--workdir",
                        })
                    }
                })
                .transpose()
        };
        let submit_dir = absolute(env::SLURM_SUBMIT_DIR)?;
        let work_dir =
            match absolute(env::SLURM_JOB_WORK_DIR)? {
                Some(dir) => dir,
                None => absolute(env::PWD)?.or_else(|| submit_dir.clone()).ok_or(
                    ContextError::Missing {
                        var: env::SLURM_SUBMIT_DIR,
                        flag: "--workdir",
                    },
                )?,
            };
        Ok(Self {
            job_id,
            array_job_id,
            array_task_id,
            user,
            job_name,
            submit_dir: submit_dir.unwrap_or_else(|| work_dir.clone()),
            work_dir,
            cluster_name: get(env::SLURM_CLUSTER_NAME),
            home: get(env::HOME).map(PathBuf::from),
            now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_job_array_element() {
        let v = vars(&[
            ("SLURM_JOB_ID", "1002"),
            ("SLURM_ARRAY_JOB_ID", "1000"),
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_JOB_NAME", "analyse"),
            ("SLURM_SUBMIT_DIR", "/home/alice/run"),
            ("SLURM_CLUSTER_NAME", "grex"),
            ("USER", "alice"),
            ("HOME", "/home/alice"),
        ]);
        let c = JobContext::from_env(&v, now()).unwrap();
        assert_eq!(
            (c.job_id, c.array_job_id, c.array_task_id),
            (1002, Some(1000), Some(2))
        );
        assert_eq!(c.work_dir, PathBuf::from("/home/alice/run"));
        assert_eq!(c.submit_dir, PathBuf::from("/home/alice/run"));
        assert_eq!(c.cluster_name.as_deref(), Some("grex"));
    }

    #[test]
    fn hook_variables_win_over_the_shell() {
        let v = vars(&[
            ("SLURM_JOB_ID", "7"),
            ("SLURM_JOB_NAME", "x"),
            ("SLURM_JOB_USER", "bob"),
            ("USER", "root"),
            ("SLURM_JOB_WORK_DIR", "/project/bob"),
            ("PWD", "/"),
        ]);
        let c = JobContext::from_env(&v, now()).unwrap();
        assert_eq!(c.user, "bob");
        assert_eq!(c.work_dir, PathBuf::from("/project/bob"));
    }

    #[test]
    fn missing_and_bad_values_say_which_flag_helps() {
        let table: [(&[(&str, &str)], &str); 4] = [
            (&[], "--job-id"),
            (&[("SLURM_JOB_ID", "abc")], "--job-id"),
            (&[("SLURM_JOB_ID", "1"), ("SLURM_JOB_NAME", "x")], "--user"),
            (
                &[
                    ("SLURM_JOB_ID", "1"),
                    ("SLURM_JOB_NAME", "x"),
                    ("USER", "a"),
                    ("PWD", "rel"),
                ],
                "--workdir",
            ),
        ];
        for (pairs, flag) in table {
            let err = JobContext::from_env(&vars(pairs), now()).unwrap_err();
            assert!(err.to_string().contains(flag), "{pairs:?}: {err}");
        }
    }
}
