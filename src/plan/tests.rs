//! The planner, rule by rule: grouping, labels, mapping, symbols, defaults, and nothing planned
//! when anything is wrong.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::*;
use crate::directive::ParseOptions;
use crate::options::FilterMethod;

const CONFIG: &str = r#"
[cluster]
name = "grex"
collection = "aaaaaaaa-0000-0000-0000-000000000001"
paths = [ { local = "/home", collection = "/home" },
          { local = "/project", collection = "/projects" } ]

[collections.cedar]
id = "cccccccc-0000-0000-0000-000000000002"
display_name = "Alliance Cedar"

[collections.narval]
id = "dddddddd-0000-0000-0000-000000000003"
"#;

fn config() -> Config {
    Config::from_toml_str(CONFIG, Path::new("site.toml")).unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn job() -> JobContext {
    JobContext {
        job_id: 4242,
        array_job_id: None,
        array_task_id: None,
        user: "alice".to_owned(),
        job_name: "analyse".to_owned(),
        work_dir: PathBuf::from("/home/alice/run"),
        submit_dir: PathBuf::from("/home/alice"),
        cluster_name: None,
        home: Some(PathBuf::from("/home/alice")),
        now: now(),
    }
}

fn plan_of(lines: &str) -> Result<Planned, Diagnostics> {
    plan_with(lines, &job())
}

fn plan_with(lines: &str, ctx: &JobContext) -> Result<Planned, Diagnostics> {
    let script = format!("#!/bin/bash\n{lines}\nsrun work\n");
    plan_script(&script, &ParseOptions::default(), ctx, &config())
}

fn ok(lines: &str) -> Plan {
    plan_of(lines)
        .unwrap_or_else(|e| panic!("{lines}: {e}"))
        .plan
}

fn paths(task: &Task) -> Vec<(String, String)> {
    task.items
        .iter()
        .map(|i| (i.source_path.clone(), i.destination_path.clone()))
        .collect()
}

#[test]
fn one_task_per_collection_pair_and_options() {
    let plan = ok("#GLOBUS stage-in cedar:/a/ ./a/\n\
                   #GLOBUS stage-in cedar:/b ./b\n\
                   #GLOBUS stage-in cedar:/c ./c --sync-level size\n\
                   #GLOBUS stage-in narval:/d ./d\n\
                   #GLOBUS stage-in cedar:/e ./e\n\
                   #GLOBUS stage-out ./out/ cedar:/runs/%j/");
    assert_eq!(plan.stage_in.len(), 3);
    assert_eq!(plan.stage_out.len(), 1);
    let first = &plan.stage_in[0];
    assert_eq!(first.source.display_name, "Alliance Cedar");
    assert_eq!(first.destination.display_name, "grex");
    assert_eq!(
        paths(first),
        [
            ("/a/".to_owned(), "/home/alice/run/a/".to_owned()),
            ("/b".to_owned(), "/home/alice/run/b".to_owned()),
            ("/e".to_owned(), "/home/alice/run/e".to_owned()),
        ]
    );
    assert_eq!(plan.stage_in[1].options.sync_level, Some(SyncLevel::Size));
    assert_eq!(plan.stage_in[2].source.display_name, "narval");
    assert_eq!(
        paths(&plan.stage_out[0]),
        [("/home/alice/run/out/".to_owned(), "/runs/4242/".to_owned())]
    );
}

#[test]
fn labels_name_cluster_job_direction_and_number() {
    let plan = ok(
        "#GLOBUS stage-in cedar:/a ./a\n#GLOBUS stage-in narval:/b ./b\n#GLOBUS stage-out ./o cedar:/o --label \"results of %x\"",
    );
    let labels: Vec<&str> = plan
        .stage_in
        .iter()
        .chain(&plan.stage_out)
        .map(|t| t.label.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "gstage grex 4242 in 1",
            "gstage grex 4242 in 2",
            "gstage grex 4242 out 1: results of analyse"
        ]
    );
}

#[test]
fn labels_keep_the_apis_rules() {
    let long = "x ".repeat(200);
    let cases = [
        label("grex", 1, Direction::In, 1, Some(&long)),
        label("grex", 1, Direction::Out, 2, Some("  line\r\nbreak  ")),
        label(&"c".repeat(300), u64::MAX, Direction::In, 1, None),
    ];
    for l in &cases {
        assert!(l.chars().count() <= MAX_LABEL_CHARS, "{l}");
        assert!(!l.contains(['\r', '\n']), "{l}");
        assert_eq!(l.trim(), l, "{l:?}");
    }
    assert_eq!(cases[1], "gstage grex 1 out 2: line break");
}

