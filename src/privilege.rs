//! Dropping from root to the job's user.
//!
//! Hooks run as root (or as SlurmUser through sudo) for other users' jobs. Everything after reading
//! the job script — the token store, the ledger, the user's files — must happen with the user's
//! own uid, gid and supplementary groups, so that the kernel, not gstage, decides what the job may
//! touch. The switch is process-wide (libc `setresuid`, not the per-thread syscall) and must happen
//! before any thread or async runtime starts, or a thread could keep root: `drop_to` refuses to run
//! in a process that already has more than one thread.

use std::ffi::CString;
use std::path::PathBuf;

use nix::unistd::{
    Gid, Uid, User, getgroups, getresgid, getresuid, initgroups, setresgid, setresuid,
};

/// A job's owner as the system's user database knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobUser {
    /// The login name.
    pub name: String,
    /// The numeric user id.
    pub uid: u32,
    /// The primary group.
    pub gid: u32,
    /// From the passwd entry: `$HOME` in a hook belongs to root or SlurmUser, never to the job's user.
    pub home: PathBuf,
}

/// Why gstage could not become the job's user; any of these stops the hook before it touches a file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The uid is not in the user database (deleted account, or a container without it).
    #[error(
        "no user with uid {0} in the user database; check that the job's owner exists on this host"
    )]
    UnknownUid(u32),
    /// The passwd entry has no absolute home directory, so the user's store cannot be found.
    #[error("user `{0}` has no absolute home directory in the user database; fix its passwd entry")]
    NoHome(String),
    /// The user name cannot be passed to `initgroups`.
    #[error("user name `{0}` contains a NUL byte")]
    BadName(String),
    /// A system call failed; the message names which.
    #[error("could not switch to user `{user}` ({step}): {source}")]
    Switch {
        /// The user.
        user: String,
        /// The call that failed.
        step: &'static str,
        /// What the kernel said.
        #[source]
        source: nix::Error,
    },
    /// A non-root process was asked to act for another user.
    #[error(
        "running as uid {current}, which cannot act for user `{user}` (uid {uid}); run as root, or as SlurmUser with the sudo rule in the Slurm integration docs"
    )]
    NotPrivileged {
        /// The process' real uid.
        current: u32,
        /// The job's user.
        user: String,
        /// Their uid.
        uid: u32,
    },
    /// Threads already run: switching ids now could leave one of them privileged.
    #[error(
        "refusing to switch users in a process with {0} threads; the switch must come before any thread starts"
    )]
    Threaded(usize),
    /// The switch reported success but a saved or effective id is still privileged.
    #[error("switching to user `{0}` left a privileged id behind; refusing to continue")]
    Incomplete(String),
    /// Refusing to run a job's work as root.
    #[error("refusing to act for uid 0: gstage does not stage data for root's jobs")]
    Root,
}

impl Error {
    /// Exit code per DESIGN.md: any failure to drop privileges is a general failure.
    pub fn exit_code(&self) -> i32 {
        crate::exit::FAILURE
    }
}

impl JobUser {
    /// Looks the user up by uid in the passwd database (NSS: files, LDAP, sssd …).
    pub fn from_uid(uid: u32) -> Result<JobUser, Error> {
        let user = User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .ok_or(Error::UnknownUid(uid))?;
        if !user.dir.is_absolute() {
            return Err(Error::NoHome(user.name));
        }
        Ok(JobUser {
            name: user.name,
            uid,
            gid: user.gid.as_raw(),
            home: user.dir,
        })
    }

    /// The user this process runs as now (its real uid).
    pub fn current() -> Result<JobUser, Error> {
        JobUser::from_uid(Uid::current().as_raw())
    }

    /// Whether this process already is this user, with no other privileges left to drop.
    pub fn is_current(&self) -> bool {
        Uid::current().as_raw() == self.uid && Uid::effective().as_raw() == self.uid
    }
}

/// Whether the process may switch users at all (root, or effective root through sudo).
pub fn is_privileged() -> bool {
    Uid::effective().is_root()
}

