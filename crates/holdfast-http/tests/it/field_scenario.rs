//! The field-service scenario, end to end over HTTP on either database: a new customer's job
//! is booked and given to a technician, moves through its statuses while the customer's
//! public link shows each step, is completed and invoiced from its line items; the invoice is
//! mailed with its PDF (a real SMTP sink) and its link, paid through the Stripe flow (a
//! provider API on 127.0.0.1 and a signed webhook), seen paid, and refunded in part. Along the
//! way a technician never reaches another technician's job, nor any invoice or amount.

use crate::contact;
use hmac::{Hmac, Mac};
use holdfast_testkit::payments::ProviderApi;
use holdfast_testkit::{SmtpSink, TestApp, Workspace, find_token};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

const STRIPE_KEY: &str = "rk_test_51ScenarioRestrictedKey00";
const STRIPE_SECRET: &str = "whsec_scenariosecret0123456789abcd";

async fn send_stripe(app: &TestApp, ws: &Workspace, event: &Value) {
    let body = event.to_string();
    let t = crate::hooks::now_s();
    let mut mac = Hmac::<Sha256>::new_from_slice(STRIPE_SECRET.as_bytes()).unwrap();
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
        .body("application/json", body)
        .send()
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
}

/// A technician invited through mail (read from the SMTP sink), signed in: (user id, token).
async fn technician(
    app: &TestApp,
    sink: &SmtpSink,
    ws: &Workspace,
    name: &str,
) -> (String, String) {
    let email = format!("{name}@{}.example.com", ws.slug);
    app.post("/api/v1/invitations")
        .key(&ws.admin_key)
        .json(&json!({"email": email, "role": "technician"}))
        .expect(201)
        .await;
    let mail = sink
        .wait_for(&email, Duration::from_secs(20))
        .await
        .expect("the invitation");
    let token = find_token(&mail.text(), "hfi");
    let tokens = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": "wrench lantern seventeen copper"}))
        .expect(200)
        .await
        .json;
    let members = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let user = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (user, tokens["access_token"].as_str().unwrap().to_owned())
}

