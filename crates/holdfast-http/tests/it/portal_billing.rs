//! The client portal's visits and invoices over HTTP, on either database (issue 18, item 4): a
//! signed-in customer sees their job as its public link shows it (never internal notes,
//! addresses or line items) and their issued invoice whole, downloads its PDF, presses Pay and
//! is sent to the provider's checkout (a local provider API on 127.0.0.1); coming back proves
//! nothing, only the signed webhook marks it paid, and the portal then shows the payment.
//! Every portal job and invoice route, page and API, answers 404 for another contact's ids in
//! the workspace and in another one, for a draft of one's own, for malformed ids and with the
//! job's or invoice's module off; Pay on a paid or void invoice is 409 and without the CSRF
//! token 403, and neither opens a checkout.

use crate::invoices::pdf_text;
use crate::jobs::member;
use crate::payments::{connect_stripe, send_stripe, stripe_event};
use crate::public_links::set_display_name;
use crate::{PortalCustomer, portal_customer};
use holdfast_http::{Guard, route_table};
use holdfast_testkit::payments::ProviderApi;
use holdfast_testkit::{Method, Resp, TestApp, Workspace};

// Each test mails its own addresses: on PostgreSQL the suite's tests share one outbox.
use serde_json::{Value, json};
use std::time::Duration;

/// The app with `api` as every payment provider's API, and a session budget that the walks
/// over every route below stay within (the limit itself is `limits.rs`'s).
async fn app_with(api: &ProviderApi) -> TestApp {
    TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        payments_api_base: Some(api.base.clone()),
        api_rate_limit_per_minute: Some(60_000),
        ..Default::default()
    })
    .await
}

