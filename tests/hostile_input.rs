//! Untrusted text never panics gstage: job scripts (written by any user, read by root-run hooks
//! and inside slurmctld), configuration files and a job's own values go through the directive
//! parser, the config loader and the planner as arbitrary bytes and as near-valid text built from
//! the real vocabulary, where the deep paths are. A panic in a hook would hold or kill jobs.
//!
//! Case count: `PROPTEST_CASES` (10,000 by default); `scripts/proptest-long` runs 1,000,000.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use gstage::config::Config;
use gstage::directive::{ParseOptions, parse_all};
use gstage::plan::plan_script;
use gstage::slurm::context::JobContext;
use proptest::prelude::*;

const CEDAR: &str = "0b0c6f62-3e43-4b21-9c9a-8d3a4f5e6a71";
const GREX: &str = "5e1e7f55-0a39-4c5b-8b7c-2f0e1d9c8b6a";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// A sound site config, for the parser and planner properties (parsed once).
fn site() -> &'static Config {
    static SITE: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
    SITE.get_or_init(|| {
        Config::from_toml_str(
            &format!(
                r#"[globus]
client_id = "9d5b6a8e-1b7c-4a43-9f4e-6f6d1e0c2a11"

[cluster]
name = "grex"
collection = "{GREX}"
paths = [ {{ local = "/home", collection = "/home" }},
          {{ local = "/project", collection = "/~/project" }} ]

[collections.cedar]
id = "{CEDAR}"
display_name = "Alliance Cedar"
"#
            ),
            std::path::Path::new("site.toml"),
        )
        .expect("the test's site config is valid")
    })
}

fn job(vars: &[(&str, String)]) -> Option<JobContext> {
    let mut env: BTreeMap<String, String> = [
        ("SLURM_JOB_ID", "4242".to_owned()),
        ("SLURM_JOB_NAME", "run".to_owned()),
        ("SLURM_SUBMIT_DIR", "/home/alice/run".to_owned()),
        ("USER", "alice".to_owned()),
        ("HOME", "/home/alice".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in vars {
        env.insert((*k).to_owned(), v.clone());
    }
    let now = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).single()?;
    JobContext::from_env(&env, now).ok()
}

/// A word a directive line may hold: locations, symbols, options and their values, quotes,
/// escapes and junk.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("stage-in".to_owned()),
        Just("stage-out".to_owned()),
        Just("stage_in".to_owned()),
        Just("defaults".to_owned()),
        Just("cedar:/project/data/".to_owned()),
        Just(format!("{CEDAR}:/in/")),
        Just("cedar:".to_owned()),
        Just(":".to_owned()),
        Just("./in/".to_owned()),
        Just("./a:b".to_owned()),
        Just("/home/alice/out/%j/".to_owned()),
        Just("/etc/shadow".to_owned()),
        Just("../../..".to_owned()),
        Just("%j%A%a%u%x%d%%%".to_owned()),
        Just("$HOME/${SLURM_JOB_ID}/$".to_owned()),
        Just("${".to_owned()),
        Just("${UNSET}".to_owned()),
        Just("-r".to_owned()),
        Just("--recursive".to_owned()),
        Just("--sync-level".to_owned()),
        Just("checksum".to_owned()),
        Just("--when".to_owned()),
        Just("--optional".to_owned()),
        Just("--deadline".to_owned()),
        Just("1d12h".to_owned()),
        Just("2025-13-45T99:99".to_owned()),
        Just("--notify".to_owned()),
        Just("succeeded,failed,".to_owned()),
        Just("--include".to_owned()),
        Just("--exclude".to_owned()),
        Just("*.[".to_owned()),
        Just("--label".to_owned()),
        Just("--checksum-algorithm".to_owned()),
        Just("--=".to_owned()),
        Just("'unterminated".to_owned()),
        Just("\"dq \\\" ".to_owned()),
        Just("\\".to_owned()),
        "[ -~]{0,12}",
        "\\PC{0,6}",
    ]
}

