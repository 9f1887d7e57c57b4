//! `slurm/install.sh`, run into a staging directory (`--destdir`) as a package build would: the
//! binary, manual pages, completions, the lua or hook wrappers with their settings filled in,
//! the config skeleton (never overwritten) and a sudo rule that `visudo -c` accepts. The
//! installed gstage's `doctor` is then run against the Slurm test bed.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOT_UP: &str = "start the Slurm test bed: slurm/testbed/up (bash scripts/test does this)";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn install(dest: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo().join("slurm/install.sh"))
        .arg("--binary")
        .arg(assert_cmd::cargo::cargo_bin!("gstage"))
        .arg("--destdir")
        .arg(dest)
        .args(args)
        .output()
        .expect("install.sh runs")
}

#[track_caller]
fn succeeded(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "install.sh failed:\n{text}");
    text
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("`{}`: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("`{}`: {e}", p.display()))
}

/// Runs a checker program, failing with how to install it when it is missing.
#[track_caller]
fn checker(program: &str, args: &[&str], package: &str) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` ({e}); install it: apt-get install {package}")
        })
}

#[test]
fn burst_buffer_install_with_a_non_root_slurm_user() {
    let dest = tempfile::tempdir().expect("temp dir");
    let d = dest.path();
    let log = succeeded(&install(
        d,
        &["--slurm-user", "slurm", "--slurm-conf-dir", "/etc/slurm"],
    ));
    assert!(log.contains("BurstBufferType=burst_buffer/lua"), "{log}");
    assert!(log.contains("gstage doctor"), "{log}");

    let bin = d.join("usr/bin/gstage");
    assert_eq!(mode(&bin), 0o755);
    let version = Command::new(&bin).arg("--version").output().expect("runs");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("gstage "));
    for page in ["gstage.1", "gstage-check.1", "gstage-doctor.1"] {
        assert!(d.join("usr/share/man/man1").join(page).is_file(), "{page}");
    }
    assert!(read(&d.join("usr/share/bash-completion/completions/gstage")).contains("complete -F"));
    assert!(d.join("usr/share/zsh/site-functions/_gstage").is_file());
    assert!(
        d.join("usr/share/fish/vendor_completions.d/gstage.fish")
            .is_file()
    );

    let lua = d.join("etc/slurm/burst_buffer.lua");
    let text = read(&lua);
    assert!(
        text.contains("local GSTAGE = \"/usr/bin/gstage\"\nlocal ENV = { }\n"),
        "{text}"
    );
    assert_eq!(text.matches(">>> settings").count(), 1);
    let shipped = read(&repo().join("slurm/burst_buffer.lua"));
    assert_eq!(
        text.lines().count(),
        shipped.lines().count(),
        "only the settings block changed"
    );
    let luac = checker("luac", &["-p", &lua.display().to_string()], "lua5.1");
    assert!(
        luac.status.success(),
        "{}",
        String::from_utf8_lossy(&luac.stderr)
    );
    assert!(read(&d.join("etc/slurm/burst_buffer.conf")).contains("\nDirective=GLOBUS\n"));

    let sudoers = d.join("etc/sudoers.d/gstage");
    assert_eq!(mode(&sudoers), 0o440);
    assert!(
        read(&sudoers)
            .contains("slurm ALL=(ALL) NOPASSWD: /usr/bin/gstage hook *, /usr/bin/gstage bb *")
    );
    let visudo = checker("visudo", &["-cf", &sudoers.display().to_string()], "sudo");
    assert!(
        visudo.status.success(),
        "{}",
        String::from_utf8_lossy(&visudo.stdout)
    );

    let config = d.join("etc/gstage/config.toml");
    assert_eq!(mode(&config), 0o644);
    assert_eq!(
        read(&config),
        read(&repo().join("examples/config/site.toml"))
    );
}

#[test]
fn rerunning_keeps_an_edited_config_and_refreshes_the_rest() {
    let dest = tempfile::tempdir().expect("temp dir");
    let d = dest.path();
    succeeded(&install(
        d,
        &["--slurm-user", "root", "--slurm-conf-dir", "/etc/slurm"],
    ));
    let config = d.join("etc/gstage/config.toml");
    std::fs::write(&config, "[cluster]\nname = \"edited\"\n").expect("edit");
    let lua = d.join("etc/slurm/burst_buffer.lua");
    std::fs::write(&lua, "stale").expect("edit");
    let log = succeeded(&install(
        d,
        &["--slurm-user", "root", "--slurm-conf-dir", "/etc/slurm"],
    ));
    assert!(log.contains("kept the existing"), "{log}");
    assert_eq!(read(&config), "[cluster]\nname = \"edited\"\n");
    assert!(
        read(&lua).contains("slurm_bb_job_process"),
        "the lua is refreshed"
    );
    assert!(
        !d.join("etc/sudoers.d/gstage").exists(),
        "root needs no sudo rule"
    );
}

#[test]
fn hooks_install_writes_wrappers_naming_the_binary_and_config() {
    let dest = tempfile::tempdir().expect("temp dir");
    let d = dest.path();
    let log = succeeded(&install(
        d,
        &[
            "--mode",
            "hooks",
            "--prefix",
            "/opt/gstage",
            "--config-dir",
            "/opt/gstage/etc",
            "--slurm-conf-dir",
            "/etc/slurm-llnl",
            "--slurm-user",
            "root",
        ],
    ));
    assert!(
        log.contains("PrologSlurmctld=/opt/gstage/lib/gstage/hooks/prolog"),
        "{log}"
    );
    assert!(d.join("opt/gstage/bin/gstage").is_file());
    assert!(d.join("opt/gstage/etc/config.toml").is_file());
    assert!(!d.join("etc/slurm-llnl/burst_buffer.lua").exists());
    for hook in ["prolog", "epilog"] {
        let p: PathBuf = d.join("opt/gstage/lib/gstage/hooks").join(hook);
        assert_eq!(mode(&p), 0o755);
        let text = read(&p);
        assert!(text.contains("\nGSTAGE=/opt/gstage/bin/gstage\n"), "{text}");
        assert!(
            text.contains("SLURM_CONF=/etc/slurm-llnl/slurm.conf; export SLURM_CONF"),
            "{text}"
        );
        assert!(
            text.contains("GSTAGE_CONFIG=/opt/gstage/etc/config.toml; export GSTAGE_CONFIG"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("exec \"$GSTAGE\" hook {hook}\n")),
            "{text}"
        );
        let sh = checker("sh", &["-n", &p.display().to_string()], "dash");
        assert!(
            sh.status.success(),
            "{}",
            String::from_utf8_lossy(&sh.stderr)
        );
    }
}

#[test]
fn bad_options_and_dry_runs_change_nothing() {
    let dest = tempfile::tempdir().expect("temp dir");
    let d = dest.path();
    let out = install(d, &["--mode", "datawarp"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unknown mode `datawarp`: use bb, hooks or none")
    );
    let log = succeeded(&install(
        d,
        &[
            "--dry-run",
            "--slurm-user",
            "slurm",
            "--slurm-conf-dir",
            "/etc/slurm",
        ],
    ));
    assert!(log.contains("would write"), "{log}");
    assert!(
        !d.join("usr").exists() && !d.join("etc").exists(),
        "a dry run writes nothing"
    );
}

/// The running test bed's variables, or a failure saying how to start it.
#[track_caller]
fn test_bed() -> HashMap<String, String> {
    let dir = std::env::var_os("GSTAGE_TESTBED_DIR")
        .map_or_else(|| repo().join("target/slurm-testbed"), PathBuf::from);
    let text = std::fs::read_to_string(dir.join("env"))
        .unwrap_or_else(|e| panic!("{NOT_UP}: no `{}` ({e})", dir.join("env").display()));
    let vars: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect();
    assert!(
        vars.contains_key("SLURM_CONF"),
        "{NOT_UP}: the env file has no SLURM_CONF"
    );
    vars
}

#[test]
fn installed_doctor_recognises_the_test_beds_slurm_integration() {
    let bed = test_bed();
    let dest = tempfile::tempdir().expect("temp dir");
    let d = dest.path();
    succeeded(&install(
        d,
        &["--slurm-user", "root", "--slurm-conf-dir", "/etc/slurm"],
    ));
    let out = Command::new(d.join("usr/bin/gstage"))
        .args(["doctor", "--offline", "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SLURM_CONF", &bed["SLURM_CONF"])
        .env("GSTAGE_CONFIG", d.join("etc/gstage/config.toml"))
        .env("XDG_CONFIG_HOME", d.join("home"))
        .output()
        .expect("doctor runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let checks = v["checks"].as_array().expect("checks");
    let find = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no `{name}` check: {v:#}"))
    };
    assert_eq!(find("slurmctld")["ok"], true, "{NOT_UP}: {v:#}");
    let expected_mode = bed.get("GSTAGE_TESTBED_MODE").map_or("bb", String::as_str);
    let mut names = vec![
        "sbatch",
        "scontrol",
        "slurmctld",
        "integration",
        "sudo rule",
    ];
    if expected_mode == "bb" {
        names.extend([
            "burst buffer plugin",
            "burst buffer directive",
            "burst_buffer.lua",
        ]);
    }
    for name in names {
        assert_eq!(find(name)["ok"], true, "{name}: {v:#}");
    }
    let integration = find("integration")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match expected_mode {
        "bb" => assert!(integration.contains("burst buffer"), "{integration}"),
        "hooks" => assert!(integration.contains("controller hooks"), "{integration}"),
        _ => assert!(integration.contains("wrapper"), "{integration}"),
    }
    // The installed config skeleton loads (its UUIDs are placeholders, no login exists here).
    assert_eq!(find("config")["ok"], true, "{v:#}");
    assert_eq!(find("token store")["ok"], false);
}
