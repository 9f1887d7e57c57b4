//! Identity end to end: `gstage login`, `whoami` and `logout` run as processes against the
//! Globus emulator, the token store under concurrency and crashes, and the client's retry and
//! error rules against injected faults.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use globus_emulator::{
    Collection, Config as EmuConfig, Emulator, EmulatorHandle, Fault, FaultRule, Identity,
};
use gstage::globus::scopes::{
    AUTH_RESOURCE_SERVER, TRANSFER_RESOURCE_SERVER, transfer_scope_with_data_access,
};
use gstage::globus::{
    Action, Credentials, GlobusClient, RetryPolicy, TokenResponse, TransferDocument, TransferItem,
};
use gstage::tokens::{StoredLogin, TokenStore};
use uuid::Uuid;

const ALICE: &str = "alice@umanitoba.ca";

/// One emulated Globus, a site config pointing at it and a private config home.
struct World {
    emu: EmulatorHandle,
    dir: tempfile::TempDir,
    client_id: Uuid,
    cedar: Uuid,
    grex: Uuid,
}

fn world(rotate: bool, expires_in: u64) -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let client_id = Uuid::new_v4();
    let cedar = Uuid::new_v4();
    let grex = Uuid::new_v4();
    for d in ["cedar", "grex", "config"] {
        std::fs::create_dir_all(dir.path().join(d)).expect("dirs");
    }
    std::fs::write(dir.path().join("cedar/input.dat"), b"data").expect("file");
    let config = EmuConfig::new()
        .identity(Identity::new(ALICE).name("Alice Tremblay"))
        .native_client(client_id)
        .collection(Collection::new(
            cedar,
            "Alliance Cedar",
            dir.path().join("cedar"),
        ))
        .collection(
            Collection::new(grex, "Grex", dir.path().join("grex"))
                .high_assurance(true)
                .required_domain("umanitoba.ca"),
        )
        .rotate_refresh_tokens(rotate)
        .expires_in(expires_in);
    let emu = Emulator::spawn(config).expect("the emulator starts");
    let site = format!(
        r#"[globus]
client_id = "{client_id}"
auth_url = "{base}"
transfer_url = "{base}"

[cluster]
name = "grex"
collection = "{grex}"

[collections.cedar]
id = "{cedar}"
display_name = "Alliance Cedar"
"#,
        base = emu.base_url()
    );
    std::fs::write(dir.path().join("site.toml"), site).expect("site config");
    World {
        emu,
        dir,
        client_id,
        cedar,
        grex,
    }
}

