//! Inbound provider webhooks over HTTP: a delivery signed by the sender's library is stored
//! once and handled by the worker; a replay or a provider's retry adds nothing; anything
//! unverified is refused with 401 and leaves no trace but a counter and a log line.

use hmac::{Hmac, Mac};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::python::standard_sign;
use holdfast_testkit::{TestApp, Workspace, captured_logs};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

/// The Standard Webhooks specification's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub(crate) async fn set_secret(app: &TestApp, ws: &Workspace, provider: &str, secret: &str) {
    app.call(
        holdfast_testkit::Method::PUT,
        &format!("/api/v1/inbound-hooks/{provider}"),
    )
    .key(&ws.admin_key)
    .json(&json!({"secret": secret}))
    .expect(200)
    .await;
}

pub(crate) fn now_s() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

pub(crate) async fn send_standard(
    app: &TestApp,
    slug: &str,
    msg_id: &str,
    timestamp: i64,
    signature: &str,
    body: &str,
) -> holdfast_testkit::Resp {
    app.post(&format!("/hooks/standard/{slug}"))
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", &timestamp.to_string())
        .header("webhook-signature", signature)
        .body("application/json", body.to_owned())
        .send()
        .await
}

/// Received events as the workspace sees them (through its own scope, so on PostgreSQL under
/// row-level security too).
async fn events(app: &TestApp, ws: &Workspace) -> usize {
    app.get("/api/v1/inbound-events")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .len()
}

/// Jobs of the workspace (the queue has no row-level security: workers read across workspaces).
async fn count(app: &TestApp, table_sql: &'static str, ws: &Workspace) -> i64 {
    sqlx::query_scalar(table_sql)
        .bind(&ws.id)
        .fetch_one(holdfast_store::Db::unscoped_pool(&app.db))
        .await
        .unwrap()
}

