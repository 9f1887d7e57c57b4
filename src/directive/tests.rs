//! The directive language, rule by rule.

use proptest::prelude::*;

use super::*;
use crate::options::{DeadlineSpec, Direction, FilterMethod, FilterRule, Notify, SyncLevel, When};

fn parse_one(line: &str) -> StageDirective {
    let script = format!("#!/bin/bash\n{line}\n");
    match parse(&script, &ParseOptions::default()) {
        Ok(mut d) if d.len() == 1 => match d.remove(0) {
            Directive::Stage(s) => *s,
            other => panic!("{line}: not a stage directive: {other:?}"),
        },
        Ok(d) => panic!("{line}: {} directives", d.len()),
        Err(e) => panic!("{line}: {e}"),
    }
}

fn errors(script: &str) -> Vec<Diagnostic> {
    match parse(script, &ParseOptions::default()) {
        Ok(_) => Vec::new(),
        Err(d) => d.errors().cloned().collect(),
    }
}

#[test]
fn verbs_and_aliases() {
    for (verb, direction) in [
        ("stage-in", Direction::In),
        ("stage_in", Direction::In),
        ("stage-out", Direction::Out),
        ("stage_out", Direction::Out),
    ] {
        let d = parse_one(&format!("#GLOBUS {verb} a b"));
        assert_eq!(d.direction, direction, "{verb}");
    }
    let parsed = parse(
        "#GLOBUS defaults --sync-level size\n",
        &ParseOptions::default(),
    )
    .unwrap();
    assert!(
        matches!(&parsed[..], [Directive::Defaults(d)] if d.settings.sync_level == Some(SyncLevel::Size))
    );
}

#[test]
fn locations_follow_rsyncs_rule() {
    // (word, remote name or None for a cluster path, path as written)
    let table: [(&str, Option<&str>, &str); 8] = [
        ("cedar:/project/x", Some("cedar"), "/project/x"),
        ("cedar:~/x", Some("cedar"), "~/x"),
        (
            "aaaaaaaa-0000-0000-0000-000000000001:/x",
            Some("aaaaaaaa-0000-0000-0000-000000000001"),
            "/x",
        ),
        ("./a:b", None, "./a:b"),
        ("/abs/a:b", None, "/abs/a:b"),
        ("input/", None, "input/"),
        ("'my dir/x'", None, "my dir/x"),
        ("cedar:/runs/%j/", Some("cedar"), "/runs/%j/"),
    ];
    for (word, remote, path) in table {
        let d = parse_one(&format!("#GLOBUS stage-in {word} ./dest"));
        match (&d.source, remote) {
            (Location::Remote { name, path: p, .. }, Some(want)) => {
                assert_eq!(name, want, "{word}");
                assert_eq!(p.to_string(), path, "{word}");
            }
            (Location::Cluster { path: p }, None) => assert_eq!(p.to_string(), path, "{word}"),
            (other, _) => panic!("{word}: {other:?}"),
        }
    }
    let d = parse_one("#GLOBUS stage-in aaaaaaaa-0000-0000-0000-000000000001:/x y");
    assert!(matches!(d.source, Location::Remote { id: Some(_), .. }));
}

#[test]
fn every_option_in_both_forms() {
    let d = parse_one(
        "#GLOBUS stage-in a b -r --sync-level=mtime --no-verify-checksum --preserve-mtime \
         --encrypt --label 'run %j' --deadline 2d --notify=failed,inactive --skip-source-errors \
         --fail-on-quota-errors --delete-destination-extra --include '*.dat' --exclude=* --optional",
    );
    let s = &d.settings;
    assert_eq!(d.recursive, Some(true));
    assert_eq!(s.sync_level, Some(SyncLevel::Mtime));
    assert_eq!(s.verify_checksum, Some(false));
    assert_eq!(s.preserve_mtime, Some(true));
    assert_eq!(s.encrypt, Some(true));
    assert_eq!(
        d.label.as_ref().map(ToString::to_string).as_deref(),
        Some("run %j")
    );
    assert_eq!(
        s.deadline,
        Some(DeadlineSpec::After(chrono::TimeDelta::days(2)))
    );
    assert_eq!(
        s.notify,
        Some(Notify {
            on_succeeded: false,
            on_failed: true,
            on_inactive: true
        })
    );
    assert_eq!(s.skip_source_errors, Some(true));
    assert_eq!(s.fail_on_quota_errors, Some(true));
    assert_eq!(s.delete_destination_extra, Some(true));
    assert_eq!(
        s.filters,
        vec![
            FilterRule {
                method: FilterMethod::Include,
                name: "*.dat".to_owned()
            },
            FilterRule {
                method: FilterMethod::Exclude,
                name: "*".to_owned()
            },
        ]
    );
    assert_eq!(s.optional, Some(true));

    let d = parse_one(
        "#GLOBUS stage-out a b --when=failure --external-checksum abc --checksum-algorithm sha256 \
         --verify-checksum -s checksum --preserve-timestamp --encrypt-data --no-recursive",
    );
    assert_eq!(d.settings.when, Some(When::Failure));
    assert_eq!(d.external_checksum.as_deref(), Some("abc"));
    assert_eq!(
        d.checksum_algorithm.as_ref().map(|a| a.as_str()),
        Some("SHA256")
    );
    assert_eq!(d.settings.verify_checksum, Some(true));
    assert_eq!(d.settings.sync_level, Some(SyncLevel::Checksum));
    assert_eq!(d.settings.preserve_mtime, Some(true));
    assert_eq!(d.settings.encrypt, Some(true));
    assert_eq!(d.recursive, Some(false));
}

