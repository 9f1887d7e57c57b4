//! The Slurm test bed and gstage's `burst_buffer.lua`, checked on a real single-node Slurm.
//!
//! These tests need the test bed running (`slurm/testbed/up`, which `bash scripts/test` runs) and
//! root, because jobs are submitted as the test bed's unprivileged user: Slurm refuses burst buffer
//! jobs from root. They find the test bed through its env file (`target/slurm-testbed/env`, or
//! `$GSTAGE_TESTBED_DIR/env`); variables set in the environment override the file.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;

const NOT_UP: &str = "start the Slurm test bed: slurm/testbed/up (bash scripts/test does this)";

/// Slurm states after which a job never runs again.
const FINAL_STATES: [&str; 9] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
];

/// The running test bed, as recorded by `slurm/testbed/up`.
struct TestBed {
    vars: HashMap<String, String>,
}

impl TestBed {
    /// Finds the running test bed, or fails the test with how to start it.
    #[track_caller]
    fn running() -> TestBed {
        let dir = std::env::var_os("GSTAGE_TESTBED_DIR").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/slurm-testbed"),
            PathBuf::from,
        );
        let mut vars = fs::read_to_string(dir.join("env"))
            .map(|text| parse_env_file(&text))
            .unwrap_or_default();
        for (name, value) in std::env::vars() {
            if name == "SLURM_CONF" || name == "GSTAGE_BIN" || name.starts_with("GSTAGE_TESTBED_") {
                vars.insert(name, value);
            }
        }
        assert!(
            vars.contains_key("SLURM_CONF"),
            "{NOT_UP}: no `{}` and no SLURM_CONF",
            dir.join("env").display()
        );
        let bed = TestBed { vars };
        let sinfo = bed.slurm("sinfo").args(["-h", "-o", "%T"]).output();
        match sinfo {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "{NOT_UP}: sinfo failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(err) => panic!("{NOT_UP}: cannot run sinfo: {err}"),
        }
        let uid = run(Command::new("id").arg("-u"));
        assert_eq!(
            uid.trim(),
            "0",
            "run these tests as root: jobs are submitted as the test bed's user through runuser"
        );
        bed
    }

    #[track_caller]
    fn var(&self, name: &str) -> &str {
        match self.vars.get(name) {
            Some(value) => value,
            None => {
                panic!("{NOT_UP}: the test bed's env file lacks {name}; rerun slurm/testbed/up")
            }
        }
    }

    fn user(&self) -> &str {
        self.vars
            .get("GSTAGE_TESTBED_USER")
            .map_or("gstage-test", String::as_str)
    }

    /// A Slurm client command run as root.
    fn slurm(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", self.var("SLURM_CONF"));
        cmd
    }

    /// A command run as the test bed's unprivileged user.
    fn as_user(&self, program: &str) -> AssertCommand {
        let mut cmd = AssertCommand::new("runuser");
        cmd.args(["-u", self.user(), "--", program])
            .env("SLURM_CONF", self.var("SLURM_CONF"))
            .timeout(Duration::from_secs(30));
        cmd
    }

    /// A fresh folder the test user owns, for a job's files.
    #[track_caller]
    fn job_dir(&self, name: &str) -> PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = Path::new(self.var("GSTAGE_TESTBED_JOBS"))
            .join(format!("{name}-{}-{nanos}", std::process::id()));
        self.as_user("mkdir").arg("-p").arg(&dir).assert().success();
        dir
    }

    /// Waits (at most 30 s) until the job reaches a final state, and returns that state.
    #[track_caller]
    fn wait_final(&self, job_id: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = run(self.slurm("scontrol").args(["-o", "show", "job", job_id]));
            let state = field(&info, "JobState").unwrap_or_default().to_owned();
            if FINAL_STATES.contains(&state.as_str()) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "job {job_id} is still {state} after 30 s: {info}"
            );
            sleep(Duration::from_millis(100));
        }
    }

    #[track_caller]
    fn require_mode(&self, mode: &str) {
        let current = self.var("GSTAGE_TESTBED_MODE");
        assert_eq!(
            current, mode,
            "this test needs the test bed in {mode} mode: slurm/testbed/up --mode {mode}"
        );
    }
}

