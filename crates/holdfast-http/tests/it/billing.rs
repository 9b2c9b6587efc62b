//! The billing gate of a hosted instance, over HTTP on either database: the operator's signed
//! Stripe events move a workspace's plan (trialing → active → past due → read-only after the
//! grace period → active → canceled), a read-only workspace keeps its reads and exports and
//! answers 402 to changes, an incomplete one is sent to checkout, unsigned or replayed or older
//! events change nothing, other workspaces are unaffected, and a self-hosted server (`off`)
//! gates nothing.

use crate::{contact, generous_sign_in};
use hmac::{Hmac, Mac};
use holdfast_core::clock::ManualClock;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{Method, TestApp, Workspace};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "whsec_billingoperatorsecret0123456789";
const CHECKOUT: &str = "https://buy.stripe.com/test_holdfast";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const START_MS: i64 = 1_800_000_000_000;

async fn hosted() -> (TestApp, ManualClock) {
    TestApp::spawn_on_clock(
        Layer {
            billing_mode: Some("stripe".into()),
            billing_webhook_secret: Some(SECRET.into()),
            billing_checkout_url: Some(CHECKOUT.into()),
            billing_grace_days: Some(7),
            ..generous_sign_in()
        },
        START_MS,
    )
    .await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stripe's `Stripe-Signature` for `body` at `t` (seconds) under `secret`.
fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

/// Delivers `event` signed with the operator's secret at the clock's time; the answer.
async fn deliver(app: &TestApp, clock: &ManualClock, event: &Value) -> (u16, Value) {
    let body = event.to_string();
    let r = app
        .post("/hooks/billing/stripe")
        .header(
            "stripe-signature",
            &signature(SECRET, clock.now_ms() / 1000, &body),
        )
        .body("application/json", body)
        .send()
        .await;
    (r.status, r.json)
}

static EVENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A `customer.subscription.*` event of the Stripe customer `customer`, created at
/// `created_ms`, naming the workspace in its metadata when given.
fn subscription(
    kind: &str,
    status: &str,
    customer: &str,
    ws: Option<&Workspace>,
    created_ms: i64,
) -> Value {
    let n = EVENTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let metadata = match ws {
        Some(ws) => json!({"holdfast_workspace": ws.id}),
        None => json!({}),
    };
    json!({
        "id": format!("evt_billing_{n}"),
        "object": "event",
        "type": format!("customer.subscription.{kind}"),
        "created": created_ms / 1000,
        "data": {"object": {
            "id": format!("sub_{customer}"), "object": "subscription", "status": status,
            "customer": customer, "metadata": metadata
        }}
    })
}

/// A Stripe customer id of the workspace's own (customer ids are unique across Stripe, and
/// test databases are shared).
fn customer_of(ws: &Workspace) -> String {
    format!("cus_{}", ws.id)
}

use holdfast_core::clock::Clock as _;

async fn plan(app: &TestApp, ws: &Workspace) -> Value {
    app.get("/api/v1/workspace/billing")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

async fn create_status(app: &TestApp, ws: &Workspace, email: &str) -> u16 {
    app.post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"name": "Grace", "email": email}))
        .send()
        .await
        .status
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_follows_signed_events_through_grace_read_only_and_back() {
    let (app, clock) = hosted().await;
    let ws = app.workspace("billing-plan").await;
    let other = app.workspace("billing-other").await;
    contact(
        &app,
        &ws,
        json!({"name": "Before", "email": "before@example.com"}),
    )
    .await;
    // No event yet: a trial, open.
    let fresh = plan(&app, &ws).await;
    assert_eq!(fresh["mode"], "stripe");
    assert_eq!(fresh["state"], "trialing");
    assert_eq!(fresh["access"], "open");

    let now = || clock.now_ms();
    let (status, answer) = deliver(
        &app,
        &clock,
        &subscription("created", "trialing", &customer_of(&ws), Some(&ws), now()),
    )
    .await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("changed")));
    // Later events name only the customer, linked by the first.
    clock.advance(1000);
    let active = subscription("updated", "active", &customer_of(&ws), None, now());
    assert_eq!(deliver(&app, &clock, &active).await.1["outcome"], "changed");
    assert_eq!(plan(&app, &ws).await["state"], "active");
    // The same signed delivery again changes nothing.
    let body = active.to_string();
    let replay = app
        .post("/hooks/billing/stripe")
        .header("stripe-signature", &signature(SECRET, now() / 1000, &body))
        .body("application/json", body)
        .expect(200)
        .await;
    assert_eq!(replay.json["outcome"], "duplicate");

    clock.advance(1000);
    let past_due_at = now();
    let (_, answer) = deliver(
        &app,
        &clock,
        &subscription("updated", "past_due", &customer_of(&ws), None, past_due_at),
    )
    .await;
    assert_eq!(answer["outcome"], "changed");
    let owed = plan(&app, &ws).await;
    assert_eq!(owed["state"], "past_due");
    assert_eq!(owed["access"], "open");
    assert_eq!(owed["read_only_from"], past_due_at + 7 * DAY_MS);
    // Within the grace period, writes work.
    assert_eq!(create_status(&app, &ws, "grace1@example.com").await, 201);
    clock.advance(7 * DAY_MS - 1000);
    assert_eq!(create_status(&app, &ws, "grace2@example.com").await, 201);
    // Stripe's retries (`unpaid`) keep the first day of being past due.
    let unpaid = subscription("updated", "unpaid", &customer_of(&ws), None, now());
    assert_eq!(
        deliver(&app, &clock, &unpaid).await.1["outcome"],
        "unchanged"
    );
    clock.advance(1000);

    // Beyond it: read-only.
    let refused = app
        .post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"name": "Late", "email": "late@example.com"}))
        .expect(402)
        .await;
    let problem = refused.problem("HF-BILL-001");
    assert!(
        problem["detail"].as_str().unwrap().contains("past due"),
        "{problem}"
    );
    assert_eq!(plan(&app, &ws).await["access"], "read_only");
    let listed = app
        .get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 3);
    let export = app
        .get("/api/v1/contacts/export?format=csv")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(export.text.contains("before@example.com"));
    // Another workspace is not gated.
    assert_eq!(create_status(&app, &other, "free@example.com").await, 201);
    // An older event arriving late changes nothing.
    let late = subscription(
        "updated",
        "active",
        &customer_of(&ws),
        None,
        past_due_at - 500,
    );
    assert_eq!(deliver(&app, &clock, &late).await.1["outcome"], "stale");
    assert_eq!(create_status(&app, &ws, "still@example.com").await, 402);

    // Paid: writes work again.
    let paid = subscription("updated", "active", &customer_of(&ws), None, now());
    assert_eq!(deliver(&app, &clock, &paid).await.1["outcome"], "changed");
    assert_eq!(create_status(&app, &ws, "paid@example.com").await, 201);
    let back = plan(&app, &ws).await;
    assert_eq!(back["past_due_since"], Value::Null);

    // Canceled: read-only for good.
    clock.advance(1000);
    let gone = subscription("deleted", "canceled", &customer_of(&ws), None, now());
    assert_eq!(deliver(&app, &clock, &gone).await.1["outcome"], "changed");
    let refused = app
        .post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"name": "After", "email": "after@example.com"}))
        .expect(402)
        .await;
    assert!(
        refused.problem("HF-BILL-001")["detail"]
            .as_str()
            .unwrap()
            .contains("canceled")
    );
    app.get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;

    // Each change of state is in the workspace's audit trail, by the billing system actor.
    let audit = app
        .get("/api/v1/audit?action=workspace.plan_changed")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let moves: Vec<(Value, Value)> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            let summary: Value = serde_json::from_str(e["summary"].as_str().unwrap()).unwrap();
            (summary["from"].clone(), summary["to"].clone())
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            (Value::Null, json!("trialing")),
            (json!("trialing"), json!("active")),
            (json!("active"), json!("past_due")),
            (json!("past_due"), json!("active")),
            (json!("active"), json!("canceled")),
        ],
        "{audit}"
    );
    assert_eq!(audit["data"][0]["actor_id"], "stripe-billing");
    let others = app
        .get("/api/v1/audit?action=workspace.plan_changed")
        .key(&other.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(others["data"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_wrongly_signed_or_stale_deliveries_are_401_and_change_nothing() {
    let (app, clock) = hosted().await;
    let ws = app.workspace("billing-forged").await;
    let event = subscription(
        "created",
        "canceled",
        &customer_of(&ws),
        Some(&ws),
        clock.now_ms(),
    );
    let body = event.to_string();
    let t = clock.now_ms() / 1000;
    let cases = [
        ("unsigned", None),
        (
            "another secret",
            Some(signature("whsec_someoneelsessecret0123456789", t, &body)),
        ),
        ("stale", Some(signature(SECRET, t - 3600, &body))),
        ("malformed", Some("t=abc,v1=zz".to_owned())),
    ];
    for (label, header) in cases {
        let mut call = app
            .post("/hooks/billing/stripe")
            .body("application/json", body.clone());
        if let Some(header) = &header {
            call = call.header("stripe-signature", header);
        }
        let r = call.send().await;
        assert_eq!(r.status, 401, "{label}: {}", r.text);
        r.problem("HF-AUTH-009");
    }
    // A signed body that was tampered with.
    let tampered = body.replace("canceled", "active");
    let r = app
        .post("/hooks/billing/stripe")
        .header("stripe-signature", &signature(SECRET, t, &body))
        .body("application/json", tampered)
        .send()
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(plan(&app, &ws).await["state"], "trialing");
    assert_eq!(create_status(&app, &ws, "ok@example.com").await, 201);
    // A workspace's own Stripe secret (its invoices' receiver) is not the operator's.
    let r = app
        .post(&format!("/hooks/stripe/{}", ws.slug))
        .header("stripe-signature", &signature(SECRET, t, &body))
        .body("application/json", body.clone())
        .send()
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(plan(&app, &ws).await["state"], "trialing");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incomplete_workspace_is_sent_to_checkout_until_it_pays() {
    let (app, clock) = hosted().await;
    let ws = app.workspace("billing-unpaid").await;
    let other = app.workspace("billing-paying").await;
    let id = contact(
        &app,
        &ws,
        json!({"name": "Kept", "email": "kept@example.com"}),
    )
    .await;
    let (_, answer) = deliver(
        &app,
        &clock,
        &subscription(
            "created",
            "incomplete",
            &customer_of(&ws),
            Some(&ws),
            clock.now_ms(),
        ),
    )
    .await;
    assert_eq!(answer["outcome"], "changed");
    let to = format!("{CHECKOUT}?client_reference_id={}", ws.id);

    let refused = app
        .post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"name": "New", "email": "new@example.com"}))
        .expect(402)
        .await;
    assert!(
        refused.problem("HF-BILL-001")["detail"]
            .as_str()
            .unwrap()
            .contains(&to),
        "{}",
        refused.text
    );
    app.get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(402)
        .await;
    // Its plan and its data stay reachable.
    let owed = plan(&app, &ws).await;
    assert_eq!(owed["access"], "checkout");
    assert_eq!(owed["checkout_url"], to);
    app.get("/api/v1/contacts/export?format=json")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    app.get(&format!("/api/v1/contacts/{id}/export"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    // A console page sends the member to checkout.
    let console = app.console_login(&ws).await;
    let page = app
        .browser(Method::GET, "/app/contacts")
        .cookie(&console)
        .expect(303)
        .await;
    assert_eq!(page.header("location"), Some(to.as_str()));
    // A person's own account (not the workspace's work) stays theirs.
    let token = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get("/api/v1/auth/sessions")
        .key(&token)
        .expect(200)
        .await;
    // Another workspace is not gated.
    assert_eq!(create_status(&app, &other, "free@example.com").await, 201);

    // The checkout's completion links the workspace by its reference and opens it.
    clock.advance(1000);
    let completed = json!({
        "id": "evt_checkout_1", "object": "event", "type": "checkout.session.completed",
        "created": clock.now_ms() / 1000,
        "data": {"object": {
            "id": "cs_test_1", "object": "checkout.session", "client_reference_id": ws.id,
            "customer": format!("cus_paid_{}", ws.id), "subscription": "sub_hosted_2",
            "payment_status": "paid", "status": "complete"
        }}
    });
    assert_eq!(
        deliver(&app, &clock, &completed).await.1["outcome"],
        "changed"
    );
    assert_eq!(plan(&app, &ws).await["state"], "active");
    assert_eq!(create_status(&app, &ws, "new@example.com").await, 201);
    app.browser(Method::GET, "/app/contacts")
        .cookie(&console)
        .expect(200)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_for_no_workspace_of_this_server_are_acknowledged_and_ignored() {
    let (app, clock) = hosted().await;
    let ws = app.workspace("billing-bystander").await;
    let stranger = json!({
        "id": "evt_stranger", "object": "event", "type": "customer.subscription.updated",
        "created": clock.now_ms() / 1000,
        "data": {"object": {"id": "sub_x", "status": "canceled", "customer": "cus_unknown",
            "metadata": {"holdfast_workspace": "ws_01nosuchworkspace"}}}
    });
    assert_eq!(
        deliver(&app, &clock, &stranger).await.1["outcome"],
        "unmatched"
    );
    let other_kind = json!({
        "id": "evt_invoice", "object": "event", "type": "invoice.paid",
        "created": clock.now_ms() / 1000, "data": {"object": {"id": "in_1"}}
    });
    assert_eq!(
        deliver(&app, &clock, &other_kind).await.1["outcome"],
        "ignored"
    );
    assert_eq!(plan(&app, &ws).await["state"], "trialing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_hosted_server_has_no_billing_receiver_and_gates_nothing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("billing-off").await;
    let event = subscription("created", "canceled", &customer_of(&ws), Some(&ws), 0);
    let body = event.to_string();
    let t = crate::hooks::now_s();
    app.post("/hooks/billing/stripe")
        .header("stripe-signature", &signature(SECRET, t, &body))
        .body("application/json", body)
        .expect(404)
        .await;
    let plan = plan(&app, &ws).await;
    assert_eq!(plan["mode"], "off");
    assert_eq!(plan["access"], "open");
    assert_eq!(create_status(&app, &ws, "free@example.com").await, 201);
}

#[test]
fn the_routes_kept_open_for_an_unpaid_workspace_exist_and_only_read() {
    let table = holdfast_http::route_table();
    for (method, path) in holdfast_http::guard::OPEN_WHEN_UNPAID {
        assert_eq!(*method, "GET", "{path}: only reads stay open");
        assert!(
            table
                .specs()
                .any(|s| s.method.as_str() == *method && s.path == *path),
            "{method} {path} is not a route"
        );
    }
}