impl World {
    fn config_home(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn store(&self) -> TokenStore {
        TokenStore::at(self.config_home().join("gstage/tokens.json"))
    }

    /// `gstage` with a clean environment: this world's config and home, nothing inherited
    /// (no proxy, no client credentials).
    fn gstage(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("gstage"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("GSTAGE_CONFIG", self.dir.path().join("site.toml"))
            .env("GSTAGE_AUTH_URL", self.emu.base_url())
            .env("GSTAGE_TRANSFER_URL", self.emu.base_url());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.gstage(args).output().expect("gstage runs")
    }

    /// Stores a login as `gstage login` would, minted directly by the emulator; with
    /// `expired`, every access token needs a refresh before use.
    fn seed_login(&self, expired: bool) -> StoredLogin {
        let scopes = format!(
            "openid profile email {}",
            transfer_scope_with_data_access(&[self.cedar.to_string()])
        );
        let minted = self
            .emu
            .mint_tokens(ALICE, &scopes, Some(self.client_id))
            .expect("the emulator mints tokens");
        let resp: TokenResponse =
            serde_json::from_value(minted.response).expect("a token response");
        let now = chrono::Utc::now().timestamp();
        let mut login = StoredLogin::new(Some(self.client_id.to_string()));
        login.consented_collections = vec![self.cedar.to_string()];
        for mut t in resp.into_stored(now) {
            if expired {
                t.expires_at_seconds = now - 10;
            }
            login.tokens.insert(t.resource_server.clone(), t);
        }
        self.store().save(&login).expect("store saved");
        login
    }

    fn load(&self) -> StoredLogin {
        self.store()
            .load()
            .expect("the store reads")
            .expect("a store exists")
    }

    fn requests_to(&self, path: &str) -> usize {
        self.emu
            .requests()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    fn client(&self, credentials: Credentials) -> GlobusClient {
        GlobusClient::builder()
            .auth_url(self.emu.base_url())
            .transfer_url(self.emu.base_url())
            .client_id(self.client_id.to_string())
            .collection_names(
                [(
                    self.cedar.to_string(),
                    gstage::globus::CollectionName {
                        alias: Some("cedar".into()),
                        display_name: Some("Alliance Cedar".into()),
                    },
                )]
                .into_iter()
                .collect(),
            )
            .credentials(credentials)
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client builds")
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// GETs a URL without following redirects and returns the `Location` header.
fn location_of(url: &str) -> String {
    rt().block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .expect("http client");
        let resp = http
            .get(url)
            .send()
            .await
            .expect("the authorize URL answers");
        assert_eq!(resp.status().as_u16(), 302, "authorize should redirect");
        resp.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("a Location header")
            .to_string()
    })
}

fn query(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A running `gstage login` whose printed URL has been read.
struct LoginRun {
    child: Child,
    url: url::Url,
    stderr: std::thread::JoinHandle<String>,
}

fn start_login(w: &World, args: &[&str], envs: &[(&str, &str)]) -> LoginRun {
    let mut cmd = w.gstage(args);
    cmd.envs(envs.iter().copied());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gstage login starts");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        if err.read_line(&mut line).expect("stderr reads") == 0 {
            panic!("gstage login printed no URL; stderr was:\n{seen}");
        }
        seen.push_str(&line);
        if line.starts_with("http") {
            break url::Url::parse(line.trim()).expect("the printed URL parses");
        }
    };
    let stderr = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        seen + &rest
    });
    LoginRun { child, url, stderr }
}

impl LoginRun {
    fn finish(mut self, pasted: Option<&str>) -> (i32, String, String) {
        if let Some(code) = pasted {
            let mut stdin = self.child.stdin.take().expect("stdin");
            writeln!(stdin, "{code}").expect("code written");
        }
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("stdout reads");
        let status = self.child.wait().expect("gstage login ends");
        let err = self.stderr.join().expect("stderr thread");
        (status.code().unwrap_or(-1), out, err)
    }
}