/// Reads the `export NAME='value'` lines `slurm/testbed/up` writes.
fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('='))
        .map(|(name, value)| {
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// The value of `NAME=value` in Slurm's one-line output.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
}

#[track_caller]
fn run(cmd: &mut Command) -> String {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|err| panic!("cannot run {cmd:?}: {err}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_job_of_the_test_user_completes_and_writes_its_output() {
    let bed = TestBed::running();
    let dir = bed.job_dir("plain");
    let out = bed
        .as_user("sbatch")
        .arg("--parsable")
        .arg(format!("--chdir={}", dir.display()))
        .arg("--output=out-%j.txt")
        .args(["--job-name=testbed-plain", "--time=1"])
        .arg("--wrap=echo testbed-ok $SLURM_JOB_ID")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let job_id = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !job_id.is_empty() && job_id.bytes().all(|b| b.is_ascii_digit()),
        "sbatch --parsable printed `{stdout}`, not a job id"
    );

    assert_eq!(bed.wait_final(&job_id), "COMPLETED");

    let output = dir.join(format!("out-{job_id}.txt"));
    let text = fs::read_to_string(&output)
        .unwrap_or_else(|err| panic!("job {job_id} left no `{}`: {err}", output.display()));
    assert_eq!(text, format!("testbed-ok {job_id}\n"));
    let owner = fs::metadata(&output).map_or(0, |m| m.uid());
    let user_uid = run(Command::new("id").args(["-u", bed.user()]));
    assert_eq!(
        owner.to_string(),
        user_uid.trim(),
        "the job ran as the test user"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn burst_buffer_mode_runs_the_lua_plugin_with_gstage_settings() {
    let bed = TestBed::running();
    bed.require_mode("bb");
    let burst = run(bed.slurm("scontrol").args(["show", "burst"]));
    assert!(burst.contains("Name=lua"), "no lua plugin in: {burst}");
    assert!(
        burst.contains("Flags=TeardownFailure"),
        "TeardownFailure is not set: {burst}"
    );
    let lua = Path::new(bed.var("SLURM_CONF")).with_file_name("burst_buffer.lua");
    let text =
        fs::read_to_string(&lua).unwrap_or_else(|err| panic!("no `{}`: {err}", lua.display()));
    assert!(
        text.contains(&format!("local GSTAGE = \"{}\"", bed.var("GSTAGE_BIN"))),
        "`{}` does not call the gstage under test",
        lua.display()
    );
}

#[test]
fn an_invalid_globus_directive_is_rejected_at_submission_through_gstage() {
    let bed = TestBed::running();
    bed.require_mode("bb");
    let log_path = PathBuf::from(bed.var("GSTAGE_TESTBED_CTLD_LOG"));
    let log_start = fs::metadata(&log_path).map_or(0, |m| m.len());
    let dir = bed.job_dir("invalid");
    let script = dir.join("job.sh");
    // A stage-in without source and destination is invalid whatever else gstage accepts.
    fs::write(&script, "#!/bin/bash\n#GLOBUS stage-in\necho never\n")
        .unwrap_or_else(|err| panic!("cannot write `{}`: {err}", script.display()));

    let out = bed
        .as_user("sbatch")
        .arg(format!("--chdir={}", dir.display()))
        .arg(&script)
        .assert()
        .failure()
        .stderr(predicate::str::contains("Burst Buffer request invalid"));
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();

    let log = fs::read(&log_path)
        .unwrap_or_else(|err| panic!("cannot read `{}`: {err}", log_path.display()));
    let start = usize::try_from(log_start).unwrap_or(0).min(log.len());
    let new_lines = String::from_utf8_lossy(&log[start..]).into_owned();
    assert!(
        !new_lines.contains("missing required function"),
        "burst_buffer.lua does not load: {new_lines}"
    );
    let ran = format!(
        "gstage: running '{}' bb job_process '",
        bed.var("GSTAGE_BIN")
    );
    assert!(
        new_lines.contains(&ran),
        "the lua did not forward job_process to gstage; slurmctld log:\n{new_lines}"
    );
    // What gstage said is what the user sees: the log's copy of its message is in sbatch's error.
    let said = new_lines
        .lines()
        .find_map(|line| line.split_once("bb job_process exited with status "))
        .and_then(|(_, rest)| rest.split_once(": "))
        .map_or_else(
            || panic!("no job_process failure in the slurmctld log:\n{new_lines}"),
            |(_, message)| message.trim().to_owned(),
        );
    assert!(
        stderr.contains(&said),
        "sbatch did not show gstage's message `{said}`: {stderr}"
    );
    fs::remove_dir_all(&dir).ok();
}

/// What a stub gstage does when the lua calls it.
struct Stub<'a> {
    exit: i32,
    output: &'a str,
}

/// Runs `burst_buffer.lua` outside Slurm, with a stub `slurm` table and (unless `stub` is `None`) a
/// stub gstage that records its arguments, to pin down the forwarding contract: arguments,
/// quoting, environment, exit status and message. Returns what the calls returned, then `--`,
/// then the arguments each stub run received.
fn run_lua(dir: &Path, calls: &str, stub: Option<&Stub>, polling_slurm: bool) -> String {
    let stub_path = dir.join("gstage stub");
    let args_log = dir.join("args");
    let env_log = dir.join("env");
    if let Some(&Stub { exit, output }) = stub {
        let text = format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done >> '{args}'\necho >> '{args}'\n\
             printf '%s\\n' \"$GSTAGE_STUB_MARK\" >> '{env}'\nprintf '%s' '{output}'\nexit {exit}\n",
            args = args_log.display(),
            env = env_log.display(),
        );
        fs::write(&stub_path, text).unwrap_or_else(|err| panic!("cannot write the stub: {err}"));
        run(Command::new("chmod").arg("755").arg(&stub_path));
    }

    let source = shipped_lua();
    let (Some(begin), Some(end)) = (
        source.find("-- >>> settings"),
        source.find("-- <<< settings"),
    ) else {
        panic!("slurm/burst_buffer.lua lacks its settings block");
    };
    let settings = format!(
        "-- >>> settings\nlocal GSTAGE = \"{}\"\nlocal ENV = {{ GSTAGE_STUB_MARK = \"a b'c\" }}\n",
        stub_path.display()
    );
    let lua_path = dir.join("burst_buffer.lua");
    fs::write(
        &lua_path,
        format!("{}{settings}{}", &source[..begin], &source[end..]),
    )
    .unwrap_or_else(|err| panic!("cannot write the lua: {err}"));

    let busy = if polling_slurm {
        "SLURM_BB_BUSY = \"BUSY\","
    } else {
        ""
    };
    let driver = format!(
        r##"
slurm = {{ SUCCESS = 0, ERROR = -1, {busy}
  log_info = function(...) end, log_error = function(...) end }}
dofile("{lua}")
local function show(...)
  local parts = {{}}
  for i = 1, select("#", ...) do parts[#parts + 1] = "[" .. tostring((select(i, ...))) .. "]" end
  print(table.concat(parts, " "))
end
{calls}
"##,
        lua = lua_path.display()
    );
    let driver_path = dir.join("driver.lua");
    fs::write(&driver_path, driver).unwrap_or_else(|err| panic!("cannot write the driver: {err}"));
    let out = Command::new("lua5.1")
        .arg(&driver_path)
        .output()
        .unwrap_or_else(|err| {
            panic!(
                "cannot run lua5.1 ({err}): slurm/testbed/up installs it, or apt-get install lua5.1"
            )
        });
    assert!(
        out.status.success(),
        "lua failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let returned = String::from_utf8_lossy(&out.stdout).into_owned();
    let args = fs::read_to_string(&args_log).unwrap_or_default();
    format!("{returned}--\n{args}")
}

fn shipped_lua() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("slurm/burst_buffer.lua");
    fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read `{}`: {err}", path.display()))
}

/// A fresh folder under target/ for one lua run.
fn scratch(name: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/slurm-lua-tests")
        .join(format!("{name}-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir)
        .unwrap_or_else(|err| panic!("cannot create `{}`: {err}", dir.display()));
    dir
}

#[test]
fn lua_forwards_each_phase_with_its_arguments_and_environment() {
    let dir = scratch("forward");
    let got = run_lua(
        &dir,
        r#"
show(slurm_bb_job_process("/state/it's a $(script)"))
show(slurm_bb_pools())
show(slurm_bb_setup("7", "1001", "1002", "", "0", "/s"))
show(slurm_bb_data_in("7", "/s"))
show(slurm_bb_real_size("7"))
show(slurm_bb_paths("7", "/s", "/p"))
show(slurm_bb_pre_run("7", "/s"))
show(slurm_bb_post_run("7", "/s"))
show(slurm_bb_data_out("7", "/s"))
show(slurm_bb_job_teardown("7", "/s", "true"))
show(slurm_bb_get_status("gstage", "7"))
"#,
        Some(&Stub {
            exit: 0,
            output: "",
        }),
        false,
    );
    assert_eq!(
        got,
        "[0]\n[0]\n[0]\n[0]\n[0]\n[0]\n[0]\n[0]\n[0]\n[0]\n[0]\n--\n\
         <bb><job_process></state/it's a $(script)>\n\
         <bb><setup><7><1001><1002><><0></s>\n\
         <bb><data_in><7></s>\n\
         <bb><real_size><7>\n\
         <bb><paths><7></s></p>\n\
         <bb><pre_run><7></s>\n\
         <bb><post_run><7></s>\n\
         <bb><data_out><7></s>\n\
         <bb><teardown><7></s><true>\n\
         <bb><get_status><gstage><7>\n",
        "pools answers without running gstage; every other phase forwards its arguments"
    );
    let env = fs::read_to_string(dir.join("env")).unwrap_or_default();
    assert_eq!(env, "a b'c\n".repeat(10), "each run gets the lua's ENV");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn lua_turns_a_failure_into_an_error_with_gstage_message() {
    let dir = scratch("failure");
    let got = run_lua(
        &dir,
        r#"
show(slurm_bb_data_in("7", "/s"))
show(slurm_bb_job_process("/s"))
"#,
        Some(&Stub {
            exit: 3,
            output: "stage-in failed: `/in` not found\nrun: gstage status 7",
        }),
        false,
    );
    let returned = got.split("--\n").next().unwrap_or_default();
    assert_eq!(
        returned,
        "[-1] [stage-in failed: `/in` not found]\n\
         [-1] [stage-in failed: `/in` not found\nrun: gstage status 7]\n",
        "the Reason gets the first line; sbatch gets the whole diagnostic"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn lua_submits_without_waiting_where_slurm_polls_and_passes_busy_on() {
    let dir = scratch("polling");
    let got = run_lua(
        &dir,
        r#"
show(slurm_bb_data_in("7", "/s"))
show(slurm_bb_test_data_in("7", "/s"))
show(slurm_bb_data_out("7", "/s"))
show(slurm_bb_test_data_out("7", "/s"))
"#,
        Some(&Stub {
            exit: 0,
            output: "BUSY",
        }),
        true,
    );
    assert_eq!(
        got,
        "[0] [BUSY]\n[0] [BUSY]\n[0] [BUSY]\n[0] [BUSY]\n--\n\
         <bb><data_in><--no-wait><7></s>\n\
         <bb><test_data_in><7></s>\n\
         <bb><data_out><--no-wait><7></s>\n\
         <bb><test_data_out><7></s>\n"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn lua_rejects_jobs_with_the_fix_when_gstage_is_missing() {
    assert!(
        shipped_lua().contains("local GSTAGE = \"/usr/bin/gstage\""),
        "the shipped lua names gstage by its installed path"
    );
    let dir = scratch("missing");
    let got = run_lua(&dir, r#"show(slurm_bb_job_process("/s"))"#, None, false);
    assert_eq!(
        got,
        format!(
            "[-1] [gstage is not installed at {}; set GSTAGE in burst_buffer.lua to its full path]\n--\n",
            dir.join("gstage stub").display()
        )
    );
    fs::remove_dir_all(&dir).ok();
}