/// A job for `contact` (requested) with a window, an address, a line item, an internal and a
/// customer-visible note; its id.
pub async fn job_for(app: &TestApp, ws: &Workspace, contact: &str, title: &str) -> String {
    let job = app
        .post("/api/v1/jobs")
        .key(&ws.admin_key)
        .json(&json!({"contact_id": contact, "title": title,
               "service_address": "1 Mill Lane",
               "window": {"start": "2026-07-01T09:00", "end": "2026-07-01T11:30"},
               "line_items": [{"kind": "material", "description": "Brass valve", "quantity": "2.50"}]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (visibility, body) in [
        ("internal", "Gate code 4411, dog in the garden"),
        ("customer", "Please keep the boiler cupboard clear"),
    ] {
        app.post(&format!("/api/v1/jobs/{job}/notes"))
            .key(&ws.admin_key)
            .json(&json!({"visibility": visibility, "body": body}))
            .expect(201)
            .await;
    }
    job
}

/// A draft invoice for `contact`: one line of 100.00 at 20 % tax (120.00 in all); its id.
pub async fn draft_for(app: &TestApp, ws: &Workspace, contact: &str, description: &str) -> String {
    app.post("/api/v1/invoices")
        .key(&ws.admin_key)
        .json(
            &json!({"contact_id": contact, "currency": "EUR", "notes": "Thank you for your custom.",
                      "lines": [{"description": description, "quantity": "1",
                                 "unit_price": "100.00", "tax_percent": "20"}]}),
        )
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An issued invoice for `contact` (as [`draft_for`]); its id.
pub async fn issued_for(app: &TestApp, ws: &Workspace, contact: &str, description: &str) -> String {
    let id = draft_for(app, ws, contact, description).await;
    app.post(&format!("/api/v1/invoices/{id}/issue"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(200)
        .await;
    id
}

fn portal_get<'a>(
    app: &'a TestApp,
    who: &PortalCustomer,
    path: &str,
) -> holdfast_testkit::Call<'a> {
    app.browser(Method::GET, path).header("cookie", &who.cookie)
}

/// A signed-in customer's state-changing request, as the page's htmx sends it.
fn portal_post<'a>(
    app: &'a TestApp,
    who: &PortalCustomer,
    path: &str,
) -> holdfast_testkit::Call<'a> {
    app.browser(Method::POST, path)
        .header("cookie", &who.cookie)
        .header("x-csrf-token", &who.csrf)
}

fn assert_portal_page(r: &Resp, label: &str) {
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{label}");
    assert_eq!(r.header("x-robots-tag"), Some("noindex"), "{label}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{label}");
    assert_eq!(
        r.header("content-security-policy"),
        Some(holdfast_http::console::CSP),
        "{label}"
    );
}

/// The invoice as the portal's API answers it to `who`.
async fn portal_invoice(app: &TestApp, who: &PortalCustomer, id: &str) -> Value {
    portal_get(app, who, &format!("/api/portal/v1/invoices/{id}"))
        .expect(200)
        .await
        .json
}

fn checkouts(api: &ProviderApi) -> usize {
    api.calls()
        .iter()
        .filter(|c| c.path == "/v1/checkout/sessions")
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_sees_their_visit_and_invoice_gets_its_pdf_and_pays_it_through_the_verified_webhook()
 {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let ws = app.workspace("portal-pay").await;
    app.call(Method::PUT, "/api/v1/field-service/time-zone")
        .key(&ws.admin_key)
        .json(&json!({"time_zone": "Europe/London"}))
        .expect(200)
        .await;
    let (ana, browser) = portal_customer(&app, &ws, "Ana Lima", "ana@pay.example.com").await;
    let (tech, _) = member(&app, &ws, "tess", "technician").await;
    set_display_name(&app, &ws, &tech, json!("Tess Okafor")).await;
    let job = job_for(&app, &ws, &ana, "Boiler service").await;
    app.patch(&format!("/api/v1/jobs/{job}"))
        .key(&ws.admin_key)
        .json(&json!({"technician_ids": [tech]}))
        .expect(200)
        .await;
    app.post(&format!("/api/v1/jobs/{job}/status"))
        .key(&ws.admin_key)
        .json(&json!({"status": "scheduled"}))
        .expect(200)
        .await;
    let invoice = issued_for(&app, &ws, &ana, "Boiler repair").await;
    let number = app
        .get(&format!("/api/v1/invoices/{invoice}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let slug = &ws.slug;

    // The overview leads to each.
    let home = portal_get(&app, &browser, &format!("/portal/{slug}/home"))
        .expect(200)
        .await;
    for link in [
        format!("href=\"/portal/{slug}/jobs/{job}\""),
        format!("href=\"/portal/{slug}/invoices/{invoice}\""),
    ] {
        assert!(home.text.contains(&link), "{link}: {}", home.text);
    }
    assert!(home.text.contains("120.00 EUR"), "{}", home.text);

    // The visit, as its public link shows it: status in words, the window in the workspace's
    // zone, the technician's first name, the note for the customer; nothing else.
    let page = portal_get(&app, &browser, &format!("/portal/{slug}/jobs/{job}"))
        .expect(200)
        .await;
    assert_portal_page(&page, "job page");
    for shown in [
        "Boiler service",
        "Scheduled",
        "2026-07-01 09:00 to 2026-07-01 11:30 (Europe/London)",
        "Tess",
        "Please keep the boiler cupboard clear",
        "name=\"csrf-token\"",
    ] {
        assert!(page.text.contains(shown), "{shown}: {}", page.text);
    }
    let hidden = ["Okafor", "Gate code", "1 Mill Lane", "Brass valve", "2.50"];
    for secret in hidden {
        assert!(!page.text.contains(secret), "{secret} shown: {}", page.text);
    }
    let listed = portal_get(&app, &browser, "/api/portal/v1/jobs")
        .expect(200)
        .await;
    assert_eq!(
        listed.json["data"][0]["id"],
        job.as_str(),
        "{}",
        listed.text
    );
    assert_eq!(listed.json["data"][0]["status"], "scheduled");
    assert_eq!(listed.json["data"][0]["status_words"], "Scheduled");
    assert_eq!(
        listed.json["data"][0]["window"]["time_zone"],
        "Europe/London"
    );
    let one = portal_get(&app, &browser, &format!("/api/portal/v1/jobs/{job}"))
        .expect(200)
        .await;
    assert_eq!(one.json["technicians"], json!(["Tess"]), "{}", one.text);
    assert_eq!(
        one.json["notes"][0]["body"],
        "Please keep the boiler cupboard clear"
    );
    assert_eq!(one.json["notes"].as_array().unwrap().len(), 1);
    for secret in hidden {
        assert!(
            !one.text.contains(secret),
            "{secret} answered: {}",
            one.text
        );
    }

    // The invoice: number, dates, lines, tax, totals, what is open; the PDF and no Pay button
    // while no payment account is connected.
    let page = portal_get(
        &app,
        &browser,
        &format!("/portal/{slug}/invoices/{invoice}"),
    )
    .expect(200)
    .await;
    assert_portal_page(&page, "invoice page");
    for shown in [
        number.as_str(),
        "Awaiting payment",
        "Boiler repair",
        "20%",
        "100.00 EUR",
        "20.00 EUR",
        "120.00 EUR",
        "Thank you for your custom.",
        &format!("href=\"/portal/{slug}/invoices/{invoice}/pdf\""),
    ] {
        assert!(page.text.contains(shown), "{shown}: {}", page.text);
    }
    assert!(!page.text.contains("/pay\""), "no Pay yet: {}", page.text);
    let detail = portal_invoice(&app, &browser, &invoice).await;
    assert_eq!(detail["payable"], false, "{detail}");
    // Pay without an account: a clear refusal, nothing opened.
    let refused = portal_post(
        &app,
        &browser,
        &format!("/api/portal/v1/invoices/{invoice}/pay"),
    )
    .expect(409)
    .await;
    refused.problem("HF-REQ-007");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("payment account"),
        "{}",
        refused.text
    );
    assert_eq!(checkouts(&api), 0);

    connect_stripe(&app, &ws).await;
    let detail = portal_invoice(&app, &browser, &invoice).await;
    assert_eq!(detail["number"], number.as_str());
    assert_eq!(detail["status"], "issued");
    assert_eq!(detail["total"], "120.00");
    assert_eq!(detail["tax"], "20.00");
    assert_eq!(detail["taxes"][0]["rate_percent"], "20");
    assert_eq!(detail["lines"][0]["description"], "Boiler repair");
    assert_eq!(detail["balance_due"], "120.00");
    assert_eq!(detail["payments"], json!([]));
    assert_eq!(detail["payable"], true);
    for staff_only in [
        "contact_id",
        "bill_to",
        "by",
        "credit_note_ids",
        "reference",
    ] {
        assert!(
            !detail.as_object().unwrap().contains_key(staff_only),
            "{staff_only} in {detail}"
        );
    }
    let listed = portal_get(&app, &browser, "/api/portal/v1/invoices")
        .expect(200)
        .await;
    assert_eq!(
        crate::ids(&listed.json),
        vec![invoice.clone()],
        "{}",
        listed.text
    );
    assert_eq!(listed.json["data"][0]["balance_due"], "120.00");
    assert_eq!(listed.json["data"][0]["status_words"], "Awaiting payment");

    // The PDF, from the renderer every reader's comes from, page and API alike.
    for path in [
        format!("/portal/{slug}/invoices/{invoice}/pdf"),
        format!("/api/portal/v1/invoices/{invoice}/pdf"),
    ] {
        let pdf = portal_get(&app, &browser, &path).expect(200).await;
        assert_eq!(
            pdf.header("content-type"),
            Some("application/pdf"),
            "{path}"
        );
        assert!(
            pdf.header("content-disposition")
                .is_some_and(|d| d.contains(&format!("{number}.pdf"))),
            "{path}: {:?}",
            pdf.header("content-disposition")
        );
        assert_eq!(pdf.header("cache-control"), Some("no-store"), "{path}");
        assert!(pdf.text.starts_with("%PDF-"), "{path}");
        if let Some(text) = pdf_text(pdf.text.as_bytes()) {
            assert!(text.contains(&number), "{path}: {text}");
            assert!(text.contains("120.00"), "{path}: {text}");
            assert!(text.contains("Ana Lima"), "{path}: {text}");
        }
    }

    // Pay: to the provider's checkout for the open amount, coming back to the invoice's page.
    let page = portal_get(
        &app,
        &browser,
        &format!("/portal/{slug}/invoices/{invoice}"),
    )
    .expect(200)
    .await;
    let pay = format!("/portal/{slug}/invoices/{invoice}/pay");
    assert!(
        page.text.contains(&format!("hx-post=\"{pay}\"")),
        "{}",
        page.text
    );
    assert!(page.text.contains("Pay 120.00 EUR online"), "{}", page.text);
    let paid = portal_post(&app, &browser, &pay).expect(303).await;
    let url = paid.header("location").unwrap().to_owned();
    assert!(url.starts_with("https://checkout.stripe.com/"), "{url}");
    let call = api.calls().pop().unwrap();
    assert_eq!(call.path, "/v1/checkout/sessions");
    assert_eq!(
        call.form("line_items[0][price_data][unit_amount]")
            .as_deref(),
        Some("12000")
    );
    assert_eq!(
        call.form("metadata[holdfast_invoice]").as_deref(),
        Some(invoice.as_str())
    );
    let back = call.form("success_url").unwrap();
    assert!(
        back.ends_with(&format!("/portal/{slug}/invoices/{invoice}?paid=1")),
        "{back}"
    );
    let session = url.rsplit('/').next().unwrap().to_owned();
    // htmx is asked to go there; the API answers the address.
    let hx = portal_post(&app, &browser, &pay)
        .header("hx-request", "true")
        .expect(200)
        .await;
    assert!(
        hx.header("hx-redirect")
            .is_some_and(|u| u.starts_with("https://checkout.stripe.com/")),
        "{:?}",
        hx.headers
    );
    let by_api = portal_post(
        &app,
        &browser,
        &format!("/api/portal/v1/invoices/{invoice}/pay"),
    )
    .expect(201)
    .await;
    assert!(
        by_api.json["checkout_url"]
            .as_str()
            .unwrap()
            .starts_with("https://checkout.stripe.com/"),
        "{}",
        by_api.text
    );
    assert_eq!(by_api.json["amount"], "120.00");
    assert_eq!(by_api.json["currency"], "EUR");
    assert_eq!(checkouts(&api), 3);
    // The customer's doing, in the workspace's trail.
    let trail = app
        .get("/api/v1/audit?limit=100")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        trail["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "invoice.checkout_opened"
                && e["actor_type"] == "contact"
                && e["actor_id"] == ana.as_str()),
        "{trail}"
    );

    // Coming back proves nothing: thanked, still owed.
    let returned = portal_get(
        &app,
        &browser,
        &format!("/portal/{slug}/invoices/{invoice}?paid=1"),
    )
    .expect(200)
    .await;
    assert!(returned.text.contains("Thank you."), "{}", returned.text);
    assert!(
        returned.text.contains("Awaiting payment"),
        "{}",
        returned.text
    );
    assert_eq!(
        portal_invoice(&app, &browser, &invoice).await["status"],
        "issued"
    );

    // The provider's signed event records it.
    let completed = stripe_event(
        "evt_portal_1",
        "checkout.session.completed",
        json!({"id": session, "object": "checkout.session", "payment_status": "paid",
               "payment_intent": "pi_portal_1", "amount_total": 12000, "currency": "eur",
               "client_reference_id": invoice, "metadata": {"holdfast_invoice": invoice}}),
    );
    assert_eq!(send_stripe(&app, &ws, &completed).await, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let detail = loop {
        let detail = portal_invoice(&app, &browser, &invoice).await;
        if detail["status"] == "paid" {
            break detail;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not paid in time: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(detail["paid"], "120.00");
    assert_eq!(detail["balance_due"], "0.00");
    assert_eq!(detail["payable"], false);
    let payments = detail["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{detail}");
    assert_eq!(payments[0]["kind"], "payment");
    assert_eq!(payments[0]["method"], "online");
    assert_eq!(payments[0]["amount"], "120.00");
    let page = portal_get(
        &app,
        &browser,
        &format!("/portal/{slug}/invoices/{invoice}"),
    )
    .expect(200)
    .await;
    assert!(page.text.contains("Paid — thank you"), "{}", page.text);
    assert!(
        page.text.contains("<caption>Payments</caption>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("online"), "{}", page.text);
    assert!(!page.text.contains(&pay), "no Pay once paid: {}", page.text);
    let home = portal_get(&app, &browser, &format!("/portal/{slug}/home"))
        .expect(200)
        .await;
    assert!(home.text.contains("paid"), "{}", home.text);

    // Paid: Pay again is refused, as a page and as a problem, and opens nothing.
    let again = portal_post(&app, &browser, &pay).expect(409).await;
    assert!(again.text.contains("<!doctype html>"), "{}", again.text);
    assert!(again.text.contains("is paid"), "{}", again.text);
    assert_portal_page(&again, "a refused Pay");
    portal_post(
        &app,
        &browser,
        &format!("/api/portal/v1/invoices/{invoice}/pay"),
    )
    .expect(409)
    .await
    .problem("HF-REQ-007");
    assert_eq!(checkouts(&api), 3);
}

/// Every portal route about one job or invoice (`{id}`), from the route table.
fn id_routes() -> Vec<(Method, &'static str, bool)> {
    let table = route_table();
    let routes: Vec<_> = table
        .specs()
        .filter(|s| s.guard == Guard::Portal && s.path_params().contains(&"id"))
        // A visit's and an invoice's routes (a request's are `portal_tickets.rs`'s).
        .filter(|s| matches!(s.resource_of("id"), "jobs" | "invoices"))
        .map(|s| (crate::method(&s.method), s.path, s.doc.page))
        .collect();
    assert!(routes.len() >= 8, "{routes:?}");
    routes
}

fn fill(path: &str, slug: &str, id: &str) -> String {
    path.replace("{workspace_slug}", slug).replace("{id}", id)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_gets_404_for_every_other_customers_visit_and_invoice_and_for_drafts() {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let a = app.workspace("portal-iso-a").await;
    let b = app.workspace("portal-iso-b").await;
    connect_stripe(&app, &a).await;
    connect_stripe(&app, &b).await;
    let (ana_id, ana) = portal_customer(&app, &a, "Ana", "ana@iso.example.com").await;
    let (ben_id, ben) = portal_customer(&app, &a, "Ben", "ben@iso.example.com").await;
    let (cy_id, cy) = portal_customer(&app, &b, "Cy", "cy@iso.example.com").await;
    // (the customer, their workspace's slug, their job, their invoice, their job's title)
    let ana_job = job_for(&app, &a, &ana_id, "Ana's visit").await;
    let ana_inv = issued_for(&app, &a, &ana_id, "Ana's repair").await;
    let ana_draft = draft_for(&app, &a, &ana_id, "Ana's draft work").await;
    let ben_job = job_for(&app, &a, &ben_id, "Ben's visit").await;
    let ben_inv = issued_for(&app, &a, &ben_id, "Ben's repair").await;
    let cy_job = job_for(&app, &b, &cy_id, "Cy's visit").await;
    let cy_inv = issued_for(&app, &b, &cy_id, "Cy's repair").await;
    let people = [
        (&ana, &a.slug, &ana_job, &ana_inv, "Ana"),
        (&ben, &a.slug, &ben_job, &ben_inv, "Ben"),
        (&cy, &b.slug, &cy_job, &cy_inv, "Cy"),
    ];

    let routes = id_routes();
    let mut refused = 0;
    for (who, slug, _, _, name) in &people {
        for (_, _, other_job, other_inv, other) in people.iter().filter(|p| p.4 != *name) {
            for (method, template, page) in &routes {
                let id = if template.contains("/jobs/") {
                    other_job
                } else {
                    other_inv
                };
                let path = fill(template, slug, id);
                let call = if *method == Method::GET {
                    portal_get(&app, who, &path)
                } else {
                    portal_post(&app, who, &path)
                };
                let r = call.send().await;
                let label = format!("{name} on {method} {path} ({other}'s)");
                assert_eq!(r.status, 404, "{label}: {}", r.text);
                if *page {
                    assert!(r.text.contains("<!doctype html>"), "{label}: {}", r.text);
                } else {
                    r.problem("HF-REQ-005");
                }
                for leak in [*other, "repair", "Mill Lane"] {
                    assert!(!r.text.contains(leak), "{label} leaked {leak}: {}", r.text);
                }
                refused += 1;
            }
        }
    }
    assert!(refused >= 48, "{refused}");
    // A draft of one's own is the business's, not yet the customer's.
    for (method, template, page) in routes.iter().filter(|r| r.1.contains("/invoices/")) {
        let path = fill(template, &a.slug, &ana_draft);
        let call = if *method == Method::GET {
            portal_get(&app, &ana, &path)
        } else {
            portal_post(&app, &ana, &path)
        };
        let r = call.send().await;
        assert_eq!(r.status, 404, "a draft on {method} {path}: {}", r.text);
        assert!(!r.text.contains("draft work"), "{}", r.text);
        if !page {
            r.problem("HF-REQ-005");
        }
    }
    // Nothing was opened with the provider for any of them.
    assert_eq!(checkouts(&api), 0);

    // Each list holds its customer's own: no draft, no one else's.
    for (who, _, job, inv, name) in &people {
        let jobs = portal_get(&app, who, "/api/portal/v1/jobs")
            .expect(200)
            .await;
        assert_eq!(crate::ids(&jobs.json), [job.to_string()], "{name}");
        let invoices = portal_get(&app, who, "/api/portal/v1/invoices")
            .expect(200)
            .await;
        assert_eq!(crate::ids(&invoices.json), [inv.to_string()], "{name}");
    }
    // …and their own open on every route (Pay included).
    for (who, slug, job, inv, name) in &people {
        for (method, template, _) in &routes {
            let id = if template.contains("/jobs/") {
                job
            } else {
                inv
            };
            let path = fill(template, slug, id);
            let call = if *method == Method::GET {
                portal_get(&app, who, &path)
            } else {
                portal_post(&app, who, &path)
            };
            let r = call.send().await;
            assert!(
                [200, 201, 303].contains(&r.status),
                "{name} on their own {method} {path}: {} {}",
                r.status,
                r.text
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_ids_and_cursors_are_refused_and_pay_on_a_paid_or_void_invoice_opens_nothing() {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let ws = app.workspace("portal-bad").await;
    connect_stripe(&app, &ws).await;
    let (ana_id, ana) = portal_customer(&app, &ws, "Ana", "ana@bad.example.com").await;
    let job = job_for(&app, &ws, &ana_id, "Ana's visit").await;
    let inv = issued_for(&app, &ws, &ana_id, "Ana's repair").await;
    let routes = id_routes();
    for bad in [
        "nope",
        "job_",
        "inv_00000000000000000000000000000001",
        "job_00000000000000000000000000000001",
        "%ff%fe",
        "..%2F..%2Fetc",
        &"a".repeat(300),
        // A job's id on an invoice's route and the other way round.
        &format!("swap:{job}:{inv}"),
    ] {
        for (method, template, page) in &routes {
            let id = match bad.strip_prefix("swap:") {
                Some(pair) => {
                    let (job, inv) = pair.split_once(':').unwrap();
                    if template.contains("/jobs/") {
                        inv.to_owned()
                    } else {
                        job.to_owned()
                    }
                }
                None => bad.to_owned(),
            };
            let path = fill(template, &ws.slug, &id);
            let call = if *method == Method::GET {
                portal_get(&app, &ana, &path)
            } else {
                portal_post(&app, &ana, &path)
            };
            let r = call.send().await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
            if *page {
                assert_eq!(
                    r.header("content-security-policy"),
                    Some(holdfast_http::console::CSP),
                    "{method} {path}"
                );
                assert!(r.text.contains("<!doctype html>"), "{method} {path}");
            } else {
                r.problem("HF-REQ-005");
            }
        }
    }
    // A list's paging: a clear 422 naming each bad parameter.
    for list in ["/api/portal/v1/jobs", "/api/portal/v1/invoices"] {
        let r = portal_get(&app, &ana, &format!("{list}?limit=0&cursor=!!"))
            .expect(422)
            .await;
        let fields: Vec<&str> = r.json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, ["limit", "cursor"], "{}", r.text);
        portal_get(&app, &ana, &format!("{list}?admin=1"))
            .expect(422)
            .await;
        // A page of one, then the next.
        let first = portal_get(&app, &ana, &format!("{list}?limit=1"))
            .expect(200)
            .await;
        assert_eq!(first.json["data"].as_array().unwrap().len(), 1);
    }

    // Paid by hand: Pay is refused with the reason and nothing is opened.
    app.post(&format!("/api/v1/invoices/{inv}/payments"))
        .key(&ws.admin_key)
        .json(&json!({"amount": "120.00", "method": "cash"}))
        .expect(201)
        .await;
    let page_pay = format!("/portal/{}/invoices/{inv}/pay", ws.slug);
    let api_pay = format!("/api/portal/v1/invoices/{inv}/pay");
    let r = portal_post(&app, &ana, &page_pay).expect(409).await;
    assert!(r.text.contains("is paid"), "{}", r.text);
    let r = portal_post(&app, &ana, &api_pay).expect(409).await;
    r.problem("HF-REQ-007");
    assert!(r.json["detail"].as_str().unwrap().contains("is paid"));
    // Void: the same.
    let voided = issued_for(&app, &ws, &ana_id, "Ana's cancelled work").await;
    app.post(&format!("/api/v1/invoices/{voided}/void"))
        .key(&ws.admin_key)
        .json(&json!({"reason": "Booked twice"}))
        .expect(200)
        .await;
    let r = portal_post(
        &app,
        &ana,
        &format!("/portal/{}/invoices/{voided}/pay", ws.slug),
    )
    .expect(409)
    .await;
    assert!(r.text.contains("void"), "{}", r.text);
    portal_post(&app, &ana, &format!("/api/portal/v1/invoices/{voided}/pay"))
        .expect(409)
        .await
        .problem("HF-REQ-007");
    let page = portal_get(
        &app,
        &ana,
        &format!("/portal/{}/invoices/{voided}", ws.slug),
    )
    .expect(200)
    .await;
    assert!(page.text.contains("Cancelled (void)"), "{}", page.text);
    assert!(!page.text.contains("/pay\""), "{}", page.text);
    assert_eq!(checkouts(&api), 0, "nothing was opened with the provider");
    let trail = app
        .get("/api/v1/audit?limit=100")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        !trail["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "invoice.checkout_opened"),
        "{trail}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_without_the_csrf_token_is_refused_and_opens_no_checkout() {
    let api = ProviderApi::start().await;
    let app = app_with(&api).await;
    let ws = app.workspace("portal-csrf").await;
    connect_stripe(&app, &ws).await;
    let (ana_id, ana) = portal_customer(&app, &ws, "Ana", "ana@csrf.example.com").await;
    let (_, ben) = portal_customer(&app, &ws, "Ben", "ben@csrf.example.com").await;
    let inv = issued_for(&app, &ws, &ana_id, "Ana's repair").await;
    for path in [
        format!("/portal/{}/invoices/{inv}/pay", ws.slug),
        format!("/api/portal/v1/invoices/{inv}/pay"),
    ] {
        let page = path.starts_with("/portal/");
        let tokens = [
            None,
            Some("not-a-token".to_owned()),
            // Another session's token is no token of this one.
            Some(ben.csrf.clone()),
        ];
        for token in tokens {
            let mut call = app
                .browser(Method::POST, &path)
                .header("cookie", &ana.cookie);
            if let Some(token) = &token {
                call = call.header("x-csrf-token", token);
            }
            let r = call.expect(403).await;
            if page {
                assert!(r.text.contains("<!doctype html>"), "{path}: {}", r.text);
            } else {
                r.problem("HF-AUTH-007");
            }
        }
        // The right token, but sent by a page of another site.
        app.browser(Method::POST, &path)
            .header("cookie", &ana.cookie)
            .header("x-csrf-token", &ana.csrf)
            .header("origin", "https://evil.example.com")
            .header("sec-fetch-site", "cross-site")
            .expect(403)
            .await;
    }
    assert_eq!(checkouts(&api), 0, "no checkout was opened");
    assert_eq!(portal_invoice(&app, &ana, &inv).await["status"], "issued");
}

#[tokio::test(flavor = "multi_thread")]
async fn visits_and_invoices_are_not_there_while_their_module_is_off() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-mods").await;
    let (ana_id, ana) = portal_customer(&app, &ws, "Ana", "ana@mods.example.com").await;
    let job = job_for(&app, &ws, &ana_id, "Ana's visit").await;
    let inv = issued_for(&app, &ws, &ana_id, "Ana's repair").await;
    let all = app
        .get("/api/v1/modules")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let on: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["enabled"] == true)
        .map(|m| m["module"].as_str().unwrap().to_owned())
        .collect();
    let mut paths: Vec<(Method, String, &str)> = id_routes()
        .into_iter()
        .map(|(m, template, _)| {
            let (id, module) = if template.contains("/jobs/") {
                (&job, "field_service")
            } else {
                (&inv, "invoicing")
            };
            (m, fill(template, &ws.slug, id), module)
        })
        .collect();
    paths.push((Method::GET, "/api/portal/v1/jobs".into(), "field_service"));
    paths.push((Method::GET, "/api/portal/v1/invoices".into(), "invoicing"));
    for module in ["field_service", "invoicing"] {
        let without: Vec<&String> = on.iter().filter(|m| *m != module).collect();
        app.patch("/api/v1/modules")
            .key(&ws.admin_key)
            .json(&json!({"enabled": without}))
            .expect(200)
            .await;
        for (method, path, of) in &paths {
            let call = if *method == Method::GET {
                portal_get(&app, &ana, path)
            } else {
                portal_post(&app, &ana, path)
            };
            let r = call.send().await;
            if *of == module {
                assert_eq!(
                    r.status, 404,
                    "{method} {path} with {module} off: {}",
                    r.text
                );
                assert!(
                    r.text.contains(&format!("{module} module is off")),
                    "{method} {path}: {}",
                    r.text
                );
            } else if *method == Method::GET {
                assert_eq!(
                    r.status, 200,
                    "{method} {path} with {module} off: {}",
                    r.text
                );
            }
        }
        // The overview has no section for it.
        let home = portal_get(&app, &ana, &format!("/portal/{}/home", ws.slug))
            .expect(200)
            .await;
        let (gone, kept) = if module == "field_service" {
            ("Your visits", "Your invoices")
        } else {
            ("Your invoices", "Your visits")
        };
        assert!(!home.text.contains(gone), "{}", home.text);
        assert!(home.text.contains(kept), "{}", home.text);
        app.patch("/api/v1/modules")
            .key(&ws.admin_key)
            .json(&json!({"enabled": on}))
            .expect(200)
            .await;
    }
}

/// A company's billing contact: staff mark a contact of a company, and their portal also
/// shows the company's jobs and invoices (made for any of its contacts), never its requests;
/// a colleague who is not marked sees only their own; a contact of another company sees none
/// of it; the mark goes with the contact's company (moved away, it opens nothing) and when
/// staff take it off. On both databases.
#[tokio::test(flavor = "multi_thread")]
async fn a_companys_billing_contact_sees_its_jobs_and_invoices_and_no_one_else_does() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("portal-billing-contact").await;
    let domain = format!("{}.example.com", holdfast_testkit::unique("bill"));
    let company = |name: &str| {
        let body = json!({"name": name});
        let app = &app;
        let key = ws.admin_key.clone();
        async move {
            app.post("/api/v1/companies")
                .key(&key)
                .json(&body)
                .expect(201)
                .await
                .json["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let acme = company("Acme Ltd").await;
    let globex = company("Globex").await;
    let (payer_id, payer) =
        crate::portal_customer(&app, &ws, "Pam Payer", &format!("pam@{domain}")).await;
    let (colleague_id, colleague) =
        crate::portal_customer(&app, &ws, "Carl Colleague", &format!("carl@{domain}")).await;
    let (outsider_id, outsider) =
        crate::portal_customer(&app, &ws, "Olga Outsider", &format!("olga@{domain}")).await;
    for (id, company) in [(&payer_id, &acme), (&colleague_id, &acme)] {
        app.patch(&format!("/api/v1/contacts/{id}"))
            .key(&ws.admin_key)
            .json(&json!({"company_id": company}))
            .expect(200)
            .await;
    }
    // The colleague's visit and invoice, made for the company; one of the colleague's own
    // not made for the company; one of another company's.
    let for_company = |contact: String, company: Option<String>, what: &'static str| {
        let app = &app;
        let ws = &ws;
        async move {
            let job = app
                .post("/api/v1/jobs")
                .key(&ws.admin_key)
                .json(
                    &json!({"contact_id": contact, "company_id": company, "title": what,
                       "window": {"start": "2026-07-01T09:00", "end": "2026-07-01T11:30"}}),
                )
                .expect(201)
                .await
                .json["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let invoice = app
                .post("/api/v1/invoices")
                .key(&ws.admin_key)
                .json(&json!({"contact_id": contact, "company_id": company, "currency": "GBP",
                              "lines": [{"description": what, "quantity": "1", "unit_price": "100.00", "tax_percent": "20"}]}))
                .expect(201)
                .await
                .json["id"]
                .as_str()
                .unwrap()
                .to_owned();
            app.post(&format!("/api/v1/invoices/{invoice}/issue"))
                .key(&ws.admin_key)
                .json(&json!({}))
                .expect(200)
                .await;
            (job, invoice)
        }
    };
    let (acme_job, acme_invoice) = for_company(
        colleague_id.clone(),
        Some(acme.clone()),
        "Acme boiler service",
    )
    .await;
    let (own_job, own_invoice) = for_company(colleague_id.clone(), None, "Carl's own tap").await;
    let (globex_job, globex_invoice) =
        for_company(colleague_id.clone(), Some(globex.clone()), "Globex roof").await;
    let payer_ticket = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(
            &json!({"subject": "Carl's question", "contact": {"email": format!("carl@{domain}")},
                      "message": "Carl asks"}),
        )
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let sees = |who: &PortalCustomer, path: String| {
        let app = &app;
        let cookie = who.cookie.clone();
        async move {
            app.browser(Method::GET, &path)
                .header("cookie", &cookie)
                .send()
                .await
                .status
        }
    };
    let every = |job: &str, invoice: &str| {
        vec![
            format!("/api/portal/v1/jobs/{job}"),
            format!("/portal/{}/jobs/{job}", ws.slug),
            format!("/api/portal/v1/invoices/{invoice}"),
            format!("/api/portal/v1/invoices/{invoice}/pdf"),
            format!("/portal/{}/invoices/{invoice}", ws.slug),
        ]
    };
    // Not marked yet: the payer sees none of the company's.
    for path in every(&acme_job, &acme_invoice) {
        assert_eq!(sees(&payer, path.clone()).await, 404, "{path}");
    }

    // Staff mark her; a contact of no company cannot be one; a role that may not open the
    // portal cannot mark anyone.
    let marked = app
        .call(
            Method::PUT,
            &format!("/api/v1/contacts/{payer_id}/portal/billing"),
        )
        .key(&ws.admin_key)
        .json(&json!({"billing_contact": true}))
        .expect(200)
        .await
        .json;
    assert_eq!(marked["billing_company_id"], acme.as_str(), "{marked}");
    app.call(
        Method::PUT,
        &format!("/api/v1/contacts/{outsider_id}/portal/billing"),
    )
    .key(&ws.admin_key)
    .json(&json!({"billing_contact": true}))
    .expect(409)
    .await;
    app.call(
        Method::PUT,
        &format!("/api/v1/contacts/{payer_id}/portal/billing"),
    )
    .key(&ws.admin_key)
    .json(&json!({"billing_contact": "yes"}))
    .expect(422)
    .await;
    let support = app
        .key(
            &ws.slug,
            holdfast_core::access::policy::BuiltinRole::Support,
        )
        .await;
    app.call(
        Method::PUT,
        &format!("/api/v1/contacts/{colleague_id}/portal/billing"),
    )
    .key(&support)
    .json(&json!({"billing_contact": true}))
    .expect(403)
    .await;
    let audit = app
        .get("/api/v1/audit?action=contact.portal_billing_changed")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(audit.text.contains(&acme), "{}", audit.text);

    // Now the payer sees the company's visit and invoice, on pages and API, in the lists.
    for path in every(&acme_job, &acme_invoice) {
        assert_eq!(sees(&payer, path.clone()).await, 200, "{path}");
    }
    let list = app
        .browser(Method::GET, "/api/portal/v1/invoices")
        .header("cookie", &payer.cookie)
        .expect(200)
        .await;
    assert!(list.text.contains(&acme_invoice), "{}", list.text);
    let home = app
        .browser(Method::GET, &format!("/portal/{}/home", ws.slug))
        .header("cookie", &payer.cookie)
        .expect(200)
        .await;
    assert!(home.text.contains("Acme boiler service"), "{}", home.text);
    // Never the colleague's own records, another company's, or the colleague's requests.
    for path in every(&own_job, &own_invoice)
        .into_iter()
        .chain(every(&globex_job, &globex_invoice))
        .chain([
            format!("/api/portal/v1/tickets/{payer_ticket}"),
            format!("/portal/{}/tickets/{payer_ticket}", ws.slug),
        ])
    {
        assert_eq!(sees(&payer, path.clone()).await, 404, "{path}");
    }
    for text in ["Carl's own tap", "Globex roof", "Carl's question"] {
        assert!(!home.text.contains(text), "{text}: {}", home.text);
        assert!(!list.text.contains(text), "{text}: {}", list.text);
    }
    // The colleague, not marked, sees their own (the company's invoice is made for them);
    // the outsider sees none of it.
    for path in every(&own_job, &own_invoice) {
        assert_eq!(sees(&colleague, path.clone()).await, 200, "{path}");
    }
    for path in every(&acme_job, &acme_invoice) {
        assert_eq!(sees(&outsider, path.clone()).await, 404, "{path}");
    }

    // Moved to another company: the mark opens nothing (not Globex's either).
    app.patch(&format!("/api/v1/contacts/{payer_id}"))
        .key(&ws.admin_key)
        .json(&json!({"company_id": globex}))
        .expect(200)
        .await;
    for path in every(&acme_job, &acme_invoice)
        .into_iter()
        .chain(every(&globex_job, &globex_invoice))
    {
        assert_eq!(sees(&payer, path.clone()).await, 404, "{path}");
    }
    let now = app
        .get(&format!("/api/v1/contacts/{payer_id}/portal"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(now["billing_company_id"], Value::Null, "{now}");
    // Back: the move dropped the mark, so nothing until staff mark them again; then marked
    // off by staff: nothing again.
    app.patch(&format!("/api/v1/contacts/{payer_id}"))
        .key(&ws.admin_key)
        .json(&json!({"company_id": acme}))
        .expect(200)
        .await;
    assert_eq!(
        sees(&payer, format!("/api/portal/v1/invoices/{acme_invoice}")).await,
        404
    );
    app.call(
        Method::PUT,
        &format!("/api/v1/contacts/{payer_id}/portal/billing"),
    )
    .key(&ws.admin_key)
    .json(&json!({"billing_contact": true}))
    .expect(200)
    .await;
    assert_eq!(
        sees(&payer, format!("/api/portal/v1/invoices/{acme_invoice}")).await,
        200
    );
    app.call(
        Method::PUT,
        &format!("/api/v1/contacts/{payer_id}/portal/billing"),
    )
    .key(&ws.admin_key)
    .json(&json!({"billing_contact": false}))
    .expect(200)
    .await;
    for path in every(&acme_job, &acme_invoice) {
        assert_eq!(sees(&payer, path.clone()).await, 404, "{path}");
    }

    // In the console: the box is offered for a contact of a company, and ticking it marks her.
    const FORM: &str = "application/x-www-form-urlencoded";
    let staff = app.console_login(&ws).await;
    let page_path = format!("/app/contacts/{payer_id}/portal");
    let page = app
        .browser(Method::GET, &page_path)
        .cookie(&staff)
        .expect(200)
        .await;
    assert!(
        page.text.contains("Billing contact of their company"),
        "{}",
        page.text
    );
    app.browser(Method::POST, &page_path)
        .console(&staff)
        .body(FORM, "access=on&billing_offered=1&billing=on")
        .expect(303)
        .await;
    let now = app
        .get(&format!("/api/v1/contacts/{payer_id}/portal"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(now["billing_company_id"], acme.as_str(), "{now}");
    let outsider_page = app
        .browser(Method::GET, &format!("/app/contacts/{outsider_id}/portal"))
        .cookie(&staff)
        .expect(200)
        .await;
    assert!(
        !outsider_page
            .text
            .contains("Billing contact of their company"),
        "{}",
        outsider_page.text
    );
    // Unticked: off again.
    app.browser(Method::POST, &page_path)
        .console(&staff)
        .body(FORM, "access=on&billing_offered=1")
        .expect(303)
        .await;
    assert_eq!(
        sees(&payer, format!("/api/portal/v1/invoices/{acme_invoice}")).await,
        404
    );
}
