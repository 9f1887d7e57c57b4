//! Slurm checks: the client commands are there, the controller answers, and whichever
//! integration the site chose is complete (burst buffer: plugin loaded with gstage's directive,
//! gstage's lua in place; controller hooks: the wrappers in place), with the sudo rule a
//! non-root SlurmUser needs. Parsing is pure; running the commands is at the edge.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::CheckResult;
use crate::env;

/// The sudo rule the docs give, for a fix message.
const SUDO_RULE: &str =
    "SLURMUSER ALL=(ALL) NOPASSWD: /usr/bin/gstage hook *, /usr/bin/gstage bb *";

/// `Key = value` lines of `scontrol show config`.
pub fn parse_show_config(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(" = ").or_else(|| l.split_once('=')))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty() && !k.contains(' '))
        .collect()
}

/// A value Slurm prints for "not set".
fn unset(v: Option<&String>) -> Option<&str> {
    v.map(String::as_str)
        .filter(|v| !v.is_empty() && *v != "(null)" && *v != "none")
}

/// The user name in `SlurmUser = slurm(64030)`.
pub fn slurm_user(config: &BTreeMap<String, String>) -> Option<String> {
    let v = unset(config.get("SlurmUser"))?;
    Some(v.split('(').next().unwrap_or(v).trim().to_owned())
}

/// `Directive=` of a burst_buffer.conf (keys are case-insensitive; `#` starts a comment).
pub fn bb_directive(conf: &str) -> Option<String> {
    conf.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("Directive"))
        .map(|(_, v)| v.trim().to_owned())
}

