//! The one rule for the files gstage keeps for a user (the token store, the ledger) and the
//! directories that hold them: never follow a symbolic link, and accept only what belongs to the
//! user and cannot be changed by anyone else.
//!
//! A link or a directory others can write lets another account (or a job of another user) swap
//! the file between gstage's check and its use, read the user's refresh tokens, or plant records
//! that make gstage adopt someone else's task. Checks run on the open descriptor where there is
//! one (`fstat`), so the file checked is the file used. The callers word the refusal, with the
//! fix, in their own error types.

use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::libc;

/// Why a file or directory is not safe to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsafe {
    /// It is a symbolic link.
    Symlink,
    /// It belongs to `owner`, not to the effective user `uid`.
    NotOwned {
        /// Its owner.
        owner: u32,
        /// This process' effective uid.
        uid: u32,
    },
    /// Its mode has some of the forbidden bits.
    TooOpen {
        /// Its permission bits.
        mode: u32,
    },
}

/// The effective uid: after a hook drops privileges it is the job's user.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Checks metadata taken without following links (`symlink_metadata` or `fstat`): not a link,
/// owned by the effective user, no bit of `forbidden` in its mode.
pub fn check(meta: &Metadata, forbidden: u32) -> Result<(), Unsafe> {
    if meta.file_type().is_symlink() {
        return Err(Unsafe::Symlink);
    }
    let uid = euid();
    if meta.uid() != uid {
        return Err(Unsafe::NotOwned {
            owner: meta.uid(),
            uid,
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & forbidden != 0 {
        return Err(Unsafe::TooOpen { mode });
    }
    Ok(())
}

/// Opens `path` without following a link in its last component (`O_NOFOLLOW`), close-on-exec.
pub fn open_nofollow(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    options
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Whether an open failed because the path is a symbolic link (`O_NOFOLLOW` answers `ELOOP`).
pub fn is_link_refusal(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn links_open_modes_and_owners_are_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let meta = std::fs::symlink_metadata(&file).expect("meta");
        assert_eq!(check(&meta, 0o077), Ok(()));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o620)).expect("chmod");
        let meta = std::fs::symlink_metadata(&file).expect("meta");
        assert_eq!(check(&meta, 0o022), Err(Unsafe::TooOpen { mode: 0o620 }));
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        let meta = std::fs::symlink_metadata(&link).expect("meta");
        assert_eq!(check(&meta, 0), Err(Unsafe::Symlink));
        let err = open_nofollow(&link, OpenOptions::new().read(true)).expect_err("refused");
        assert!(is_link_refusal(&err), "{err}");
    }
}
