//! `gstage doctor` end to end: the binary against the Globus emulator, with a site config, a
//! token store and a Slurm whose commands are small scripts on `PATH` (so each broken setup is
//! exactly the one under test). A healthy setup passes every check; each broken one gives `✗`,
//! its fix and exit status 1.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use globus_emulator::{Collection, Config as EmuConfig, Emulator, EmulatorHandle, Identity};
use gstage::globus::TokenResponse;
use gstage::globus::scopes::transfer_scope_with_data_access;
use gstage::tokens::{StoredIdentity, StoredLogin, TokenStore};
use serde_json::Value;
use uuid::Uuid;

const ALICE: &str = "alice@umanitoba.ca";

/// How the fake Slurm is set up.
#[derive(Clone, Copy)]
struct SlurmSetup {
    directive: &'static str,
    lua: bool,
    slurm_user: &'static str,
    sudo_rule: bool,
}

const HEALTHY_SLURM: SlurmSetup = SlurmSetup {
    directive: "GLOBUS",
    lua: true,
    slurm_user: "root(0)",
    sudo_rule: true,
};

struct World {
    emu: EmulatorHandle,
    dir: tempfile::TempDir,
    client_id: Uuid,
    cedar: Uuid,
    grex: Uuid,
    secure: Uuid,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let (client_id, cedar, grex, secure) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    for d in [
        "cedar",
        "grex/home",
        "secure",
        "config",
        "local/home",
        "bin",
        "slurm",
    ] {
        std::fs::create_dir_all(dir.path().join(d)).expect("dirs");
    }
    let config = EmuConfig::new()
        .identity(Identity::new(ALICE).name("Alice Tremblay"))
        .native_client(client_id)
        .collection(Collection::new(
            cedar,
            "Alliance Cedar",
            dir.path().join("cedar"),
        ))
        .collection(Collection::new(grex, "Grex", dir.path().join("grex")))
        .collection(
            Collection::new(secure, "Grex HA", dir.path().join("secure"))
                .high_assurance(true)
                .required_domain("umanitoba.ca"),
        );
    let emu = Emulator::spawn(config).expect("the emulator starts");
    let w = World {
        emu,
        dir,
        client_id,
        cedar,
        grex,
        secure,
    };
    w.write_site(&w.emu.base_url(), &[("cedar", w.cedar)]);
    w.write_slurm(HEALTHY_SLURM);
    w
}

impl World {
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn store(&self) -> TokenStore {
        TokenStore::at(self.path("config/gstage/tokens.json"))
    }

    /// The site config, with `aliases` as `[collections.*]`.
    fn write_site(&self, transfer_url: &str, aliases: &[(&str, Uuid)]) {
        let mut site = format!(
            r#"[globus]
client_id = "{client}"
auth_url = "{auth}"
transfer_url = "{transfer_url}"

[cluster]
name = "grex"
collection = "{grex}"
paths = [ {{ local = "{local}", collection = "/home" }} ]
"#,
            client = self.client_id,
            auth = self.emu.base_url(),
            grex = self.grex,
            local = self.path("local/home").display(),
        );
        for (alias, id) in aliases {
            site.push_str(&format!("\n[collections.{alias}]\nid = \"{id}\"\n"));
        }
        std::fs::write(self.path("site.toml"), site).expect("site config");
    }

