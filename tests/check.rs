//! `gstage check` from the outside: exit codes, plan output, and every diagnostic rendered.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const CONFIG: &str = r#"
[cluster]
name = "grex"
collection = "aaaaaaaa-0000-0000-0000-000000000001"
paths = [ { local = "/home", collection = "/home" } ]

[collections.cedar]
id = "cccccccc-0000-0000-0000-000000000002"
display_name = "Alliance Cedar"
"#;

/// A temporary directory with a site config, and a `gstage` command isolated from the caller's
/// environment (no Slurm variables, no user config).
struct Test {
    dir: tempfile::TempDir,
}

impl Test {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("site.toml"), CONFIG).expect("write config");
        Self { dir }
    }

    fn script(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.dir.path().join(name), text).expect("write script");
        self
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("gstage").expect("the gstage binary is built");
        cmd.current_dir(self.dir.path())
            .env("GSTAGE_CONFIG", self.dir.path().join("site.toml"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"));
        for (k, _) in std::env::vars() {
            if k.starts_with("SLURM_") || k.starts_with("GSTAGE_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("GSTAGE_CONFIG", self.dir.path().join("site.toml"));
        cmd
    }

    fn check(&self, script: &str) -> Command {
        let mut cmd = self.cmd();
        cmd.args([
            "check",
            "--job-id",
            "4242",
            "--workdir",
            "/home/alice/run",
            script,
        ]);
        cmd
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

const VALID: &str = "#!/bin/bash\n#SBATCH --time=1:00:00\n#GLOBUS stage-in cedar:/project/in/ ./in/ --sync-level checksum\n#GLOBUS stage-in cedar:/project/ref.fa ./in/ -s checksum\n#GLOBUS stage-out ./results/ cedar:/project/runs/%j/\npython run.py\n";

#[test]
fn valid_script_prints_the_plan() {
    let t = Test::new();
    t.script("job.sh", VALID);
    t.check("job.sh")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "job 4242 on grex: 1 stage-in task, 1 stage-out task",
        ))
        .stdout(predicate::str::contains("label \"gstage grex 4242 in 1\""))
        .stdout(predicate::str::contains(
            "/project/ref.fa  ->  /home/alice/run/in/ref.fa",
        ))
        .stdout(predicate::str::contains(
            "/home/alice/run/results/  ->  /project/runs/4242/",
        ))
        .stderr("");
}

#[test]
fn json_output_is_one_document() {
    let t = Test::new();
    t.script("job.sh", VALID);
    let out = t
        .check("job.sh")
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("stdout is JSON");
    assert_eq!(v["valid"], true);
    assert_eq!(v["job"]["job_id"], 4242);
    assert_eq!(v["plan"]["stage_in"][0]["label"], "gstage grex 4242 in 1");
    assert_eq!(
        v["plan"]["stage_in"][0]["options"]["sync_level"],
        "checksum"
    );
    assert_eq!(v["plan"]["stage_out"][0]["options"]["when"], "always");
    assert_eq!(
        v["plan"]["stage_in"][0]["items"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn invalid_script_shows_every_error_with_a_caret_and_exits_2() {
    let t = Test::new();
    t.script(
        "bad.sh",
        "#!/bin/bash\n#GLOBUS stage-in cedr:/x ./x\n#GLOBUS stage-out ./r cedar:/r/$SCRATCH --when sometimes\n#GLOBUS stage-in /etc/passwd ./p\necho\n#GLOBUS stage-in cedar:/late ./late\n",
    );
    t.check("bad.sh")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("error: unknown collection `cedr`"))
        .stderr(predicate::str::contains("--> bad.sh:2:18"))
        .stderr(predicate::str::contains("help: did you mean `cedar`?"))
        .stderr(predicate::str::contains(
            "error: `$SCRATCH` cannot be used in a directive",
        ))
        .stderr(predicate::str::contains("--> bad.sh:3:32"))
        .stderr(predicate::str::contains(
            "error: invalid value `sometimes` for `--when`",
        ))
        .stderr(predicate::str::contains(
            "error: `/etc/passwd` is not in the cluster's Globus collection",
        ))
        .stderr(predicate::str::contains(
            "help: cluster paths must be under `/home`",
        ))
        .stderr(predicate::str::contains(
            "warning: directive after the script's first command (line 5) is ignored",
        ))
        .stderr(predicate::str::contains("^^^^"))
        .stderr(predicate::str::contains(
            "gstage: error: `bad.sh`: 4 errors in its directives; nothing was planned",
        ));
}

#[test]
fn invalid_script_in_json_lists_diagnostics() {
    let t = Test::new();
    t.script("bad.sh", "#GLOBUS stage-in a b --sync-level fast\n");
    let out = t
        .check("bad.sh")
        .args(["--format", "json"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("stdout is JSON");
    assert_eq!(v["valid"], false);
    assert_eq!(v["diagnostics"][0]["kind"], "invalid_value");
    assert_eq!(v["diagnostics"][0]["span"]["line"], 1);
    assert_eq!(v["diagnostics"][0]["span"]["column"], 35);
}

#[test]
fn inside_a_job_the_context_comes_from_slurm() {
    let t = Test::new();
    t.script("job.sh", "#GLOBUS stage-out ./o/ cedar:/runs/%x/%A_%a/\n");
    t.cmd()
        .args(["check", "job.sh"])
        .env("SLURM_JOB_ID", "1002")
        .env("SLURM_ARRAY_JOB_ID", "1000")
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_JOB_NAME", "sim")
        .env("SLURM_CLUSTER_NAME", "grex")
        .env("SLURM_SUBMIT_DIR", "/home/bob/sim")
        .env("USER", "bob")
        .env("PWD", "/home/bob/sim")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "/home/bob/sim/o/  ->  /runs/sim/1000_2/",
        ))
        .stdout(predicate::str::contains("gstage grex 1002 out 1"));
}

#[test]
fn outside_a_job_placeholders_are_used() {
    let t = Test::new();
    t.script("job.sh", "#GLOBUS stage-out /home/x/o cedar:/runs/%j/%x\n");
    t.cmd()
        .args(["check", "job.sh"])
        .assert()
        .success()
        .stdout(predicate::str::contains("/runs/0/job.sh"));
}

#[test]
fn missing_script_exits_3() {
    let t = Test::new();
    t.check("nope.sh")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "job script `nope.sh` does not exist",
        ));
}

#[test]
fn bad_config_names_file_key_and_line() {
    let t = Test::new();
    std::fs::write(t.path().join("site.toml"), "[cluster]\nnmae = \"grex\"\n").expect("write");
    t.script("job.sh", VALID);
    t.check("job.sh")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("site.toml"))
        .stderr(predicate::str::contains("line 2"))
        .stderr(predicate::str::contains("key `cluster.nmae`"))
        .stderr(predicate::str::contains("did you mean `name`?"));
}

#[test]
fn help_shows_an_example() {
    let t = Test::new();
    t.cmd()
        .args(["check", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("gstage check job.sh"));
    t.cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Example"));
    t.cmd().arg("--bogus").assert().code(2);
}