const JOBS: &str = "SELECT count(*) FROM queue_jobs WHERE workspace_id = $1";

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_delivery_is_stored_once_and_handled_by_the_worker() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inbound").await;
    set_secret(&app, &ws, "standard", SECRET).await;
    let body = r#"{"type":"invoice.paid","data":{"id":"in_1"}}"#;
    let ts = now_s();
    let signature = standard_sign(SECRET, "msg_abc", ts, body);
    let first = send_standard(&app, &ws.slug, "msg_abc", ts, &signature, body).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["duplicate"], false);
    let id = first.json["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ibe_"));

    // The same signed request again: a replay. Nothing new is stored or queued.
    let replay = send_standard(&app, &ws.slug, "msg_abc", ts, &signature, body).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.json["duplicate"], true);
    // The sender's retry, signed afresh a second later: the same event, stored once.
    let retry_sig = standard_sign(SECRET, "msg_abc", ts + 1, body);
    let retry = send_standard(&app, &ws.slug, "msg_abc", ts + 1, &retry_sig, body).await;
    assert_eq!(retry.json["duplicate"], true, "{}", retry.text);
    assert_eq!(events(&app, &ws).await, 1);
    assert_eq!(count(&app, JOBS, &ws).await, 1);

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let event = loop {
        let listed = app
            .get("/api/v1/inbound-events?provider=standard")
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json;
        let event = listed["data"][0].clone();
        if event["state"] == "handled" || std::time::Instant::now() > deadline {
            break event;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(event["state"], "handled", "{event}");
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["event_key"], "msg_abc");
    assert_eq!(event["event_type"], "invoice.paid");
    assert_eq!(event["body"], body);
    app.get("/api/v1/inbound-events?provider=carrier-pigeon")
        .key(&ws.admin_key)
        .expect(422)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stripe_deliveries_verify_with_stripes_scheme_over_http() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("stripe").await;
    let secret = "whsec_testsecret0123456789abcdef";
    set_secret(&app, &ws, "stripe", secret).await;
    let body = r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}"#;
    let t = now_s();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let v1: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sent = app
        .post(&format!("/hooks/stripe/{}", ws.slug))
        .header("stripe-signature", &format!("t={t},v1={v1}"))
        .body("application/json", body.to_owned())
        .send()
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let stale = app
        .post(&format!("/hooks/stripe/{}", ws.slug))
        .header("stripe-signature", &format!("t={},v1={v1}", t - 3600))
        .body("application/json", body.to_owned())
        .send()
        .await;
    assert_eq!(stale.status, 401);
    let listed = app
        .get("/api/v1/inbound-events")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(listed["data"][0]["event_key"], "evt_1");
    assert_eq!(listed["data"][0]["event_type"], "payment_intent.succeeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn unverified_deliveries_get_401_and_leave_no_trace_but_a_counter_and_a_log_line() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("hostile").await;
    set_secret(&app, &ws, "standard", SECRET).await;
    let body = r#"{"type":"canary","data":{"card":"4242-CANARY-4242"}}"#;
    let ts = now_s();
    let good = standard_sign(SECRET, "msg_1", ts, body);
    let other_secret = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
    let cases: Vec<(&str, String, i64, String, String)> = vec![
        (
            "tampered body",
            ws.slug.clone(),
            ts,
            good.clone(),
            body.replace("4242", "5555"),
        ),
        (
            "wrong secret",
            ws.slug.clone(),
            ts,
            standard_sign(other_secret, "msg_1", ts, body),
            body.to_owned(),
        ),
        (
            "stale timestamp",
            ws.slug.clone(),
            ts - 3600,
            standard_sign(SECRET, "msg_1", ts - 3600, body),
            body.to_owned(),
        ),
        (
            "future timestamp",
            ws.slug.clone(),
            ts + 3600,
            standard_sign(SECRET, "msg_1", ts + 3600, body),
            body.to_owned(),
        ),
        (
            "garbled signature",
            ws.slug.clone(),
            ts,
            "v1,not-base64!!".to_owned(),
            body.to_owned(),
        ),
        (
            "unknown workspace",
            "no-such-workspace".to_owned(),
            ts,
            good.clone(),
            body.to_owned(),
        ),
    ];
    let mut details = Vec::new();
    for (label, slug, timestamp, signature, body) in &cases {
        let r = send_standard(&app, slug, "msg_1", *timestamp, signature, body).await;
        assert_eq!(r.status, 401, "{label}: {}", r.text);
        r.problem("HF-AUTH-009");
        details.push((label, r.json["detail"].as_str().unwrap().to_owned()));
    }
    // Missing headers.
    let bare = app
        .post(&format!("/hooks/standard/{}", ws.slug))
        .body("application/json", body.to_owned())
        .send()
        .await;
    assert_eq!(bare.status, 401);
    // A provider the workspace has no secret for answers exactly like an unknown workspace.
    let unset = app
        .post(&format!("/hooks/paddle/{}", ws.slug))
        .header("paddle-signature", "ts=1;h1=00")
        .body("application/json", body.to_owned())
        .send()
        .await;
    assert_eq!(unset.status, 401);
    let unknown = details
        .iter()
        .find(|(l, _)| **l == "unknown workspace")
        .unwrap();
    assert_eq!(unset.json["detail"], unknown.1.as_str());
    // No provider of that name at all: 404.
    app.post(&format!("/hooks/carrier-pigeon/{}", ws.slug))
        .body("application/json", body.to_owned())
        .expect(404)
        .await;

    assert_eq!(events(&app, &ws).await, 0);
    assert_eq!(count(&app, JOBS, &ws).await, 0);
    let metrics = app.get("/metrics").expect(200).await.text;
    let refused: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("holdfast_inbound_webhooks_refused_total{provider=\"standard\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(refused >= 7, "{metrics}");
    let logs = captured_logs();
    assert!(logs.contains("inbound webhook refused"));
    assert!(
        !logs.contains("4242-CANARY"),
        "a refused body reached the log"
    );

    // The real thing still works after all that.
    let ok = send_standard(&app, &ws.slug, "msg_1", ts, &good, body).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn receivers_are_configured_per_provider_and_their_secrets_never_shown() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("receivers").await;
    let listed = app
        .get("/api/v1/inbound-hooks")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let providers: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        providers,
        [
            "stripe",
            "square",
            "mailgun",
            "meta",
            "mercadopago",
            "paddle",
            "twilio",
            "standard"
        ]
    );
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["configured"] == false)
    );
    assert_eq!(
        listed[7]["url"],
        format!("{}/hooks/standard/{}", app.base, ws.slug).as_str()
    );
    // A secret of the wrong shape is refused with what the provider's secret looks like.
    let bad = app
        .call(
            holdfast_testkit::Method::PUT,
            "/api/v1/inbound-hooks/standard",
        )
        .key(&ws.admin_key)
        .json(&json!({"secret": "not-a-whsec"}))
        .expect(422)
        .await;
    assert_eq!(bad.json["errors"][0]["field"], "secret");
    app.call(holdfast_testkit::Method::PUT, "/api/v1/inbound-hooks/nope")
        .key(&ws.admin_key)
        .json(&json!({"secret": SECRET}))
        .expect(404)
        .await;
    set_secret(&app, &ws, "standard", SECRET).await;
    let listed = app
        .get("/api/v1/inbound-hooks")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(
        !listed.text.contains("MfKQ9r8G"),
        "the secret is never shown"
    );
    assert_eq!(listed.json[7]["configured"], true);
    // A support agent cannot see or set secrets.
    let support = app
        .key(
            &ws.slug,
            holdfast_core::access::policy::BuiltinRole::Support,
        )
        .await;
    app.get("/api/v1/inbound-hooks")
        .key(&support)
        .expect(403)
        .await;
    // Removing the secret closes the receiver.
    app.delete("/api/v1/inbound-hooks/standard")
        .key(&ws.admin_key)
        .expect(204)
        .await;
    let body = "{}";
    let ts = now_s();
    let sig = standard_sign(SECRET, "msg_2", ts, body);
    assert_eq!(
        send_standard(&app, &ws.slug, "msg_2", ts, &sig, body)
            .await
            .status,
        401
    );
    let audit = app
        .get("/api/v1/audit?action=inbound_hook.secret_set")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(audit["data"][0]["entity_id"], "standard");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_with_automation_off_receives_nothing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("automationoff").await;
    set_secret(&app, &ws, "standard", SECRET).await;
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["helpdesk", "crm"]}))
        .expect(200)
        .await;
    let body = "{}";
    let ts = now_s();
    let sig = standard_sign(SECRET, "msg_3", ts, body);
    let r = send_standard(&app, &ws.slug, "msg_3", ts, &sig, body).await;
    assert_eq!(r.status, 401, "{}", r.text);
    app.get("/api/v1/inbound-hooks")
        .key(&ws.admin_key)
        .expect(404)
        .await;
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["helpdesk", "crm", "automation"]}))
        .expect(200)
        .await;
    assert_eq!(
        events(&app, &ws).await,
        0,
        "nothing was stored while it was off"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cron_endpoint_needs_the_configured_secret() {
    let off = TestApp::spawn().await;
    off.post("/internal/cron/tick")
        .header("x-holdfast-cron-secret", "anything")
        .expect(404)
        .await;
    let secret = "a-scheduler-secret-of-forty-characters-xx";
    let layer = Layer {
        cron_secret: Some(secret.into()),
        worker: Some(false),
        ..Layer::default()
    };
    let app = TestApp::spawn_with(layer).await;
    app.post("/internal/cron/tick")
        .expect(401)
        .await
        .problem("HF-AUTH-001");
    app.post("/internal/cron/tick")
        .header("x-holdfast-cron-secret", &format!("{secret}x"))
        .expect(401)
        .await
        .problem("HF-AUTH-002");
    let ws = app.workspace("cron").await;
    app.post("/internal/cron/tick")
        .key(&ws.admin_key)
        .expect(401)
        .await;
    // With no worker running, the tick runs the due job (the inbound event's handling).
    set_secret(&app, &ws, "standard", SECRET).await;
    let ts = now_s();
    let sig = standard_sign(SECRET, "msg_4", ts, "{}");
    assert_eq!(
        send_standard(&app, &ws.slug, "msg_4", ts, &sig, "{}")
            .await
            .status,
        200
    );
    let tick: Value = app
        .post("/internal/cron/tick")
        .header("x-holdfast-cron-secret", secret)
        .expect(200)
        .await
        .json;
    // At least this workspace's job (tests on PostgreSQL share the queue).
    assert!(tick["jobs_run"].as_u64().unwrap() >= 1, "{tick}");
    let listed = app
        .get("/api/v1/inbound-events")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(listed["data"][0]["state"], "handled");
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_bodies_and_oversized_ids_are_kept_without_error() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let ws = app.workspace("binary").await;
    set_secret(&app, &ws, "standard", SECRET).await;
    let key = holdfast_core::webhooks::inbound::standard::decode_secret(SECRET).unwrap();
    let ts = now_s();
    // A body that is not UTF-8 (an attachment's bytes).
    let body: Vec<u8> = vec![0xff, 0xfe, 0x00, 0x41, 0x80];
    let signature = holdfast_core::webhooks::inbound::standard::sign(&key, "msg_bin", ts, &body);
    let r = app
        .post(&format!("/hooks/standard/{}", ws.slug))
        .header("webhook-id", "msg_bin")
        .header("webhook-timestamp", &ts.to_string())
        .header("webhook-signature", &signature)
        .body("application/octet-stream", body.clone())
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // An id far longer than any index allows is stored by its digest.
    let long_id = "x".repeat(3000);
    let signature = holdfast_core::webhooks::inbound::standard::sign(&key, &long_id, ts, b"{}");
    let r = app
        .post(&format!("/hooks/standard/{}", ws.slug))
        .header("webhook-id", &long_id)
        .header("webhook-timestamp", &ts.to_string())
        .header("webhook-signature", &signature)
        .body("application/json", "{}")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = app
        .get("/api/v1/inbound-events")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let events = listed["data"].as_array().unwrap();
    let binary = events.iter().find(|e| e["event_key"] == "msg_bin").unwrap();
    assert_eq!(binary["body_encoding"], "base64");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(binary["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, body);
    assert!(
        events
            .iter()
            .any(|e| e["event_key"].as_str().unwrap().starts_with("sha256:"))
    );
}