#[test]
fn symbols_expand_from_the_job() {
    let mut ctx = job();
    ctx.array_job_id = Some(4000);
    ctx.array_task_id = Some(7);
    ctx.cluster_name = Some("grex-b".to_owned());
    let plan = plan_with(
        "#GLOBUS stage-out ./o/ cedar:/r/%j/%A_%a/%u/%x/100%%/$SLURM_CLUSTER_NAME/${USER}/",
        &ctx,
    )
    .unwrap()
    .plan;
    assert_eq!(
        plan.stage_out[0].items[0].destination_path,
        "/r/4242/4000_7/alice/analyse/100%/grex-b/alice/"
    );
    assert_eq!(plan.stage_out[0].label, "gstage grex-b 4242 out 1");
    let plan = ok(
        "#GLOBUS stage-in cedar:/in %d/in\n#GLOBUS stage-in cedar:/h $HOME/h\n#GLOBUS stage-in cedar:/a ./x_%A",
    );
    assert_eq!(
        plan.stage_in[0].items[0].destination_path,
        "/home/alice/run/in"
    );
    assert_eq!(plan.stage_in[0].items[1].destination_path, "/home/alice/h");
    assert_eq!(
        plan.stage_in[0].items[2].destination_path,
        "/home/alice/run/x_4242"
    );
}

#[test]
fn array_task_symbol_outside_an_array_is_an_error() {
    let err = plan_of("#GLOBUS stage-in cedar:/in/%a ./in").unwrap_err();
    let e = err.errors().next().unwrap();
    assert!(matches!(e.kind, DiagnosticKind::SymbolUnavailable { .. }));
    assert_eq!((e.span.line, e.span.column), (2, 28));
}

#[test]
fn cluster_paths_map_and_resolve() {
    let table = [
        ("./in", "/home/alice/run/in"),
        ("in/", "/home/alice/run/in/"),
        ("../shared/x", "/home/alice/shared/x"),
        ("/project/lab/x", "/projects/lab/x"),
        (".", "/home/alice/run/"),
        ("./a:b", "/home/alice/run/a:b"),
    ];
    for (local, want) in table {
        let plan = ok(&format!("#GLOBUS stage-in cedar:/src/ {local}"));
        assert_eq!(plan.stage_in[0].items[0].destination_path, want, "{local}");
    }
}

#[test]
fn unmapped_paths_name_the_roots() {
    let err = plan_of("#GLOBUS stage-in cedar:/x /scratch/x").unwrap_err();
    let e = err.errors().next().unwrap();
    assert_eq!(
        e.kind,
        DiagnosticKind::UnmappedPath {
            path: "/scratch/x".to_owned(),
            roots: vec!["/home".to_owned(), "/project".to_owned()]
        }
    );
    assert!(
        e.help
            .as_deref()
            .unwrap_or_default()
            .contains("`/home` or `/project`")
    );
}

#[test]
fn file_into_directory_gets_a_full_path() {
    let plan = ok(
        "#GLOBUS stage-in cedar:/ref/genome.fa ./data/\n#GLOBUS stage-out ./log.txt cedar:/logs/",
    );
    assert_eq!(
        plan.stage_in[0].items[0].destination_path,
        "/home/alice/run/data/genome.fa"
    );
    assert_eq!(plan.stage_out[0].items[0].destination_path, "/logs/log.txt");
}

#[test]
fn remote_paths_must_be_absolute_and_tilde_is_home() {
    let plan = ok("#GLOBUS stage-in cedar:~/in ./in");
    assert_eq!(plan.stage_in[0].items[0].source_path, "/~/in");
    let err = plan_of("#GLOBUS stage-in cedar:in ./in").unwrap_err();
    assert!(matches!(
        err.errors().next().unwrap().kind,
        DiagnosticKind::RelativeRemotePath { .. }
    ));
}

#[test]
fn unknown_alias_suggests_and_uuid_works_without_alias() {
    let err = plan_of("#GLOBUS stage-in cedr:/x ./x").unwrap_err();
    let e = err.errors().next().unwrap();
    assert!(
        matches!(&e.kind, DiagnosticKind::UnknownCollection { suggestion: Some(s), .. } if s == "cedar")
    );
    assert_eq!((e.span.column, e.span.len), (18, 4));
    let plan = ok(
        "#GLOBUS stage-in eeeeeeee-0000-0000-0000-000000000009:/x ./x\n#GLOBUS stage-in cccccccc-0000-0000-0000-000000000002:/y ./y",
    );
    assert_eq!(
        plan.stage_in[0].source.display_name,
        "eeeeeeee-0000-0000-0000-000000000009"
    );
    assert_eq!(plan.stage_in[1].source.display_name, "Alliance Cedar");
}

