//! Every command documents itself: `--help` shows an example, and the shell completions and
//! manual pages are generated from the same clap definitions, so a new command is covered
//! without anyone remembering to.

use std::process::Command;

use clap::CommandFactory;
use gstage::cli::Cli;

fn gstage(args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin!("gstage"))
        .args(args)
        .output()
        .expect("gstage runs")
}

/// Every command's path (`gstage`, `gstage check`, …), walking the whole tree.
fn all_commands() -> Vec<(String, clap::Command)> {
    fn walk(prefix: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        let name = if prefix.is_empty() {
            cmd.get_name().to_owned()
        } else {
            format!("{prefix} {}", cmd.get_name())
        };
        out.push((name.clone(), cmd.clone()));
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(&name, sub, out);
        }
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk("", &cmd, &mut out);
    out
}

#[test]
fn every_command_has_an_example_in_its_help() {
    let commands = all_commands();
    assert!(
        commands.len() > 5,
        "the tree was walked: {}",
        commands.len()
    );
    let missing: Vec<&str> = commands
        .iter()
        .filter(|(_, c)| {
            !c.get_after_help()
                .is_some_and(|h| h.to_string().contains("Example"))
        })
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "these commands have no `after_help` with an Example: {missing:?}"
    );
}

#[test]
fn help_text_shows_the_example() {
    for (name, _) in all_commands() {
        let mut args: Vec<&str> = name.split(' ').skip(1).collect();
        args.push("--help");
        let out = gstage(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "`{name} --help` failed");
        assert!(text.contains("Example"), "`{name} --help`:\n{text}");
    }
}

#[test]
fn completions_name_every_command_for_each_shell() {
    let commands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for shell in ["bash", "zsh", "fish"] {
        let out = gstage(&["completions", shell]);
        assert!(out.status.success(), "completions {shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        for c in &commands {
            assert!(
                script.contains(c.as_str()),
                "{shell} completion lacks `{c}`"
            );
        }
    }
    let bash = String::from_utf8_lossy(&gstage(&["completions", "bash"]).stdout).into_owned();
    assert!(
        bash.contains("complete -F"),
        "a bash completion function is registered"
    );
}

#[test]
fn man_writes_one_page_per_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = gstage(&["man", "--dir", &dir.path().display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, _) in all_commands() {
        let page = dir.path().join(format!("{}.1", name.replace(' ', "-")));
        let text = std::fs::read_to_string(&page)
            .unwrap_or_else(|e| panic!("no page `{}`: {e}", page.display()));
        assert!(text.starts_with(".ie"), "{} is roff", page.display());
        assert!(
            text.contains("Example"),
            "{} shows the example",
            page.display()
        );
    }
    let stdout = gstage(&["man"]);
    assert!(String::from_utf8_lossy(&stdout.stdout).contains(".TH gstage 1"));
}
