//! Transfer API over plain HTTP: validation, task lifecycle, paging and filters, faults.

mod common;

use std::time::Duration;

use common::http::{Api, transfer_doc};
use common::{ALICE, BOB, World, content, write};
use globus_emulator::{Config, Emulator, Fault, FaultRule, TaskStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

struct Env {
    world: World,
    emulator: Emulator,
    api: Api,
    alice: String,
}

async fn env_with(world: World, config: Config) -> Env {
    let emulator = Emulator::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    let api = Api::new(emulator.base_url());
    let alice = emulator
        .mint_tokens(ALICE, TRANSFER, None)
        .expect("mint")
        .access_token;
    Env {
        world,
        emulator,
        api,
        alice,
    }
}

async fn env() -> Env {
    let world = World::new();
    let config = world.config().error_retry_seconds(0.05);
    env_with(world, config).await
}

impl Env {
    async fn submit(&self, items: &[(&str, &str)], extra: Value) -> String {
        let doc = transfer_doc(self.world.archive, self.world.archive, items, extra);
        let a = self.api.post("/v0.10/transfer", &self.alice, &doc).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
        a.body["task_id"].as_str().expect("task id").to_owned()
    }

    async fn task(&self, id: &str) -> Value {
        let a = self
            .api
            .get(&format!("/v0.10/task/{id}"), &self.alice)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body
    }

    /// Polls until `done` holds for the task (fails after a generous bound).
    async fn until(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..600 {
            let t = self.task(id).await;
            if done(&t) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "task {id} never reached the expected state: {}",
            self.task(id).await
        );
    }
}

fn finished(t: &Value) -> bool {
    t["status"] == "SUCCEEDED" || t["status"] == "FAILED"
}

#[tokio::test(flavor = "multi_thread")]
async fn error_bodies_are_type_zero_with_the_documented_codes() {
    let e = env().await;
    let a = e.api.get("/v0.10/task_list", "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["code"], "ClientError.AuthenticationFailed");
    for key in ["message", "request_id", "resource"] {
        assert!(a.body[key].is_string(), "{key} in {}", a.body);
    }
    assert_eq!(a.body["request_id"].as_str().map(str::len), Some(9));

    let none = transfer_doc(e.world.archive, e.world.archive, &[], json!({}));
    let a = e.api.post("/v0.10/transfer", &e.alice, &none).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["code"], "ClientError.BadRequest.NoTransferItems");
    assert_eq!(a.body["resource"], "/transfer");

    for extra in [
        json!({"label": "trailing "}),
        json!({"label": "a\nb"}),
        json!({"sync_level": 4}),
        json!({"deadline": "tomorrow"}),
    ] {
        let doc = transfer_doc(
            e.world.archive,
            e.world.archive,
            &[("/a", "/b")],
            extra.clone(),
        );
        let a = e.api.post("/v0.10/transfer", &e.alice, &doc).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{extra}");
        assert_eq!(a.body["code"], "ClientError.BadRequest", "{extra}");
    }

    let a = e
        .api
        .get(&format!("/v0.10/task/{}", uuid::Uuid::new_v4()), &e.alice)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["code"], "TaskNotFound");

    let a = e
        .api
        .get(
            &format!(
                "/v0.10/operation/endpoint/{}/stat?path=/nope",
                e.world.archive
            ),
            &e.alice,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["code"], "NotFound");

    let a = e
        .api
        .get(
            &format!(
                "/v0.10/operation/endpoint/{}/ls?path=/a/../../",
                e.world.archive
            ),
            &e.alice,
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "`..` must not escape the root"
    );

    let a = e.api.get("/v0.10/no_such_thing", &e.alice).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.body["message"],
        "unexpected request GET /v0.10/no_such_thing"
    );
    let a = e.api.post("/v0.10/task_list", &e.alice, &json!({})).await;
    assert_eq!(
        a.body["message"],
        "unexpected request POST /v0.10/task_list"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_are_private_and_duplicates_return_the_original() {
    let e = env().await;
    write(&e.world.root("archive").join("f"), b"x");
    let doc = transfer_doc(
        e.world.archive,
        e.world.archive,
        &[("/f", "/g")],
        json!({"label": "dup"}),
    );
    let first = e.api.post("/v0.10/transfer", &e.alice, &doc).await;
    let second = e.api.post("/v0.10/transfer", &e.alice, &doc).await;
    assert_eq!(
        (first.status, second.status),
        (StatusCode::ACCEPTED, StatusCode::OK)
    );
    assert_eq!(first.body["code"], "Accepted");
    assert_eq!(second.body["code"], "Duplicate");
    assert_eq!(first.body["task_id"], second.body["task_id"]);
    assert_eq!(e.emulator.tasks().len(), 1);
    assert_eq!(e.emulator.stats().tasks_created, 1);

    let id = first.body["task_id"].as_str().expect("id");
    let bob = e
        .emulator
        .mint_tokens(BOB, TRANSFER, None)
        .expect("mint")
        .access_token;
    let hidden = e.api.get(&format!("/v0.10/task/{id}"), &bob).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let list = e.api.get("/v0.10/task_list", &bob).await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn task_list_filters_and_pages() {
    let e = env().await;
    write(&e.world.root("archive").join("f"), b"x");
    let mut ids = Vec::new();
    for label in [
        "gstage grex 1 in 1",
        "gstage grex 1 out 1",
        "gstage grex 2 in 1",
        "other",
    ] {
        ids.push(e.submit(&[("/f", "/g")], json!({"label": label})).await);
    }
    for id in &ids {
        e.until(id, finished).await;
    }
    let list = |filter: String| {
        let api = &e.api;
        let token = e.alice.clone();
        async move {
            let mut url = url::Url::parse("http://x/v0.10/task_list").expect("url");
            url.query_pairs_mut()
                .append_pair("filter", &filter)
                .append_pair("limit", "100");
            let a = api
                .get(
                    &format!("/v0.10/task_list?{}", url.query().unwrap_or_default()),
                    &token,
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{filter}: {}", a.body);
            a.body["DATA"]
                .as_array()
                .expect("DATA")
                .iter()
                .filter_map(|t| t["label"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("label:=other".into()).await, vec!["other"]);
    assert_eq!(
        list("label:~GREX 1".into()).await,
        vec!["gstage grex 1 out 1", "gstage grex 1 in 1"]
    );
    assert_eq!(list("label:!~grex".into()).await, vec!["other"]);
    assert_eq!(list("label:!other".into()).await.len(), 3);
    assert_eq!(
        list(format!("task_id:{},{}", ids[0], ids[3])).await,
        vec!["other", "gstage grex 1 in 1"]
    );
    assert_eq!(list("status:SUCCEEDED/type:TRANSFER".into()).await.len(), 4);
    assert_eq!(list("status:ACTIVE,INACTIVE".into()).await.len(), 0);
    assert_eq!(
        list("request_time:2000-01-01 00:00:00,".into()).await.len(),
        4
    );
    assert_eq!(
        list("request_time:,2000-01-01 00:00:00".into()).await.len(),
        0
    );
    assert_eq!(list("completion_time:2000-01-01,".into()).await.len(), 4);

    let page = e
        .api
        .get("/v0.10/task_list?limit=2&offset=1", &e.alice)
        .await;
    assert_eq!(page.body["total"], 4);
    assert_eq!(page.body["length"], 2);
    assert_eq!(page.body["offset"], 1);
    assert_eq!(
        page.body["DATA"][0]["label"], "gstage grex 2 in 1",
        "newest first"
    );
    let asc = e
        .api
        .get(
            "/v0.10/task_list?orderby=request_time%20ASC&limit=1",
            &e.alice,
        )
        .await;
    assert_eq!(asc.body["DATA"][0]["label"], "gstage grex 1 in 1");
    let too_far = e
        .api
        .get("/v0.10/task_list?limit=1000&offset=1", &e.alice)
        .await;
    assert_eq!(too_far.status, StatusCode::BAD_REQUEST);
    let bad = e
        .api
        .get("/v0.10/task_list?filter=colour:red", &e.alice)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn successful_transfers_page_by_marker_and_events_by_offset() {
    let e = env().await;
    for i in 0..150 {
        write(&e.world.root("archive").join(format!("many/f{i:03}")), b"x");
    }
    let id = e.submit(&[("/many/", "/copy/")], json!({})).await;
    let done = e.until(&id, finished).await;
    assert_eq!(done["status"], "SUCCEEDED");
    assert_eq!(done["files"], 150);
    assert_eq!(done["files_transferred"], 150);
    assert_eq!(done["subtasks_succeeded"], done["subtasks_total"]);
    assert_eq!(done["subtasks_pending"], 0);

    let p1 = e
        .api
        .get(&format!("/v0.10/task/{id}/successful_transfers"), &e.alice)
        .await;
    assert_eq!(p1.body["DATA"].as_array().map(Vec::len), Some(100));
    assert_eq!(p1.body["DATA"][0]["source_path"], "/many/f000");
    assert_eq!(p1.body["DATA"][0]["destination_path"], "/copy/f000");
    let marker = p1.body["next_marker"].as_u64().expect("next marker");
    let p2 = e
        .api
        .get(
            &format!("/v0.10/task/{id}/successful_transfers?marker={marker}"),
            &e.alice,
        )
        .await;
    assert_eq!(p2.body["DATA"].as_array().map(Vec::len), Some(50));
    assert!(
        p2.body["next_marker"].is_null(),
        "last page has next_marker null"
    );

    let ev = e
        .api
        .get(
            &format!("/v0.10/task/{id}/event_list?limit=1&offset=1"),
            &e.alice,
        )
        .await;
    assert_eq!(ev.body["total"], 2);
    assert_eq!(ev.body["DATA"][0]["code"], "STARTED");
    let errors = e
        .api
        .get(
            &format!("/v0.10/task/{id}/event_list?filter=is_error:1"),
            &e.alice,
        )
        .await;
    assert_eq!(errors.body["total"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_source_stays_active_until_the_deadline_then_fails() {
    let e = env().await;
    let deadline = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let id = e
        .submit(&[("/absent.dat", "/x.dat")], json!({"deadline": deadline}))
        .await;
    let stuck = e.until(&id, |t| t["nice_status"] == "FILE_NOT_FOUND").await;
    assert_eq!(stuck["status"], "ACTIVE");
    assert_eq!(stuck["is_ok"], false);
    let ev = e
        .api
        .get(
            &format!("/v0.10/task/{id}/event_list?filter=is_error:1"),
            &e.alice,
        )
        .await;
    assert_eq!(ev.body["DATA"][0]["code"], "FILE_NOT_FOUND");
    let failed = e.until(&id, finished).await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["fatal_error"]["code"], "DEADLINE_EXCEEDED");
    assert!(failed["nice_status"].is_null());

    write(&e.world.root("archive").join("present"), b"p");
    let skip = e
        .submit(
            &[("/absent.dat", "/x.dat"), ("/present", "/p2")],
            json!({"skip_source_errors": true}),
        )
        .await;
    let done = e.until(&skip, finished).await;
    assert_eq!(done["status"], "SUCCEEDED");
    assert_eq!(done["subtasks_skipped_errors"], 1);
    assert_eq!(done["files_transferred"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_beyond_the_active_limit_and_inactive_on_demand() {
    let world = World::new();
    write(&world.root("archive").join("f.bin"), &content(4_000, 3));
    let config = world.config().throughput(4_000).active_task_limit(2);
    let e = env_with(world, config).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            e.submit(&[("/f.bin", &format!("/out{i}.bin"))], json!({}))
                .await,
        );
    }
    // The tasks are read one request at a time, so one sweep can see a task still running and
    // the one promoted when it ended; the emulator counts what really ran at once.
    let mut saw_queued = false;
    loop {
        let mut all_done = true;
        for id in &ids {
            let t = e.task(id).await;
            if t["nice_status"] == "Queued" {
                saw_queued = true;
                assert_eq!(t["status"], "ACTIVE");
            }
            all_done &= finished(&t);
        }
        if all_done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let peak = e.emulator.stats().peak_running_per_user;
    assert!(peak <= 2, "{peak} tasks ran at once");
    assert_eq!(peak, 2, "the limit was reached: two ran together");
    assert!(saw_queued, "tasks beyond the limit were never Queued");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(e.task(id).await["status"], "SUCCEEDED");
        assert_eq!(
            std::fs::read(e.world.root("archive").join(format!("out{i}.bin"))).expect("copy"),
            content(4_000, 3)
        );
    }

    let id = e.submit(&[("/f.bin", "/paused.bin")], json!({})).await;
    let task_id = uuid::Uuid::parse_str(&id).expect("uuid");
    e.emulator
        .set_task_status(task_id, TaskStatus::Inactive)
        .expect("inactive");
    let t = e.task(&id).await;
    assert_eq!(t["status"], "INACTIVE");
    assert!(t["completion_time"].is_null());
    e.emulator
        .set_task_status(task_id, TaskStatus::Active)
        .expect("resume");
    assert_eq!(e.until(&id, finished).await["status"], "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_counters_advance_while_throttled() {
    let world = World::new();
    write(&world.root("archive").join("big.bin"), &content(30_000, 4));
    let config = world.config().throughput(10_000);
    let e = env_with(world, config).await;
    let id = e
        .submit(
            &[("/big.bin", "/big.copy")],
            json!({"verify_checksum": true}),
        )
        .await;
    let partial = e
        .until(&id, |t| {
            t["bytes_transferred"]
                .as_u64()
                .is_some_and(|b| b > 0 && b < 30_000)
        })
        .await;
    assert_eq!(partial["status"], "ACTIVE");
    assert_eq!(partial["files_transferred"], 0);
    let done = e.until(&id, finished).await;
    assert_eq!(done["bytes_transferred"], 30_000);
    assert_eq!(done["bytes_checksummed"], 30_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_faults_answer_as_documented() {
    let e = env().await;
    let task_list = "/v0.10/task_list";
    let cases: Vec<(Fault, StatusCode, &str)> = vec![
        (
            Fault::RateLimit { retry_after: 7 },
            StatusCode::TOO_MANY_REQUESTS,
            "ClientError.RequestLimitExceeded",
        ),
        (
            Fault::Status { status: 500 },
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerError.InternalError",
        ),
        (
            Fault::Status { status: 502 },
            StatusCode::BAD_GATEWAY,
            "ServerError.BadGateway",
        ),
        (
            Fault::Status { status: 503 },
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
        ),
        (
            Fault::Status { status: 504 },
            StatusCode::GATEWAY_TIMEOUT,
            "ServerError.GatewayTimeout",
        ),
        (
            Fault::ExpiredToken,
            StatusCode::UNAUTHORIZED,
            "ClientError.AuthenticationFailed",
        ),
        (
            Fault::ConsentRequired {
                collections: vec![e.world.cedar],
            },
            StatusCode::FORBIDDEN,
            "ConsentRequired",
        ),
        (
            Fault::AuthPolicyFailed {
                policies: vec!["p1".into(), "p2".into()],
            },
            StatusCode::FORBIDDEN,
            "AuthPolicyFailed",
        ),
        (
            Fault::LoginFailed {
                domain: "umanitoba.ca".into(),
            },
            StatusCode::BAD_GATEWAY,
            "ExternalError.DirListingFailed.LoginFailed",
        ),
    ];
    for (fault, status, code) in cases {
        e.emulator
            .inject(FaultRule::new(fault.clone()).on("GET", task_list).times(1));
        let a = e.api.get(task_list, &e.alice).await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (status, Some(code)),
            "{fault:?}"
        );
        assert_eq!(a.body["resource"], "/task_list");
        match fault {
            Fault::RateLimit { .. } => assert_eq!(a.headers["retry-after"], "7"),
            Fault::AuthPolicyFailed { .. } => {
                assert_eq!(
                    a.body["authorization_parameters"]["session_required_policies"],
                    "p1,p2"
                );
            }
            Fault::LoginFailed { .. } => {
                assert_eq!(
                    a.body["authorization_parameters"]["session_required_single_domain"][0],
                    "umanitoba.ca"
                );
            }
            Fault::ConsentRequired { .. } => {
                assert!(
                    a.body["required_scopes"][0]
                        .as_str()
                        .is_some_and(|s| s.contains(&e.world.cedar.to_string()))
                );
            }
            _ => {}
        }
        let after = e.api.get(task_list, &e.alice).await;
        assert_eq!(
            after.status,
            StatusCode::OK,
            "the fault fired more than once"
        );
    }

    e.emulator.inject(
        FaultRule::new(Fault::ConnectionReset)
            .on("GET", task_list)
            .times(1),
    );
    let reset = e
        .api
        .http
        .get(format!("{}{task_list}", e.api.base))
        .bearer_auth(&e.alice)
        .send()
        .await;
    assert!(reset.is_err(), "a reset connection gave an answer");
    e.emulator.inject(
        FaultRule::new(Fault::Stall { seconds: 0.2 })
            .on("GET", task_list)
            .times(1),
    );
    assert_eq!(
        e.api.get(task_list, &e.alice).await.status,
        StatusCode::OK,
        "a stall still answers"
    );

    let log = e.emulator.requests();
    assert_eq!(log.iter().filter(|r| r.fault.is_some()).count(), 11);
    assert_eq!(
        log.iter()
            .find(|r| r.fault.as_deref() == Some("connection_reset"))
            .map(|r| r.status),
        Some(0)
    );
    let stats = e.emulator.stats();
    assert_eq!(stats.faults_injected, 11);
    assert_eq!(
        stats.requests_by_route.get("GET /v0.10/task_list"),
        Some(&20)
    );

    e.emulator.expire_access_tokens();
    let expired = e.api.get(task_list, &e.alice).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn probabilistic_faults_repeat_with_the_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let world = World::new();
        let config = world
            .config()
            .seed(42)
            .fault(FaultRule::new(Fault::Status { status: 503 }).probability(0.5));
        let e = env_with(world, config).await;
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(
                e.api
                    .get("/v0.10/task_list", &e.alice)
                    .await
                    .status
                    .as_u16(),
            );
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&503) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn control_api_over_http() {
    let e = env().await;
    let http = &e.api.http;
    let base = &e.api.base;
    let minted: Value = http
        .post(format!("{base}/_emulator/tokens"))
        .json(&json!({"identity": BOB, "scopes": TRANSFER}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let bob = minted["access_token"].as_str().expect("token");
    assert_eq!(
        e.api.get("/v0.10/task_list", bob).await.status,
        StatusCode::OK
    );
    let added = http
        .post(format!("{base}/_emulator/faults"))
        .json(&json!({"fault": {"kind": "status", "status": 503}, "path_prefix": "/v0.10/", "count": 1}))
        .send()
        .await
        .expect("fault");
    assert_eq!(added.status(), StatusCode::OK);
    assert_eq!(
        e.api.get("/v0.10/task_list", bob).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let stats: Value = http
        .get(format!("{base}/_emulator/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["faults_injected"], 1);
    assert_eq!(stats["total_requests"], 2, "control calls are not counted");
    let revoked: Value = http
        .post(format!("{base}/_emulator/revoke"))
        .json(&json!({"token": bob}))
        .send()
        .await
        .expect("revoke")
        .json()
        .await
        .expect("json");
    assert_eq!(revoked["revoked"], true);
    assert_eq!(
        e.api.get("/v0.10/task_list", bob).await.status,
        StatusCode::UNAUTHORIZED
    );
    let tasks: Value = http
        .get(format!("{base}/_emulator/tasks"))
        .send()
        .await
        .expect("tasks")
        .json()
        .await
        .expect("json");
    assert_eq!(tasks, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn submissions_beyond_the_pending_limit_are_refused_until_tasks_finish() {
    let world = World::new();
    write(&world.root("archive").join("f.bin"), &content(2_000, 5));
    let config = world
        .config()
        .throughput(4_000)
        .active_task_limit(2)
        .pending_task_limit(3);
    let e = env_with(world, config).await;
    let first = transfer_doc(
        e.world.archive,
        e.world.archive,
        &[("/f.bin", "/p0.bin")],
        json!({}),
    );
    let a = e.api.post("/v0.10/transfer", &e.alice, &first).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let first_id = a.body["task_id"].as_str().expect("task id").to_owned();
    let mut ids = vec![first_id.clone()];
    for i in 1..3 {
        ids.push(
            e.submit(&[("/f.bin", &format!("/p{i}.bin"))], json!({}))
                .await,
        );
    }
    let refused = transfer_doc(
        e.world.archive,
        e.world.archive,
        &[("/f.bin", "/p3.bin")],
        json!({}),
    );
    let r = e.api.post("/v0.10/transfer", &e.alice, &refused).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["code"], "ClientError.RequestLimitExceeded");
    // A re-sent submission id is still answered with its task.
    let again = e.api.post("/v0.10/transfer", &e.alice, &first).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["code"], "Duplicate");
    assert_eq!(again.body["task_id"], first_id.as_str());
    for id in &ids {
        e.until(id, finished).await;
    }
    let later = e.api.post("/v0.10/transfer", &e.alice, &refused).await;
    assert_eq!(later.status, StatusCode::ACCEPTED, "{}", later.body);
    let stats = e.emulator.stats();
    assert_eq!(stats.refused_pending_limit, 1);
    assert_eq!(stats.peak_pending_per_user, 3);
    assert!(stats.peak_running_per_user <= 2, "{stats:?}");
}
