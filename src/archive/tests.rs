use super::*;
use crate::options::When;

fn ctx(job_id: u64) -> JobContext {
    JobContext {
        job_id,
        array_job_id: None,
        array_task_id: None,
        user: "alice".into(),
        job_name: "simulate".into(),
        work_dir: "/home/alice/run".into(),
        submit_dir: "/home/alice/run".into(),
        cluster_name: None,
        home: None,
        now: chrono::Utc::now(),
    }
}

#[test]
fn keys_are_checked_with_the_reason() {
    for good in ["nightly-2026-11-28", "job-4242", "a", "v1.2_final"] {
        assert_eq!(Key::new(good).expect(good).as_str(), good);
    }
    for (bad, why) in [
        ("", "is empty"),
        ("nightly 1", "holds ' '"),
        ("a/b", "holds `/`"),
        ("a,b", "holds `,`"),
        ("-x", "does not start"),
        ("20261128", "all digits"),
        ("1f7c2a5e-0a39-11ef-8e5b-4b3c2d1e0f9a", "is a UUID"),
    ] {
        let err = Key::new(bad).expect_err(bad).to_string();
        assert!(err.contains(why), "{bad}: {err}");
        assert!(err.contains("such as `nightly-2026-11-28`"), "{err}");
    }
    let long = "k".repeat(MAX_KEY_CHARS + 1);
    assert!(Key::new(&long).is_err());
}

#[test]
fn key_symbols_expand_from_the_job_and_need_one() {
    let key = expand_key("job-%j-%u", &ctx(4242), true).expect("in a job");
    assert_eq!(key.as_str(), "job-4242-alice");
    let err = expand_key("job-%j", &ctx(0), false).expect_err("outside a job");
    assert!(matches!(err, Error::KeyNeedsJob { .. }), "{err}");
    assert!(err.to_string().contains("`%j`"));
    assert_eq!(
        expand_key("by-%u", &ctx(0), false).expect("user").as_str(),
        "by-alice"
    );
    assert!(expand_key("dir-%d", &ctx(1), true).is_err());
    assert!(expand_key("end-%", &ctx(1), true).is_err());
}

#[test]
fn command_line_words_become_one_directive() {
    let words: Vec<String> = ["./my results/", "cedar:/a/it's$/%j/", "--exclude", "*.tmp"]
        .map(str::to_owned)
        .to_vec();
    let line = directive_line("stage-out", &words).expect("line");
    assert_eq!(
        line,
        r"#GLOBUS stage-out ./my\ results/ cedar:/a/it\'s\$/%j/ --exclude *.tmp"
    );
    let parsed = crate::directive::parse(&line, &Default::default()).expect("parses");
    let crate::directive::Directive::Stage(s) = &parsed[0] else {
        panic!("a stage directive")
    };
    assert_eq!(s.source.path().literal().as_deref(), Some("./my results/"));
    assert!(directive_line("stage-out", &["a\nb".to_owned()]).is_err());
}

#[test]
fn batch_files_keep_their_line_numbers_and_comments() {
    let batch = "# nightly pairs\n\n./a/ cedar:/x/a/\n  ./b/ cedar:/x/b/ -r\r\n#GLOBUS stage-out never read\n";
    let script = batch_script(batch, &["--sync-level".into(), "checksum".into()]).expect("script");
    let lines: Vec<&str> = script.lines().collect();
    assert_eq!(lines[0], "#");
    assert_eq!(lines[1], "");
    assert_eq!(
        lines[2],
        "#GLOBUS stage-out --sync-level checksum ./a/ cedar:/x/a/"
    );
    assert_eq!(
        lines[3],
        "#GLOBUS stage-out --sync-level checksum ./b/ cedar:/x/b/ -r"
    );
    assert_eq!(lines[4], "#");
    let parsed = crate::directive::parse(&script, &Default::default()).expect("parses");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[1].span().line, 4);
}

#[test]
fn labels_carry_key_number_and_fingerprint_within_the_rules() {
    let key = Key::new("nightly-2026-11-28").expect("key");
    let l = label(&key, 1, "0123456789", None);
    assert_eq!(l, "gstage transfer nightly-2026-11-28 1 0123456789");
    let parts = parse_label(&l).expect("read back");
    assert_eq!(
        (parts.key.as_str(), parts.seq, parts.fingerprint.as_str()),
        ("nightly-2026-11-28", 1, "0123456789")
    );
    let long_key = Key::new(&"k".repeat(MAX_KEY_CHARS)).expect("longest key");
    let l = label(&long_key, 999, "0123456789", Some(&"x ".repeat(100)));
    assert!(l.chars().count() <= MAX_LABEL_CHARS, "{l}");
    assert_eq!(l, l.trim());
    let parts = parse_label(&l).expect("the key survives a cut user label");
    assert_eq!(parts.seq, 999);
    assert!(l.starts_with(&long_key.label_prefix()));
    for other in [
        "gstage grex 42 in 1",
        "gstage transfer",
        "gstage transfer a/b 1 f",
    ] {
        assert_eq!(parse_label(other), None, "{other}");
    }
}

fn planned(script: &str) -> Plan {
    let config = crate::config::Config::from_toml_str(
        r#"
[cluster]
name = "grex"
collection = "11111111-1111-4111-8111-111111111111"
paths = [ { local = "/home", collection = "/home" } ]

[collections.cedar]
id = "22222222-2222-4222-8222-222222222222"
display_name = "Alliance Cedar"
"#,
        std::path::Path::new("site.toml"),
    )
    .expect("config");
    crate::plan::plan_script(script, &Default::default(), &ctx(0), &config)
        .expect("plans")
        .plan
}

#[test]
fn the_fingerprint_follows_the_data_not_the_options() {
    let base = planned("#GLOBUS stage-out ./out/ cedar:/x/ --exclude *.tmp\n");
    let key = Key::new("k1").expect("key");
    let run = run_of(base.clone(), key.clone(), true).expect("run");
    assert_eq!(run.tasks.len(), 1);
    assert!(run.tasks[0].label.starts_with("gstage transfer k1 1 "));
    let same = planned("#GLOBUS stage-out ./out/ cedar:/x/ --exclude *.tmp --notify off\n");
    assert_eq!(fingerprint(&same.stage_out), run.fingerprint);
    for other in [
        "#GLOBUS stage-out ./out/ cedar:/y/ --exclude *.tmp\n",
        "#GLOBUS stage-out ./out/ cedar:/x/\n",
        "#GLOBUS stage-out ./other/ cedar:/x/ --exclude *.tmp\n",
    ] {
        assert_ne!(
            fingerprint(&planned(other).stage_out),
            run.fingerprint,
            "{other}"
        );
    }
    let when = planned("#GLOBUS stage-out ./out/ cedar:/x/ --when success\n");
    let err = run_of(when, key, true).expect_err("no job outcome");
    assert!(
        matches!(
            err,
            Error::WhenOutsideJob {
                when: When::Success
            }
        ),
        "{err}"
    );
}
