//! Calls to Slurm's client commands (`scontrol`, `sbatch`, `scancel`), found by explicit paths:
//! hooks run with an empty environment, so `PATH` cannot be trusted to name them. Their output is
//! parsed here, and nowhere else.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::env;

/// Where Slurm's commands are looked for, in order, before `PATH`.
pub const SEARCH_DIRS: [&str; 5] = [
    "/usr/bin",
    "/usr/local/bin",
    "/opt/slurm/bin",
    "/usr/local/slurm/bin",
    "/bin",
];

/// Why a Slurm command failed or said something unexpected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command is not installed where gstage looks.
    #[error(
        "`{program}` was not found in {dirs} or PATH; install Slurm's client commands on this host"
    )]
    NotInstalled {
        /// The command.
        program: &'static str,
        /// The folders searched.
        dirs: String,
    },
    /// It could not be started.
    #[error("could not run `{program}`: {source}")]
    Spawn {
        /// The command.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It exited with an error.
    #[error("`{command}` failed: {message}")]
    Failed {
        /// The command line, for people.
        command: String,
        /// What it printed on stderr (first lines).
        message: String,
    },
    /// `scontrol show job` knows no such job.
    #[error("Slurm has no job {0}; check the job id (finished jobs are forgotten after MinJobAge)")]
    NoSuchJob(u64),
    /// Its answer lacks a field or holds an unreadable one.
    #[error("`scontrol show job {job}` gave no usable `{field}`; {detail}")]
    BadField {
        /// The job.
        job: u64,
        /// The field.
        field: &'static str,
        /// What was wrong.
        detail: String,
    },
}

impl Error {
    /// Exit code: a job that does not exist is "not found"; everything else is a failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NoSuchJob(_) => crate::exit::NOT_FOUND,
            _ => crate::exit::FAILURE,
        }
    }
}

/// Slurm's client commands, with the environment they get (only `SLURM_CONF`).
#[derive(Debug, Clone, Default)]
pub struct Slurm {
    slurm_conf: Option<String>,
    path: Option<String>,
}

impl Slurm {
    /// Slurm as configured by the given environment: `SLURM_CONF` is passed on when set, and
    /// `PATH` is searched after the fixed folders.
    pub fn from_env(vars: &BTreeMap<String, String>) -> Slurm {
        Slurm {
            slurm_conf: vars.get(env::SLURM_CONF).filter(|v| !v.is_empty()).cloned(),
            path: vars.get("PATH").cloned(),
        }
    }

    /// The full path of a Slurm command.
    pub fn program(&self, name: &'static str) -> Result<PathBuf, Error> {
        let from_path = self
            .path
            .iter()
            .flat_map(|p| p.split(':'))
            .filter(|d| d.starts_with('/'));
        for dir in SEARCH_DIRS.into_iter().chain(from_path) {
            let candidate = Path::new(dir).join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        Err(Error::NotInstalled {
            program: name,
            dirs: SEARCH_DIRS.join(", "),
        })
    }

    /// A command with a clean environment: only `SLURM_CONF` (and a fixed `PATH` for the helpers
    /// Slurm's commands may start). Nothing of the caller's, tokens included, reaches it.
    pub fn command(&self, name: &'static str) -> Result<Command, Error> {
        let mut cmd = Command::new(self.program(name)?);
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C");
        if let Some(conf) = &self.slurm_conf {
            cmd.env(env::SLURM_CONF, conf);
        }
        Ok(cmd)
    }

    /// Runs a command, feeding `input` on stdin, and returns its stdout.
    pub fn run(&self, mut cmd: Command, input: Option<&[u8]>) -> Result<String, Error> {
        let shown = show(&cmd);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|source| Error::Spawn {
            program: shown.clone(),
            source,
        })?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            // A command that exits early closes its stdin; its exit status tells what happened.
            let _ = stdin.write_all(data);
        }
        let out = child.wait_with_output().map_err(|source| Error::Spawn {
            program: shown.clone(),
            source,
        })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let message: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(3)
                .collect();
            Err(Error::Failed {
                command: shown,
                message: if message.is_empty() {
                    format!("exit status {}", out.status)
                } else {
                    message.join("; ")
                },
            })
        }
    }

    /// `scontrol -o show job ID`, the record of that job (for an array, of that element).
    pub fn show_job(&self, job_id: u64) -> Result<JobInfo, Error> {
        let mut cmd = self.command("scontrol")?;
        cmd.args(["-o", "show", "job", &job_id.to_string()]);
        match self.run(cmd, None) {
            Ok(text) => JobInfo::parse_for(&text, job_id),
            Err(Error::Failed { message, .. }) if message.contains("Invalid job id") => {
                Err(Error::NoSuchJob(job_id))
            }
            Err(e) => Err(e),
        }
    }

    /// `StateSaveLocation` from `scontrol show config`.
    pub fn state_save_location(&self) -> Result<PathBuf, Error> {
        let mut cmd = self.command("scontrol")?;
        cmd.args(["show", "config"]);
        let text = self.run(cmd, None)?;
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "StateSaveLocation").then(|| PathBuf::from(v.trim()))
            })
            .filter(|p| p.is_absolute())
            .ok_or_else(|| Error::Failed {
                command: "scontrol show config".to_owned(),
                message: "no absolute StateSaveLocation in its output".to_owned(),
            })
    }

    /// `scontrol write batch_script ID -`: the job's script as Slurm stored it.
    pub fn batch_script(&self, job_id: u64) -> Result<String, Error> {
        let mut cmd = self.command("scontrol")?;
        cmd.args(["write", "batch_script", &job_id.to_string(), "-"]);
        self.run(cmd, None)
    }

    /// `scontrol update JobId=ID Comment=TEXT`: where hooks leave a message the job's owner sees
    /// in `scontrol show job` (a job's owner may set its comment).
    pub fn set_comment(&self, job_id: u64, text: &str) -> Result<(), Error> {
        let mut cmd = self.command("scontrol")?;
        cmd.args([
            "update".to_owned(),
            format!("JobId={job_id}"),
            format!("Comment={}", text.replace(['\n', '\r'], " ")),
        ]);
        self.run(cmd, None).map(drop)
    }

    /// `scancel ID`.
    pub fn cancel(&self, job_id: &str) -> Result<(), Error> {
        let mut cmd = self.command("scancel")?;
        cmd.arg(job_id);
        self.run(cmd, None).map(drop)
    }
}

