//! SlurmUser's note of a burst buffer job's owner, for `paths`.
//!
//! `paths` runs inside slurmctld while it holds its locks: asking slurmctld who owns the job
//! (`scontrol show job`) would deadlock, and Slurm 22.05 passes no uid. So `data_in`, which may
//! ask, leaves the owner's uid in `<StateSaveLocation>/gstage/<jobid>` (a folder only SlurmUser
//! can write), `paths` reads it, and `teardown` removes it. Nothing a job's owner controls is
//! read: the file is SlurmUser's, opened without following symlinks.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The folder of owner notes.
pub fn dir(state_save: &Path) -> PathBuf {
    state_save.join("gstage")
}

/// `<StateSaveLocation>` from Slurm's path file `<StateSaveLocation>/hash.N/job.ID/path`.
pub fn state_save_from_path_file(path_file: &Path) -> Option<PathBuf> {
    let job_dir = path_file.parent()?;
    let name = job_dir.file_name()?.to_str()?;
    let hash = job_dir.parent()?;
    let hash_name = hash.file_name()?.to_str()?;
    (name.starts_with("job.") && hash_name.starts_with("hash."))
        .then(|| hash.parent().map(Path::to_path_buf))
        .flatten()
}

/// Records that `uid` owns `job_id` (atomically: temporary file, then rename).
pub fn remember(state_save: &Path, job_id: u64, uid: u32) -> std::io::Result<()> {
    let dir = dir(state_save);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    let tmp = dir.join(format!(".{job_id}.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&tmp)?;
    file.write_all(format!("{uid}\n").as_bytes())?;
    drop(file);
    std::fs::rename(&tmp, dir.join(job_id.to_string()))
}

/// The uid recorded for `job_id`, if any.
pub fn owner(state_save: &Path, job_id: u64) -> Option<u32> {
    let path = dir(state_save).join(job_id.to_string());
    let text = crate::slurm::handoff::read_file(&path).ok()?;
    text.trim().parse().ok()
}

/// Removes the note (the job is over).
pub fn forget(state_save: &Path, job_id: u64) {
    let _ = std::fs::remove_file(dir(state_save).join(job_id.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip_and_go_away() {
        let state = tempfile::tempdir().unwrap();
        assert_eq!(owner(state.path(), 7), None);
        remember(state.path(), 7, 1001).unwrap();
        remember(state.path(), 7, 1001).unwrap();
        assert_eq!(owner(state.path(), 7), Some(1001));
        forget(state.path(), 7);
        assert_eq!(owner(state.path(), 7), None);
    }

    #[test]
    fn the_state_folder_comes_from_slurms_layout() {
        assert_eq!(
            state_save_from_path_file(Path::new("/var/spool/slurmctld/hash.6/job.16/path")),
            Some(PathBuf::from("/var/spool/slurmctld"))
        );
        assert_eq!(state_save_from_path_file(Path::new("/tmp/path")), None);
    }
}