/// A directive that is valid, or one word away from it.
fn directive() -> impl Strategy<Value = String> {
    let remote = prop_oneof![
        Just("cedar:/project/data/".to_owned()),
        Just("cedar:/in/a.dat".to_owned()),
        Just(format!("{CEDAR}:/runs/%j/")),
        Just("cedar:/~/x/$SLURM_JOB_NAME/".to_owned()),
    ];
    let local = prop_oneof![
        Just("./in/".to_owned()),
        Just("/home/alice/in/%j/".to_owned()),
        Just("/project/lab/%u/%x.dat".to_owned()),
        Just("${HOME}/results/".to_owned()),
    ];
    let option = prop_oneof![
        Just(""),
        Just("--sync-level checksum"),
        Just("-r"),
        Just("--label 'run %j'"),
        Just("--deadline 2h"),
        Just("--notify off"),
        Just("--include '*.dat' --exclude '*'"),
        Just("--preserve-mtime --encrypt"),
        Just("--no-verify-checksum"),
        Just("--skip-source-errors"),
    ];
    let junk = prop_oneof![8 => Just(String::new()), 1 => word()];
    (
        any::<bool>(),
        remote,
        local,
        proptest::collection::vec(option, 0..3),
        any::<bool>(),
        junk,
    )
        .prop_map(|(inward, remote, local, options, extra, junk)| {
            let (verb, src, dst, own) = if inward {
                (
                    "stage-in",
                    remote,
                    local,
                    if extra { "--optional" } else { "" },
                )
            } else {
                (
                    "stage-out",
                    local,
                    remote,
                    if extra { "--when success" } else { "" },
                )
            };
            format!(
                "#GLOBUS {verb} {src} {dst} {} {own} {junk}",
                options.join(" ")
            )
        })
}

/// A directive line, a continuation, or another header line.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => directive(),
        4 => proptest::collection::vec(word(), 0..7).prop_map(|w| format!("#GLOBUS {}", w.join(" "))),
        1 => proptest::collection::vec(word(), 0..4).prop_map(|w| format!("#GLOBUS {} \\", w.join(" "))),
        1 => Just("#SBATCH --time=1:00:00".to_owned()),
        1 => Just(String::new()),
        1 => Just("echo body".to_owned()),
        1 => "[ -~\t\r]{0,20}",
    ]
}

fn script() -> impl Strategy<Value = String> {
    proptest::collection::vec(line(), 0..8)
        .prop_map(|lines| format!("#!/bin/bash\n{}\n", lines.join("\n")))
}

