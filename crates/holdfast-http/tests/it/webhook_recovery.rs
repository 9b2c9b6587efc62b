//! Webhook endpoints through outages: a receiver that refuses connections while a burst of
//! events happens gets every event once it is back (a burst is not a reason to disable an
//! endpoint); an endpoint that fails continuously for the configured period is disabled with
//! its undelivered messages held, and an admin recovers them after enabling it again.

use crate::contact;
use holdfast_core::clock::{Clock, ManualClock, SystemClock};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::python::standard_verify;
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const HOUR_MS: i64 = 60 * 60 * 1000;

/// An app on a clock the test moves, starting `behind` ms before now (the reference library
/// refuses timestamps more than five minutes from the real time, so a test that advances the
/// clock starts it that far back), whose outbound client may reach 127.0.0.1.
async fn app_on_manual_clock(layer: Layer, behind: i64) -> (TestApp, ManualClock) {
    let layer = Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..layer
    };
    TestApp::spawn_on_clock(layer, SystemClock.now_ms() - behind).await
}

async fn endpoint(app: &TestApp, ws: &Workspace, url: &str) -> (String, String) {
    let body = json!({"url": url, "event_types": ["contact.created"]});
    crate::webhook_endpoint(app, ws, body).await
}

/// Waits until the workspace has at least `jobs` jobs and none of them is running or due at
/// the app's clock: every attempt the clock allows has been made and recorded.
async fn settled(app: &TestApp, ws: &Workspace, clock: &ManualClock, jobs: i64) {
    let pool = holdfast_store::Db::unscoped_pool(&app.db);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (total, busy): (i64, i64) = sqlx::query_as(
            "SELECT count(*), coalesce(sum(CASE WHEN state = 'running' OR (state = 'queued' AND run_at <= $2) \
             THEN 1 ELSE 0 END), 0) FROM queue_jobs WHERE workspace_id = $1",
        )
        .bind(&ws.id)
        .bind(clock.now_ms())
        .fetch_one(pool)
        .await
        .unwrap();
        if total >= jobs && busy == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "jobs never settled: {total} jobs, {busy} running or due"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn read_endpoint(app: &TestApp, ws: &Workspace, id: &str) -> Value {
    app.get(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

/// Every delivery verifies with the Standard Webhooks reference library; returns the
/// payloads. The checks run in parallel (each starts Python).
async fn verified(secret: &str, deliveries: &[holdfast_testkit::receiver::Captured]) -> Vec<Value> {
    let checks = deliveries.iter().map(|d| {
        let (secret, headers, body) = (secret.to_owned(), d.headers.clone(), d.body.clone());
        tokio::task::spawn_blocking(move || standard_verify(&secret, &headers, &body))
    });
    futures::future::join_all(checks)
        .await
        .into_iter()
        .map(|r| {
            r.unwrap()
                .expect("the reference library verifies every delivery")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_during_a_short_outage_is_delivered_once_the_receiver_is_back() {
    let receiver = Receiver::start().await;
    let (app, clock) = app_on_manual_clock(Layer::default(), 0).await;
    let ws = app.workspace("outage").await;
    let (id, secret) = endpoint(&app, &ws, &format!("{}/in", receiver.base)).await;

    // The receiver goes down (its port refuses connections) while 50 contacts are created.
    receiver.down().await;
    let creates = (0..50).map(|i| contact(&app, &ws, json!({"name": format!("Burst {i}")})));
    let contacts: HashSet<String> = futures::future::join_all(creates)
        .await
        .into_iter()
        .collect();
    assert_eq!(contacts.len(), 50);
    // 50 fan-outs and 50 first attempts, every one refused; then the first retries fail too.
    settled(&app, &ws, &clock, 50).await;
    clock.advance(6_001);
    settled(&app, &ws, &clock, 50).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(receiver.requests().is_empty());

    // Back up: the next retries (20 s ± 20 % after the second attempt) deliver everything.
    receiver.up().await;
    clock.advance(25_000);
    let seen = receiver.wait_for(50, WAIT).await;
    let payloads = verified(&secret, &seen).await;
    settled(&app, &ws, &clock, 50).await;
    // Nothing is sent twice, however far the clock goes.
    for _ in 0..4 {
        clock.advance(7 * HOUR_MS);
        settled(&app, &ws, &clock, 50).await;
    }
    let seen = receiver.requests();
    assert_eq!(seen.len(), 50, "every event exactly once");
    let ids: HashSet<&str> = seen
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(ids.len(), 50);
    let delivered: HashSet<String> = payloads
        .iter()
        .map(|p| p["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(delivered, contacts, "each contact's event arrived");

    let read = read_endpoint(&app, &ws, &id).await;
    assert_eq!(read["enabled"], true, "a burst never disables: {read}");
    assert_eq!(read["disabled_reason"], Value::Null);
    assert_eq!(read["consecutive_failures"], 0);
}

/// The statuses of the workspace's webhook messages (in its row-level-security scope on
/// PostgreSQL).
async fn message_statuses(app: &TestApp, ws: &Workspace) -> Vec<String> {
    let mut tx = app.workspace_tx(ws).await;
    let statuses = sqlx::query_scalar(
        "SELECT status FROM webhook_messages WHERE workspace_id = $1 ORDER BY id",
    )
    .bind(&ws.id)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    statuses
}

async fn recover(app: &TestApp, ws: &Workspace, id: &str, body: Value, status: u16) -> Value {
    app.post(&format!("/api/v1/webhooks/{id}/recover"))
        .key(&ws.admin_key)
        .json(&body)
        .expect(status)
        .await
        .json
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_failing_for_the_whole_period_is_disabled_and_its_held_messages_recovered() {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let layer = Layer {
        webhook_disable_after_hours: Some(2),
        ..Layer::default()
    };
    // The test moves the clock two hours: start it two hours back.
    let (app, clock) = app_on_manual_clock(layer, 2 * HOUR_MS).await;
    let ws = app.workspace("failing").await;
    let (id, secret) = endpoint(&app, &ws, &receiver.base).await;
    let started = clock.now_ms();
    let mut contacts = HashSet::new();
    for name in ["One", "Two", "Three"] {
        contacts.insert(contact(&app, &ws, json!({"name": name})).await);
    }
    let first = receiver.wait_for(3, WAIT).await;
    let message_ids: HashSet<String> = first
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    settled(&app, &ws, &clock, 3).await;

    // An hour of nothing but failures is not yet the period: enabled, the streak counted.
    clock.advance(HOUR_MS);
    settled(&app, &ws, &clock, 3).await;
    let read = read_endpoint(&app, &ws, &id).await;
    assert_eq!(read["enabled"], true, "{read}");
    assert_eq!(read["consecutive_failures"], 6, "{read}");
    assert_eq!(read["failing_since"], started, "{read}");
    assert_eq!(message_statuses(&app, &ws).await, ["failing"; 3]);

    // Two hours after the first failure, with no success in between: disabled, messages held.
    clock.advance(HOUR_MS);
    settled(&app, &ws, &clock, 3).await;
    let read = read_endpoint(&app, &ws, &id).await;
    assert_eq!(read["enabled"], false, "{read}");
    assert_eq!(read["disabled_reason"], "failing");
    assert_eq!(read["failing_since"], started);
    assert_eq!(message_statuses(&app, &ws).await, ["held"; 3]);
    let dead: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM queue_jobs WHERE workspace_id = $1 AND state = 'dead'",
    )
    .bind(&ws.id)
    .fetch_one(holdfast_store::Db::unscoped_pool(&app.db))
    .await
    .unwrap();
    assert_eq!(dead, 0, "held messages are kept, not dead jobs");
    let audit = app
        .get("/api/v1/audit?action=webhook.endpoint_disabled")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let entry = &audit["data"][0];
    assert_eq!(entry["action"], "webhook.endpoint_disabled", "{audit}");
    assert_eq!(entry["actor_type"], "system");
    assert_eq!(entry["entity_id"], id.as_str());
    // The owner hears about it, with how to recover (the local outbox: no SMTP relay).
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let mail =
            holdfast_store::ops::mail_outbox::unscoped_list(&app.db, Some(&ws.owner_email), 10)
                .await
                .unwrap();
        if let Some(mail) = mail.first() {
            assert_eq!(mail.subject, "A webhook endpoint was disabled");
            assert!(mail.body_text.contains(&id));
            assert!(
                mail.body_text
                    .contains(&format!("/api/v1/webhooks/{id}/recover"))
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no mail to the owner");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Disabled: nothing more is sent, and recovery asks to enable it first.
    let before = receiver.requests().len();
    contact(&app, &ws, json!({"name": "Four"})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests().len(), before);
    let refused = recover(&app, &ws, &id, json!({"since": started}), 409).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("enable it first"),
        "{refused}"
    );

    // The receiver works again: enable, then recover since before the failures.
    receiver.answer(204);
    let enabled = app
        .patch(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"enabled": true}))
        .expect(200)
        .await
        .json;
    assert_eq!(enabled["consecutive_failures"], 0);
    assert_eq!(enabled["failing_since"], Value::Null);
    assert_eq!(enabled["disabled_reason"], Value::Null);
    // (A second later, so the log's newest-first order tells the new attempts apart.)
    clock.advance(1_000);
    let recovered = recover(&app, &ws, &id, json!({"since": started - 1000}), 202).await;
    assert_eq!(recovered["queued"], 3, "{recovered}");
    assert_eq!(recovered["more"], false);
    let seen = receiver.wait_for(before + 3, WAIT).await;
    let again = &seen[before..];
    let payloads = verified(&secret, again).await;
    let ids: HashSet<String> = again
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    assert_eq!(
        ids, message_ids,
        "each message again, under its own webhook-id"
    );
    let delivered: HashSet<String> = payloads
        .iter()
        .map(|p| p["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(delivered, contacts);
    settled(&app, &ws, &clock, 3).await;
    assert_eq!(message_statuses(&app, &ws).await, ["delivered"; 3]);
    let log = app
        .get(&format!("/api/v1/webhooks/{id}/deliveries?limit=1"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(log["data"][0]["trigger"], "recover", "{log}");
    // Delivered messages are not recovered twice.
    let nothing = recover(&app, &ws, &id, json!({"since": started - 1000}), 202).await;
    assert_eq!(nothing["queued"], 0, "{nothing}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests().len(), before + 3);
    let audit = app
        .get("/api/v1/audit?action=webhook.recovery_requested")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(audit["data"].as_array().unwrap().len(), 2, "{audit}");
    assert_eq!(audit["data"][1]["actor_type"], "api_key", "{audit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_is_validated_refused_while_disabled_and_needs_webhooks_manage() {
    let receiver = Receiver::start().await;
    let (app, clock) = app_on_manual_clock(Layer::default(), 0).await;
    let ws = app.workspace("recovery").await;
    let (id, _) = endpoint(&app, &ws, &receiver.base).await;
    let now = clock.now_ms();
    let day = 24 * HOUR_MS;
    for (body, words) in [
        (json!({"since": now + 60_000}), "future"),
        (json!({"since": now - 31 * day}), "30 days"),
        (json!({"since": "2026-12-01T00:00:00Z"}), "milliseconds"),
        (json!({}), "required"),
        (json!({"since": null}), "required"),
    ] {
        let refused = recover(&app, &ws, &id, body.clone(), 422).await;
        assert_eq!(refused["errors"][0]["field"], "since", "{body}: {refused}");
        let text = refused.to_string();
        assert!(text.contains(words), "{body}: {refused}");
    }
    let unknown = recover(&app, &ws, &id, json!({"since": now, "until": now}), 422).await;
    assert!(unknown.to_string().contains("until"), "{unknown}");
    // In the window and nothing undelivered: nothing queued.
    let none = recover(&app, &ws, &id, json!({"since": now - 30 * day}), 202).await;
    assert_eq!(
        none,
        json!({"queued": 0, "more": false, "since": now - 30 * day})
    );

    // A disabled endpoint: enable it first.
    app.patch(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"enabled": false}))
        .expect(200)
        .await;
    let refused = recover(&app, &ws, &id, json!({"since": now}), 409).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("enable it first"),
        "{refused}"
    );

    // Without webhooks.manage: 403; another workspace's endpoint or an unknown one: 404.
    let role = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "Contacts only", "permissions": ["contacts.read"]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (key, _) = crate::key_with_role(&app, &ws, &role).await;
    app.post(&format!("/api/v1/webhooks/{id}/recover"))
        .key(&key)
        .json(&json!({"since": now}))
        .expect(403)
        .await;
    let other = app.workspace("recovery-other").await;
    app.post(&format!("/api/v1/webhooks/{id}/recover"))
        .key(&other.admin_key)
        .json(&json!({"since": now}))
        .expect(404)
        .await;
    recover(&app, &ws, "whe_nope", json!({"since": now}), 404).await;
}
