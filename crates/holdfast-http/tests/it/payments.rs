//! Online payments over HTTP, against a payment provider's API on 127.0.0.1 (the test kit's
//! `ProviderApi`) and real signed webhooks: the workspace connects its own account (sealed,
//! never shown), a checkout asks for the open amount, the redirect back proves nothing, only a
//! verified event records the payment — once, whatever events and redeliveries name it —
//! refunds move the status back, and money for an unknown or another workspace's invoice, in
//! another currency or above the balance, is kept as unmatched and never applied.

use crate::contact;
use crate::hooks::{now_s, set_secret};
use hmac::{Hmac, Mac};
use holdfast_testkit::payments::ProviderApi;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

const STRIPE_KEY: &str = "rk_test_51HolDfAsTrEsTrIcTeDkEy00";
const STRIPE_SECRET: &str = "whsec_paymentstestsecret0123456789";

async fn app_with(api: &ProviderApi) -> TestApp {
    TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        payments_api_base: Some(api.base.clone()),
        ..Default::default()
    })
    .await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], text: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(text);
    mac.finalize().into_bytes().to_vec()
}

/// POSTs a Stripe event signed with the workspace's endpoint secret.
pub(crate) async fn send_stripe(app: &TestApp, ws: &Workspace, event: &Value) -> u16 {
    let body = event.to_string();
    let t = now_s();
    let v1 = hex(&hmac(
        STRIPE_SECRET.as_bytes(),
        format!("{t}.{body}").as_bytes(),
    ));
    app.post(&format!("/hooks/stripe/{}", ws.slug))
        .header("stripe-signature", &format!("t={t},v1={v1}"))
        .body("application/json", body)
        .send()
        .await
        .status
}

