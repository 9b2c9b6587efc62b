//! Webhook endpoints through outages: a receiver that refuses connections while a burst of
//! events happens gets every event once it is back (a burst is not a reason to disable an
//! endpoint); an endpoint that fails continuously for the configured period is disabled with
//! its undelivered messages held, and an admin recovers them after enabling it again.

use crate::contact;
use holdfast_core::clock::{Clock, ManualClock, SystemClock};
use holdfast_core::config::Layer;
use holdfast_testkit::python::standard_verify;
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const HOUR_MS: i64 = 60 * 60 * 1000;

/// An app on a clock the test moves, starting now (the reference library refuses timestamps
/// more than five minutes from the real time), whose outbound client may reach 127.0.0.1.
async fn app_on_manual_clock(layer: Layer) -> (TestApp, ManualClock) {
    let clock = ManualClock::new(SystemClock.now_ms());
    let layer = Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..layer
    };
    let app = TestApp::spawn_custom(layer, Arc::new(clock.clone()), |r| r).await;
    (app, clock)
}

async fn endpoint(app: &TestApp, ws: &Workspace, url: &str) -> (String, String) {
    let created = app
        .post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": url, "event_types": ["contact.created"]}))
        .expect(201)
        .await
        .json;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
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
        .map(|r| r.unwrap().expect("the reference library verifies every delivery"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_during_a_short_outage_is_delivered_once_the_receiver_is_back() {
    let receiver = Receiver::start().await;
    let (app, clock) = app_on_manual_clock(Layer::default()).await;
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