/// How many threads this process has (from `/proc/self/status`); 1 when it cannot be told, which
/// errs towards allowing the switch only on systems without `/proc`.
pub fn thread_count() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| threads_in_status(&status))
        .unwrap_or(1)
}

fn threads_in_status(status: &str) -> Option<usize> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Becomes `user` for the rest of the process: supplementary groups, then gid, then uid (the uid
/// last, since after it nothing else may be changed), then checks that no privileged id is left.
/// A no-op when the process already runs as that user without privileges.
pub fn drop_to(user: &JobUser) -> Result<(), Error> {
    if user.uid == 0 {
        return Err(Error::Root);
    }
    if !is_privileged() {
        return if user.is_current() {
            Ok(())
        } else {
            Err(Error::NotPrivileged {
                current: Uid::current().as_raw(),
                user: user.name.clone(),
                uid: user.uid,
            })
        };
    }
    let threads = thread_count();
    if threads > 1 {
        return Err(Error::Threaded(threads));
    }
    let switch = |step: &'static str| {
        let name = user.name.clone();
        move |source| Error::Switch {
            user: name,
            step,
            source,
        }
    };
    let name = CString::new(user.name.clone()).map_err(|_| Error::BadName(user.name.clone()))?;
    let gid = Gid::from_raw(user.gid);
    let uid = Uid::from_raw(user.uid);
    initgroups(&name, gid).map_err(switch("initgroups"))?;
    setresgid(gid, gid, gid).map_err(switch("setresgid"))?;
    setresuid(uid, uid, uid).map_err(switch("setresuid"))?;

    let uids = getresuid().map_err(switch("getresuid"))?;
    let gids = getresgid().map_err(switch("getresgid"))?;
    let all_user = [uids.real, uids.effective, uids.saved]
        .iter()
        .all(|u| *u == uid);
    let all_group = [gids.real, gids.effective, gids.saved]
        .iter()
        .all(|g| *g == gid);
    // Root's group must not survive among the supplementary groups unless the user is in it.
    let groups = getgroups().map_err(switch("getgroups"))?;
    let root_group_kept = gid.as_raw() != 0 && groups.iter().any(|g| g.as_raw() == 0) && {
        let listed = nix::unistd::getgrouplist(&name, gid).unwrap_or_default();
        !listed.iter().any(|g| g.as_raw() == 0)
    };
    // Regaining root must fail now.
    let regained = setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).is_ok();
    if !all_user || !all_group || root_group_kept || regained {
        return Err(Error::Incomplete(user.name.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_never_a_job_user_to_act_for() {
        let root = JobUser {
            name: "root".to_owned(),
            uid: 0,
            gid: 0,
            home: PathBuf::from("/root"),
        };
        assert!(matches!(drop_to(&root), Err(Error::Root)));
    }

    #[test]
    fn users_come_from_the_passwd_database_with_their_home() {
        let root = JobUser::from_uid(0).expect("uid 0 is in every user database");
        assert_eq!(root.name, "root");
        assert!(root.home.is_absolute());
        assert!(matches!(
            JobUser::from_uid(4_000_000_000),
            Err(Error::UnknownUid(4_000_000_000))
        ));
    }

    #[test]
    fn a_threaded_process_is_never_switched() {
        // The test harness runs tests on threads, so this process has several: the switch must be
        // refused before any id changes (and, when not root, refused for lack of privilege).
        let other = JobUser {
            name: "nobody".to_owned(),
            uid: 65534,
            gid: 65534,
            home: PathBuf::from("/nonexistent"),
        };
        let before = getresuid().expect("getresuid");
        let err = drop_to(&other).expect_err("must refuse");
        assert!(
            matches!(err, Error::Threaded(_) | Error::NotPrivileged { .. }),
            "{err}"
        );
        assert_eq!(getresuid().expect("getresuid").effective, before.effective);
    }

    #[test]
    fn thread_count_reads_proc_status() {
        assert_eq!(
            threads_in_status("Name:\tx\nThreads:\t7\nSigQ:\t0/1\n"),
            Some(7)
        );
        assert_eq!(threads_in_status("Name:\tx\n"), None);
        assert_eq!(threads_in_status("Threads:\tmany\n"), None);
    }
}
