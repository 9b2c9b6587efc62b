//! Invoices over HTTP: drafts, the rounding rule on tricky lines, issuing with numbers that are
//! sequential and never reused (also under concurrency), payments and refunds that move the
//! status, credit notes, voiding, overdue, invoices from a job's line items, settings, events
//! and audit, bad input, the `invoices.amount` field rule at every depth, and who may not reach
//! invoices at all.

use crate::{ada, contact};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};
use std::collections::BTreeSet;

async fn draft(app: &TestApp, credential: &str, body: Value) -> Value {
    app.post("/api/v1/invoices")
        .key(credential)
        .json(&body)
        .expect(201)
        .await
        .json
}

async fn issue(app: &TestApp, credential: &str, id: &str, body: Value) -> Value {
    app.post(&format!("/api/v1/invoices/{id}/issue"))
        .key(credential)
        .json(&body)
        .expect(200)
        .await
        .json
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// One simple line of `price`.
fn one_line(price: &str) -> Value {
    json!([{"description": "Call-out", "quantity": "1", "unit_price": price}])
}

/// Every object key anywhere in `v`.
fn keys_everywhere(v: &Value, into: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                into.insert(k.clone());
                keys_everywhere(child, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| keys_everywhere(i, into)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_is_drafted_issued_paid_refunded_and_credited() {
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("billing").await;
    let key = ws.admin_key.clone();
    let receiver = Receiver::start().await;
    crate::webhook_endpoint(
        &app,
        &ws,
        json!({"url": receiver.base, "event_types": ["invoice.issued", "invoice.paid", "payment.recorded"]}),
    )
    .await;
    let settings = app
        .call(axum::http::Method::PUT, "/api/v1/invoicing/settings")
        .key(&key)
        .json(&json!({"invoice_prefix": "HF-", "credit_note_prefix": "HFC-",
                      "next_invoice_number": 7, "next_credit_note_number": 1,
                      "payment_terms_days": 14, "currency": "eur",
                      "business_name": "Holdfast Plumbing", "business_details": "1 Mill Lane\nLeeds",
                      "payment_instructions": "IBAN GB00 0000 0000 0000", "footer": "Thank you"}))
        .expect(200)
        .await
        .json;
    assert_eq!(settings["currency"], "EUR");
    let customer = contact(&app, &ws, ada()).await;
    // Three thirds of a price and a discounted line at an odd tax rate: each line rounds once,
    // half away from zero; totals are the sums of the rounded lines.
    let invoice = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": [
            {"description": "Labour (a third)", "quantity": "0.333", "unit_price": "10.00", "tax_percent": "19"},
            {"description": "Labour (a third)", "quantity": "0.333", "unit_price": "10", "tax_percent": "19"},
            {"description": "Labour (a third)", "quantity": "0.333", "unit_price": "10", "tax_percent": "19.0"},
            {"description": "Filters", "quantity": "3", "unit_price": "19.99", "tax_percent": "7.625", "discount_percent": "12.5"}
        ]}),
    )
    .await;
    assert_eq!(invoice["status"], "draft");
    assert_eq!(invoice["number"], Value::Null);
    assert_eq!(invoice["currency"], "EUR");
    assert_eq!(invoice["lines"][0]["net"], "3.33");
    assert_eq!(invoice["lines"][0]["tax"], "0.63");
    assert_eq!(invoice["lines"][3]["net"], "52.47");
    assert_eq!(invoice["lines"][3]["tax"], "4.00");
    assert_eq!(
        (&invoice["net"], &invoice["tax"], &invoice["total"]),
        (&json!("62.46"), &json!("5.89"), &json!("68.35"))
    );
    assert_eq!(invoice["taxes"][0]["rate_percent"], "7.625");
    assert_eq!(invoice["taxes"][1]["tax"], "1.89");
    let path = format!("/api/v1/invoices/{}", id(&invoice));

    // A draft changes freely; issuing gives it the next number and its dates.
    let patched = app
        .patch(&path)
        .key(&key)
        .json(&json!({"notes": "Boiler room, second floor", "payment_terms_days": 30}))
        .expect(200)
        .await
        .json;
    assert_eq!(patched["notes"], "Boiler room, second floor");
    assert_eq!(patched["total"], "68.35");
    let issued = issue(
        &app,
        &key,
        &id(&invoice),
        json!({"issue_date": "2026-12-07"}),
    )
    .await;
    assert_eq!(issued["number"], "HF-000007");
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["issue_date"], "2026-12-07");
    assert_eq!(issued["due_date"], "2027-01-06");
    assert_eq!(issued["balance"], "68.35");
    // Its lines are final now: corrected by a credit note, never edited or deleted.
    for refused in [
        app.patch(&path)
            .key(&key)
            .json(&json!({"notes": "x"}))
            .expect(409)
            .await,
        app.delete(&path).key(&key).expect(409).await,
        app.post(&format!("{path}/issue"))
            .key(&key)
            .json(&json!({}))
            .expect(409)
            .await,
    ] {
        assert!(refused.text.contains("draft"), "{}", refused.text);
    }

    // Money by hand: at most the balance; online only through the provider's webhook.
    let pay = |amount: &str, method: &str| json!({"amount": amount, "method": method, "reference": "R-1"});
    let over = app
        .post(&format!("{path}/payments"))
        .key(&key)
        .json(&pay("68.36", "cash"))
        .expect(422)
        .await;
    assert!(over.text.contains("68.35"), "{}", over.text);
    app.post(&format!("{path}/payments"))
        .key(&key)
        .json(&pay("10.00", "online"))
        .expect(422)
        .await;
    app.post(&format!("{path}/payments"))
        .key(&key)
        .json(&pay("10.001", "cash"))
        .expect(422)
        .await;
    let part = app
        .post(&format!("{path}/payments"))
        .key(&key)
        .json(&pay("30", "cash"))
        .expect(201)
        .await
        .json;
    assert_eq!(part["status"], "partially_paid");
    assert_eq!(part["paid"], "30.00");
    assert_eq!(part["balance"], "38.35");
    let paid = app
        .post(&format!("{path}/payments"))
        .key(&key)
        .json(&pay("38.35", "bank_transfer"))
        .expect(201)
        .await
        .json;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["balance"], "0.00");
    assert_eq!(paid["payments"].as_array().unwrap().len(), 2);
    assert_eq!(paid["payments"][1]["method"], "bank_transfer");
    assert!(
        paid["payments"][0]["by"]
            .as_str()
            .unwrap()
            .starts_with("api_key:")
    );
    app.post(&format!("{path}/payments"))
        .key(&key)
        .json(&pay("0.01", "cash"))
        .expect(422)
        .await;

    // A refund reopens the balance; a credit note for it settles it again.
    let refunded = app
        .post(&format!("{path}/refunds"))
        .key(&key)
        .json(&pay("10", "bank_transfer"))
        .expect(201)
        .await
        .json;
    assert_eq!(refunded["status"], "partially_paid");
    assert_eq!(refunded["refunded"], "10.00");
    assert_eq!(refunded["balance"], "10.00");
    app.post(&format!("{path}/refunds"))
        .key(&key)
        .json(&pay("58.36", "cash"))
        .expect(422)
        .await;
    let credit = app
        .post(&format!("{path}/credit-notes"))
        .key(&key)
        .json(&json!({"reason": "One filter returned",
                      "lines": [{"description": "Filter returned", "quantity": "1", "unit_price": "10"}]}))
        .expect(201)
        .await
        .json;
    assert_eq!(credit["kind"], "credit_note");
    assert_eq!(credit["number"], "HFC-000001");
    assert_eq!(credit["total"], "10.00");
    assert_eq!(credit["credits_invoice_id"], json!(id(&invoice)));
    assert_eq!(credit["reason"], "One filter returned");
    let after = app.get(&path).key(&key).expect(200).await.json;
    assert_eq!(after["status"], "paid");
    assert_eq!(after["credited"], "10.00");
    assert_eq!(after["credit_note_ids"], json!([id(&credit)]));
    // No more can be credited than the invoice's total.
    let too_much = app
        .post(&format!("{path}/credit-notes"))
        .key(&key)
        .json(&json!({"reason": "Everything"}))
        .expect(422)
        .await;
    assert!(too_much.text.contains("58.35"), "{}", too_much.text);
    // Money is kept: it cannot be voided.
    app.post(&format!("{path}/void"))
        .key(&key)
        .json(&json!({"reason": "mistake"}))
        .expect(409)
        .await;

    // Audited, and published.
    let trail = app
        .get("/api/v1/audit?limit=50")
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
        "invoicing.settings_changed",
        "invoice.created",
        "invoice.updated",
        "invoice.issued",
        "payment.recorded",
        "payment.refunded",
        "invoice.credited",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let delivered = receiver
        .wait_for(5, std::time::Duration::from_secs(20))
        .await;
    let mut types: Vec<String> = delivered
        .iter()
        .map(|d| d.json()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "invoice.issued",
            // Paid in full, reopened by the refund, settled again by the credit note.
            "invoice.paid",
            "invoice.paid",
            "payment.recorded",
            "payment.recorded"
        ]
    );
    let paid_event = delivered
        .iter()
        .map(|d| d.json())
        .find(|e| e["type"] == "invoice.paid")
        .unwrap();
    assert_eq!(paid_event["data"]["number"], "HF-000007");
    assert_eq!(paid_event["data"]["total"], "68.35");
}

