//! Handing a hook's work over to the job's user.
//!
//! Slurm runs the burst buffer calls and controller hooks as SlurmUser (root, or an account like
//! `slurm`). gstage reads the job script as that account, and then:
//!
//! - as root: looks the job's owner up (`scontrol show job`, passwd), drops to their uid, gid and
//!   groups (process-wide, while the process has one thread), and starts itself again as that user
//!   with a clean environment (HOME, USER and LOGNAME from passwd, a fixed PATH, and only the
//!   settings gstage reads) and the script on stdin. That new process does the work: token store,
//!   ledger, Globus.
//! - as another SlurmUser: runs itself through `sudo -n` with the same arguments and the script
//!   (plus the settings, which sudo would drop) on stdin; the root process does the above.
//! - as the job's owner already: does the work itself.
//!
//! Nothing here opens a path a job's owner controls while privileged: the script path comes from
//! Slurm (its state folder), and is opened without following symlinks.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::env;
use crate::privilege::{self, JobUser};

/// The script argument that means "read the handoff from stdin".
pub const STDIN: &str = "-";

/// Where sudo is looked for; hooks have no PATH.
const SUDO: [&str; 2] = ["/usr/bin/sudo", "/bin/sudo"];

/// The largest script gstage reads: Slurm's own limit on batch scripts is 4 MB by default.
const MAX_SCRIPT_BYTES: u64 = 64 * 1024 * 1024;

/// Why the handoff failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The job script could not be read.
    #[error("cannot read the job script `{path}`: {source}")]
    Script {
        /// Where it was looked for.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// stdin did not hold a handoff.
    #[error("stdin holds no job script handoff ({0}); `-` is only for gstage's own use")]
    BadHandoff(String),
    /// Becoming the job's user failed.
    #[error(transparent)]
    Privilege(#[from] privilege::Error),
    /// sudo is needed but missing.
    #[error(
        "gstage runs as uid {uid} and needs sudo to act for the job's owner, but sudo is not installed; install it and add the sudo rule from the Slurm integration docs"
    )]
    NoSudo {
        /// The current uid.
        uid: u32,
    },
    /// The child could not be started or did not finish.
    #[error("could not run `{program}`: {source}")]
    Spawn {
        /// What was run.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Exit code: a missing script is "not found", everything else a failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Script { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                crate::exit::NOT_FOUND
            }
            Error::BadHandoff(_) => crate::exit::USAGE,
            _ => crate::exit::FAILURE,
        }
    }
}

/// What crosses from SlurmUser to the job's user on stdin.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Handoff {
    /// The job script's text.
    pub script: String,
    /// The settings to keep (see `kept`), which sudo's env_reset would drop.
    pub env: BTreeMap<String, String>,
    /// The job owner's uid, when SlurmUser knows it without asking slurmctld (`paths`, which
    /// runs while slurmctld holds its locks).
    #[serde(default)]
    pub uid: Option<u32>,
}

/// Whether a variable is passed on to the job user's process. Secrets never are (client secrets
/// belong to service identities, not to jobs).
pub fn kept(name: &str) -> bool {
    matches!(
        name,
        env::GSTAGE_CONFIG
            | env::GSTAGE_AUTH_URL
            | env::GSTAGE_TRANSFER_URL
            | env::GSTAGE_LEDGER
            | env::SLURM_CONF
            | "LANG"
            | "RUST_LOG"
    ) || (name.starts_with("SLURM_") && name != "SLURM_CONF")
}