/// The gstage path in a lua or hook wrapper's settings block (`local GSTAGE = "…"` or
/// `GSTAGE=…`).
pub fn gstage_setting(script: &str) -> Option<String> {
    script.lines().find_map(|l| {
        let l = l.trim();
        let v = l
            .strip_prefix("local GSTAGE =")
            .or_else(|| l.strip_prefix("GSTAGE="))?;
        Some(v.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// A program's full path, searched in `PATH` as the shell would.
fn which(program: &str, process_env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let path = process_env.get(env::PATH)?;
    std::env::split_paths(path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs a program with only `PATH` and `SLURM_CONF` from the environment (no credentials reach
/// it); its stdout, or a one-line reason.
fn run(
    program: &Path,
    args: &[&str],
    process_env: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear();
    for k in [env::PATH, env::SLURM_CONF] {
        if let Some(v) = process_env.get(k) {
            cmd.env(k, v);
        }
    }
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let line = err
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message");
            Err(format!(
                "exit {}: {}",
                o.status.code().unwrap_or(-1),
                line.trim()
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// How the site stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    BurstBuffer,
    Hooks,
    Wrapper,
}

/// Runs every Slurm check. `prefix` is the configured directive prefix (`#GLOBUS`).
pub fn check(process_env: &BTreeMap<String, String>, prefix: &str, out: &mut Vec<CheckResult>) {
    for program in ["sbatch", "scontrol"] {
        match which(program, process_env) {
            Some(p) => out.push(CheckResult::pass(program, format!("`{}`", p.display()))),
            None => out.push(CheckResult::fail(
                program,
                format!("`{program}` is not on `PATH`"),
                "install the Slurm client commands, or load their module (`module load slurm`)",
            )),
        }
    }
    let Some(scontrol) = which("scontrol", process_env) else {
        return;
    };
    let config = match run(&scontrol, &["show", "config"], process_env) {
        Ok(text) => parse_show_config(&text),
        Err(e) => {
            out.push(CheckResult::fail(
                "slurmctld",
                format!("`scontrol show config` failed ({e})"),
                "check that slurmctld is up (`scontrol ping`) and that `SLURM_CONF` names this cluster's slurm.conf",
            ));
            return;
        }
    };
    out.push(CheckResult::pass(
        "slurmctld",
        format!(
            "cluster `{}` answers",
            unset(config.get("ClusterName")).unwrap_or("unnamed")
        ),
    ));
    let conf_dir = unset(config.get("SLURM_CONF"))
        .map(PathBuf::from)
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/etc/slurm"));
    let bb = unset(config.get("BurstBufferType")).is_some_and(|t| t.contains("lua"));
    let hooks: Vec<(&str, &str)> = ["PrologSlurmctld", "EpilogSlurmctld"]
        .into_iter()
        .filter_map(|k| unset(config.get(k)).map(|v| (k, v)))
        .collect();
    let mode = if bb {
        Mode::BurstBuffer
    } else if !hooks.is_empty() {
        Mode::Hooks
    } else {
        Mode::Wrapper
    };
    match mode {
        Mode::BurstBuffer => {
            out.push(CheckResult::pass(
                "integration",
                "burst buffer (`BurstBufferType=burst_buffer/lua`)",
            ));
            check_burst_buffer(&scontrol, &conf_dir, prefix, process_env, out);
        }
        Mode::Hooks => {
            out.push(CheckResult::pass(
                "integration",
                "controller hooks (`PrologSlurmctld`/`EpilogSlurmctld`)",
            ));
            for (key, path) in hooks {
                out.push(check_script(
                    key,
                    Path::new(path),
                    &format!("set `{key}` in slurm.conf to gstage's wrapper (see docs/admin.md)"),
                ));
            }
        }
        Mode::Wrapper => out.push(CheckResult::pass(
            "integration",
            "none configured in Slurm: jobs are staged with `gstage sbatch` (wrapper mode)",
        )),
    }
    if mode != Mode::Wrapper {
        out.push(check_sudo(&config, mode, process_env));
    }
}

fn check_burst_buffer(
    scontrol: &Path,
    conf_dir: &Path,
    prefix: &str,
    process_env: &BTreeMap<String, String>,
    out: &mut Vec<CheckResult>,
) {
    match run(scontrol, &["show", "burst"], process_env) {
        Ok(text) if text.contains("Name=lua") => {
            out.push(CheckResult::pass("burst buffer plugin", "slurmctld has loaded burst_buffer/lua"));
        }
        Ok(_) | Err(_) => out.push(CheckResult::fail(
            "burst buffer plugin",
            "`scontrol show burst` lists no lua burst buffer",
            "restart slurmctld after setting `BurstBufferType=burst_buffer/lua`, and see its log for why the plugin did not load",
        )),
    }
    let want = prefix.trim_start_matches('#');
    let conf = conf_dir.join("burst_buffer.conf");
    match std::fs::read_to_string(&conf) {
        Ok(text) => match bb_directive(&text) {
            Some(d) if d == want => out.push(CheckResult::pass(
                "burst buffer directive",
                format!("`Directive={d}` in `{}`", conf.display()),
            )),
            Some(d) => out.push(CheckResult::fail(
                "burst buffer directive",
                format!(
                    "`Directive={d}` in `{}`, but job scripts use `{prefix}`",
                    conf.display()
                ),
                format!(
                    "set `Directive={want}` in `{}` and restart slurmctld",
                    conf.display()
                ),
            )),
            None => out.push(CheckResult::fail(
                "burst buffer directive",
                format!(
                    "`{}` sets no `Directive`, so Slurm reads `#BB_LUA` lines, not `{prefix}`",
                    conf.display()
                ),
                format!(
                    "add `Directive={want}` to `{}` and restart slurmctld",
                    conf.display()
                ),
            )),
        },
        Err(e) => out.push(CheckResult::fail(
            "burst buffer directive",
            format!("cannot read `{}`: {e}", conf.display()),
            format!(
                "install `{}` from slurm/burst_buffer.conf.example (or run slurm/install.sh)",
                conf.display()
            ),
        )),
    }
    out.push(check_script(
        "burst_buffer.lua",
        &conf_dir.join("burst_buffer.lua"),
        "install gstage's slurm/burst_buffer.lua next to slurm.conf (slurm/install.sh does it)",
    ));
}

/// A lua or hook wrapper is gstage's, and the gstage it names exists.
fn check_script(name: &str, path: &Path, fix: &str) -> CheckResult {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return CheckResult::fail(name, format!("cannot read `{}`: {e}", path.display()), fix);
        }
    };
    let Some(gstage) = gstage_setting(&text) else {
        return CheckResult::fail(
            name,
            format!(
                "`{}` is not gstage's (it has no GSTAGE setting)",
                path.display()
            ),
            fix,
        );
    };
    if is_executable(Path::new(&gstage)) {
        CheckResult::pass(name, format!("`{}` runs `{gstage}`", path.display()))
    } else {
        CheckResult::fail(
            name,
            format!(
                "`{}` runs `{gstage}`, which is not an executable file",
                path.display()
            ),
            format!(
                "set `GSTAGE` in the settings block of `{}` to where gstage is installed",
                path.display()
            ),
        )
    }
}

/// A non-root SlurmUser needs sudo to act as the job's owner.
fn check_sudo(
    config: &BTreeMap<String, String>,
    mode: Mode,
    process_env: &BTreeMap<String, String>,
) -> CheckResult {
    let user = slurm_user(config).unwrap_or_else(|| "root".to_owned());
    if user == "root" {
        return CheckResult::pass("sudo rule", "SlurmUser is root: no sudo rule is needed");
    }
    let fix = format!(
        "add `{}` to `/etc/sudoers.d/gstage` (check it with `visudo -c`)",
        SUDO_RULE.replace("SLURMUSER", &user)
    );
    if !nix::unistd::geteuid().is_root() {
        return CheckResult::pass(
            "sudo rule",
            format!(
                "SlurmUser is `{user}`; not checked (run `gstage doctor` as root to check the rule)"
            ),
        );
    }
    let Some(sudo) = which("sudo", process_env) else {
        return CheckResult::fail(
            "sudo rule",
            format!("SlurmUser is `{user}` but `sudo` is not installed"),
            fix,
        );
    };
    let word = match mode {
        Mode::BurstBuffer => "gstage bb",
        Mode::Hooks | Mode::Wrapper => "gstage hook",
    };
    match run(&sudo, &["-n", "-l", "-U", &user], process_env) {
        Ok(listing)
            if listing
                .lines()
                .any(|l| l.contains("NOPASSWD") && l.contains(word)) =>
        {
            CheckResult::pass(
                "sudo rule",
                format!("`{user}` may run `{word} …` as any user"),
            )
        }
        Ok(_) | Err(_) => CheckResult::fail(
            "sudo rule",
            format!("SlurmUser `{user}` may not run `{word} …` through sudo without a password"),
            fix,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scontrol_show_config() {
        let text = "Configuration data as of 2026-01-01T00:00:00\nBurstBufferType         = burst_buffer/lua\nClusterName             = grex\nPrologSlurmctld         = (null)\nSlurmUser               = slurm(64030)\nSLURM_CONF              = /etc/slurm/slurm.conf\n";
        let c = parse_show_config(text);
        assert_eq!(
            c.get("BurstBufferType").map(String::as_str),
            Some("burst_buffer/lua")
        );
        assert_eq!(unset(c.get("PrologSlurmctld")), None);
        assert_eq!(slurm_user(&c).as_deref(), Some("slurm"));
        assert_eq!(
            c.get("SLURM_CONF").map(String::as_str),
            Some("/etc/slurm/slurm.conf")
        );
    }

    #[test]
    fn reads_the_directive_and_the_gstage_setting() {
        assert_eq!(
            bb_directive("# x\ndirective=GLOBUS # ours\nFlags=TeardownFailure\n").as_deref(),
            Some("GLOBUS")
        );
        assert_eq!(bb_directive("Flags=TeardownFailure\n"), None);
        assert_eq!(
            gstage_setting("-- >>> settings\nlocal GSTAGE = \"/usr/bin/gstage\"\n").as_deref(),
            Some("/usr/bin/gstage")
        );
        assert_eq!(
            gstage_setting("GSTAGE=/opt/gstage/bin/gstage\n").as_deref(),
            Some("/opt/gstage/bin/gstage")
        );
        assert_eq!(gstage_setting("nothing here"), None);
    }
}