/// Waits until the invoice reaches `status`.
async fn invoice_reaches(app: &TestApp, ws: &Workspace, id: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let invoice = app
            .get(&format!("/api/v1/invoices/{id}"))
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json;
        if invoice["status"] == status {
            return invoice;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the invoice never became {status}: {invoice}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_is_booked_worked_invoiced_mailed_paid_and_refunded_in_part() {
    let sink = SmtpSink::start().await;
    let api = ProviderApi::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        smtp_url: Some(sink.url()),
        mail_from: Some("Holdfast Plumbing <billing@plumbing.example>".into()),
        worker: Some(true),
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        payments_api_base: Some(api.base.clone()),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("scenario").await;
    let key = ws.admin_key.clone();
    app.call(axum::http::Method::PUT, "/api/v1/field-service/time-zone")
        .key(&key)
        .json(&json!({"time_zone": "Europe/London"}))
        .expect(200)
        .await;

    // A new customer, two technicians.
    let customer = contact(
        &app,
        &ws,
        json!({"name": "Margaret Hamilton", "email": "margaret@example.com"}),
    )
    .await;
    let (tess, tess_token) = technician(&app, &sink, &ws, "tess").await;
    let (_omar, omar_token) = technician(&app, &sink, &ws, "omar").await;
    let members = app.get("/api/v1/members").key(&key).expect(200).await.json;
    let membership = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == tess.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        axum::http::Method::PUT,
        &format!("/api/v1/members/{membership}/display-name"),
    )
    .key(&key)
    .json(&json!({"display_name": "Tess Okafor"}))
    .expect(200)
    .await;

    // Book the job for Tess, with its line items; the customer gets the job's link.
    let job = app
        .post("/api/v1/jobs")
        .key(&key)
        .json(&json!({"contact_id": customer, "title": "Leaking radiator valve",
                      "service_address": "3 Apollo Way",
                      "window": {"start": "2026-12-09T09:00", "end": "2026-12-09T11:00"},
                      "technician_ids": [tess],
                      "line_items": [{"kind": "service", "description": "Call-out and repair", "quantity": "1.5"},
                                     {"kind": "material", "description": "Thermostatic valve", "quantity": "1"}]}))
        .expect(201)
        .await
        .json;
    let job_id = job["id"].as_str().unwrap().to_owned();
    let job_link = app
        .post(&format!("/api/v1/jobs/{job_id}/public-link"))
        .key(&key)
        .expect(201)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let job_page = format!("/p/jobs/{job_link}");
    let page = app.get(&job_page).expect(200).await;
    assert!(
        page.text.contains("Leaking radiator valve"),
        "{}",
        page.text
    );

    // Omar never reaches Tess's job; neither technician reaches an invoice.
    app.get(&format!("/api/v1/jobs/{job_id}"))
        .key(&omar_token)
        .expect(404)
        .await;
    app.get("/api/v1/invoices")
        .key(&tess_token)
        .expect(403)
        .await;

    // Tess works it; the customer's page follows each step.
    app.post(&format!("/api/v1/jobs/{job_id}/status"))
        .key(&key)
        .json(&json!({"status": "scheduled"}))
        .expect(200)
        .await;
    let page = app.get(&job_page).expect(200).await;
    assert!(page.text.contains("Tess"), "{}", page.text);
    assert!(
        !page.text.contains("Okafor"),
        "first name only: {}",
        page.text
    );
    for (status, shown) in [
        ("en_route", "on the way"),
        ("in_progress", "In progress"),
        ("completed", "Completed"),
    ] {
        app.post(&format!("/api/v1/jobs/{job_id}/status"))
            .key(&tess_token)
            .json(&json!({"status": status}))
            .expect(200)
            .await;
        let page = app.get(&job_page).expect(200).await;
        assert!(
            page.text.to_lowercase().contains(&shown.to_lowercase()),
            "{status}: {shown} in {}",
            page.text
        );
    }
    app.get(&format!("/api/v1/jobs/{job_id}"))
        .key(&omar_token)
        .expect(404)
        .await;

    // Invoice it from its line items, priced; issue it.
    let invoice = app
        .post("/api/v1/invoices")
        .key(&key)
        .json(&json!({"job_id": job_id}))
        .expect(201)
        .await
        .json;
    let id = invoice["id"].as_str().unwrap().to_owned();
    assert_eq!(invoice["lines"][0]["description"], "Call-out and repair");
    app.patch(&format!("/api/v1/invoices/{id}"))
        .key(&key)
        .json(&json!({"lines": [
            {"description": "Call-out and repair", "quantity": "1.5", "unit_price": "64", "tax_percent": "20"},
            {"description": "Thermostatic valve", "quantity": "1", "unit_price": "18.75", "tax_percent": "20"}]}))
        .expect(200)
        .await;
    let issued = app
        .post(&format!("/api/v1/invoices/{id}/issue"))
        .key(&key)
        .json(&json!({}))
        .expect(200)
        .await
        .json;
    assert_eq!(issued["total"], "137.70");
    let number = issued["number"].as_str().unwrap().to_owned();

    // Mailed with its PDF and its link.
    app.call(
        axum::http::Method::PUT,
        "/api/v1/invoicing/payment-accounts/stripe",
    )
    .key(&key)
    .json(&json!({"secret_key": STRIPE_KEY}))
    .expect(200)
    .await;
    crate::hooks::set_secret(&app, &ws, "stripe", STRIPE_SECRET).await;
    app.post(&format!("/api/v1/invoices/{id}/send"))
        .key(&key)
        .json(&json!({}))
        .expect(202)
        .await;
    let mail = sink
        .wait_for("margaret@example.com", Duration::from_secs(20))
        .await
        .expect("the invoice mail");
    assert!(
        mail.data.contains(&format!("{number}.pdf")),
        "the PDF is attached"
    );
    let text = mail.text();
    assert!(text.contains("137.70 EUR"), "{text}");
    let invoice_token = find_token(&text, "hfpi");

    // The customer opens the link from the mail and pays through Stripe's checkout.
    let page = app
        .get(&format!("/p/invoices/{invoice_token}"))
        .expect(200)
        .await;
    assert!(page.text.contains("Pay 137.70 EUR online"), "{}", page.text);
    let pay = app
        .browser(
            holdfast_testkit::Method::POST,
            &format!("/p/invoices/{invoice_token}/pay"),
        )
        .send()
        .await;
    assert_eq!(pay.status, 303, "{}", pay.text);
    let session = pay
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/api/v1/invoices/{id}"))
            .key(&key)
            .expect(200)
            .await
            .json["status"],
        "issued",
        "the checkout alone proves nothing"
    );
    send_stripe(
        &app,
        &ws,
        &json!({"id": "evt_scenario_paid", "type": "checkout.session.completed",
                "data": {"object": {"id": session, "payment_status": "paid",
                "payment_intent": "pi_scenario", "amount_total": 13770, "currency": "eur"}}}),
    )
    .await;
    let paid = invoice_reaches(&app, &ws, &id, "paid").await;
    assert_eq!(paid["balance"], "0.00");
    let page = app
        .get(&format!("/p/invoices/{invoice_token}"))
        .expect(200)
        .await;
    assert!(page.text.contains("Paid"), "{}", page.text);

    // Refunded in part.
    send_stripe(
        &app,
        &ws,
        &json!({"id": "evt_scenario_refund", "type": "charge.refunded",
                "data": {"object": {"id": "ch_scenario", "payment_intent": "pi_scenario",
                "amount_refunded": 2000, "currency": "eur"}}}),
    )
    .await;
    let refunded = invoice_reaches(&app, &ws, &id, "partially_paid").await;
    assert_eq!(refunded["refunded"], "20.00");
    assert_eq!(refunded["balance"], "20.00");

    // Still: no technician reaches the invoice or any amount.
    for token in [&tess_token, &omar_token] {
        app.get(&format!("/api/v1/invoices/{id}"))
            .key(token)
            .expect(403)
            .await;
        app.get(&format!("/api/v1/invoices/{id}/pdf"))
            .key(token)
            .expect(403)
            .await;
    }
    let tess_view = app
        .get(&format!("/api/v1/jobs/{job_id}"))
        .key(&tess_token)
        .expect(200)
        .await;
    // The prices as written (a bare "64" could appear inside an id or a time).
    for money in ["137.70", "18.75", "\"unit_price\"", "\"total\""] {
        assert!(
            !tess_view.text.contains(money),
            "{money} in {}",
            tess_view.text
        );
    }
}