/// Reads the script named by a hook argument: `-` is a handoff on stdin; anything else a file
/// that Slurm wrote, opened without following symlinks.
pub fn read_script(arg: &Path, process_env: &BTreeMap<String, String>) -> Result<Handoff, Error> {
    if arg == Path::new(STDIN) {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_SCRIPT_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| Error::BadHandoff(e.to_string()))?;
        return serde_json::from_str(&text).map_err(|e| Error::BadHandoff(e.to_string()));
    }
    read_file(arg).map(|script| Handoff {
        script,
        env: process_env
            .iter()
            .filter(|(k, _)| kept(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        uid: None,
    })
}

/// A file Slurm (or SlurmUser) wrote, opened without following symlinks.
pub fn read_file(arg: &Path) -> Result<String, Error> {
    let shown = arg.display().to_string();
    let err = |source| Error::Script {
        path: shown.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(arg)
        .map_err(err)?;
    let mut bytes = Vec::new();
    file.take(MAX_SCRIPT_BYTES)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Whether Slurm passed its rewritten burst buffer script instead of the job's: from `setup` on,
/// Slurm 22.05 hands over `/proc/PID/fd/N`, a memfd holding only the directive lines with its
/// own `%` symbols already replaced (`%a` of a job that is not an array becomes 4294967294). gstage
/// expands symbols itself, the same way in every mode, so it then asks Slurm for the job's own
/// script (`scontrol write batch_script`) and never opens that link.
pub fn is_slurm_rewrite(path: &Path) -> bool {
    let text = path.to_str().unwrap_or_default();
    let rest = text
        .strip_prefix("/proc/")
        .and_then(|r| r.split_once("/fd/"))
        .filter(|(pid, _)| *pid == "self" || pid.bytes().all(|b| b.is_ascii_digit()))
        .map(|(_, n)| n)
        .or_else(|| text.strip_prefix("/dev/fd/"));
    rest.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// What the caller does next.
#[derive(Debug)]
pub enum Next {
    /// This process is the job's user: do the work.
    Work,
    /// Another process did the work; exit with its status (its output was already shown).
    Done(i32),
}

/// Makes sure the work runs as `uid`: see the module doc. `args` are the arguments (after the
/// program name) the owner's process gets: the caller has replaced the script by `-`. `stdout`,
/// when given, becomes that process' stdout (a file only SlurmUser may open).
pub fn become_owner(
    uid: u32,
    handoff: &Handoff,
    args: &[OsString],
    stdout: Option<File>,
) -> Result<Next, Error> {
    let user = JobUser::from_uid(uid)?;
    if user.is_current() {
        return Ok(Next::Work);
    }
    let me = std::env::current_exe().map_err(|source| Error::Spawn {
        program: "gstage".to_owned(),
        source,
    })?;
    let mut child = if privilege::is_privileged() {
        privilege::drop_to(&user)?;
        let mut cmd = Command::new(&me);
        cmd.args(args).env_clear();
        for (k, v) in user_env(&user, &handoff.env) {
            cmd.env(k, v);
        }
        cmd.current_dir(if user.home.is_dir() {
            user.home.as_path()
        } else {
            Path::new("/")
        });
        cmd
    } else {
        let sudo = SUDO
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or(Error::NoSudo {
                uid: nix::unistd::getuid().as_raw(),
            })?;
        let mut cmd = Command::new(sudo);
        cmd.arg("-n").arg(&me).args(args).env_clear();
        cmd.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    };
    if let Some(file) = stdout {
        child.stdout(file);
    }
    run_with_handoff(child, handoff).map(Next::Done)
}

/// `args` with the last argument equal to `original` replaced by `-` (the handoff marker).
pub fn replaced(args: &[OsString], original: &std::ffi::OsStr) -> Vec<OsString> {
    let mut out = args.to_vec();
    if let Some(slot) = out.iter_mut().rev().find(|a| a.as_os_str() == original) {
        *slot = STDIN.into();
    }
    out
}

/// The environment of the job user's process: identity from passwd, a fixed PATH, and the kept
/// settings; nothing else of SlurmUser's.
fn user_env(user: &JobUser, kept_env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = kept_env
        .iter()
        .filter(|(k, _)| kept(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert(env::HOME.to_owned(), user.home.display().to_string());
    out.insert(env::USER.to_owned(), user.name.clone());
    out.insert("LOGNAME".to_owned(), user.name.clone());
    out.insert(
        "PATH".to_owned(),
        "/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
    );
    out
}

fn run_with_handoff(mut cmd: Command, handoff: &Handoff) -> Result<i32, Error> {
    let shown = crate::slurm::scontrol::show(&cmd);
    let spawn_err = |source| Error::Spawn {
        program: shown.clone(),
        source,
    };
    let mut child = cmd.stdin(Stdio::piped()).spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        let body = serde_json::to_vec(handoff).unwrap_or_default();
        // A child that fails early closes stdin; its exit status says why.
        let _ = stdin.write_all(&body);
    }
    let status = child.wait().map_err(spawn_err)?;
    Ok(status.code().unwrap_or(crate::exit::FAILURE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_settings_cross_never_secrets_or_identity() {
        for name in [
            "GSTAGE_CONFIG",
            "GSTAGE_TRANSFER_URL",
            "SLURM_CONF",
            "SLURM_JOB_ID",
            "SLURM_JOB_EXIT_CODE",
        ] {
            assert!(kept(name), "{name}");
        }
        for name in [
            "GSTAGE_CLIENT_SECRET",
            "GSTAGE_CLIENT_ID",
            "HOME",
            "USER",
            "XDG_CONFIG_HOME",
            "PATH",
            "LD_PRELOAD",
        ] {
            assert!(!kept(name), "{name}");
        }
    }

    #[test]
    fn the_users_environment_names_the_user_from_passwd() {
        let user = JobUser {
            name: "alice".to_owned(),
            uid: 1001,
            gid: 1001,
            home: PathBuf::from("/home/alice"),
        };
        let mut given = BTreeMap::new();
        given.insert("HOME".to_owned(), "/root".to_owned());
        given.insert("XDG_CONFIG_HOME".to_owned(), "/root/.config".to_owned());
        given.insert(
            "GSTAGE_CONFIG".to_owned(),
            "/etc/gstage/site.toml".to_owned(),
        );
        let env = user_env(&user, &given);
        assert_eq!(env["HOME"], "/home/alice");
        assert_eq!(env["USER"], "alice");
        assert_eq!(env["GSTAGE_CONFIG"], "/etc/gstage/site.toml");
        assert!(!env.contains_key("XDG_CONFIG_HOME"));
    }

    #[test]
    fn slurms_rewritten_script_is_recognised() {
        assert!(is_slurm_rewrite(Path::new("/proc/4909/fd/10")));
        assert!(is_slurm_rewrite(Path::new("/proc/self/fd/3")));
        assert!(!is_slurm_rewrite(Path::new(
            "/proc/4909/fd/../../1/root/etc/shadow"
        )));
        assert!(!is_slurm_rewrite(Path::new("/proc/4909/cwd/x")));
        assert!(!is_slurm_rewrite(Path::new("/home/a/script")));
    }

    #[test]
    fn a_symlinked_script_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        std::fs::write(&target, "#!/bin/bash\n").unwrap();
        let link = dir.path().join("script");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(read_script(&link, &BTreeMap::new()).is_err());
        let read = read_script(&target, &BTreeMap::new()).unwrap();
        assert_eq!(read.script, "#!/bin/bash\n");
    }
}
