//! The token store and the ledger are refused, not followed, when they are symbolic links, belong
//! to someone else or can be changed by others: `gstage stage-in` stops with exit 1, a message
//! that names the path and the fix, and nothing submitted. The chown cases need root (CI runs the
//! suite as root).

mod engine_support;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use engine_support::{World, assert_status, text};

/// The uid files are given away to (`nobody`).
const NOBODY: u32 = 65534;

fn stage_in(w: &World) -> std::process::Output {
    let script = w.script("job.sh", "#GLOBUS stage-in cedar:/input/a.dat ./in/a.dat");
    w.run(&[
        "stage-in",
        "--script",
        script.to_str().expect("utf-8"),
        "--job-id",
        "11",
        "--no-wait",
    ])
}

/// Exit 1, the message names `path` and contains each of `fix`, and Globus got no task.
#[track_caller]
fn assert_refused(w: &World, path: &Path, fix: &[&str]) -> String {
    let out = stage_in(w);
    assert_status(&out, 1);
    let err = text(&out.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    for f in fix {
        assert!(err.contains(f), "`{f}` missing in: {err}");
    }
    assert!(w.emu.tasks().is_empty(), "nothing may be submitted");
    err
}

#[track_caller]
fn require_root(what: &str) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "{what} needs root to give a file to another user: run the suite as root (`sudo -E bash scripts/test`), as CI does"
    );
}

fn store_path(w: &World) -> std::path::PathBuf {
    w.path("config/gstage/tokens.json")
}

#[test]
fn a_token_store_that_is_a_symlink_is_refused_and_its_target_untouched() {
    let w = World::new();
    let store = store_path(&w);
    let target = w.path("elsewhere.json");
    fs::rename(&store, &target).expect("move the store");
    symlink(&target, &store).expect("symlink");
    let before = fs::read(&target).expect("target");
    let err = assert_refused(
        &w,
        &store,
        &["symbolic link", &format!("rm {}", store.display())],
    );
    assert!(!err.contains("RT-") && !err.contains("AT-"), "{err}");
    assert_eq!(fs::read(&target).expect("target"), before);
}

#[test]
fn a_token_directory_that_is_a_symlink_is_refused() {
    let w = World::new();
    let dir = w.path("config/gstage");
    let real = w.path("real-gstage");
    fs::rename(&dir, &real).expect("move the directory");
    symlink(&real, &dir).expect("symlink");
    assert_refused(&w, &dir, &["symbolic link"]);
}

#[test]
fn a_token_store_owned_by_another_user_is_refused() {
    require_root("giving the token store to nobody");
    let w = World::new();
    let store = store_path(&w);
    nix::unistd::chown(&store, Some(nix::unistd::Uid::from_raw(NOBODY)), None).expect("chown");
    assert_refused(&w, &store, &["belongs to uid 65534", "chown"]);
}

#[test]
fn a_token_store_others_can_read_is_refused() {
    let w = World::new();
    let store = store_path(&w);
    fs::set_permissions(&store, fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_refused(&w, &store, &["chmod 600"]);
}

#[test]
fn a_ledger_that_is_a_symlink_is_refused_and_its_target_untouched() {
    let w = World::new();
    let target = w.path("elsewhere.sqlite");
    fs::write(&target, b"").expect("target");
    symlink(&target, w.ledger_path()).expect("symlink");
    assert_refused(&w, &w.ledger_path(), &["symbolic link", "GSTAGE_LEDGER"]);
    assert_eq!(
        fs::read(&target).expect("target").len(),
        0,
        "written through"
    );
}

#[test]
fn a_ledger_directory_others_can_write_is_refused() {
    let w = World::new();
    let dir = w.path("state");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
    assert_refused(
        &w,
        &dir,
        &["chmod 700", "other users can change your ledger"],
    );
    assert!(!w.ledger_path().exists(), "no ledger created there");
}

#[test]
fn a_ledger_file_others_can_write_is_refused() {
    let w = World::new();
    drop(w.ledger());
    fs::set_permissions(w.ledger_path(), fs::Permissions::from_mode(0o666)).expect("chmod");
    assert_refused(&w, &w.ledger_path(), &["chmod 600"]);
}

#[test]
fn a_ledger_owned_by_another_user_is_refused() {
    require_root("giving the ledger to nobody");
    let w = World::new();
    drop(w.ledger());
    nix::unistd::chown(
        &w.ledger_path(),
        Some(nix::unistd::Uid::from_raw(NOBODY)),
        None,
    )
    .expect("chown");
    assert_refused(&w, &w.ledger_path(), &["owned by uid 65534", "mv "]);
}

#[test]
fn private_places_are_accepted() {
    let w = World::new();
    fs::set_permissions(w.path("state"), fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_status(&stage_in(&w), 0);
    assert_eq!(w.emu.tasks().len(), 1);
}
