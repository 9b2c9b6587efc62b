//! Outbound webhooks end to end: a real receiver on 127.0.0.1, the job worker, deliveries
//! checked with the Standard Webhooks reference library, retries with a stable webhook-id,
//! the delivery log, manual redelivery, secret rotation, and the SSRF guard on endpoint URLs
//! and redirects. Outages, automatic disabling and recovery: `webhook_recovery.rs`.

use crate::webhook_endpoint;
use crate::{ada, contact};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::python::standard_verify;
use holdfast_testkit::receiver::{Captured, Receiver};
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// An app whose outbound client may reach this machine (where the receiver runs).
fn loopback_allowed() -> Layer {
    Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Layer::default()
    }
}

fn all_contact_events(url: &str) -> Value {
    json!({"url": url, "event_types": ["contact.created", "contact.updated", "contact.deleted"]})
}

fn verify(secret: &str, delivery: &Captured) -> Result<Value, String> {
    standard_verify(secret, &delivery.headers, &delivery.body)
}

/// The endpoint's delivery log once it holds at least `count` entries. The receiver sees a
/// request before the worker records its attempt, so a test that waited for the receiver
/// waits here too for the log to catch up.
async fn delivery_log(app: &TestApp, ws: &Workspace, id: &str, query: &str, count: usize) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let log = app
            .get(&format!("/api/v1/webhooks/{id}/deliveries{query}"))
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json;
        let entries = log["data"].as_array().map_or(0, Vec::len);
        if entries >= count {
            return log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the log never reached {count} entries: {log}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_verify_with_the_standard_webhooks_library_and_follow_field_rules() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(loopback_allowed()).await;
    let ws = app.workspace("hooks").await;
    let created = app
        .post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({
            "url": format!("{}/holdfast", receiver.base),
            "description": "dispatch board",
            "event_types": ["contact.created", "contact.updated", "contact.deleted"],
            "role": "technician"
        }))
        .expect(201)
        .await
        .json;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(created["role"], "technician");
    assert_eq!(created["enabled"], true);
    let id = created["id"].as_str().unwrap().to_owned();
    // The secret is shown once: never in reads.
    let read = app
        .get(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(!read.text.contains(&secret) && read.json.get("secret").is_none());
    let listed = app
        .get("/api/v1/webhooks")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(!listed.text.contains("whsec_"));

    let contact_id = contact(&app, &ws, ada()).await;
    app.patch(&format!("/api/v1/contacts/{contact_id}"))
        .key(&ws.admin_key)
        .json(&json!({"company": "Difference Engine Ltd"}))
        .expect(200)
        .await;
    // Deleting erases the contact, undelivered events naming it included: wait for them.
    receiver.wait_for(2, WAIT).await;
    app.delete(&format!("/api/v1/contacts/{contact_id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    let seen = receiver.wait_for(3, WAIT).await;
    let mut types = Vec::new();
    for delivery in &seen {
        assert_eq!(delivery.path, "/holdfast");
        assert_eq!(delivery.header("content-type"), Some("application/json"));
        assert!(delivery.header("webhook-id").unwrap().starts_with("msg_"));
        // The reference library accepts it, and returns the same payload.
        let payload = verify(&secret, delivery).expect("verifies");
        assert_eq!(payload, delivery.json());
        assert_eq!(payload["version"], 1);
        assert!(payload["id"].as_str().unwrap().starts_with("evt_"));
        let data = &payload["data"];
        if payload["type"] != "contact.deleted" {
            assert_eq!(data["name"], "Ada Lovelace");
            assert_eq!(data["phone"], "+442079460958");
            // Technicians do not see contact emails, and neither does their endpoint.
            assert!(data.get("email").is_none(), "{payload}");
            assert!(!delivery.body.contains("ada@example.com"));
        }
        assert_eq!(data["id"], contact_id.as_str());
        types.push(payload["type"].as_str().unwrap().to_owned());
        // Tampering with the body, or another secret, fails the library's check.
        let mut forged = delivery.clone();
        forged.body = forged.body.replace("Ada", "Eve").replace("}", " }");
        assert!(verify(&secret, &forged).is_err());
        let other = app
            .post("/api/v1/webhooks")
            .key(&ws.admin_key)
            .json(&json!({"url": receiver.base, "event_types": ["contact.deleted"], "enabled": false}))
            .expect(201)
            .await
            .json["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(verify(&other, delivery).is_err());
    }
    types.sort();
    assert_eq!(
        types,
        ["contact.created", "contact.deleted", "contact.updated"]
    );

    // The delivery log names each attempt, its request and the answer. Deleting the contact
    // erased the deliveries that named it; the deletion's own remains (only the id).
    let log = delivery_log(&app, &ws, &id, "", 1).await;
    let entries = log["data"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    for entry in entries {
        assert_eq!(entry["response_status"], 204);
        assert_eq!(entry["attempt"], 1);
        assert_eq!(entry["trigger"], "auto");
        assert!(entry["latency_ms"].as_i64().unwrap() >= 0);
        assert!(
            entry["request_headers"]["webhook-signature"]
                .as_str()
                .unwrap()
                .starts_with("v1,")
        );
        assert!(entry["request_body"].as_str().unwrap().contains("\"type\""));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_endpoint_means_no_job_and_a_disabled_endpoint_gets_nothing() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(loopback_allowed()).await;
    let ws = app.workspace("quiet").await;
    contact(&app, &ws, ada()).await;
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM queue_jobs WHERE workspace_id = $1")
        .bind(&ws.id)
        .fetch_one(holdfast_store::Db::unscoped_pool(&app.db))
        .await
        .unwrap();
    assert_eq!(jobs, 0, "contact changes cost no job while nobody listens");
    let mut body = all_contact_events(&receiver.base);
    body["enabled"] = json!(false);
    webhook_endpoint(&app, &ws, body).await;
    contact(&app, &ws, json!({"name": "Grace Hopper"})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_delivery_is_retried_with_backoff_and_the_same_webhook_id() {
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let (app, clock) = TestApp::spawn_on_clock(loopback_allowed(), 1_800_000_000_000).await;
    let ws = app.workspace("retry").await;
    let (id, _) = webhook_endpoint(&app, &ws, all_contact_events(&receiver.base)).await;
    contact(&app, &ws, ada()).await;
    let first = receiver.wait_for(1, WAIT).await;
    // Not retried before its backoff (5 s ± 20 %) has passed on the clock.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.requests().len(), 1);
    receiver.answer(200);
    clock.advance(6_001);
    let both = receiver.wait_for(2, WAIT).await;
    assert_eq!(both[1].header("webhook-id"), first[0].header("webhook-id"));
    assert_eq!(both[1].body, first[0].body);
    let log = delivery_log(&app, &ws, &id, "", 2).await;
    let statuses: Vec<(i64, i64)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["attempt"].as_i64().unwrap(),
                e["response_status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [(2, 200), (1, 503)], "newest first");
    // A success resets the endpoint's failure count.
    let read = app
        .get(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(read["consecutive_failures"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_redelivery_sends_the_same_message_again() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(loopback_allowed()).await;
    let ws = app.workspace("redeliver").await;
    let (id, secret) = webhook_endpoint(&app, &ws, all_contact_events(&receiver.base)).await;
    contact(&app, &ws, ada()).await;
    let first = receiver.wait_for(1, WAIT).await;
    let message = first[0].header("webhook-id").unwrap().to_owned();
    let queued = app
        .post(&format!(
            "/api/v1/webhooks/{id}/messages/{message}/redeliver"
        ))
        .key(&ws.admin_key)
        .expect(202)
        .await
        .json;
    assert_eq!(queued["message_id"], message.as_str());
    let both = receiver.wait_for(2, WAIT).await;
    assert_eq!(both[1].header("webhook-id"), Some(message.as_str()));
    assert!(verify(&secret, &both[1]).is_ok());
    // The first page of one holds the newest attempt once both are recorded.
    delivery_log(&app, &ws, &id, "", 2).await;
    let log = delivery_log(&app, &ws, &id, "?limit=1", 1).await;
    assert_eq!(log["data"][0]["trigger"], "manual");
    assert_eq!(log["data"][0]["attempt"], 2);
    assert!(log["next_cursor"].is_string());
    // Unknown or malformed message ids are 404; so is another endpoint's message.
    app.post(&format!(
        "/api/v1/webhooks/{id}/messages/msg_nope/redeliver"
    ))
    .key(&ws.admin_key)
    .expect(404)
    .await;
    let (other, _) = webhook_endpoint(&app, &ws, all_contact_events(&receiver.base)).await;
    app.post(&format!(
        "/api/v1/webhooks/{other}/messages/{message}/redeliver"
    ))
    .key(&ws.admin_key)
    .expect(404)
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_secret_overlaps_with_the_old_one_then_replaces_it() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(loopback_allowed()).await;
    let ws = app.workspace("rotate").await;
    let (id, old) = webhook_endpoint(&app, &ws, all_contact_events(&receiver.base)).await;
    let rotated = app
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"))
        .key(&ws.admin_key)
        .json(&json!({"overlap_seconds": 3600}))
        .expect(200)
        .await
        .json;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_expires_at"].is_i64());
    contact(&app, &ws, ada()).await;
    let seen = receiver.wait_for(1, WAIT).await;
    let signatures = seen[0].header("webhook-signature").unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    // Receivers holding either secret accept it during the overlap.
    assert!(verify(&new, &seen[0]).is_ok());
    assert!(verify(&old, &seen[0]).is_ok());

    // A second overlap would push out the secret receivers still hold: refused.
    let busy = app
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(409)
        .await;
    assert!(busy.text.contains("overlap_seconds 0"), "{}", busy.text);
    let again = app
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"))
        .key(&ws.admin_key)
        .json(&json!({"overlap_seconds": 0}))
        .expect(200)
        .await
        .json;
    let newest = again["secret"].as_str().unwrap().to_owned();
    assert_eq!(again["previous_secret_expires_at"], Value::Null);
    contact(&app, &ws, json!({"name": "Grace Hopper"})).await;
    let seen = receiver.wait_for(2, WAIT).await;
    assert_eq!(
        seen[1]
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        1
    );
    assert!(verify(&newest, &seen[1]).is_ok());
    assert!(verify(&new, &seen[1]).is_err());
    let bad = app
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"))
        .key(&ws.admin_key)
        .json(&json!({"overlap_seconds": 999_999}))
        .expect(422)
        .await;
    assert!(bad.text.contains("overlap_seconds"));
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_urls_on_private_addresses_are_refused_by_default() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("ssrf").await;
    let receiver = Receiver::start().await;
    let port = receiver.base.rsplit(':').next().unwrap().to_owned();
    for url in [
        format!("http://127.0.0.1:{port}/"),
        "http://10.0.0.1/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://[::1]:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://localhost:{port}/"),
        "http://192.168.1.10/".to_owned(),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
    ] {
        let refused = app
            .post("/api/v1/webhooks")
            .key(&ws.admin_key)
            .json(&json!({"url": url, "event_types": ["contact.created"]}))
            .expect(422)
            .await;
        assert_eq!(
            refused.json["errors"][0]["field"], "url",
            "{url}: {}",
            refused.text
        );
    }
    assert!(receiver.requests().is_empty());
    for bad in [
        "ftp://example.com/",
        "http://user:pass@example.com/",
        "not a url",
    ] {
        app.post("/api/v1/webhooks")
            .key(&ws.admin_key)
            .json(&json!({"url": bad, "event_types": ["contact.created"]}))
            .expect(422)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_a_private_address_is_refused_and_logged() {
    // Only the receiver's own address is allowed: its redirect elsewhere is not followed.
    let receiver = Receiver::start().await;
    let layer = Layer {
        outbound_allow: Some(vec!["127.0.0.1/32".into()]),
        ..Layer::default()
    };
    let app = TestApp::spawn_with(layer).await;
    let ws = app.workspace("redirect").await;
    let (id, _) = webhook_endpoint(&app, &ws, all_contact_events(&receiver.base)).await;
    receiver.redirect(307, "http://169.254.169.254/latest/meta-data/");
    contact(&app, &ws, ada()).await;
    receiver.wait_for(1, WAIT).await;
    let entry = delivery_log(&app, &ws, &id, "", 1).await["data"][0].clone();
    assert_eq!(entry["response_status"], Value::Null, "{entry}");
    let error = entry["error"].as_str().unwrap();
    assert!(
        error.contains("169.254.169.254")
            || error.to_lowercase().contains("link-local")
            || error.to_lowercase().contains("metadata"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_definitions_are_validated_and_bounded_by_the_callers_role() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(loopback_allowed()).await;
    let ws = app.workspace("hookrules").await;
    let bad = app
        .post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": "ftp://x", "event_types": ["contact.exploded"], "description": "x".repeat(300)}))
        .expect(422)
        .await;
    let fields: Vec<&str> = bad.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["url", "description", "event_types"],
        "{}",
        bad.text
    );
    // A role that cannot read contacts cannot receive contact events.
    let role = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "Hooks only", "permissions": ["webhooks.manage"]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = app
        .post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": receiver.base, "event_types": ["contact.created"], "role": role}))
        .expect(422)
        .await;
    assert!(refused.text.contains("contacts.read"), "{}", refused.text);
    // A credential with that role may manage endpoints, but not give one more than it has.
    let (hooks_key, _) = crate::key_with_role(&app, &ws, &role).await;
    app.post("/api/v1/webhooks")
        .key(&hooks_key)
        .json(&json!({"url": receiver.base, "event_types": ["contact.created"], "role": "admin"}))
        .expect(403)
        .await;
    // The role an endpoint holds cannot be deleted from under it.
    let (id, _) = webhook_endpoint(
        &app,
        &ws,
        json!({"url": receiver.base, "event_types": ["contact.deleted"], "role": "viewer"}),
    )
    .await;
    // That credential manages endpoints, but cannot read the log of one acting as viewer
    // (it would show contacts it may not see), redeliver from it, or delete it.
    app.get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .key(&hooks_key)
        .expect(403)
        .await;
    app.delete(&format!("/api/v1/webhooks/{id}"))
        .key(&hooks_key)
        .expect(403)
        .await;
    let catalogue = app
        .get("/api/v1/webhooks/event-types")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        catalogue
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "contact.updated" && e["version"] == 1)
    );
    app.delete(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    app.patch(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"enabled": true}))
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn several_workers_share_the_queue_and_each_message_is_delivered_once() {
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(5));
    let app = TestApp::spawn_with(loopback_allowed()).await;
    let _second = app.extra_worker();
    let _third = app.extra_worker();
    let ws = app.workspace("workers").await;
    webhook_endpoint(&app, &ws, all_contact_events(&receiver.base)).await;
    webhook_endpoint(&app, &ws, all_contact_events(&receiver.base)).await;
    let creates = (0..40).map(|i| contact(&app, &ws, json!({"name": format!("Customer {i}")})));
    futures::future::join_all(creates).await;
    // 40 events × 2 endpoints, each exactly once: no two workers ever hold the same job.
    let seen = receiver.wait_for(80, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = if receiver.requests().len() > seen.len() {
        receiver.requests()
    } else {
        seen
    };
    let ids: std::collections::HashSet<&str> = seen
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(seen.len(), 80, "duplicates delivered");
    assert_eq!(ids.len(), 80);
}