#[test]
fn double_dash_ends_options() {
    let d = parse_one("#GLOBUS stage-in -r -- -odd-name dest");
    assert_eq!(d.source.path().to_string(), "-odd-name");
    assert_eq!(d.recursive, Some(true));
}

/// Each bad directive → (line, column, kind name). The script's directive is on line 2.
#[test]
fn errors_have_position_and_kind() {
    let table: [(&str, usize, &str); 22] = [
        ("#GLOBUS", 1, "MissingVerb"),
        ("#GLOBUS stage-inn a b", 9, "UnknownVerb"),
        ("#GLOBUS stage-in", 17, "MissingLocation"),
        ("#GLOBUS stage-in a", 19, "MissingLocation"),
        ("#GLOBUS stage-in a b c", 22, "UnexpectedArgument"),
        ("#GLOBUS stage-in '' b", 18, "EmptyLocation"),
        ("#GLOBUS stage-in :/x b", 18, "EmptyCollectionName"),
        ("#GLOBUS stage-in a b --recursiv", 22, "UnknownOption"),
        ("#GLOBUS stage-in a b --sync-level", 22, "MissingValue"),
        ("#GLOBUS stage-in a b --encrypt=yes", 22, "UnexpectedValue"),
        ("#GLOBUS stage-in a b --sync-level fast", 35, "InvalidValue"),
        (
            "#GLOBUS stage-in a b --notify sometimes",
            31,
            "InvalidValue",
        ),
        ("#GLOBUS stage-in a b --deadline soon", 33, "InvalidValue"),
        (
            "#GLOBUS stage-in a b --checksum-algorithm crc64 --external-checksum x",
            43,
            "InvalidValue",
        ),
        (
            "#GLOBUS stage-in a b --sync-level %x",
            35,
            "SymbolNotAllowed",
        ),
        ("#GLOBUS stage-out a b --optional", 23, "OptionNotAllowed"),
        ("#GLOBUS stage-in a b --when always", 22, "OptionNotAllowed"),
        ("#GLOBUS defaults --label x", 18, "OptionNotAllowed"),
        ("#GLOBUS stage-in a b -r -r", 25, "RepeatedOption"),
        (
            "#GLOBUS stage-in a b --verify-checksum --no-verify-checksum",
            40,
            "RepeatedOption",
        ),
        (
            "#GLOBUS stage-in a b -r --external-checksum x",
            25,
            "ConflictingOptions",
        ),
        (
            "#GLOBUS stage-in a b --checksum-algorithm md5",
            22,
            "AlgorithmWithoutChecksum",
        ),
    ];
    for (line, column, kind) in table {
        let script = format!("#!/bin/bash\n{line}\necho\n");
        let errs = errors(&script);
        let e = errs.first().unwrap_or_else(|| panic!("{line}: no error"));
        assert_eq!(
            (e.span.line, e.span.column),
            (2, column),
            "{line}: {:?}",
            e.kind
        );
        assert!(
            format!("{:?}", e.kind).starts_with(kind),
            "{line}: {:?}",
            e.kind
        );
        assert!(e.help.is_some(), "{line}: no help");
    }
}