/// A command line for messages (never holds secrets: Slurm commands get none).
pub fn show(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// A job as `scontrol show job` describes it: the fields gstage needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    /// `JobId`.
    pub job_id: u64,
    /// `ArrayJobId`, for array elements.
    pub array_job_id: Option<u64>,
    /// `ArrayTaskId`, for array elements (a single index; pending ranges are not elements).
    pub array_task_id: Option<u32>,
    /// `JobName`.
    pub name: String,
    /// The user's name from `UserId=name(uid)`.
    pub user: String,
    /// The uid from `UserId=name(uid)`.
    pub uid: u32,
    /// The gid from `GroupId=name(gid)`.
    pub gid: u32,
    /// `JobState`.
    pub state: String,
    /// `Reason`.
    pub reason: String,
    /// `ExitCode=status:signal`.
    pub exit_code: ExitCode,
    /// `WorkDir`.
    pub work_dir: PathBuf,
    /// `BatchHost`, once allocated.
    pub batch_host: Option<String>,
    /// Every field, first value of each key, for what the typed fields leave out.
    pub fields: BTreeMap<String, String>,
}

/// How a job ended: `ExitCode=1:0` is status 1, no signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitCode {
    /// The script's exit status.
    pub status: i32,
    /// The signal that ended it, or 0.
    pub signal: i32,
}

impl ExitCode {
    /// Whether the job succeeded (status 0 and no signal).
    pub fn success(self) -> bool {
        self.status == 0 && self.signal == 0
    }

    /// Parses `status:signal` (also a bare status).
    pub fn parse(text: &str) -> Option<ExitCode> {
        let (status, signal) = text.trim().split_once(':').unwrap_or((text.trim(), "0"));
        Some(ExitCode {
            status: status.parse().ok()?,
            signal: signal.parse().ok()?,
        })
    }
}

/// Fields a job's owner controls and whose values may hold spaces: their text never decides
/// which user gstage acts for. Their keys, when repeated, are not an error.
const IDENTITY_KEYS: [&str; 3] = ["JobId", "UserId", "GroupId"];

/// Splits one `scontrol -o show job` record into its `Key=Value` fields. Values may hold spaces
/// (`Reason`, `Command`, `Comment`, `BurstBuffer`): a word starts a new field only if it looks like
/// `Key=` with a capitalised key; any other word continues the previous value.
pub fn fields(record: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for word in record.split(' ') {
        match word.split_once('=').filter(|(key, _)| is_key(key)) {
            Some((key, value)) => out.push((key.to_owned(), value.to_owned())),
            None => {
                if let Some((_, value)) = out.last_mut() {
                    value.push(' ');
                    value.push_str(word);
                }
            }
        }
    }
    for (_, value) in &mut out {
        let trimmed = value.trim_end().to_owned();
        *value = trimmed;
    }
    out
}

fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | ':' | '.'))
}

/// `name(123)` → (`name`, 123).
fn name_and_id(text: &str) -> Option<(String, u32)> {
    let open = text.rfind('(')?;
    let id = text.get(open + 1..)?.strip_suffix(')')?.parse().ok()?;
    Some((text.get(..open)?.to_owned(), id))
}

impl JobInfo {
    /// The record of `job_id` among the records `scontrol -o show job` printed (one per line; an
    /// array's id lists every element).
    pub fn parse_for(text: &str, job_id: u64) -> Result<JobInfo, Error> {
        let wanted = job_id.to_string();
        for line in text.lines() {
            let record = fields(line);
            if record
                .first()
                .is_some_and(|(k, v)| k == "JobId" && *v == wanted)
            {
                return JobInfo::from_fields(job_id, record);
            }
        }
        Err(Error::NoSuchJob(job_id))
    }

    fn from_fields(job_id: u64, record: Vec<(String, String)>) -> Result<JobInfo, Error> {
        let bad = |field: &'static str, detail: String| Error::BadField {
            job: job_id,
            field,
            detail,
        };
        // A job name or comment holding ` UserId=root(0)` must not decide whom gstage acts for.
        for key in IDENTITY_KEYS {
            if record.iter().filter(|(k, _)| k == key).count() > 1 {
                return Err(bad(
                    key,
                    "it appears twice (a job name or comment imitates it); refusing to guess the job's owner".to_owned(),
                ));
            }
        }
        let mut map = BTreeMap::new();
        for (k, v) in record {
            map.entry(k).or_insert(v);
        }
        let get = |k: &str| map.get(k).map(String::as_str).unwrap_or_default();
        let (user, uid) = name_and_id(get("UserId")).ok_or_else(|| {
            bad(
                "UserId",
                format!("expected `name(uid)`, got `{}`", get("UserId")),
            )
        })?;
        let (_, gid) = name_and_id(get("GroupId")).ok_or_else(|| {
            bad(
                "GroupId",
                format!("expected `name(gid)`, got `{}`", get("GroupId")),
            )
        })?;
        let number = |k: &str| get(k).parse::<u64>().ok();
        let array_job_id = number("ArrayJobId").filter(|id| *id != 0);
        let array_task_id = array_job_id.and_then(|_| get("ArrayTaskId").parse::<u32>().ok());
        let exit_code = match map.get("ExitCode") {
            Some(t) => ExitCode::parse(t)
                .ok_or_else(|| bad("ExitCode", format!("expected `status:signal`, got `{t}`")))?,
            None => ExitCode::default(),
        };
        let batch_host = map
            .get("BatchHost")
            .filter(|h| !h.is_empty() && *h != "(null)")
            .cloned();
        Ok(JobInfo {
            job_id,
            array_job_id,
            array_task_id,
            name: get("JobName").to_owned(),
            user,
            uid,
            gid,
            state: get("JobState").to_owned(),
            reason: get("Reason").to_owned(),
            exit_code,
            work_dir: PathBuf::from(get("WorkDir")),
            batch_host,
            fields: map,
        })
    }

    /// Whether the job ended without its script ever starting (cancelled while pending or
    /// configuring).
    pub fn never_ran(&self) -> bool {
        self.state == "CANCELLED"
            && self
                .fields
                .get("RunTime")
                .is_none_or(|t| t.trim_start_matches(['0', ':', '-']).is_empty())
    }

    /// The variables a job sees, as `JobContext::from_env` reads them; the home directory comes
    /// from the passwd entry, never from a hook's environment.
    pub fn context_vars(&self, home: &Path) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            vars.insert(k.to_owned(), v);
        };
        set(env::SLURM_JOB_ID, self.job_id.to_string());
        if let (Some(a), Some(t)) = (self.array_job_id, self.array_task_id) {
            set(env::SLURM_ARRAY_JOB_ID, a.to_string());
            set(env::SLURM_ARRAY_TASK_ID, t.to_string());
        }
        set(env::SLURM_JOB_NAME, self.name.clone());
        set(env::SLURM_JOB_USER, self.user.clone());
        set(env::SLURM_JOB_WORK_DIR, self.work_dir.display().to_string());
        set(env::SLURM_SUBMIT_DIR, self.work_dir.display().to_string());
        set(env::HOME, home.display().to_string());
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PENDING: &str = "JobId=42 JobName=my job.sh UserId=alice(1001) GroupId=lab(2002) MCS_label=N/A Priority=1 Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=burst_buffer/lua: slurm_bb_data_in: stage-in failed: cedar:/x: FILE_NOT_FOUND Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 WorkDir=/home/alice/run one Comment=a=b c StdOut=/home/alice/slurm-%j.out BurstBuffer=#GLOBUS stage-in cedar:/x ./in/ Power=";

    #[test]
    fn values_with_spaces_stay_whole() {
        let info = JobInfo::parse_for(PENDING, 42).unwrap();
        assert_eq!(info.name, "my job.sh");
        assert_eq!(
            (info.user.as_str(), info.uid, info.gid),
            ("alice", 1001, 2002)
        );
        assert_eq!(info.state, "PENDING");
        assert_eq!(
            info.reason,
            "burst_buffer/lua: slurm_bb_data_in: stage-in failed: cedar:/x: FILE_NOT_FOUND"
        );
        assert_eq!(info.work_dir, PathBuf::from("/home/alice/run one"));
        assert_eq!(info.fields["Comment"], "a=b c");
        assert_eq!(
            info.fields["BurstBuffer"],
            "#GLOBUS stage-in cedar:/x ./in/"
        );
        assert_eq!(info.fields["Power"], "");
        assert_eq!(info.array_job_id, None);
        assert!(info.exit_code.success());
    }

    #[test]
    fn an_array_element_is_picked_from_the_array_listing() {
        let text = "JobId=10 ArrayJobId=10 ArrayTaskId=3-4 JobName=a UserId=bob(7) GroupId=bob(7) JobState=PENDING ExitCode=0:0 WorkDir=/w\n\
                    JobId=12 ArrayJobId=10 ArrayTaskId=2 JobName=a UserId=bob(7) GroupId=bob(7) JobState=FAILED ExitCode=3:0 WorkDir=/w BatchHost=n1\n";
        let info = JobInfo::parse_for(text, 12).unwrap();
        assert_eq!((info.array_job_id, info.array_task_id), (Some(10), Some(2)));
        assert_eq!(
            info.exit_code,
            ExitCode {
                status: 3,
                signal: 0
            }
        );
        assert!(!info.exit_code.success());
        assert_eq!(info.batch_host.as_deref(), Some("n1"));
        assert!(matches!(
            JobInfo::parse_for(text, 11),
            Err(Error::NoSuchJob(11))
        ));
    }

    #[test]
    fn a_job_name_imitating_the_owner_is_refused() {
        let text = "JobId=5 JobName=x UserId=root(0) UserId=mallory(1005) GroupId=m(1005) JobState=PENDING";
        let err = JobInfo::parse_for(text, 5).unwrap_err();
        assert!(err.to_string().contains("UserId"), "{err}");
    }

    #[test]
    fn unreadable_owner_and_exit_code_are_errors_not_panics() {
        for text in [
            "JobId=5 UserId=alice GroupId=a(1)",
            "JobId=5 UserId=alice(x) GroupId=a(1)",
            "JobId=5 UserId=alice(1) GroupId=a(1) ExitCode=zero",
            "JobId=5",
            "JobId=5 UserId=( GroupId=)",
        ] {
            assert!(JobInfo::parse_for(text, 5).is_err(), "{text}");
        }
    }

    #[test]
    fn context_vars_use_the_given_home() {
        let info = JobInfo::parse_for(PENDING, 42).unwrap();
        let vars = info.context_vars(Path::new("/home/alice"));
        assert_eq!(vars["HOME"], "/home/alice");
        assert_eq!(vars["SLURM_JOB_WORK_DIR"], "/home/alice/run one");
        assert!(!vars.contains_key("SLURM_ARRAY_TASK_ID"));
        assert!(!info.never_ran());
        let cancelled = PENDING.replace("JobState=PENDING", "JobState=CANCELLED");
        assert!(JobInfo::parse_for(&cancelled, 42).unwrap().never_ran());
        let ran = cancelled.replace("RunTime=00:00:00", "RunTime=00:00:01");
        assert!(!JobInfo::parse_for(&ran, 42).unwrap().never_ran());
    }

    #[test]
    fn exit_codes_parse() {
        assert_eq!(
            ExitCode::parse("0:15"),
            Some(ExitCode {
                status: 0,
                signal: 15
            })
        );
        assert_eq!(
            ExitCode::parse("2"),
            Some(ExitCode {
                status: 2,
                signal: 0
            })
        );
        assert_eq!(ExitCode::parse(""), None);
    }
}
