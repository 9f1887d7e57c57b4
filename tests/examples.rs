//! The files in `examples/` are what people copy, so each must work as shipped: every job
//! script passes `gstage check` with the example site and user configs, the configs mark every
//! placeholder UUID as such, and the Lmod modulefile is valid Lua.

use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("`{}`: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// The value of `#SBATCH --NAME=VALUE` in a script.
fn sbatch_option(script: &str, name: &str) -> Option<String> {
    script.lines().find_map(|l| {
        l.strip_prefix("#SBATCH --")?
            .strip_prefix(name)?
            .strip_prefix('=')
            .map(|v| v.trim().to_owned())
    })
}

#[test]
fn every_example_job_script_passes_check() {
    let scripts = files(&examples().join("jobs"), "sh");
    assert!(scripts.len() >= 5, "{scripts:?}");
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(home.path().join("gstage")).expect("dir");
    std::fs::copy(
        examples().join("config/user.toml"),
        home.path().join("gstage/config.toml"),
    )
    .expect("user config copied");
    for script in scripts {
        let text = std::fs::read_to_string(&script).expect("script");
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("gstage"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GSTAGE_CONFIG", examples().join("config/site.toml"))
            .env("XDG_CONFIG_HOME", home.path())
            .args(["check", "--job-id", "4243", "--user", "alice"])
            .args(["--cluster", "grex", "--workdir", "/home/alice/run"]);
        if let Some(name) = sbatch_option(&text, "job-name") {
            cmd.args(["--job-name", &name]);
        }
        if sbatch_option(&text, "array").is_some() {
            cmd.args(["--array-job-id", "4242", "--array-task-id", "3"]);
        }
        let out = cmd.arg(&script).output().expect("gstage runs");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        let shown = script.display();
        assert!(out.status.success(), "{shown}:\n{stdout}{stderr}");
        assert!(stderr.is_empty(), "{shown} has warnings:\n{stderr}");
        assert!(
            stdout.contains(" task 1  label \"gstage grex 4243 "),
            "{shown}:\n{stdout}"
        );
        let header_lines = text
            .lines()
            .take_while(|l| l.is_empty() || l.starts_with('#'));
        assert!(
            header_lines.filter(|l| l.starts_with("#GLOBUS")).count() >= 2,
            "{shown} shows at least two directives"
        );
    }
}

#[test]
fn example_configs_mark_every_uuid_as_a_placeholder() {
    let configs = files(&examples().join("config"), "toml");
    assert!(configs.len() >= 2, "{configs:?}");
    for config in configs {
        let text = std::fs::read_to_string(&config).expect("config");
        let lines: Vec<&str> = text.lines().collect();
        let mut uuids = 0;
        for (i, line) in lines.iter().enumerate() {
            let has_uuid = line
                .split('"')
                .skip(1)
                .step_by(2)
                .any(|v| uuid::Uuid::parse_str(v).is_ok());
            if !has_uuid {
                continue;
            }
            uuids += 1;
            let marked = line.contains("PLACEHOLDER")
                || lines[..i]
                    .iter()
                    .rev()
                    .take_while(|l| l.starts_with('#'))
                    .any(|l| l.contains("PLACEHOLDER"));
            assert!(
                marked,
                "{}:{}: a UUID not marked PLACEHOLDER",
                config.display(),
                i + 1
            );
        }
        assert!(uuids > 0, "{} holds UUIDs", config.display());
        assert!(
            text.contains("EVERY UUID BELOW IS A PLACEHOLDER")
                || text.contains("THE UUID BELOW IS A PLACEHOLDER")
        );
    }
}

#[test]
fn the_site_config_passes_doctors_config_checks() {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("gstage"))
        .env_clear()
        .env("GSTAGE_CONFIG", examples().join("config/site.toml"))
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .args(["doctor", "--offline", "--no-slurm", "--format", "json"])
        .output()
        .expect("gstage runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let checks = v["checks"].as_array().expect("checks");
    for name in ["config", "globus client id", "cluster collection"] {
        let c = checks.iter().find(|c| c["name"] == name).expect(name);
        assert_eq!(c["ok"], true, "{c:#}");
    }
}

#[test]
fn the_modulefile_is_valid_lua_that_sets_path_and_manpath() {
    let module = examples().join("modulefiles/gstage/0.1.0.lua");
    let text = std::fs::read_to_string(&module).expect("modulefile");
    assert!(text.contains("prepend_path(\"PATH\""));
    assert!(text.contains("prepend_path(\"MANPATH\""));
    let out = Command::new("luac")
        .arg("-p")
        .arg(&module)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `luac` ({e}); install Lua 5.1: apt-get install lua5.1")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The archiving examples (cron script, batch file, epilog step) run as shipped, with the example
/// site config, through a `gstage` on `PATH` that adds `--dry-run`: their `gstage transfer` lines
/// plan without error and name their runs by the date or the job id.
#[test]
fn the_archiving_examples_plan_their_transfers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let site = std::fs::read_to_string(examples().join("config/site.toml")).expect("site config");
    let home = dir.path().join("home");
    let mapped = format!("local = \"{}\"", home.display());
    assert!(
        site.contains("local = \"/home\""),
        "the example site maps /home"
    );
    std::fs::write(
        dir.path().join("site.toml"),
        site.replace("local = \"/home\"", &mapped),
    )
    .expect("site config written");
    let submit = home.join("alice/run");
    std::fs::create_dir_all(&submit).expect("submit dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let shim = bin.join("gstage");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nexec '{}' \"$@\" --dry-run\n",
            assert_cmd::cargo::cargo_bin!("gstage").display()
        ),
    )
    .expect("shim");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |script: &str, vars: &[(&str, &str)]| {
        let mut cmd = Command::new("bash");
        cmd.env_clear()
            .env("PATH", &path)
            .env("HOME", dir.path())
            .env("USER", "alice")
            .env("GSTAGE_CONFIG", dir.path().join("site.toml"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .arg(examples().join("archive").join(script));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{script}:\n{stdout}{stderr}");
        stdout
    };
    let nightly = run("nightly-archive.sh", &[]);
    let day = chrono::Utc::now().format("%F").to_string();
    assert!(
        nightly.contains(&format!("label \"gstage transfer nightly-{day} 1 ")),
        "{nightly}"
    );
    assert!(nightly.contains("2 tasks planned"), "{nightly}");
    let submit_dir = submit.display().to_string();
    let job = run(
        "job-epilog-archive.sh",
        &[("SLURM_JOB_ID", "4243"), ("SLURM_SUBMIT_DIR", &submit_dir)],
    );
    assert!(job.contains("label \"gstage transfer job-4243 1 "), "{job}");
    assert!(job.contains("/nearline/def-lab/jobs/4243/"), "{job}");
    let cron = std::fs::read_to_string(examples().join("archive/crontab.txt")).expect("crontab");
    assert!(
        cron.lines()
            .any(|l| !l.starts_with('#') && l.contains("nightly-archive.sh")),
        "the crontab runs the nightly script"
    );
}