    /// `scontrol`, `sbatch` and `sudo` stand-ins, and the files next to "slurm.conf".
    fn write_slurm(&self, s: SlurmSetup) {
        let conf_dir = self.path("slurm");
        let script = |name: &str, body: &str| {
            let p = self.path("bin").join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}")).expect("script");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        };
        script("sbatch", "echo 'Submitted batch job 1'\n");
        script(
            "scontrol",
            &format!(
                r#"case "$1 $2" in
"show config") printf 'ClusterName             = grex\nBurstBufferType         = burst_buffer/lua\nPrologSlurmctld         = (null)\nSlurmUser               = {user}\nSLURM_CONF              = {conf}/slurm.conf\n' ;;
"show burst") printf 'Name=lua DefaultPool=(null) Granularity=1 TotalSpace=0\n' ;;
*) echo "scontrol: unexpected $*" >&2; exit 1 ;;
esac
"#,
                user = s.slurm_user,
                conf = conf_dir.display()
            ),
        );
        let rule = if s.sudo_rule {
            "    (ALL) NOPASSWD: /usr/bin/gstage hook *, /usr/bin/gstage bb *"
        } else {
            "    (ALL) NOPASSWD: /usr/bin/systemctl"
        };
        script(
            "sudo",
            &format!("printf 'User may run the following commands:\\n{rule}\\n'\n"),
        );
        std::fs::write(
            conf_dir.join("burst_buffer.conf"),
            format!("Directive={}\nFlags=TeardownFailure\n", s.directive),
        )
        .expect("burst_buffer.conf");
        let lua = conf_dir.join("burst_buffer.lua");
        if s.lua {
            let shipped = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("slurm/burst_buffer.lua"),
            )
            .expect("the shipped lua");
            let gstage = assert_cmd::cargo::cargo_bin!("gstage")
                .display()
                .to_string();
            std::fs::write(
                &lua,
                shipped.replace("\"/usr/bin/gstage\"", &format!("\"{gstage}\"")),
            )
            .expect("lua");
        } else {
            let _ = std::fs::remove_file(&lua);
        }
    }

    /// A login as `gstage login` would store it, consenting to `consents`.
    fn seed_login(&self, consents: &[Uuid]) -> StoredLogin {
        let ids: Vec<String> = consents.iter().map(ToString::to_string).collect();
        let scopes = format!(
            "openid profile email {}",
            transfer_scope_with_data_access(&ids)
        );
        let minted = self
            .emu
            .mint_tokens(ALICE, &scopes, Some(self.client_id))
            .expect("the emulator mints tokens");
        let resp: TokenResponse =
            serde_json::from_value(minted.response).expect("a token response");
        let mut login = StoredLogin::new(Some(self.client_id.to_string()));
        login.identity = Some(StoredIdentity {
            id: minted.identity_id.to_string(),
            username: Some(ALICE.to_owned()),
            name: None,
        });
        login.consented_collections = ids;
        for t in resp.into_stored(chrono::Utc::now().timestamp()) {
            login.tokens.insert(t.resource_server.clone(), t);
        }
        self.store().save(&login).expect("store saved");
        login
    }

    /// Runs `gstage doctor ARGS` with only this world's environment.
    fn doctor(&self, args: &[&str]) -> Output {
        Command::new(assert_cmd::cargo::cargo_bin!("gstage"))
            .arg("doctor")
            .args(args)
            .env_clear()
            .env("PATH", self.path("bin"))
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("GSTAGE_CONFIG", self.path("site.toml"))
            .output()
            .expect("gstage doctor runs")
    }

    /// The JSON report, checking that text and JSON agree on the exit status.
    fn report(&self) -> (i32, Vec<Value>) {
        let out = self.doctor(&["--format", "json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor prints JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let code = out.status.code().expect("an exit code");
        assert_eq!(v["ok"].as_bool(), Some(code == 0), "{v:#}");
        let checks = v["checks"].as_array().cloned().expect("checks");
        (code, checks)
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The check called `name`, or a failure listing them all.
#[track_caller]
fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {checks:#?}"))
}

/// Asserts that the check failed and that its fix says `fix`.
#[track_caller]
fn assert_fails(checks: &[Value], name: &str, fix: &str) {
    let c = check(checks, name);
    assert_eq!(c["ok"], false, "{c:#}");
    let shown = c["fix"].as_str().unwrap_or_default();
    assert!(
        shown.contains(fix),
        "fix of `{name}` should say `{fix}`: {c:#}"
    );
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    let out = w.doctor(&[]);
    let shown = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{shown}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!shown.contains('✗'), "{shown}");
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines.iter().filter(|l| l.starts_with('✓')).count() >= 15,
        "{shown}"
    );
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{shown}");
    assert!(shown.ends_with("checks passed\n"), "{shown}");
    let (code, checks) = w.report();
    assert_eq!(code, 0);
    for name in [
        "config",
        "globus client id",
        "cluster collection",
        "token store",
        "token refresh",
        "consents",
        "collection grex",
        "consent grex",
        "session grex",
        "collection cedar",
        "consent cedar",
        "session cedar",
        "sbatch",
        "scontrol",
        "slurmctld",
        "integration",
        "burst buffer plugin",
        "burst buffer directive",
        "burst_buffer.lua",
        "sudo rule",
    ] {
        assert_eq!(check(&checks, name)["ok"], true, "{name}");
    }
    let mapping = format!("path {} -> /home", w.path("local/home").display());
    assert_eq!(check(&checks, &mapping)["ok"], true, "{checks:#?}");
    assert!(
        check(&checks, "consents")["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`cedar`")
    );
}

#[test]
fn refresh_really_renews_and_keeps_the_store_private() {
    let w = world();
    let before = w.seed_login(&[w.cedar, w.grex]);
    let (code, _) = w.report();
    assert_eq!(code, 0);
    let after = w.store().load().expect("store").expect("login");
    assert_ne!(
        before.tokens["transfer.api.globus.org"].access_token,
        after.tokens["transfer.api.globus.org"].access_token,
        "doctor refreshed the Transfer token"
    );
    let mode = std::fs::metadata(w.store().path())
        .expect("store")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_store_others_can_read_is_refused_with_chmod() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    std::fs::set_permissions(w.store().path(), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let out = w.doctor(&[]);
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(shown.contains("✗ token store"), "{shown}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("checks failed"));
    let (_, checks) = w.report();
    assert_fails(
        &checks,
        "token store",
        &format!("chmod 600 {}", w.store().path().display()),
    );
}

#[test]
fn no_login_says_to_log_in() {
    let w = world();
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(&checks, "token store", "gstage login");
}

#[test]
fn a_revoked_login_fails_the_refresh() {
    let w = world();
    let login = w.seed_login(&[w.cedar, w.grex]);
    for t in login.tokens.values() {
        if let Some(r) = &t.refresh_token {
            w.emu.revoke_token(r.expose());
        }
    }
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(&checks, "token refresh", "gstage login");
}

#[test]
fn an_unknown_config_key_is_shown_with_its_fix() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    std::fs::create_dir_all(w.path("config/gstage")).expect("dir");
    std::fs::write(
        w.path("config/gstage/config.toml"),
        "[defaults]\nsync_levle = \"checksum\"\n",
    )
    .expect("user config");
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(&checks, "config", "did you mean `sync_level`?");
    let detail = check(&checks, "config")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("line 2") && detail.contains("unknown key `sync_levle`"),
        "{detail}"
    );
    // The token store is still checked.
    assert_eq!(check(&checks, "token store")["ok"], true);
}

#[test]
fn an_unknown_collection_and_an_unreachable_service_are_shown() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    let ghost = Uuid::new_v4();
    w.write_site(&w.emu.base_url(), &[("cedar", w.cedar), ("ghost", ghost)]);
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(&checks, "collection ghost", "[collections.ghost]");
    assert_eq!(check(&checks, "collection cedar")["ok"], true);

    // Nothing listens on the discard port.
    w.write_site("http://127.0.0.1:9", &[("cedar", w.cedar)]);
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(&checks, "collection cedar", "check the network");
    assert!(
        check(&checks, "collection cedar")["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot reach globus transfer")
    );
}

