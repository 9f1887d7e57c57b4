//! Globus Auth flows over plain HTTP: PKCE code exchange, refresh with and without rotation,
//! revocation, client credentials, introspection.

mod common;

use std::collections::HashMap;

use base64::Engine;
use common::http::Api;
use common::{ALICE, SECRET, World};
use globus_emulator::Emulator;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn start(world: &World, rotate: bool) -> (Emulator, Api) {
    let config = world
        .config()
        .rotate_refresh_tokens(rotate)
        .expires_in(3600);
    let emulator = Emulator::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    let api = Api::new(emulator.base_url());
    (emulator, api)
}

/// Runs the authorize redirect and returns the query of the Location it redirects to.
async fn authorize(
    api: &Api,
    world: &World,
    scope: &str,
    verifier: &str,
    extra: &[(&str, &str)],
) -> HashMap<String, String> {
    let mut url = url::Url::parse(&format!("{}/v2/oauth2/authorize", api.base)).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", &world.native.to_string())
        .append_pair("redirect_uri", "http://localhost:9999/callback")
        .append_pair("scope", scope)
        .append_pair("state", "xyz")
        .append_pair("response_type", "code")
        .append_pair("code_challenge", &challenge(verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("access_type", "offline");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    let resp = api.raw_get(url.as_str()).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with("http://localhost:9999/callback?"),
        "{location}"
    );
    url::Url::parse(&location)
        .expect("location url")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn exchange(api: &Api, world: &World, code: &str, verifier: &str) -> common::http::Answer {
    let native = world.native.to_string();
    api.form(
        "/v2/oauth2/token",
        None,
        &[
            ("client_id", &native),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", "http://localhost:9999/callback"),
        ],
    )
    .await
}

async fn refresh(api: &Api, world: &World, rt: &str) -> common::http::Answer {
    let native = world.native.to_string();
    api.form(
        "/v2/oauth2/token",
        None,
        &[
            ("refresh_token", rt),
            ("grant_type", "refresh_token"),
            ("client_id", &native),
        ],
    )
    .await
}

fn by_rs(body: &Value) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let mut top = body.clone();
    let others = top
        .as_object_mut()
        .and_then(|o| o.remove("other_tokens"))
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    for t in std::iter::once(top).chain(others) {
        out.insert(t["resource_server"].as_str().expect("rs").to_owned(), t);
    }
    out
}

#[tokio::test]
async fn pkce_code_exchange_issues_tokens_per_resource_server() {
    let world = World::new();
    let (_emulator, api) = start(&world, false).await;
    let verifier = "v".repeat(43) + "-._~";
    let scope = format!(
        "openid profile email {TRANSFER}[*https://auth.globus.org/scopes/{}/data_access]",
        world.cedar
    );
    let q = authorize(&api, &world, &scope, &verifier, &[]).await;
    assert_eq!(q["state"], "xyz");

    let wrong = exchange(&api, &world, &q["code"], &"w".repeat(43)).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.body["error"], "invalid_grant");

    let q = authorize(&api, &world, &scope, &verifier, &[]).await;
    let ok = exchange(&api, &world, &q["code"], &verifier).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        ok.body["resource_server"], "auth.globus.org",
        "openid puts auth first"
    );
    assert!(ok.body["id_token"].is_string());
    let tokens = by_rs(&ok.body);
    let transfer = &tokens["transfer.api.globus.org"];
    assert_eq!(transfer["scope"], TRANSFER);
    assert_eq!(transfer["token_type"], "Bearer");
    assert_eq!(transfer["expires_in"], 3600);
    assert!(
        transfer["refresh_token"].is_string(),
        "access_type=offline gives refresh tokens"
    );
    assert_eq!(tokens["auth.globus.org"]["scope"], "openid profile email");

    let reused = exchange(&api, &world, &q["code"], &verifier).await;
    assert_eq!(reused.body["error"], "invalid_grant", "a code works once");

    let info = api
        .http
        .get(format!("{}/v2/oauth2/userinfo", api.base))
        .bearer_auth(
            tokens["auth.globus.org"]["access_token"]
                .as_str()
                .expect("at"),
        )
        .send()
        .await
        .expect("userinfo");
    let info: Value = info.json().await.expect("json");
    assert_eq!(info["preferred_username"], ALICE);
    assert_eq!(info["sub"], world.alice.to_string());

    // The login recorded the data_access consent: ls on the mapped collection works.
    let at = transfer["access_token"].as_str().expect("at");
    let ls = api
        .get(
            &format!("/v0.10/operation/endpoint/{}/ls?path=/", world.cedar),
            at,
        )
        .await;
    assert_eq!(ls.status, StatusCode::OK, "{}", ls.body);
}