#[tokio::test(flavor = "multi_thread")]
async fn numbers_are_sequential_never_reused_and_safe_under_concurrency() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("numbers").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let mut drafts = Vec::new();
    for _ in 0..12 {
        drafts.push(id(&draft(
            &app,
            &key,
            json!({"contact_id": customer, "lines": one_line("100")}),
        )
        .await));
    }
    // Twelve issues at once: twelve different numbers, 1 to 12, none skipped.
    let issued = futures::future::join_all(drafts.iter().map(|d| {
        let (app, key) = (&app, &key);
        async move {
            app.post(&format!("/api/v1/invoices/{d}/issue"))
                .key(key)
                .json(&json!({}))
                .expect(200)
                .await
                .json["number"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    }))
    .await;
    let numbers: BTreeSet<String> = issued.into_iter().collect();
    let expected: BTreeSet<String> = (1..=12).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected);

    // A voided invoice keeps its number; the next issue gets a new one.
    app.post(&format!("/api/v1/invoices/{}/void", drafts[0]))
        .key(&key)
        .json(&json!({"reason": "Booked twice"}))
        .expect(200)
        .await;
    let next = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": one_line("5")}),
    )
    .await;
    assert_eq!(
        issue(&app, &key, &id(&next), json!({})).await["number"],
        "INV-000013"
    );
    let voided = app
        .get(&format!("/api/v1/invoices/{}", drafts[0]))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(voided["status"], "void");
    assert_eq!(voided["reason"], "Booked twice");
    assert_eq!(voided["balance"], "0.00");
    // The sequence may be moved forward, never back.
    let mut settings = app
        .get("/api/v1/invoicing/settings")
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(settings["next_invoice_number"], 14);
    settings["next_invoice_number"] = json!(3);
    let back = app
        .call(axum::http::Method::PUT, "/api/v1/invoicing/settings")
        .key(&key)
        .json(&settings)
        .expect(422)
        .await;
    assert_eq!(back.json["errors"][0]["field"], "next_invoice_number");
    settings["next_invoice_number"] = json!(1000);
    app.call(axum::http::Method::PUT, "/api/v1/invoicing/settings")
        .key(&key)
        .json(&settings)
        .expect(200)
        .await;
    let later = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": one_line("5")}),
    )
    .await;
    assert_eq!(
        issue(&app, &key, &id(&later), json!({})).await["number"],
        "INV-001000"
    );
    // Lists: newest first, by status, paged.
    let page = app
        .get("/api/v1/invoices?status=issued&limit=5")
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(page["data"].as_array().unwrap().len(), 5);
    assert_eq!(page["data"][0]["number"], "INV-001000");
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!(
            "/api/v1/invoices?status=issued&limit=50&cursor={cursor}"
        ))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(rest["data"].as_array().unwrap().len(), 8);
    assert!(rest["next_cursor"].is_null());

    // Numbers past six digits are not padded, so a prefix change can give a number already
    // used: the issue answers 409 naming the way out, and nothing is issued.
    let put = |body: Value| {
        let app = &app;
        let key = key.clone();
        async move {
            app.call(axum::http::Method::PUT, "/api/v1/invoicing/settings")
                .key(&key)
                .json(&body)
                .expect(200)
                .await
        }
    };
    settings["invoice_prefix"] = json!("INV-1");
    settings["next_invoice_number"] = json!(1_000_000);
    put(settings.clone()).await;
    let first = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": one_line("5")}),
    )
    .await;
    assert_eq!(
        issue(&app, &key, &id(&first), json!({})).await["number"],
        "INV-11000000"
    );
    settings["invoice_prefix"] = json!("INV-");
    settings["next_invoice_number"] = json!(11_000_000);
    put(settings.clone()).await;
    let second = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": one_line("5")}),
    )
    .await;
    let clash = app
        .post(&format!("/api/v1/invoices/{}/issue", id(&second)))
        .key(&key)
        .json(&json!({}))
        .expect(409)
        .await;
    assert!(clash.text.contains("next number"), "{}", clash.text);
    let still = app
        .get(&format!("/api/v1/invoices/{}", id(&second)))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(still["status"], "draft");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_bills_a_jobs_line_items_and_overdue_follows_the_due_date() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("jobbill").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let job = app
        .post("/api/v1/jobs")
        .key(&key)
        .json(&json!({"contact_id": customer, "title": "Leak",
                      "line_items": [{"kind": "service", "description": "Repair", "quantity": "1.5"},
                                     {"kind": "material", "description": "Washer", "quantity": "4"}]}))
        .expect(201)
        .await
        .json;
    let invoice = draft(&app, &key, json!({"job_id": id(&job)})).await;
    assert_eq!(invoice["contact_id"], json!(customer));
    assert_eq!(invoice["job_id"], json!(id(&job)));
    assert_eq!(invoice["lines"][0]["description"], "Repair");
    assert_eq!(invoice["lines"][0]["quantity"], "1.5");
    assert_eq!(invoice["lines"][1]["unit_price"], "0");
    // Nothing priced yet: it cannot be issued.
    let unpriced = app
        .post(&format!("/api/v1/invoices/{}/issue", id(&invoice)))
        .key(&key)
        .json(&json!({}))
        .expect(422)
        .await;
    assert!(unpriced.text.contains("price"), "{}", unpriced.text);
    let priced = app
        .patch(&format!("/api/v1/invoices/{}", id(&invoice)))
        .key(&key)
        .json(&json!({"lines": [
            {"description": "Repair", "quantity": "1.5", "unit_price": "60", "tax_percent": "20"},
            {"description": "Washer", "quantity": "4", "unit_price": "0.35", "tax_percent": "20"}]}))
        .expect(200)
        .await
        .json;
    assert_eq!(priced["total"], "109.68");
    // Issued long ago with no terms: overdue now.
    let issued = issue(
        &app,
        &key,
        &id(&invoice),
        json!({"issue_date": "2026-01-05"}),
    )
    .await;
    assert_eq!(issued["due_date"], "2026-01-19");
    assert_eq!(issued["overdue"], true);
    let overdue = app
        .get("/api/v1/invoices?overdue=true")
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(crate::ids(&overdue), [id(&invoice)]);
    let by_job = app
        .get(&format!("/api/v1/invoices?job_id={}", id(&job)))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(by_job["data"].as_array().unwrap().len(), 1);
    // Yen have no minor unit.
    let yen = draft(
        &app,
        &key,
        json!({"contact_id": customer, "currency": "JPY",
               "lines": [{"description": "Visit", "quantity": "3", "unit_price": "333.5", "tax_percent": "10"}]}),
    )
    .await;
    assert_eq!(
        (&yen["net"], &yen["tax"], &yen["total"]),
        (&json!("1001"), &json!("100"), &json!("1101"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_field_by_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("badbill").await;
    let other = app.workspace("badbill-other").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let stranger = contact(&app, &other, ada()).await;
    let cases = [
        (json!({}), vec!["contact_id", "lines"]),
        (
            json!({"contact_id": "nope", "lines": []}),
            vec!["contact_id", "lines"],
        ),
        (
            json!({"contact_id": stranger, "lines": one_line("1")}),
            vec!["contact_id"],
        ),
        (
            json!({"contact_id": customer, "currency": "XXX", "due_date": "2026-02-30",
                   "payment_terms_days": 400, "notes": "bad\u{0007}",
                   "lines": [{"description": "", "quantity": "0", "unit_price": "-1",
                              "tax_percent": "101", "discount_percent": "abc"}]}),
            vec![
                "currency",
                "due_date",
                "payment_terms_days",
                "notes",
                "lines[0].description",
                "lines[0].quantity",
                "lines[0].unit_price",
                "lines[0].tax_percent",
                "lines[0].discount_percent",
            ],
        ),
        (
            json!({"contact_id": customer, "lines": [{"description": "x", "quantity": "1.2345", "unit_price": "1.23456"}]}),
            vec!["lines[0].quantity", "lines[0].unit_price"],
        ),
        (
            json!({"contact_id": customer, "job_id": "job_nope", "lines": one_line("1")}),
            vec!["job_id"],
        ),
    ];
    for (body, fields) in cases {
        let resp = app
            .post("/api/v1/invoices")
            .key(&key)
            .json(&body)
            .expect(422)
            .await;
        let named: Vec<&str> = resp.json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        for field in fields {
            assert!(named.contains(&field), "{field} in {named:?} for {body}");
        }
        assert!(resp.json["detail"].is_string(), "{}", resp.text);
    }
    // Unknown fields and wrong types are refused, too.
    app.post("/api/v1/invoices")
        .key(&key)
        .json(&json!({"contact_id": customer, "lines": one_line("1"), "total": "0.01"}))
        .expect(422)
        .await;
    // Where customers send money is the workspace's setting (changed with a step-up), never
    // an invoice's own.
    app.post("/api/v1/invoices")
        .key(&key)
        .json(&json!({"contact_id": customer, "lines": one_line("1"),
                      "payment_instructions": "Pay to another IBAN"}))
        .expect(422)
        .await;
    app.post("/api/v1/invoices")
        .key(&key)
        .json(&json!({"contact_id": customer, "lines": [{"description": "x", "quantity": 1, "unit_price": "1"}]}))
        .expect(422)
        .await;
    let list = app.get("/api/v1/invoices").key(&key).expect(200).await.json;
    assert_eq!(list["data"], json!([]), "nothing was written");
    for query in [
        "status=open",
        "overdue=yes",
        "kind=bill",
        "contact_id=x",
        "cursor=%%%",
    ] {
        app.get(&format!("/api/v1/invoices?{query}"))
            .key(&key)
            .expect(422)
            .await;
    }
    // Money against a draft, a void, a credit note: refused.
    let d = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": one_line("10")}),
    )
    .await;
    app.post(&format!("/api/v1/invoices/{}/payments", id(&d)))
        .key(&key)
        .json(&json!({"amount": "1", "method": "cash"}))
        .expect(409)
        .await;
    app.post(&format!("/api/v1/invoices/{}/void", id(&d)))
        .key(&key)
        .json(&json!({"reason": "x"}))
        .expect(409)
        .await;
    app.post(&format!("/api/v1/invoices/{}/payments", id(&d)))
        .key(&key)
        .json(&json!({"amount": "1", "method": "barter"}))
        .expect(422)
        .await;
    // A draft is deleted; then it is gone.
    app.delete(&format!("/api/v1/invoices/{}", id(&d)))
        .key(&key)
        .expect(204)
        .await;
    app.get(&format!("/api/v1/invoices/{}", id(&d)))
        .key(&key)
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_amounts_sees_no_money_at_any_depth_and_cannot_price() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("nomoney").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let invoice = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": one_line("80")}),
    )
    .await;
    issue(&app, &key, &id(&invoice), json!({})).await;
    app.post(&format!("/api/v1/invoices/{}/payments", id(&invoice)))
        .key(&key)
        .json(&json!({"amount": "20", "method": "cash"}))
        .expect(201)
        .await;
    let role = app
        .post("/api/v1/roles")
        .key(&key)
        .json(&json!({"name": "Clerk", "permissions": ["invoices.read", "invoices.write", "contacts.read"],
                      "fields": {"invoices.amount": "hidden"}}))
        .expect(201)
        .await
        .json;
    let (clerk, _) = crate::key_with_role(&app, &ws, role["id"].as_str().unwrap()).await;
    let money: BTreeSet<String> = holdfast_core::invoicing::invoices::AMOUNT_KEYS
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    let seen = app
        .get(&format!("/api/v1/invoices/{}", id(&invoice)))
        .key(&clerk)
        .expect(200)
        .await
        .json;
    let list = app
        .get("/api/v1/invoices")
        .key(&clerk)
        .expect(200)
        .await
        .json;
    for answer in [&seen, &list] {
        let mut keys = BTreeSet::new();
        keys_everywhere(answer, &mut keys);
        assert!(keys.is_disjoint(&money), "{answer}");
        assert!(
            keys.contains("number") && keys.contains("payments"),
            "{answer}"
        );
    }
    assert_eq!(seen["payments"][0]["method"], "cash");
    // The admin sees the same invoice whole.
    let whole = app
        .get(&format!("/api/v1/invoices/{}", id(&invoice)))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(whole["balance"], "60.00");
    // Writing prices is refused whole; writing what it may is not.
    let refused = app
        .post("/api/v1/invoices")
        .key(&clerk)
        .json(&json!({"contact_id": customer, "lines": one_line("1")}))
        .expect(403)
        .await;
    assert!(refused.text.contains("invoices.amount"), "{}", refused.text);
    let d = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": one_line("5")}),
    )
    .await;
    let noted = app
        .patch(&format!("/api/v1/invoices/{}", id(&d)))
        .key(&clerk)
        .json(&json!({"notes": "Call before visiting"}))
        .expect(200)
        .await
        .json;
    assert!(noted.get("total").is_none(), "{noted}");
    app.patch(&format!("/api/v1/invoices/{}", id(&d)))
        .key(&clerk)
        .json(&json!({"lines": one_line("1")}))
        .expect(403)
        .await;
    // Nor may it record money, credit, open a checkout or hand out the public page, each of
    // which writes or shows amounts; nothing changed.
    let path = format!("/api/v1/invoices/{}", id(&invoice));
    for (route, body) in [
        ("payments", json!({"amount": "1", "method": "cash"})),
        ("refunds", json!({"amount": "1", "method": "cash"})),
        ("credit-notes", json!({"reason": "goodwill"})),
    ] {
        let refused = app
            .post(&format!("{path}/{route}"))
            .key(&clerk)
            .json(&body)
            .expect(403)
            .await;
        assert!(!refused.text.contains("60.00"), "{}", refused.text);
    }
    app.post(&format!("{path}/checkout"))
        .key(&clerk)
        .expect(403)
        .await;
    app.post(&format!("{path}/public-link"))
        .key(&clerk)
        .expect(403)
        .await;
    // Nor mail it: the mail carries every amount, the PDF and a payment link, to an address the
    // clerk could have chosen (nothing is sent).
    for body in [json!({}), json!({"with_link": false})] {
        app.post(&format!("{path}/send"))
            .key(&clerk)
            .json(&body)
            .expect(403)
            .await;
    }
    assert_eq!(
        app.get(&path).key(&key).expect(200).await.json["balance"],
        "60.00"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn technicians_and_support_never_reach_invoices_and_workspaces_stay_apart() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("walls").await;
    let other: Workspace = app.workspace("walls-other").await;
    let customer = contact(&app, &ws, ada()).await;
    let invoice = draft(
        &app,
        &ws.admin_key,
        json!({"contact_id": customer, "lines": one_line("50")}),
    )
    .await;
    let path = format!("/api/v1/invoices/{}", id(&invoice));
    let routes: Vec<(axum::http::Method, String, Value)> = vec![
        (
            axum::http::Method::GET,
            "/api/v1/invoices".into(),
            Value::Null,
        ),
        (axum::http::Method::GET, path.clone(), Value::Null),
        (
            axum::http::Method::PATCH,
            path.clone(),
            json!({"notes": "x"}),
        ),
        (axum::http::Method::DELETE, path.clone(), Value::Null),
        (axum::http::Method::POST, format!("{path}/issue"), json!({})),
        (
            axum::http::Method::POST,
            format!("{path}/void"),
            json!({"reason": "x"}),
        ),
        (
            axum::http::Method::POST,
            format!("{path}/payments"),
            json!({"amount": "1", "method": "cash"}),
        ),
        (
            axum::http::Method::POST,
            format!("{path}/refunds"),
            json!({"amount": "1", "method": "cash"}),
        ),
        (
            axum::http::Method::POST,
            format!("{path}/credit-notes"),
            json!({"reason": "x"}),
        ),
        (
            axum::http::Method::GET,
            "/api/v1/invoicing/settings".into(),
            Value::Null,
        ),
    ];
    for role in [
        BuiltinRole::Technician,
        BuiltinRole::Support,
        BuiltinRole::Marketing,
    ] {
        let credential = app.key(&ws.slug, role).await;
        for (method, route, body) in &routes {
            let mut call = app.call(method.clone(), route).key(&credential);
            if !body.is_null() {
                call = call.json(body);
            }
            call.expect(403).await;
        }
    }
    // Another workspace's admin: the invoice does not exist for it.
    for (method, route, body) in routes.iter().skip(1).take(8) {
        let mut call = app.call(method.clone(), route).key(&other.admin_key);
        if !body.is_null() {
            call = call.json(body);
        }
        let resp = call.expect(404).await;
        assert!(!resp.text.contains(&customer), "{}", resp.text);
    }
    // Read-only roles read, never change.
    let sales = app.key(&ws.slug, BuiltinRole::Sales).await;
    app.get(&path).key(&sales).expect(200).await;
    app.patch(&path)
        .key(&sales)
        .json(&json!({"notes": "x"}))
        .expect(403)
        .await;
    // Nothing changed along the way.
    let after = app.get(&path).key(&ws.admin_key).expect(200).await.json;
    assert_eq!(after["status"], "draft");
    assert_eq!(after["notes"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn erasing_a_customer_deletes_drafts_and_keeps_issued_invoices_unlinked() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("erasebill").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let company = app
        .post("/api/v1/companies")
        .key(&key)
        .json(&json!({"name": "Lovelace Ltd"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = draft(
        &app,
        &key,
        json!({"contact_id": customer, "company_id": company, "lines": one_line("40")}),
    )
    .await;
    let issued = issue(&app, &key, &id(&kept), json!({})).await;
    let link = app
        .post(&format!("/api/v1/invoices/{}/public-link", id(&kept)))
        .key(&key)
        .expect(201)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("/p/invoices/{link}")).expect(200).await;
    let gone = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": one_line("1")}),
    )
    .await;
    app.delete(&format!("/api/v1/companies/{company}"))
        .key(&key)
        .expect(204)
        .await;
    app.delete(&format!("/api/v1/contacts/{customer}"))
        .key(&key)
        .expect(204)
        .await;
    app.get(&format!("/api/v1/invoices/{}", id(&gone)))
        .key(&key)
        .expect(404)
        .await;
    let after = app
        .get(&format!("/api/v1/invoices/{}", id(&kept)))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(after["number"], issued["number"]);
    assert_eq!(after["total"], "40.00");
    assert_eq!(after["contact_id"], Value::Null);
    assert_eq!(after["company_id"], Value::Null);
    // Nothing opens it publicly any more.
    app.get(&format!("/p/invoices/{link}")).expect(404).await;
    let listed = app
        .get(&format!("/api/v1/invoices?contact_id={customer}"))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(listed["data"], json!([]));
}

/// Text of a PDF as `pdftotext -layout` reads it (Debian's poppler-utils); `None` when the tool
/// is missing outside CI (CI installs it and fails without it).
pub(crate) fn pdf_text(pdf: &[u8]) -> Option<String> {
    use std::io::Write;
    let mut child = match std::process::Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "pdftotext is required in CI: {e}"
            );
            eprintln!("pdftotext missing ({e}): PDF text not checked");
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pdftotext failed");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The base64 body of the MIME part whose headers name `filename`, decoded.
fn attachment(raw: &str, filename: &str) -> Vec<u8> {
    use base64::Engine as _;
    let raw = raw.replace("\r\n", "\n");
    let start = raw
        .find(&format!("filename=\"{filename}\""))
        .unwrap_or_else(|| panic!("no attachment {filename} in {raw}"));
    let after = &raw[start..];
    let body_start = after.find("\n\n").unwrap() + 2;
    let body: String = after[body_start..]
        .lines()
        .take_while(|l| !l.starts_with("--") && !l.is_empty())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issued_invoice_is_a_pdf_and_is_mailed_with_it_through_the_choke_point() {
    let sink = holdfast_testkit::SmtpSink::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        smtp_url: Some(sink.url()),
        mail_from: Some("Holdfast Plumbing <billing@plumbing.example>".into()),
        worker: Some(true),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("pdfmail").await;
    let key = ws.admin_key.clone();
    app.call(axum::http::Method::PUT, "/api/v1/invoicing/settings")
        .key(&key)
        .json(&json!({"invoice_prefix": "INV-", "credit_note_prefix": "CN-",
                      "next_invoice_number": 42, "next_credit_note_number": 1,
                      "payment_terms_days": 14, "currency": "EUR",
                      "business_name": "Holdfast Plumbing", "business_details": "1 Mill Lane\nLeeds LS1 1AA",
                      "payment_instructions": "Bank transfer to IBAN GB33 BUKB 2020 1555 5555 55"}))
        .expect(200)
        .await;
    let customer = contact(&app, &ws, ada()).await;
    let invoice = draft(
        &app,
        &key,
        json!({"contact_id": customer, "lines": [
            {"description": "Boiler service (annual)", "quantity": "1", "unit_price": "89.50", "tax_percent": "20"},
            {"description": "Pressure valve", "quantity": "2", "unit_price": "14.25", "tax_percent": "20"}]}),
    )
    .await;
    let id = id(&invoice);
    // A draft is not mailed.
    app.post(&format!("/api/v1/invoices/{id}/send"))
        .key(&key)
        .json(&json!({}))
        .expect(409)
        .await;
    issue(&app, &key, &id, json!({"issue_date": "2026-12-07"})).await;

    let pdf = app
        .get(&format!("/api/v1/invoices/{id}/pdf"))
        .key(&key)
        .expect(200)
        .await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(
        pdf.header("content-disposition")
            .is_some_and(|d| d.contains("INV-000042.pdf")),
        "{:?}",
        pdf.header("content-disposition")
    );
    // The renderer writes plain ASCII (every other byte escaped), so the text is the file.
    assert!(pdf.text.starts_with("%PDF-"));
    if let Some(text) = pdf_text(pdf.text.as_bytes()) {
        for expected in [
            "INV-000042",
            "Holdfast Plumbing",
            "Ada Lovelace",
            "Boiler service (annual)",
            "Pressure valve",
            "141.60",
            "GB33 BUKB",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }
    // A role that may not see amounts gets no PDF.
    let role = app
        .post("/api/v1/roles")
        .key(&key)
        .json(&json!({"name": "Clerk", "permissions": ["invoices.read"],
                      "fields": {"invoices.amount": "hidden"}}))
        .expect(201)
        .await
        .json;
    let (clerk, _) = crate::key_with_role(&app, &ws, role["id"].as_str().unwrap()).await;
    app.get(&format!("/api/v1/invoices/{id}/pdf"))
        .key(&clerk)
        .expect(403)
        .await;

    // Mailed with its PDF attached, as a transactional mail.
    let sent = app
        .post(&format!("/api/v1/invoices/{id}/send"))
        .key(&key)
        .json(&json!({"message": "Thank you for your custom."}))
        .expect(202)
        .await
        .json;
    assert_eq!(sent["attachment"], "INV-000042.pdf");
    let mail = sink
        .wait_for("ada@example.com", std::time::Duration::from_secs(20))
        .await
        .expect("the invoice mail");
    let subject = holdfast_testkit::mail_header(&mail.data, "Subject").unwrap_or_default();
    assert!(subject.contains("INV-000042"), "{subject}");
    let text = mail.text();
    assert!(text.contains("Thank you for your custom."), "{text}");
    assert!(text.contains("141.60 EUR"), "{text}");
    let attached = attachment(&mail.data, "INV-000042.pdf");
    assert!(attached.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&attached) {
        assert!(
            text.contains("INV-000042") && text.contains("141.60"),
            "{text}"
        );
    }
    // Do Not Contact stops it, and says so.
    app.patch(&format!("/api/v1/contacts/{customer}/consent"))
        .key(&key)
        .json(&json!({"do_not_contact": true}))
        .expect(200)
        .await;
    let mailed_link = holdfast_testkit::find_token(&text, "hfpi");
    app.get(&format!("/p/invoices/{mailed_link}"))
        .expect(200)
        .await;
    let refused = app
        .post(&format!("/api/v1/invoices/{id}/send"))
        .key(&key)
        .json(&json!({}))
        .expect(409)
        .await;
    assert!(refused.text.contains("not sent"), "{}", refused.text);
    // A refused mail leaves the customer's link as it was.
    app.get(&format!("/p/invoices/{mailed_link}"))
        .expect(200)
        .await;
    let trail = app
        .get("/api/v1/audit?limit=20")
        .key(&key)
        .expect(200)
        .await
        .json;
    assert!(
        trail["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "invoice.sent")
    );
}

/// A client that lost the answer and retries with its `Idempotency-Key` gets the first answer
/// again and nothing is made or recorded twice: an invoice, a payment, a refund, also when the
/// retries arrive at the same moment. The key is the caller's own for one operation; the same
/// key with another body is refused and a malformed key is named.
#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_makes_one_invoice_and_records_money_once() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("invoices-idempotent").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let body = json!({"contact_id": customer, "lines": one_line("100")});
    let count = || async {
        app.get("/api/v1/invoices?limit=100")
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .len()
    };

    let first = app
        .post("/api/v1/invoices")
        .key(&key)
        .header("idempotency-key", "draft-7f3a")
        .json(&body)
        .expect(201)
        .await;
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app
        .post("/api/v1/invoices")
        .key(&key)
        .header("idempotency-key", "draft-7f3a")
        .json(&body)
        .expect(201)
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(count().await, 1);
    // The same key with another body: refused, nothing made.
    let other = app
        .post("/api/v1/invoices")
        .key(&key)
        .header("idempotency-key", "draft-7f3a")
        .json(&json!({"contact_id": customer, "lines": one_line("200")}))
        .expect(422)
        .await;
    assert_eq!(other.json["code"], "HF-REQ-008", "{}", other.text);
    // Another credential's key of the same text is its own.
    let finance = app.key(&ws.slug, BuiltinRole::Finance).await;
    let theirs = app
        .post("/api/v1/invoices")
        .key(&finance)
        .header("idempotency-key", "draft-7f3a")
        .json(&body)
        .expect(201)
        .await;
    assert_ne!(theirs.json["id"], first.json["id"]);
    assert_eq!(count().await, 2);
    for bad in ["has space", "", &"k".repeat(256)] {
        let r = app
            .post("/api/v1/invoices")
            .key(&key)
            .header("idempotency-key", bad)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, 422, "{bad:?}: {}", r.text);
        assert_eq!(
            r.json["errors"][0]["field"], "Idempotency-Key",
            "{}",
            r.text
        );
    }
    assert_eq!(count().await, 2);

    // Money: eight retries of one payment at the same moment record it once.
    let invoice = id(&first.json);
    issue(&app, &key, &invoice, json!({})).await;
    let payment = json!({"amount": "40.00", "method": "bank_transfer", "reference": "BT-1"});
    let mut retries = Vec::new();
    for _ in 0..8 {
        let app = &app;
        let (key, payment, invoice) = (key.clone(), payment.clone(), invoice.clone());
        retries.push(async move {
            app.post(&format!("/api/v1/invoices/{invoice}/payments"))
                .key(&key)
                .header("idempotency-key", "pay-bt-1")
                .json(&payment)
                .send()
                .await
        });
    }
    let answers = futures::future::join_all(retries).await;
    let made = answers
        .iter()
        .filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(
        made,
        1,
        "{:?}",
        answers
            .iter()
            .map(|r| (r.status, r.text.clone()))
            .collect::<Vec<_>>()
    );
    for r in &answers {
        // A retry that met the first one's record while it was being written is told to
        // retry (409); every other answer is the first one's.
        assert!(
            r.status == 201 || r.status == 409,
            "{}: {}",
            r.status,
            r.text
        );
    }
    let paid = app
        .get(&format!("/api/v1/invoices/{invoice}"))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(paid["payments"].as_array().unwrap().len(), 1, "{paid:#}");
    assert_eq!(paid["status"], "partially_paid");
    // A refund with its own key, retried: one refund.
    for _ in 0..2 {
        app.post(&format!("/api/v1/invoices/{invoice}/refunds"))
            .key(&key)
            .header("idempotency-key", "refund-1")
            .json(&json!({"amount": "10.00", "method": "bank_transfer"}))
            .expect(201)
            .await;
    }
    let refunded = app
        .get(&format!("/api/v1/invoices/{invoice}"))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(
        refunded["payments"].as_array().unwrap().len(),
        2,
        "{refunded:#}"
    );
    // The payment key was for that payment: the same text on the refund route is another key.
    app.post(&format!("/api/v1/invoices/{invoice}/refunds"))
        .key(&key)
        .header("idempotency-key", "pay-bt-1")
        .json(&json!({"amount": "5.00", "method": "cash"}))
        .expect(201)
        .await;
}