#[test]
fn defaults_apply_to_later_directives_over_config_defaults() {
    let mut cfg = config();
    cfg.defaults.sync_level = Some(SyncLevel::Exists);
    cfg.defaults.notify = Some("off".parse().unwrap());
    let script = "#GLOBUS stage-in cedar:/a ./a\n\
                  #GLOBUS defaults --sync-level checksum --exclude '*.tmp' --when failure\n\
                  #GLOBUS stage-in cedar:/b ./b --include keep.tmp\n\
                  #GLOBUS stage-out ./c cedar:/c";
    let planned = plan_script(script, &ParseOptions::default(), &job(), &cfg)
        .unwrap()
        .plan;
    let a = &planned.stage_in[0].options;
    let b = &planned.stage_in[1].options;
    assert_eq!(a.sync_level, Some(SyncLevel::Exists));
    assert_eq!(b.sync_level, Some(SyncLevel::Checksum));
    assert!(!b.notify.on_failed);
    assert_eq!(
        b.filter_rules
            .iter()
            .map(|r| (r.method, r.name.as_str()))
            .collect::<Vec<_>>(),
        [
            (FilterMethod::Include, "keep.tmp"),
            (FilterMethod::Exclude, "*.tmp")
        ]
    );
    assert_eq!(b.when, None);
    assert_eq!(planned.stage_out[0].options.when, Some(When::Failure));
}

#[test]
fn option_defaults_follow_globus_cli() {
    let plan = ok("#GLOBUS stage-in cedar:/a ./a\n#GLOBUS stage-out ./b cedar:/b");
    let i = &plan.stage_in[0].options;
    assert!(i.verify_checksum && !i.preserve_timestamp && !i.encrypt_data && !i.optional);
    assert_eq!(i.notify, Notify::ALL);
    assert_eq!((i.sync_level, i.deadline, i.when), (None, None, None));
    assert_eq!(plan.stage_out[0].options.when, Some(When::Always));
    assert_eq!(plan.stage_in[0].items[0].recursive, None);
}

#[test]
fn deadlines_resolve_against_now() {
    let plan = ok(
        "#GLOBUS stage-in cedar:/a ./a --deadline 36h\n#GLOBUS stage-in cedar:/b ./b --deadline 2030-02-01",
    );
    assert_eq!(
        plan.stage_in[0].options.deadline.unwrap().to_rfc3339(),
        "2030-01-02T12:00:00+00:00"
    );
    assert_eq!(
        plan.stage_in[1].options.deadline.unwrap().to_rfc3339(),
        "2030-02-01T00:00:00+00:00"
    );
    let err = plan_of("#GLOBUS stage-in cedar:/a ./a --deadline 2029-12-31").unwrap_err();
    assert!(matches!(
        err.errors().next().unwrap().kind,
        DiagnosticKind::DeadlinePast { .. }
    ));
}

#[test]
fn duplicate_destinations_are_errors_and_repeats_are_planned_once() {
    let err = plan_of("#GLOBUS stage-out ./a cedar:/out/r\n#GLOBUS stage-out ./b cedar:/out/r")
        .unwrap_err();
    let e = err.errors().next().unwrap();
    assert_eq!(
        e.kind,
        DiagnosticKind::DuplicateDestination {
            destination: "/out/r".to_owned(),
            first_line: 2
        }
    );
    let planned = plan_of("#GLOBUS stage-in cedar:/a ./a\n#GLOBUS stage-in cedar:/a ./a").unwrap();
    assert_eq!(planned.plan.stage_in[0].items.len(), 1);
    assert_eq!(planned.warnings.warnings().count(), 1);
}

#[test]
fn nothing_is_planned_when_anything_is_invalid() {
    let result = plan_of(
        "#GLOBUS stage-in cedar:/a ./a\n#GLOBUS stage-in cedar:/b ./b --sync-level bogus\n#GLOBUS stage-out ./c nowhere:/c",
    );
    let err = result.unwrap_err();
    assert_eq!(err.errors().count(), 2, "{err}");
    let directives =
        crate::directive::parse_all("#GLOBUS stage-in cedar:/a /nope", &ParseOptions::default())
            .directives;
    assert!(plan(&directives, &job(), &config()).is_err());
}

#[test]
fn no_cluster_collection_is_explained() {
    let cfg = Config::from_toml_str(
        "[collections.cedar]\nid = \"cccccccc-0000-0000-0000-000000000002\"\n",
        Path::new("u.toml"),
    )
    .unwrap();
    let err = plan_script(
        "#GLOBUS stage-in cedar:/a ./a",
        &ParseOptions::default(),
        &job(),
        &cfg,
    )
    .unwrap_err();
    assert!(matches!(
        err.errors().next().unwrap().kind,
        DiagnosticKind::NoClusterCollection
    ));
}

#[test]
fn plan_serializes_for_json_output() {
    let plan = ok("#GLOBUS stage-in cedar:/a ./a --sync-level checksum");
    let v = serde_json::to_value(&plan).unwrap();
    assert_eq!(v["stage_in"][0]["label"], "gstage grex 4242 in 1");
    assert_eq!(
        v["stage_in"][0]["source"]["id"],
        "cccccccc-0000-0000-0000-000000000002"
    );
    assert_eq!(v["stage_in"][0]["options"]["sync_level"], "checksum");
    assert_eq!(
        v["stage_in"][0]["items"][0]["destination_path"],
        "/home/alice/run/a"
    );
}