/// A config line from the real schema, with values of the right and wrong kinds.
fn config_line() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("\"\"".to_owned()),
        Just(format!("\"{CEDAR}\"")),
        Just("\"not-a-uuid\"".to_owned()),
        Just("\"http://\"".to_owned()),
        Just("\"https://transfer.api.globus.org\"".to_owned()),
        Just("\"relative/path\"".to_owned()),
        Just("\"/abs\"".to_owned()),
        Just("\"#GLOBUS\"".to_owned()),
        Just("\"checksum\"".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("true".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just(
            r#"[ { local = "/home", collection = "/home" }, { local = "x", collection = "" } ]"#
                .to_owned()
        ),
        "\"[ -~]{0,10}\"",
    ];
    let key = prop_oneof![
        Just("client_id"),
        Just("auth_url"),
        Just("transfer_url"),
        Just("name"),
        Just("display_name"),
        Just("collection"),
        Just("paths"),
        Just("id"),
        Just("sync_level"),
        Just("verify_checksum"),
        Just("deadline"),
        Just("notify"),
        Just("directive_prefix"),
        Just("path"),
        Just("mode"),
        Just("interval_secs"),
        Just("max_interval_secs"),
        Just("partition"),
        Just("time_limit"),
        Just("mail"),
        Just("unknown_key"),
    ];
    prop_oneof![
        Just("[globus]".to_owned()),
        Just("[cluster]".to_owned()),
        Just("[collections.cedar]".to_owned()),
        Just("[collections.\"\"]".to_owned()),
        Just("[defaults]".to_owned()),
        Just("[ledger]".to_owned()),
        Just("[poll]".to_owned()),
        Just("[wrapper]".to_owned()),
        Just("[notify]".to_owned()),
        Just("[[cluster.paths]]".to_owned()),
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        "[ -~]{0,16}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn the_parser_survives_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let parsed = parse_all(&text, &ParseOptions::default());
        let _ = parsed.diagnostics.render(&text, "job.sh", true);
    }

    #[test]
    fn the_planner_survives_near_valid_scripts(text in script()) {
        let config = site();
        let ctx = job(&[]).expect("a sound job context");
        match plan_script(&text, &ParseOptions::from_config(config), &ctx, config) {
            Ok(planned) => {
                for dir in [gstage::options::Direction::In, gstage::options::Direction::Out] {
                    for task in planned.plan.tasks(dir) {
                        prop_assert!(!task.items.is_empty());
                        prop_assert!(task.label.len() <= 128, "label {:?}", task.label);
                    }
                }
            }
            Err(diags) => {
                prop_assert!(diags.has_errors());
                let _ = diags.render(&text, "job.sh", false);
            }
        }
        // The offline check slurmctld runs (burst buffer `job_process`) on the same text.
        let _ = gstage::slurm::bb::validate_offline(&text, Some(4242), config, Utc::now());
    }

    #[test]
    fn the_planner_survives_arbitrary_job_values(
        text in script(),
        name in "\\PC{0,20}",
        array_job in "[0-9a-z]{0,12}",
        array_task in "[0-9-]{0,12}",
        submit in "\\PC{0,20}",
        user in "\\PC{0,10}",
    ) {
        let config = site();
        if let Some(ctx) = job(&[
            ("SLURM_JOB_NAME", name),
            ("SLURM_ARRAY_JOB_ID", array_job),
            ("SLURM_ARRAY_TASK_ID", array_task),
            ("SLURM_SUBMIT_DIR", submit),
            ("USER", user),
        ]) {
            let _ = plan_script(&text, &ParseOptions::from_config(config), &ctx, config);
        }
    }

    #[test]
    fn the_config_loader_survives_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = Config::from_toml_str(&text, std::path::Path::new("config.toml")) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn the_config_loader_and_planner_survive_near_valid_configs(
        lines in proptest::collection::vec(config_line(), 0..14),
        text in script(),
    ) {
        let toml = lines.join("\n");
        match Config::from_toml_str(&toml, std::path::Path::new("config.toml")) {
            Ok(config) => {
                let ctx = job(&[]).expect("a sound job context");
                let _ = plan_script(&text, &ParseOptions::from_config(&config), &ctx, &config);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

/// The near-valid generators reach past the first error: some scripts plan, some configs load.
/// Without this the properties above could exercise nothing but the error paths.
#[test]
fn the_generators_reach_the_success_paths() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let config = site();
    let ctx = job(&[]).expect("a sound job context");
    let (mut planned, mut tasks, mut loaded) = (0, 0, 0);
    for _ in 0..2000 {
        let text = script().new_tree(&mut runner).expect("a script").current();
        if let Ok(p) = plan_script(&text, &ParseOptions::from_config(config), &ctx, config) {
            planned += 1;
            tasks += p.plan.tasks(gstage::options::Direction::In).len()
                + p.plan.tasks(gstage::options::Direction::Out).len();
        }
        let lines = proptest::collection::vec(config_line(), 0..14)
            .new_tree(&mut runner)
            .expect("config lines")
            .current();
        if Config::from_toml_str(&lines.join("\n"), std::path::Path::new("c.toml")).is_ok() {
            loaded += 1;
        }
    }
    eprintln!("of 2000: {planned} scripts planned ({tasks} tasks), {loaded} configs loaded");
    assert!(
        planned >= 100 && tasks >= 200,
        "{planned} planned, {tasks} tasks"
    );
    assert!(loaded >= 20, "{loaded} configs loaded");
}