#[test]
fn an_unconsented_collection_names_the_login_command() {
    let w = world();
    w.seed_login(&[w.grex]);
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(&checks, "consent cedar", "gstage login --collection cedar");
    assert_eq!(check(&checks, "consent grex")["ok"], true);
    assert_eq!(check(&checks, "collection cedar")["ok"], true);
}

#[test]
fn a_high_assurance_collection_without_a_session_names_the_domain() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    w.write_site(
        &w.emu.base_url(),
        &[("cedar", w.cedar), ("secure", w.secure)],
    );
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(
        &checks,
        "session secure",
        "gstage login --domain umanitoba.ca",
    );
    assert_eq!(
        check(&checks, "consent secure")["ok"],
        true,
        "high assurance needs no consent"
    );
}

#[test]
fn a_missing_local_mapping_root_is_shown() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    std::fs::remove_dir(w.path("local/home")).expect("rmdir");
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    let mapping = format!("path {} -> /home", w.path("local/home").display());
    assert_fails(&checks, &mapping, "fix `paths` under `[cluster]`");
}

#[test]
fn a_misconfigured_burst_buffer_is_shown() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    w.write_slurm(SlurmSetup {
        directive: "BB_LUA",
        lua: false,
        ..HEALTHY_SLURM
    });
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(&checks, "burst buffer directive", "Directive=GLOBUS");
    assert_fails(&checks, "burst_buffer.lua", "slurm/install.sh");
    assert_eq!(check(&checks, "burst buffer plugin")["ok"], true);
}

#[test]
fn a_non_root_slurm_user_needs_the_sudo_rule() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    w.write_slurm(SlurmSetup {
        slurm_user: "slurm(64030)",
        sudo_rule: false,
        ..HEALTHY_SLURM
    });
    let (code, checks) = w.report();
    let sudo = check(&checks, "sudo rule");
    if nix::unistd::geteuid().is_root() {
        assert_eq!(code, 1);
        assert_fails(
            &checks,
            "sudo rule",
            "NOPASSWD: /usr/bin/gstage hook *, /usr/bin/gstage bb *",
        );
        w.write_slurm(SlurmSetup {
            slurm_user: "slurm(64030)",
            ..HEALTHY_SLURM
        });
        let (code, checks) = w.report();
        assert_eq!(code, 0, "{checks:#?}");
    } else {
        // Only root can list another user's sudo rights; the check says so.
        assert!(
            sudo["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("as root"),
            "{sudo:#}"
        );
    }
}

#[test]
fn without_slurm_commands_the_fix_names_the_module() {
    let w = world();
    w.seed_login(&[w.cedar, w.grex]);
    for p in ["sbatch", "scontrol"] {
        std::fs::remove_file(w.path("bin").join(p)).expect("rm");
    }
    let (code, checks) = w.report();
    assert_eq!(code, 1);
    assert_fails(&checks, "sbatch", "module load slurm");
    assert_fails(&checks, "scontrol", "module load slurm");
    // --no-slurm leaves them out: a host that only archives.
    let out = w.doctor(&["--no-slurm"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn quiet_shows_only_failures() {
    let w = world();
    w.seed_login(&[w.grex]);
    let out = w.doctor(&["-q"]);
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(shown.starts_with("✗ consent cedar"), "{shown}");
    assert!(!shown.contains('✓'), "{shown}");
}