pub(crate) fn stripe_event(id: &str, kind: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "data": {"object": object}})
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// An issued invoice of `price` (EUR unless `currency`), and its id.
async fn issued(app: &TestApp, ws: &Workspace, price: &str, currency: &str) -> String {
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let customer = contact(
        app,
        ws,
        json!({"name": format!("Customer {n}"), "email": format!("customer{n}@example.com")}),
    )
    .await;
    let invoice = app
        .post("/api/v1/invoices")
        .key(&ws.admin_key)
        .json(&json!({"contact_id": customer, "currency": currency,
                      "lines": [{"description": "Boiler repair", "quantity": "1", "unit_price": price}]}))
        .expect(201)
        .await
        .json;
    let id = invoice["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/invoices/{id}/issue"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(200)
        .await;
    id
}

async fn invoice(app: &TestApp, ws: &Workspace, id: &str) -> Value {
    app.get(&format!("/api/v1/invoices/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

/// Waits until every received event is handled (or unmatched); returns them newest first.
async fn settled_events(app: &TestApp, ws: &Workspace, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed = app
            .get("/api/v1/inbound-events?limit=100")
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json;
        let events = listed["data"].as_array().cloned().unwrap_or_default();
        if events.len() >= count && events.iter().all(|e| e["state"] != "received") {
            return events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "events not handled in time: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn connect_stripe(app: &TestApp, ws: &Workspace) {
    app.call(
        holdfast_testkit::Method::PUT,
        "/api/v1/invoicing/payment-accounts/stripe",
    )
    .key(&ws.admin_key)
    .json(&json!({"secret_key": STRIPE_KEY}))
    .expect(200)
    .await;
    set_secret(app, ws, "stripe", STRIPE_SECRET).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stripe_checkout_is_paid_only_by_a_verified_webhook_once_and_refunded_in_part() {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let ws = app.workspace("paystripe").await;
    let key = ws.admin_key.clone();
    // Connecting: the key's shape is checked; a full secret key is refused; the key is never
    // answered again.
    let full = app
        .call(
            holdfast_testkit::Method::PUT,
            "/api/v1/invoicing/payment-accounts/stripe",
        )
        .key(&key)
        .json(&json!({"secret_key": "sk_live_51HolDfAsTfUlLkEy000000"}))
        .expect(422)
        .await;
    assert!(full.text.contains("restricted"), "{}", full.text);
    // Without an account there is nothing to pay with.
    let id = issued(&app, &ws, "68.35", "EUR").await;
    app.post(&format!("/api/v1/invoices/{id}/checkout"))
        .key(&key)
        .expect(409)
        .await;
    connect_stripe(&app, &ws).await;
    let accounts = app
        .get("/api/v1/invoicing/payment-accounts")
        .key(&key)
        .expect(200)
        .await;
    assert_eq!(accounts.json["data"][0]["provider"], "stripe");
    assert_eq!(accounts.json["data"][0]["key_hint"], "…Ey00");
    assert!(!accounts.text.contains(STRIPE_KEY), "{}", accounts.text);

    // The checkout asks for the open amount, with the invoice as metadata.
    let checkout = app
        .post(&format!("/api/v1/invoices/{id}/checkout"))
        .key(&key)
        .expect(201)
        .await
        .json;
    assert_eq!(checkout["provider"], "stripe");
    assert_eq!(checkout["amount"], "68.35");
    let url = checkout["url"].as_str().unwrap();
    assert!(url.starts_with("https://checkout.stripe.com/"), "{url}");
    let call = api.calls().pop().unwrap();
    assert_eq!(call.path, "/v1/checkout/sessions");
    assert_eq!(
        call.authorization.as_deref(),
        Some(&*format!("Bearer {STRIPE_KEY}"))
    );
    assert_eq!(
        call.form("line_items[0][price_data][unit_amount]")
            .as_deref(),
        Some("6835")
    );
    assert_eq!(
        call.form("line_items[0][price_data][currency]").as_deref(),
        Some("eur")
    );
    assert_eq!(
        call.form("metadata[holdfast_invoice]").as_deref(),
        Some(id.as_str())
    );
    let session = url.rsplit('/').next().unwrap().to_owned();
    // Coming back from the checkout changes nothing.
    assert_eq!(invoice(&app, &ws, &id).await["status"], "issued");

    // The verified event records it: the session and its payment intent name one payment, and
    // the provider's redeliveries are no second one.
    let completed = stripe_event(
        "evt_session_1",
        "checkout.session.completed",
        json!({"id": session, "object": "checkout.session", "payment_status": "paid",
               "payment_intent": "pi_1", "amount_total": 6835, "currency": "eur",
               "client_reference_id": id, "metadata": {"holdfast_invoice": id}}),
    );
    let succeeded = stripe_event(
        "evt_intent_1",
        "payment_intent.succeeded",
        json!({"id": "pi_1", "object": "payment_intent", "amount_received": 6835,
               "currency": "eur", "metadata": {"holdfast_invoice": id}}),
    );
    let (a, b) = tokio::join!(
        send_stripe(&app, &ws, &completed),
        send_stripe(&app, &ws, &succeeded)
    );
    assert_eq!((a, b), (200, 200));
    // A redelivery of the same event is accepted and stored once.
    assert_eq!(send_stripe(&app, &ws, &completed).await, 200);
    settled_events(&app, &ws, 2).await;
    let paid = invoice(&app, &ws, &id).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["paid"], "68.35");
    let payments = paid["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{paid}");
    assert_eq!(payments[0]["method"], "online");
    assert_eq!(payments[0]["provider"], "stripe");
    assert_eq!(payments[0]["reference"], "pi_1");
    assert_eq!(payments[0]["by"], "provider:stripe");

    // A partial refund: Stripe sends the running total; each total is applied once.
    for (n, total) in [(1, 1000), (2, 1000), (3, 1500)] {
        let refund = stripe_event(
            &format!("evt_refund_{n}"),
            "charge.refunded",
            json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_1",
                   "amount_refunded": total, "currency": "eur", "metadata": {"holdfast_invoice": id}}),
        );
        assert_eq!(send_stripe(&app, &ws, &refund).await, 200);
        settled_events(&app, &ws, 2 + n).await;
    }
    // A running total beyond the payment itself is never applied.
    let beyond = stripe_event(
        "evt_refund_beyond",
        "charge.refunded",
        json!({"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 6836,
               "currency": "eur", "metadata": {"holdfast_invoice": id}}),
    );
    assert_eq!(send_stripe(&app, &ws, &beyond).await, 200);
    let events = settled_events(&app, &ws, 6).await;
    assert_eq!(events[0]["state"], "unmatched", "{}", events[0]);
    let refunded = invoice(&app, &ws, &id).await;
    assert_eq!(refunded["status"], "partially_paid", "{refunded}");
    assert_eq!(refunded["refunded"], "15.00");
    assert_eq!(refunded["balance"], "15.00");
    let refunds: Vec<&Value> = refunded["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "refund")
        .collect();
    assert_eq!(
        refunds
            .iter()
            .map(|r| r["amount"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["10.00", "5.00"]
    );
    // Audited as the provider's doing.
    let trail = app
        .get("/api/v1/audit?limit=100")
        .key(&key)
        .expect(200)
        .await
        .json;
    let actions: Vec<&str> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "payment_account.connected",
        "invoice.checkout_opened",
        "payment.recorded",
        "payment.refunded",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn money_that_fits_no_invoice_of_the_workspace_is_kept_unmatched_and_never_applied() {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let ws = app.workspace("payodd").await;
    let other = app.workspace("payodd-other").await;
    connect_stripe(&app, &ws).await;
    let mine = issued(&app, &ws, "50", "EUR").await;
    let theirs = issued(&app, &other, "50", "EUR").await;
    let cases = [
        // Another workspace's invoice, named in metadata: not found here.
        json!({"id": "pi_a", "amount_received": 5000, "currency": "eur", "metadata": {"holdfast_invoice": theirs}}),
        // Nothing names an invoice.
        json!({"id": "pi_b", "amount_received": 5000, "currency": "eur"}),
        // Another currency.
        json!({"id": "pi_c", "amount_received": 5000, "currency": "usd", "metadata": {"holdfast_invoice": mine}}),
        // More than the balance.
        json!({"id": "pi_d", "amount_received": 5001, "currency": "eur", "metadata": {"holdfast_invoice": mine}}),
        // A refund of a payment never recorded.
        json!({"id": "ch_x", "payment_intent": "pi_zzz", "amount_refunded": 100, "currency": "eur", "metadata": {"holdfast_invoice": mine}}),
    ];
    for (n, object) in cases.iter().enumerate() {
        let kind = if object["id"].as_str().unwrap().starts_with("ch_") {
            "charge.refunded"
        } else {
            "payment_intent.succeeded"
        };
        let event = stripe_event(&format!("evt_odd_{n}"), kind, object.clone());
        assert_eq!(send_stripe(&app, &ws, &event).await, 200);
    }
    let events = settled_events(&app, &ws, cases.len()).await;
    for event in &events {
        assert_eq!(event["state"], "unmatched", "{event}");
        assert!(
            event["outcome"].as_str().is_some_and(|o| !o.is_empty()),
            "{event}"
        );
    }
    let outcomes: Vec<&str> = events
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.iter().any(|o| o.contains("in USD")),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| o.contains("more than the balance")),
        "{outcomes:?}"
    );
    // Nothing was applied, in either workspace.
    let mine_now = invoice(&app, &ws, &mine).await;
    assert_eq!(mine_now["status"], "issued");
    assert_eq!(mine_now["payments"], json!([]));
    let theirs_now = invoice(&app, &other, &theirs).await;
    assert_eq!(theirs_now["status"], "issued");
    assert_eq!(theirs_now["payments"], json!([]));
    // Invoicing off: a payment is kept as unmatched, saying so, and applied to nothing.
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm", "helpdesk", "automation", "field_service"]}))
        .expect(200)
        .await;
    let off = stripe_event(
        "evt_off",
        "payment_intent.succeeded",
        json!({"id": "pi_off", "amount_received": 5000, "currency": "eur", "metadata": {"holdfast_invoice": mine}}),
    );
    assert_eq!(send_stripe(&app, &ws, &off).await, 200);
    let events = settled_events(&app, &ws, cases.len() + 1).await;
    assert_eq!(events[0]["state"], "unmatched", "{}", events[0]);
    assert!(
        events[0]["outcome"].as_str().unwrap().contains("off"),
        "{}",
        events[0]
    );
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm", "helpdesk", "automation", "field_service", "invoicing"]}))
        .expect(200)
        .await;
    assert_eq!(invoice(&app, &ws, &mine).await["payments"], json!([]));
    // A void invoice takes no money either.
    let voided = issued(&app, &ws, "20", "EUR").await;
    app.post(&format!("/api/v1/invoices/{voided}/void"))
        .key(&ws.admin_key)
        .json(&json!({"reason": "duplicate"}))
        .expect(200)
        .await;
    let late = stripe_event(
        "evt_late",
        "payment_intent.succeeded",
        json!({"id": "pi_late", "amount_received": 2000, "currency": "eur", "metadata": {"holdfast_invoice": voided}}),
    );
    assert_eq!(send_stripe(&app, &ws, &late).await, 200);
    let events = settled_events(&app, &ws, cases.len() + 1).await;
    assert_eq!(events[0]["state"], "unmatched");
    assert!(
        events[0]["outcome"].as_str().unwrap().contains("void"),
        "{}",
        events[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn square_links_paddle_transactions_and_mercado_pago_lookups_record_payments() {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let ws = app.workspace("payothers").await;
    let key = ws.admin_key.clone();

    // Square: the workspace's token and location; a payment link for the open amount; the
    // completed payment names the link's order.
    app.call(
        holdfast_testkit::Method::PUT,
        "/api/v1/invoicing/payment-accounts/square",
    )
    .key(&key)
    .json(&json!({"secret_key": "EAAAlSquareTestToken0123456789"}))
    .expect(422)
    .await;
    app.call(
        holdfast_testkit::Method::PUT,
        "/api/v1/invoicing/payment-accounts/square",
    )
    .key(&key)
    .json(&json!({"secret_key": "EAAAlSquareTestToken0123456789", "location_id": "LOC1"}))
    .expect(200)
    .await;
    let square_key = "squaresignaturekey0123";
    set_secret(&app, &ws, "square", square_key).await;
    let id = issued(&app, &ws, "15", "USD").await;
    let checkout = app
        .post(&format!("/api/v1/invoices/{id}/checkout"))
        .key(&key)
        .expect(201)
        .await
        .json;
    assert_eq!(checkout["provider"], "square");
    let call = api.calls().pop().unwrap();
    assert_eq!(call.path, "/v2/online-checkout/payment-links");
    assert_eq!(
        call.json()["quick_pay"]["price_money"],
        json!({"amount": 1500, "currency": "USD"})
    );
    assert_eq!(call.json()["quick_pay"]["location_id"], "LOC1");
    let body = json!({"merchant_id": "M1", "type": "payment.updated", "event_id": "sq-evt-1",
        "data": {"type": "payment", "id": "sqpay1", "object": {"payment": {
            "id": "sqpay1", "status": "COMPLETED", "order_id": "ORDER0001",
            "amount_money": {"amount": 1500, "currency": "USD"}}}}})
    .to_string();
    let url = format!("{}/hooks/square/{}", app.base, ws.slug);
    let signature = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        hmac(square_key.as_bytes(), format!("{url}{body}").as_bytes()),
    );
    let sent = app
        .post(&format!("/hooks/square/{}", ws.slug))
        .header("x-square-hmacsha256-signature", &signature)
        .body("application/json", body)
        .send()
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    settled_events(&app, &ws, 1).await;
    let paid = invoice(&app, &ws, &id).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["payments"][0]["provider"], "square");

    // Paddle: a completed transaction names the invoice in its custom data.
    let paddle_secret = "pdl_ntfset_01testsecretvalue0000";
    set_secret(&app, &ws, "paddle", paddle_secret).await;
    let id = issued(&app, &ws, "120", "GBP").await;
    let body = json!({"event_id": "evt_pdl_1", "event_type": "transaction.completed",
        "occurred_at": "2026-12-07T10:00:00Z", "data": {"id": "txn_1", "currency_code": "GBP",
        "custom_data": {"holdfast_invoice": id}, "details": {"totals": {"grand_total": "6000"}}}})
    .to_string();
    let ts = now_s();
    let h1 = hex(&hmac(
        paddle_secret.as_bytes(),
        format!("{ts}:{body}").as_bytes(),
    ));
    let sent = app
        .post(&format!("/hooks/paddle/{}", ws.slug))
        .header("paddle-signature", &format!("ts={ts};h1={h1}"))
        .body("application/json", body)
        .send()
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    settled_events(&app, &ws, 2).await;
    let half = invoice(&app, &ws, &id).await;
    assert_eq!(half["status"], "partially_paid", "{half}");
    assert_eq!(half["paid"], "60.00");

    // Mercado Pago: the notification proves only an id; the payment is fetched back with the
    // workspace's token, and only what the API answers counts.
    let mp_secret = "mercadopagosecretsignature01";
    set_secret(&app, &ws, "mercadopago", mp_secret).await;
    app.call(
        holdfast_testkit::Method::PUT,
        "/api/v1/invoicing/payment-accounts/mercadopago",
    )
    .key(&key)
    .json(&json!({"secret_key": "TEST-1234567890-mercadopago"}))
    .expect(200)
    .await;
    let id = issued(&app, &ws, "150.50", "BRL").await;
    api.set_mercadopago_payment(
        "987654",
        json!({"id": 987654, "status": "approved", "transaction_amount": 150.5,
               "currency_id": "BRL", "external_reference": id}),
    );
    // The body claims more than was paid: it is not what counts.
    let body = json!({"action": "payment.updated", "type": "payment", "data": {"id": "987654"},
                      "transaction_amount": 99999})
    .to_string();
    let ts = now_s() * 1000;
    let request_id = "req-1";
    let v1 = hex(&hmac(
        mp_secret.as_bytes(),
        format!("id:987654;request-id:{request_id};ts:{ts};").as_bytes(),
    ));
    let sent = app
        .post(&format!(
            "/hooks/mercadopago/{}?data.id=987654&type=payment",
            ws.slug
        ))
        .header("x-signature", &format!("ts={ts},v1={v1}"))
        .header("x-request-id", request_id)
        .body("application/json", body)
        .send()
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    settled_events(&app, &ws, 3).await;
    let mp = invoice(&app, &ws, &id).await;
    assert_eq!(mp["status"], "paid", "{mp}");
    assert_eq!(mp["paid"], "150.50");
    let lookup = api
        .calls()
        .into_iter()
        .find(|c| c.path == "/v1/payments/987654")
        .unwrap();
    assert_eq!(
        lookup.authorization.as_deref(),
        Some("Bearer TEST-1234567890-mercadopago")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoices_public_link_shows_it_and_its_pdf_and_pays_through_the_checkout_only() {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let ws = app.workspace("paylink").await;
    let key = ws.admin_key.clone();
    connect_stripe(&app, &ws).await;
    // A draft has no link.
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let customer = contact(
        &app,
        &ws,
        json!({"name": "Grace Hopper", "email": format!("grace{n}@example.com")}),
    )
    .await;
    let draft = app
        .post("/api/v1/invoices")
        .key(&key)
        .json(&json!({"contact_id": customer, "lines": [{"description": "Drain clearing", "quantity": "1", "unit_price": "95"}]}))
        .expect(201)
        .await
        .json;
    let id = draft["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/invoices/{id}/public-link"))
        .key(&key)
        .expect(409)
        .await;
    app.post(&format!("/api/v1/invoices/{id}/issue"))
        .key(&key)
        .json(&json!({}))
        .expect(200)
        .await;
    let link = app
        .post(&format!("/api/v1/invoices/{id}/public-link"))
        .key(&key)
        .expect(201)
        .await
        .json;
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("hfpi_"), "{token}");
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/p/invoices/{token}"))
    );
    let page_path = format!("/p/invoices/{token}");

    // The page: the invoice, its balance, a Pay button; kept out of indexes and referrers.
    let page = app.get(&page_path).expect(200).await;
    for expected in [
        "Drain clearing",
        "95.00 EUR",
        "Awaiting payment",
        "Pay 95.00 EUR online",
    ] {
        assert!(page.text.contains(expected), "{expected} in {}", page.text);
    }
    assert!(
        !page.text.contains("Grace Hopper"),
        "no bill-to on the page"
    );
    assert_eq!(page.header("x-robots-tag"), Some("noindex"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(
        page.header("content-security-policy"),
        Some(holdfast_http::console::CSP)
    );
    // Its PDF carries the link.
    let pdf = app.get(&format!("{page_path}/pdf")).expect(200).await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.text.starts_with("%PDF-"));

    // Pay: to the provider's checkout, from this site only; the token never goes there.
    let cross = app
        .browser(holdfast_testkit::Method::POST, &format!("{page_path}/pay"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await;
    assert_eq!(cross.status, 403, "{}", cross.text);
    let pay = app
        .browser(holdfast_testkit::Method::POST, &format!("{page_path}/pay"))
        .send()
        .await;
    assert_eq!(pay.status, 303, "{}", pay.text);
    let location = pay.header("location").unwrap().to_owned();
    assert!(
        location.starts_with("https://checkout.stripe.com/"),
        "{location}"
    );
    let call = api.calls().pop().unwrap();
    assert_eq!(
        call.form("line_items[0][price_data][unit_amount]")
            .as_deref(),
        Some("9500")
    );
    let success = call.form("success_url").unwrap();
    assert!(success.ends_with("/p/paid?paid=1"), "{success}");
    assert!(
        !call.body.contains(&token),
        "the token never goes to the provider"
    );
    // Coming back proves nothing.
    app.get("/p/paid?paid=1").expect(200).await;
    assert_eq!(invoice(&app, &ws, &id).await["status"], "issued");
    // The verified webhook does.
    let session = location.rsplit('/').next().unwrap();
    let event = stripe_event(
        "evt_link_1",
        "checkout.session.completed",
        json!({"id": session, "payment_status": "paid", "payment_intent": "pi_link",
               "amount_total": 9500, "currency": "eur"}),
    );
    assert_eq!(send_stripe(&app, &ws, &event).await, 200);
    settled_events(&app, &ws, 1).await;
    assert_eq!(invoice(&app, &ws, &id).await["status"], "paid");
    let page = app.get(&page_path).expect(200).await;
    assert!(page.text.contains("Paid — thank you"), "{}", page.text);
    assert!(
        !page.text.contains("online</button>"),
        "no Pay button once paid"
    );
    let again = app
        .browser(holdfast_testkit::Method::POST, &format!("{page_path}/pay"))
        .send()
        .await;
    assert_eq!(again.status, 409, "{}", again.text);

    // Reissued: the old link opens nothing, the same 404 as an unknown one; revoked: gone.
    let gone_unknown = app
        .get(&format!("/p/invoices/hfpi_{}", "A".repeat(43)))
        .expect(404)
        .await;
    let fresh = app
        .post(&format!("/api/v1/invoices/{id}/public-link"))
        .key(&key)
        .expect(201)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = app.get(&page_path).expect(404).await;
    assert_eq!(old.text, gone_unknown.text);
    app.get(&format!("{page_path}/pdf")).expect(404).await;
    // A job's token is not an invoice's.
    app.get(&format!("/p/invoices/hfpj_{}", &fresh[5..]))
        .expect(404)
        .await;
    app.get(&format!("/p/invoices/{fresh}")).expect(200).await;
    app.delete(&format!("/api/v1/invoices/{id}/public-link"))
        .key(&key)
        .expect(204)
        .await;
    let revoked = app.get(&format!("/p/invoices/{fresh}")).expect(404).await;
    assert_eq!(revoked.text, gone_unknown.text);
    // Another workspace cannot issue a link for it.
    let other = app.workspace("paylink-other").await;
    app.post(&format!("/api/v1/invoices/{id}/public-link"))
        .key(&other.admin_key)
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_link_expires_ninety_days_after_the_invoice_is_settled_and_with_the_module() {
    let (app, clock) = TestApp::spawn_on_clock(
        holdfast_core::ops::config::Layer::default(),
        1_796_000_000_000,
    )
    .await;
    let ws = app.workspace("linkexpiry").await;
    let key = ws.admin_key.clone();
    let id = issued(&app, &ws, "40", "EUR").await;
    let token = app
        .post(&format!("/api/v1/invoices/{id}/public-link"))
        .key(&key)
        .expect(201)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/p/invoices/{token}");
    // Open while unsettled, however long.
    clock.advance(200 * 86_400_000);
    app.get(&path).expect(200).await;
    app.post(&format!("/api/v1/invoices/{id}/void"))
        .key(&key)
        .json(&json!({"reason": "Raised twice"}))
        .expect(200)
        .await;
    let void = app.get(&path).expect(200).await;
    assert!(void.text.contains("void"), "{}", void.text);
    clock.advance(90 * 86_400_000 - 60_000);
    app.get(&path).expect(200).await;
    clock.advance(120_000);
    app.get(&path).expect(404).await;
    // Invoicing off: nothing opens.
    let id = issued(&app, &ws, "40", "EUR").await;
    let token = app
        .post(&format!("/api/v1/invoices/{id}/public-link"))
        .key(&key)
        .expect(201)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("/p/invoices/{token}")).expect(200).await;
    app.patch("/api/v1/modules")
        .key(&key)
        .json(&json!({"enabled": ["crm", "helpdesk", "field_service"]}))
        .expect(200)
        .await;
    app.get(&format!("/p/invoices/{token}")).expect(404).await;
}

/// Stripe takes amounts of a three-decimal currency (KWD, BHD …) in steps of 0.010 only: a
/// balance that is not one is refused before Stripe is asked, with what to do instead; one that
/// is opens a checkout for exactly that amount.
#[tokio::test(flavor = "multi_thread")]
async fn a_stripe_checkout_of_a_three_decimal_currency_asks_only_for_amounts_stripe_takes() {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let ws = app.workspace("paykwd").await;
    connect_stripe(&app, &ws).await;
    let odd = issued(&app, &ws, "12.345", "KWD").await;
    let calls = api.calls().len();
    let refused = app
        .post(&format!("/api/v1/invoices/{odd}/checkout"))
        .key(&ws.admin_key)
        .expect(409)
        .await;
    assert!(
        refused.text.contains("steps of 0.010") && refused.text.contains("12.345 KWD"),
        "{}",
        refused.text
    );
    assert_eq!(api.calls().len(), calls, "Stripe was asked anyway");
    let even = issued(&app, &ws, "12.340", "KWD").await;
    let checkout = app
        .post(&format!("/api/v1/invoices/{even}/checkout"))
        .key(&ws.admin_key)
        .expect(201)
        .await
        .json;
    assert_eq!(checkout["amount"], "12.340", "{checkout:#}");
    let call = api.calls().pop().unwrap();
    assert_eq!(
        call.form("line_items[0][price_data][unit_amount]")
            .as_deref(),
        Some("12340"),
        "{}",
        call.body
    );
}