#[tokio::test]
async fn online_access_gives_no_refresh_token() {
    let world = World::new();
    let (_emulator, api) = start(&world, false).await;
    let verifier = "a".repeat(50);
    let mut url = url::Url::parse(&format!("{}/v2/oauth2/authorize", api.base)).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", &world.native.to_string())
        .append_pair("redirect_uri", "http://localhost:9999/callback")
        .append_pair("scope", TRANSFER)
        .append_pair("response_type", "code")
        .append_pair("code_challenge", &challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("access_type", "online");
    let resp = api.raw_get(url.as_str()).await;
    let location = url::Url::parse(resp.headers()["location"].to_str().expect("loc")).expect("url");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let ok = exchange(&api, &world, &code, &verifier).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.body["refresh_token"].is_null());
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_token() {
    let world = World::new();
    let (emulator, api) = start(&world, false).await;
    let minted = emulator.mint_tokens(ALICE, TRANSFER, None).expect("mint");
    for _ in 0..2 {
        let r = refresh(&api, &world, &minted.refresh_token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["refresh_token"], minted.refresh_token.as_str());
        assert_eq!(r.body["resource_server"], "transfer.api.globus.org");
        assert_ne!(r.body["access_token"], minted.access_token.as_str());
    }
}

#[tokio::test]
async fn refresh_with_rotation_invalidates_the_old_token() {
    let world = World::new();
    let (emulator, api) = start(&world, true).await;
    let minted = emulator.mint_tokens(ALICE, TRANSFER, None).expect("mint");
    let first = refresh(&api, &world, &minted.refresh_token).await;
    assert_eq!(first.status, StatusCode::OK);
    let new_rt = first.body["refresh_token"]
        .as_str()
        .expect("rotated token")
        .to_owned();
    assert_ne!(new_rt, minted.refresh_token);

    let stale = refresh(&api, &world, &minted.refresh_token).await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST);
    assert_eq!(stale.body["error"], "invalid_grant");
    assert!(stale.body["error_description"].is_string());

    let again = refresh(&api, &world, &new_rt).await;
    assert_eq!(again.status, StatusCode::OK);
    let at = again.body["access_token"].as_str().expect("at");
    let list = api.get("/v0.10/task_list", at).await;
    assert_eq!(
        list.status,
        StatusCode::OK,
        "a refreshed token works on Transfer"
    );
}

#[tokio::test]
async fn revoked_tokens_are_refused_everywhere() {
    let world = World::new();
    let (emulator, api) = start(&world, false).await;
    let minted = emulator.mint_tokens(ALICE, TRANSFER, None).expect("mint");
    let native = world.native.to_string();
    let revoked = api
        .form(
            "/v2/oauth2/token/revoke",
            None,
            &[("token", &minted.refresh_token), ("client_id", &native)],
        )
        .await;
    assert_eq!(revoked.body, serde_json::json!({"active": false}));
    let r = refresh(&api, &world, &minted.refresh_token).await;
    assert_eq!(r.body["error"], "invalid_grant");

    let other = emulator.mint_tokens(ALICE, TRANSFER, None).expect("mint");
    assert!(emulator.revoke_token(&other.access_token));
    let denied = api.get("/v0.10/task_list", &other.access_token).await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    assert_eq!(denied.body["code"], "ClientError.AuthenticationFailed");
}

#[tokio::test]
async fn client_credentials_consents_and_introspection() {
    let world = World::new();
    let (_emulator, api) = start(&world, false).await;
    let id = world.confidential.to_string();
    let bad = api
        .form(
            "/v2/oauth2/token",
            Some((&id, "wrong")),
            &[("grant_type", "client_credentials"), ("scope", TRANSFER)],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.body["error"], "invalid_client");

    let plain = api
        .form(
            "/v2/oauth2/token",
            Some((&id, SECRET)),
            &[("grant_type", "client_credentials"), ("scope", TRANSFER)],
        )
        .await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.body.get("refresh_token").is_none_or(Value::is_null));
    let at = plain.body["access_token"].as_str().expect("at").to_owned();
    let ls = format!("/v0.10/operation/endpoint/{}/ls?path=/", world.cedar);
    let denied = api.get(&ls, &at).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body["code"], "ConsentRequired");
    let scope = denied.body["required_scopes"][0]
        .as_str()
        .expect("scope")
        .to_owned();
    assert_eq!(
        denied.body["authorization_parameters"]["required_scopes"][0],
        scope.as_str()
    );

    // Asking for the dependent scope is how a client consents; the old token benefits.
    let consented = api
        .form(
            "/v2/oauth2/token",
            Some((&id, SECRET)),
            &[("grant_type", "client_credentials"), ("scope", &scope)],
        )
        .await;
    assert_eq!(consented.status, StatusCode::OK);
    assert_eq!(api.get(&ls, &at).await.status, StatusCode::OK);

    let info = api
        .form(
            "/v2/oauth2/token/introspect",
            Some((&id, SECRET)),
            &[("token", &at), ("include", "identity_set")],
        )
        .await;
    assert_eq!(info.body["active"], true);
    assert_eq!(info.body["sub"], id.as_str());
    assert_eq!(info.body["identity_set"][0], id.as_str());
    let gone = api
        .form(
            "/v2/oauth2/token/introspect",
            Some((&id, SECRET)),
            &[("token", "nonsense")],
        )
        .await;
    assert_eq!(gone.body, serde_json::json!({"active": false}));
    let valid = api
        .form(
            "/v2/oauth2/token/validate",
            Some((&id, SECRET)),
            &[("token", &at)],
        )
        .await;
    assert_eq!(valid.body, serde_json::json!({"active": true}));
}

#[tokio::test]
async fn session_requirements_are_met_by_a_login_asking_for_them() {
    let world = World::new();
    let (emulator, api) = start(&world, false).await;
    let ls = format!("/v0.10/operation/endpoint/{}/ls?path=/", world.grex);
    let minted = emulator.mint_tokens(ALICE, TRANSFER, None).expect("mint");
    let refused = api.get(&ls, &minted.access_token).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        refused.body["code"],
        "ExternalError.DirListingFailed.LoginFailed"
    );
    assert_eq!(
        refused.body["authorization_parameters"]["session_required_single_domain"][0],
        "umanitoba.ca"
    );

    let verifier = "s".repeat(60);
    let q = authorize(
        &api,
        &world,
        TRANSFER,
        &verifier,
        &[("session_required_single_domain", "umanitoba.ca")],
    )
    .await;
    let tokens = exchange(&api, &world, &q["code"], &verifier).await;
    let at = tokens.body["access_token"].as_str().expect("at");
    let ok = api.get(&ls, at).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}