/// Logs in headless: reads the URL gstage prints, lets the emulator approve it, pastes the code.
fn headless_login(
    w: &World,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (url::Url, String, i32, String, String) {
    let run = start_login(w, args, envs);
    let url = run.url.clone();
    let loc = url::Url::parse(&location_of(url.as_str())).expect("Location is a URL");
    let code = query(&loc, "code").expect("a code in the redirect");
    let (status, out, err) = run.finish(Some(&code));
    (url, code, status, out, err)
}

#[test]
fn login_headless_stores_refreshable_tokens_and_asks_consents_it_learns_about() {
    let w = world(false, 172_800);
    let login_args = ["login"];
    let (url, _code, status, out, err) = headless_login(&w, &login_args, &[]);
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(url.path(), "/v2/oauth2/authorize");
    assert_eq!(query(&url, "client_id"), Some(w.client_id.to_string()));
    assert_eq!(query(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(
        query(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(query(&url, "access_type").as_deref(), Some("offline"));
    assert_eq!(
        query(&url, "redirect_uri"),
        Some(format!("{}/v2/web/auth-code", w.emu.base_url()))
    );
    let challenge = query(&url, "code_challenge").expect("a challenge");
    assert_eq!(challenge.len(), 43);
    let scope = query(&url, "scope").expect("scopes");
    for s in [
        "openid",
        "profile",
        "email",
        "urn:globus:auth:scope:transfer.api.globus.org:all",
    ] {
        assert!(
            scope.split(' ').any(|w| w.starts_with(s)),
            "{s} missing from {scope}"
        );
    }
    assert!(
        !scope.contains("data_access"),
        "nothing is known before the first login: {scope}"
    );
    assert!(query(&url, "prompt").is_none());
    assert!(out.contains(&format!("logged in as `{ALICE}`")), "{out}");
    // Once logged in, gstage can ask Transfer and finds cedar needs a consent (grex, high
    // assurance, does not).
    assert!(err.contains("`gstage login --collection cedar`"), "{err}");

    let store = w.load();
    assert_eq!(store.client_id, Some(w.client_id.to_string()));
    assert_eq!(
        store.identity.as_ref().map(|i| i.username.clone()),
        Some(Some(ALICE.into()))
    );
    for rs in [AUTH_RESOURCE_SERVER, TRANSFER_RESOURCE_SERVER] {
        let t = store.tokens.get(rs).expect("a token per resource server");
        assert!(t.refresh_token.is_some(), "{rs} is refreshable");
        assert!(t.is_fresh(chrono::Utc::now().timestamp()));
    }
    let mode = std::fs::metadata(w.store().path())
        .expect("store")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The second login knows, and asks for cedar's data_access but not grex's.
    let (url, _, status, out, err) = headless_login(&w, &login_args, &[]);
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    let scope = query(&url, "scope").expect("scopes");
    assert!(
        scope.contains(&format!(
            "*https://auth.globus.org/scopes/{}/data_access",
            w.cedar
        )),
        "{scope}"
    );
    assert!(!scope.contains(&w.grex.to_string()), "{scope}");
    assert_eq!(w.load().consented_collections, vec![w.cedar.to_string()]);
}

#[test]
fn login_with_session_requirements_asks_for_a_fresh_login() {
    let w = world(false, 172_800);
    let (url, _, status, out, err) = headless_login(
        &w,
        &[
            "login",
            "--domain",
            "umanitoba.ca",
            "--mfa",
            "--collection",
            "cedar",
        ],
        &[],
    );
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        query(&url, "session_required_single_domain").as_deref(),
        Some("umanitoba.ca")
    );
    assert_eq!(query(&url, "session_required_mfa").as_deref(), Some("true"));
    assert_eq!(query(&url, "prompt").as_deref(), Some("login"));
    let scope = query(&url, "scope").expect("scopes");
    assert!(
        scope.contains(&format!("{}/data_access", w.cedar)),
        "{scope}"
    );
}

#[test]
fn login_refuses_an_unknown_collection_with_a_suggestion() {
    let w = world(false, 172_800);
    let out = w.run(&["login", "--collection", "ceder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean `cedar`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn login_through_a_loopback_redirect() {
    let w = world(false, 172_800);
    let run = start_login(&w, &["login", "--loopback"], &[]);
    let redirect = query(&run.url, "redirect_uri").expect("redirect_uri");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let loc = location_of(run.url.as_str());
    assert!(loc.starts_with(&redirect), "{loc}");
    // The browser follows the redirect to gstage's listener.
    rt().block_on(async {
        let http = reqwest::Client::builder().no_proxy().build().expect("http");
        let resp = http.get(&loc).send().await.expect("the listener answers");
        assert_eq!(resp.status().as_u16(), 200);
    });
    let (status, out, err) = run.finish(None);
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(w.load().tokens.contains_key(TRANSFER_RESOURCE_SERVER));
}

fn refresh_token_of(login: &StoredLogin, rs: &str) -> String {
    login
        .tokens
        .get(rs)
        .and_then(|t| t.refresh_token.as_ref())
        .map(|r| r.expose().to_string())
        .expect("a refresh token")
}

#[test]
fn whoami_refreshes_expired_tokens_with_rotation_off_and_on() {
    for rotate in [false, true] {
        let w = world(rotate, 172_800);
        let before = w.seed_login(true);
        let out = w.run(&["whoami"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(ALICE), "{}", text(&out.stdout));
        assert!(
            text(&out.stdout).contains("Alliance Cedar"),
            "{}",
            text(&out.stdout)
        );
        let after = w.load();
        let (old, new) = (
            refresh_token_of(&before, AUTH_RESOURCE_SERVER),
            refresh_token_of(&after, AUTH_RESOURCE_SERVER),
        );
        assert_eq!(
            old != new,
            rotate,
            "rotation {rotate}: the stored refresh token"
        );
        assert!(after.tokens[AUTH_RESOURCE_SERVER].is_fresh(chrono::Utc::now().timestamp()));
        // A second run reuses the fresh access token: no refresh.
        let refreshes = w.requests_to("/v2/oauth2/token");
        let out = w.run(&["whoami", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["identity"]["preferred_username"], ALICE);
        assert_eq!(w.requests_to("/v2/oauth2/token"), refreshes);
    }
}

#[test]
fn a_revoked_refresh_token_means_log_in_again() {
    let w = world(true, 172_800);
    let login = w.seed_login(true);
    assert!(
        w.emu
            .revoke_token(&refresh_token_of(&login, AUTH_RESOURCE_SERVER))
    );
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(err.contains("log in again with `gstage login`"), "{err}");
}

#[test]
fn not_logged_in_is_exit_4_with_the_fix() {
    let w = world(false, 172_800);
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("run `gstage login`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn concurrent_processes_with_rotation_never_send_a_spent_refresh_token() {
    // Tokens that live less than the reuse margin force every process to refresh, one after
    // the other under the store's lock, each with the refresh token the previous one stored.
    let w = world(true, 30);
    w.seed_login(true);
    let n = 100;
    let children: Vec<Child> = (0..n)
        .map(|_| {
            w.gstage(&["whoami"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("gstage starts")
        })
        .collect();
    let mut failures = Vec::new();
    for c in children {
        let out = c.wait_with_output().expect("gstage ends");
        if !out.status.success() {
            failures.push(text(&out.stderr));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} failed, e.g.:\n{}",
        failures.len(),
        failures[0]
    );
    let refreshes = w
        .emu
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/oauth2/token")
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert_eq!(refreshes.len(), n, "one refresh per process");
    assert!(
        refreshes.iter().all(|s| *s == 200),
        "no refresh was refused: {refreshes:?}"
    );
    // The store holds the one valid refresh token: one more process still works.
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn consent_required_is_exit_4_with_the_exact_login_command() {
    let w = world(false, 172_800);
    w.seed_login(false);
    w.emu.inject(
        FaultRule::new(Fault::ConsentRequired {
            collections: vec![w.cedar],
        })
        .on("GET", "/v2/oauth2/userinfo"),
    );
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(err.contains("`gstage login --collection cedar`"), "{err}");
    assert!(err.contains("`Alliance Cedar`"), "{err}");
}

#[test]
fn a_login_failure_asking_for_a_domain_is_not_retried() {
    let w = world(false, 172_800);
    w.seed_login(false);
    w.emu.inject(
        FaultRule::new(Fault::LoginFailed {
            domain: "umanitoba.ca".into(),
        })
        .on("GET", "/v2/oauth2/userinfo"),
    );
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(
        err.contains("`gstage login --domain umanitoba.ca`"),
        "{err}"
    );
    assert_eq!(
        w.requests_to("/v2/oauth2/userinfo"),
        1,
        "a 502 LoginFailed is not retried"
    );
}

#[test]
fn a_failed_policy_names_the_policy_to_satisfy() {
    let w = world(false, 172_800);
    w.seed_login(false);
    w.emu.inject(
        FaultRule::new(Fault::AuthPolicyFailed {
            policies: vec!["pol-1".into()],
        })
        .on("GET", "/v2/oauth2/userinfo"),
    );
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("`gstage login --policy pol-1`"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(w.requests_to("/v2/oauth2/userinfo"), 1);
}

#[test]
fn rate_limits_and_unavailability_are_retried() {
    let w = world(false, 172_800);
    w.seed_login(false);
    w.emu.inject(
        FaultRule::new(Fault::RateLimit { retry_after: 1 })
            .on("GET", "/v2/oauth2/userinfo")
            .times(1),
    );
    w.emu.inject(
        FaultRule::new(Fault::Status { status: 503 })
            .on("GET", "/v2/oauth2/userinfo")
            .times(1),
    );
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(w.requests_to("/v2/oauth2/userinfo"), 3);
}

#[test]
fn retries_are_bounded_and_say_so() {
    let w = world(false, 172_800);
    w.seed_login(false);
    w.emu.inject(
        FaultRule::new(Fault::RateLimit { retry_after: 0 }).on("GET", "/v2/oauth2/userinfo"),
    );
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("failed after 5 retries in"), "{err}");
    assert_eq!(
        w.requests_to("/v2/oauth2/userinfo"),
        6,
        "one try and five retries"
    );
}

#[test]
fn a_refused_token_is_refreshed_once_and_the_request_retried_once() {
    let w = world(true, 172_800);
    w.seed_login(false);
    w.emu.inject(
        FaultRule::new(Fault::ExpiredToken)
            .on("GET", "/v2/oauth2/userinfo")
            .times(1),
    );
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(w.requests_to("/v2/oauth2/userinfo"), 2);
    assert_eq!(w.requests_to("/v2/oauth2/token"), 1);

    w.emu
        .inject(FaultRule::new(Fault::ExpiredToken).on("GET", "/v2/oauth2/userinfo"));
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("log in again with `gstage login`"));
    assert_eq!(w.requests_to("/v2/oauth2/userinfo"), 4, "one retry only");
    assert_eq!(w.requests_to("/v2/oauth2/token"), 2, "one refresh only");
}

#[test]
fn a_store_others_can_read_is_refused_with_the_fix() {
    let w = world(false, 172_800);
    w.seed_login(false);
    let path = w.store().path().to_path_buf();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("chmod 600 {}", path.display())),
        "{err}"
    );
}

#[test]
fn logout_revokes_and_deletes() {
    let w = world(false, 172_800);
    let login = w.seed_login(false);
    let out = w.run(&["logout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!w.store().path().exists());
    assert_eq!(
        w.requests_to("/v2/oauth2/token/revoke"),
        4,
        "two tokens per resource server"
    );
    // The revoked refresh token no longer works.
    let rt_text = refresh_token_of(&login, TRANSFER_RESOURCE_SERVER);
    let client = w.client(Credentials::None);
    let err = rt()
        .block_on(client.refresh_grant(
            &w.client_id.to_string(),
            &gstage::globus::RefreshToken::new(rt_text),
        ))
        .expect_err("a revoked token is refused");
    assert!(err.api().is_some_and(|e| e.is_invalid_grant()), "{err}");
    let out = w.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(4));
    let out = w.run(&["logout"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("not logged in"));
}

#[test]
fn no_secret_appears_in_any_output() {
    let w = world(true, 30);
    let trace = [("RUST_LOG", "trace"), ("GSTAGE_LOG", "trace")];
    let mut outputs = String::new();
    let (_, code, status, out, err) = headless_login(&w, &["login"], &trace);
    assert_eq!(status, 0, "{err}");
    outputs += &(out + &err);
    let mut secrets: BTreeSet<String> = BTreeSet::from([code]);
    let remember = |w: &World, secrets: &mut BTreeSet<String>| {
        if let Ok(Some(l)) = w.store().load() {
            for t in l.tokens.values() {
                secrets.insert(t.access_token.expose().to_string());
                if let Some(r) = &t.refresh_token {
                    secrets.insert(r.expose().to_string());
                }
            }
        }
    };
    remember(&w, &mut secrets);
    let mut run = |args: &[&str], envs: &[(&str, &str)]| {
        let out = w
            .gstage(args)
            .envs(trace)
            .envs(envs.iter().copied())
            .output()
            .expect("runs");
        outputs.push_str(&text(&out.stdout));
        outputs.push_str(&text(&out.stderr));
    };
    run(&["whoami"], &[]);
    run(&["whoami", "--format", "json"], &[]);
    remember(&w, &mut secrets);
    w.emu.inject(
        FaultRule::new(Fault::Status { status: 500 })
            .on("POST", "/v2/oauth2/token")
            .times(1),
    );
    run(&["whoami"], &[]);
    remember(&w, &mut secrets);
    let secret = "s3cr3t-client-secret-value";
    secrets.insert(secret.to_string());
    run(
        &["whoami"],
        &[
            ("GSTAGE_CLIENT_ID", &Uuid::new_v4().to_string()),
            ("GSTAGE_CLIENT_SECRET", secret),
        ],
    );
    run(
        &["login"],
        &[("GSTAGE_CLIENT_ID", "x"), ("GSTAGE_CLIENT_SECRET", secret)],
    );
    run(&["logout"], &[]);
    run(&["whoami"], &[]);
    assert!(
        secrets.len() >= 5,
        "tokens were collected: {}",
        secrets.len()
    );
    for s in &secrets {
        assert!(
            !outputs.contains(s.as_str()),
            "a secret leaked into the output"
        );
    }
}

#[test]
fn transfer_calls_through_the_client() {
    let w = world(false, 172_800);
    w.seed_login(false);
    let client = w.client(Credentials::Store(w.store()));
    let cedar = w.cedar.to_string().parse().expect("collection id");
    let grex = w.grex.to_string().parse().expect("collection id");
    rt().block_on(async {
        let ep = client.get_endpoint(&cedar).await.expect("endpoint");
        assert!(ep.needs_data_access());
        let ha = client.get_endpoint(&grex).await.expect("endpoint");
        assert!(!ha.needs_data_access());
        let listing = client.ls(&cedar, "/", false).await.expect("ls");
        assert!(listing.entries.iter().any(|e| e.name == "input.dat"));
        let st = client.stat(&cedar, "/input.dat").await.expect("stat");
        assert!(!st.is_dir());
        let missing = client.stat(&cedar, "/nope").await.expect_err("missing");
        assert_eq!(missing.action(), Action::NotFound);
        assert_eq!(missing.exit_code(), 3);
        client.mkdir(&cedar, "/out").await.expect("mkdir");

        let sid = client.get_submission_id().await.expect("submission id");
        let mut doc = TransferDocument::new(sid, cedar, cedar);
        doc.label = Some("gstage test 1 in 1".into());
        doc.items
            .push(TransferItem::new("/input.dat", "/out/input.dat"));
        let first = client.submit_transfer(&doc).await.expect("submit");
        assert_eq!(first.code, gstage::globus::SubmitCode::Accepted);
        let again = client.submit_transfer(&doc).await.expect("resubmit");
        assert_eq!(again.code, gstage::globus::SubmitCode::Duplicate);
        assert_eq!(again.task_id, first.task_id);

        let task = client.get_task(&first.task_id).await.expect("task");
        assert_eq!(task.task_id, first.task_id);
        let by_label = client
            .task_list(&gstage::globus::TaskQuery {
                label: Some("gstage test 1 in 1".into()),
                ..Default::default()
            })
            .await
            .expect("task_list");
        assert_eq!(by_label.len(), 1);
        let by_id = client
            .task_list(&gstage::globus::TaskQuery {
                task_ids: vec![first.task_id],
                ..Default::default()
            })
            .await
            .expect("task_list");
        assert_eq!(by_id.len(), 1);
        let mut task = task;
        for _ in 0..200 {
            if task.status.is_final() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            task = client.get_task(&first.task_id).await.expect("task");
        }
        assert_eq!(
            task.status,
            gstage::globus::TaskStatus::Succeeded,
            "{task:?}"
        );
        let events = client
            .event_list(&first.task_id, 1000, false)
            .await
            .expect("events");
        assert!(!events.is_empty());
        let copied = client
            .successful_transfers(&first.task_id)
            .await
            .expect("successful transfers");
        assert!(
            copied
                .iter()
                .any(|c| c.destination_path == "/out/input.dat"),
            "{copied:?}"
        );
        // Cancelling a finished task is fine: it is no longer running either way.
        let cancel = client.cancel_task(&first.task_id).await.expect("cancel");
        assert!(cancel.is_stopped(), "{cancel:?}");
    });
}

#[test]
fn transfer_errors_become_actions() {
    let w = world(false, 172_800);
    w.seed_login(false);
    let client = w.client(Credentials::Store(w.store()));
    let cedar = w.cedar.to_string().parse().expect("collection id");
    let ls_path = format!("/v0.10/operation/endpoint/{}/ls", w.cedar);
    rt().block_on(async {
        w.emu.inject(
            FaultRule::new(Fault::ConsentRequired {
                collections: vec![w.cedar],
            })
            .on("GET", &ls_path)
            .times(1),
        );
        let err = client.ls(&cedar, "/", false).await.expect_err("consent");
        assert_eq!(
            err.action(),
            Action::Relogin {
                command: "gstage login --collection cedar".into()
            }
        );
        assert!(err.to_string().contains("`Alliance Cedar`"), "{err}");

        w.emu.inject(
            FaultRule::new(Fault::LoginFailed {
                domain: "umanitoba.ca".into(),
            })
            .on("GET", &ls_path)
            .times(1),
        );
        let before = w.requests_to(&ls_path);
        let err = client.ls(&cedar, "/", false).await.expect_err("session");
        assert_eq!(
            err.action(),
            Action::Relogin {
                command: "gstage login --domain umanitoba.ca".into()
            }
        );
        assert_eq!(w.requests_to(&ls_path), before + 1, "not retried");

        w.emu.inject(
            FaultRule::new(Fault::Status { status: 503 })
                .on("GET", &ls_path)
                .times(2),
        );
        w.emu.inject(
            FaultRule::new(Fault::ConnectionReset)
                .on("GET", &ls_path)
                .times(1),
        );
        client
            .ls(&cedar, "/", false)
            .await
            .expect("retried through 503s and a reset");

        w.emu.inject(
            FaultRule::new(Fault::Status { status: 502 })
                .on("GET", &ls_path)
                .times(1),
        );
        client
            .ls(&cedar, "/", false)
            .await
            .expect("a plain 502 is retried");
    });
}

#[test]
fn a_stalled_answer_times_out_and_is_retried() {
    let w = world(false, 172_800);
    w.seed_login(false);
    let client = GlobusClient::builder()
        .auth_url(w.emu.base_url())
        .transfer_url(w.emu.base_url())
        .credentials(Credentials::Store(w.store()))
        .timeout(Duration::from_millis(500))
        .retry_policy(RetryPolicy {
            max_retries: 2,
            max_sleep: Duration::from_millis(10),
            max_elapsed: Duration::from_secs(30),
        })
        .build()
        .expect("client");
    let path = "/v0.10/submission_id";
    w.emu.inject(
        FaultRule::new(Fault::Stall { seconds: 3.0 })
            .on("GET", path)
            .times(1),
    );
    rt().block_on(client.get_submission_id())
        .expect("the second try answers");
}

#[test]
fn a_service_identity_uses_client_credentials_and_consents_by_asking() {
    let dir = tempfile::tempdir().expect("dir");
    let client_id = Uuid::new_v4();
    let cedar = Uuid::new_v4();
    let emu = Emulator::spawn(
        EmuConfig::new()
            .identity(Identity::new(ALICE))
            .confidential_client(client_id, "the-secret")
            .collection(Collection::new(cedar, "Alliance Cedar", dir.path())),
    )
    .expect("emulator");
    let client = GlobusClient::builder()
        .auth_url(emu.base_url())
        .transfer_url(emu.base_url())
        .credentials(Credentials::Client {
            id: client_id.to_string(),
            secret: gstage::globus::ClientSecret::new("the-secret"),
        })
        .build()
        .expect("client");
    let cedar = cedar.to_string().parse().expect("id");
    let listing = rt().block_on(client.ls(&cedar, "/", false));
    assert!(listing.is_ok(), "{listing:?}");
    let count = |path: &str| emu.requests().iter().filter(|r| r.path == path).count();
    // The first token lacked the consent; asking for the required scope granted it.
    assert_eq!(count("/v2/oauth2/token"), 2);
    assert_eq!(count(&format!("/v0.10/operation/endpoint/{cedar}/ls")), 2);
}

fn login_with_seq(seq: u64) -> StoredLogin {
    let mut login = StoredLogin::new(Some("client".into()));
    login.tokens.insert(
        TRANSFER_RESOURCE_SERVER.into(),
        gstage::tokens::StoredToken {
            resource_server: TRANSFER_RESOURCE_SERVER.into(),
            scope: "s".repeat(2000),
            access_token: gstage::globus::AccessToken::new(format!("AT-{seq}")),
            refresh_token: Some(gstage::globus::RefreshToken::new(format!("RT-{seq}"))),
            expires_at_seconds: 0,
            token_type: "Bearer".into(),
        },
    );
    login
}

/// Saves the store over and over, each save reading back exactly what was written. Run by
/// the crash test as a child process (`GSTAGE_TEST_STORE_WRITER` names the store), it saves
/// forever, continuing the stored sequence and printing each number once it is durable.
#[test]
fn repeated_saves_read_back_exactly() {
    let child = std::env::var("GSTAGE_TEST_STORE_WRITER").ok();
    let dir = tempfile::tempdir().expect("dir");
    let path = child
        .clone()
        .map_or_else(|| dir.path().join("gstage/tokens.json"), PathBuf::from);
    let store = TokenStore::at(&path);
    let start = if path.exists() {
        stored_seq(&path) + 1
    } else {
        1
    };
    let end = if child.is_some() {
        u64::MAX
    } else {
        start + 50
    };
    let mut out = std::io::stdout().lock();
    for seq in start..end {
        let login = login_with_seq(seq);
        let _lock = store.lock().expect("lock");
        store.save(&login).expect("save");
        if child.is_some() {
            writeln!(out, "saved {seq}").expect("stdout");
            out.flush().expect("flush");
        } else {
            assert_eq!(store.load().expect("load"), Some(login));
        }
    }
}

fn stored_seq(path: &Path) -> u64 {
    let login = TokenStore::at(path)
        .load()
        .expect("the store always parses")
        .expect("the store exists");
    let rt = refresh_token_of(&login, TRANSFER_RESOURCE_SERVER);
    rt.trim_start_matches("RT-")
        .parse()
        .expect("a sequence number")
}

#[test]
fn killing_writers_never_tears_the_store_or_loses_a_saved_token() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("gstage/tokens.json");
    let exe = std::env::current_exe().expect("test binary");
    let rounds = 200;
    let mut last = 0;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "repeated_saves_read_back_exactly",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GSTAGE_TEST_STORE_WRITER", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("writer starts");
        let pause = rand::random_range(0..20_000u64);
        std::thread::sleep(Duration::from_micros(
            pause + if round % 10 == 0 { 20_000 } else { 0 },
        ));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("kill");
        let _ = child.wait();
        let mut out = String::new();
        let _ = child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out);
        let acked = out
            .lines()
            .filter_map(|l| l.strip_prefix("saved "))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        if path.exists() {
            let seq = stored_seq(&path);
            assert!(
                seq >= acked,
                "round {round}: store has {seq}, {acked} was acknowledged"
            );
            assert!(
                seq >= last,
                "round {round}: store went back from {last} to {seq}"
            );
            last = seq;
        } else {
            assert_eq!(acked, 0, "round {round}: a saved store disappeared");
        }
    }
    assert!(
        last > 0,
        "the writers saved at least once in {rounds} rounds"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("gstage"))
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "tokens.json" && n != "tokens.json.lock")
        .collect();
    // Killed writers may leave temporary files; they never replace the store.
    assert!(
        leftovers.iter().all(|n| n.starts_with(".tokens.")),
        "{leftovers:?}"
    );
}