#[test]
fn typos_get_suggestions() {
    let table = [
        ("#GLOBUS stage_inn a b", "did you mean `stage_in`?"),
        (
            "#GLOBUS stage-in a b --sync-levle size",
            "did you mean `--sync-level`?",
        ),
        (
            "#GLOBUS stage-in a b --sync-level chcksum",
            "did you mean `checksum`?",
        ),
        (
            "#GLOBUS stage-out a b --when alwyas",
            "did you mean `always`?",
        ),
        (
            "#GLOBUS stage-in a b --preserve-mtim",
            "did you mean `--preserve-mtime`?",
        ),
    ];
    for (line, help) in table {
        let errs = errors(line);
        let got = errs
            .first()
            .and_then(|e| e.help.clone())
            .unwrap_or_default();
        assert!(
            got.contains(help) || got.contains(&help.replace("stage_in", "stage-in")),
            "{line}: {got}"
        );
    }
}

#[test]
fn all_errors_are_reported_at_once() {
    let script = "#!/bin/bash\n#GLOBUS stage-in a b --bad\n#GLOBUS stage-out a\n#GLOBUS frob\n#GLOBUS stage-in a/$NOPE b\n";
    let lines: Vec<usize> = errors(script).iter().map(|e| e.span.line).collect();
    assert_eq!(lines, [2, 3, 4, 5]);
}

#[test]
fn misspelt_value_option_does_not_cascade() {
    let errs = errors("#GLOBUS stage-in a b --sync-levl checksum");
    assert_eq!(errs.len(), 1, "{errs:?}");
}

#[test]
fn rendering_shows_path_line_caret_and_help() {
    let script = "#!/bin/bash\n#GLOBUS stage-in a b --sync-level fast\n";
    let diags = parse(script, &ParseOptions::default()).unwrap_err();
    let shown = diags.render(script, "job.sh", false);
    assert!(
        shown.contains("error: invalid value `fast` for `--sync-level`"),
        "{shown}"
    );
    assert!(shown.contains("job.sh:2:35"), "{shown}");
    assert!(
        shown.contains("#GLOBUS stage-in a b --sync-level fast"),
        "{shown}"
    );
    assert!(shown.contains("^^^^"), "{shown}");
    assert!(shown.contains("help: expected one of"), "{shown}");
}

#[test]
fn a_custom_prefix_is_honoured() {
    let opts = ParseOptions {
        prefix: "#XFER".to_owned(),
    };
    let d = parse("#XFER stage-in a b\n#GLOBUS stage-in c d\n", &opts).unwrap();
    assert_eq!(d.len(), 1);
}

/// Lines close to valid directives, to reach deep into the parser.
fn near_valid_line() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("stage-in".to_owned()),
        Just("stage-out".to_owned()),
        Just("defaults".to_owned()),
        Just("cedar:/x/%j/".to_owned()),
        Just("./in/".to_owned()),
        Just("--sync-level".to_owned()),
        Just("--deadline=2d".to_owned()),
        Just("--notify".to_owned()),
        Just("-r".to_owned()),
        Just("--when".to_owned()),
        Just("--label".to_owned()),
        Just("\"a b".to_owned()),
        Just("'x'".to_owned()),
        Just("${HOME".to_owned()),
        Just("$USER".to_owned()),
        Just("\\".to_owned()),
        Just("%".to_owned()),
        Just("é:ü/ß".to_owned()),
        "[ -~]{0,12}".prop_map(|s| s),
    ];
    proptest::collection::vec(word, 0..8).prop_map(|w| format!("#GLOBUS {}", w.join(" ")))
}

fn check_positions(script: &str) {
    let parsed = parse_all(script, &ParseOptions::default());
    let lines = script.split('\n').count();
    for d in &parsed.diagnostics.0 {
        assert!(
            d.span.line >= 1 && d.span.line <= lines,
            "{d:?} in {script:?}"
        );
        assert!(d.span.column >= 1, "{d:?}");
        assert!(
            d.span.offset + d.span.len <= script.len(),
            "{d:?} in {script:?}"
        );
        assert!(
            script.is_char_boundary(d.span.offset),
            "{d:?} in {script:?}"
        );
    }
    let _ = parsed.diagnostics.render(script, "job.sh", false);
}

proptest! {
    // Case count: PROPTEST_CASES (proptest reads it); the CI default keeps the suite fast.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4000)
    ))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let script = String::from_utf8_lossy(&bytes);
        check_positions(&script);
    }

    #[test]
    fn near_valid_directives_never_panic(lines in proptest::collection::vec(near_valid_line(), 1..5)) {
        let script = lines.join("\n");
        check_positions(&script);
    }
}
