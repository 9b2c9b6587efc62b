//! The client portal in a real headless Chromium on a phone (`tests/browser/portal.mjs`,
//! playwright-core driving the system's `/usr/bin/chromium` at 390 × 844 with touch), on either
//! database: a customer asks for a sign-in link, the link comes from the real mail outbox, its
//! confirmation page spends nothing, they sign in, read their request (the team's reply, never
//! the internal note) and answer it, download their invoice's PDF, press Pay and reach the
//! provider's checkout page (a local page server stands in for the provider's host); the
//! provider's signed webhook records the payment and the invoice reads paid. Another
//! customer's request is the portal's 404 page; after signing out a portal page asks to sign in
//! again. axe-core on every page (no serious or critical violations), no page wider than the
//! phone and no table spilling out of its box, every button at least 44 × 44, no dialog, no
//! Content-Security-Policy report, no console error. What the browser did is then read back
//! from the staff's API. Screenshots go to `screenshots/` (gitignored).
//! Skipped with a note when Chromium, Node.js or the npm packages are missing, except under
//! `CI=true`.

use crate::payments::{connect_stripe, send_stripe, stripe_event};
use crate::portal_billing::issued_for;
use crate::widget_browser::{browser_dir, missing};
use crate::{contact, mails_to};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::payments::ProviderApi;
use holdfast_testkit::{Method, TestApp, Workspace, find_token, unique};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The provider's checkout page (the host `checkout.stripe.com`, which the browser's routing
/// sends here): a plain page naming the session; every session asked for is kept.
struct CheckoutPage {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl CheckoutPage {
    async fn start() -> CheckoutPage {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = seen.clone();
        let router = axum::Router::new().route(
            "/c/pay/{session}",
            axum::routing::get(
                move |axum::extract::Path(session): axum::extract::Path<String>| {
                    let kept = kept.clone();
                    async move {
                        kept.lock().unwrap().push(session.clone());
                        axum::response::Html(format!(
                            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                             <title>Checkout</title></head><body><h1>Test checkout</h1>\
                             <p>Session {session}</p></body></html>"
                        ))
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        CheckoutPage {
            base: format!("http://{addr}"),
            seen,
        }
    }
}

/// The browser's process, ended when the test ends (or fails half-way).
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of the newest sign-in link mailed to `email`, once more than `before` mails are
/// there (the mail is sent by the worker, after the form's answer).
async fn mailed_link(app: &TestApp, ws: &Workspace, email: &str, before: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mail = loop {
        let mails = mails_to(app, email).await;
        if mails.len() > before {
            break mails[0].clone();
        }
        assert!(Instant::now() < deadline, "no sign-in mail to {email}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let path = format!("/portal/{}/sign-in/{}", ws.slug, find_token(&mail, "hfml"));
    assert!(mail.contains(&path), "{mail}");
    path
}

/// The staff's view of a ticket.
async fn staff_ticket(app: &TestApp, ws: &Workspace, id: &str) -> Value {
    app.get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

/// The staff's view of an invoice.
async fn staff_invoice(app: &TestApp, ws: &Workspace, id: &str) -> Value {
    app.get(&format!("/api/v1/invoices/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

/// The path and query of an absolute address.
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.find('/').map_or("/", |at| &after_scheme[at..])
}

/// The pages the script checks, by the names it gives them.
const PAGES: [&str; 10] = [
    "sign-in",
    "link-sent",
    "confirm",
    "home",
    "ticket",
    "ticket-answered",
    "invoice",
    "invoice-paid",
    "not-found",
    "signed-out",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_on_a_phone_signs_in_answers_their_request_and_pays_their_invoice_in_chromium() {
    if let Some(why) = missing() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the client portal browser test cannot run under CI=true: {why}");
        }
        eprintln!("SKIPPED the client portal browser test: {why}");
        return;
    }
    let api = ProviderApi::start().await;
    let checkout = CheckoutPage::start().await;
    let app = TestApp::spawn_with(Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        payments_api_base: Some(api.base.clone()),
        auth_rate_limit_per_minute: Some(60_000),
        api_rate_limit_per_minute: Some(60_000),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("portal-browser").await;
    let key = ws.admin_key.clone();
    // Addresses of this run alone: on PostgreSQL the suite's tests share one outbox.
    let ana_email = format!("{}@example.com", unique("ana"));
    let ben_email = format!("{}@example.com", unique("ben"));
    let ana = contact(&app, &ws, json!({"name": "Ana Lima", "email": ana_email})).await;
    let ben = contact(&app, &ws, json!({"name": "Ben Ode", "email": ben_email})).await;
    for who in [&ana, &ben] {
        app.call(Method::PUT, &format!("/api/v1/contacts/{who}/portal"))
            .key(&key)
            .json(&json!({"access": true}))
            .expect(200)
            .await;
    }
    // Ana's request, answered by the team, with a note the team keeps to itself; Ben's.
    let (subject, reply, note, answer) = (
        "Leaking tap in the kitchen",
        "A plumber comes on Monday morning.",
        "INTERNAL gate code 4411, bill the call-out",
        "Monday works, the side gate is open.",
    );
    let ticket = app
        .post("/api/v1/tickets")
        .key(&key)
        .json(&json!({"subject": subject, "contact": {"email": ana_email},
                      "message": "The tap drips all night."}))
        .expect(201)
        .await
        .json;
    assert_eq!(ticket["contact_id"], ana.as_str(), "{ticket}");
    let ticket = ticket["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/tickets/{ticket}/replies"))
        .key(&key)
        .json(&json!({"body": reply}))
        .expect(201)
        .await;
    app.post(&format!("/api/v1/tickets/{ticket}/notes"))
        .key(&key)
        .json(&json!({"body": note}))
        .expect(201)
        .await;
    let other_subject = "Ben's boiler makes a noise";
    let other = app
        .post("/api/v1/tickets")
        .key(&key)
        .json(
            &json!({"subject": other_subject, "contact": {"email": ben_email},
                      "message": "It bangs at night."}),
        )
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Ana's issued invoice (120.00 EUR), payable through the local provider.
    connect_stripe(&app, &ws).await;
    let invoice = issued_for(&app, &ws, &ana, "Boiler repair").await;
    let number = staff_invoice(&app, &ws, &invoice).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    // The workspace's brand: a yellow that needs black ink, and a logo.
    app.call(Method::PUT, "/api/v1/portal/branding")
        .key(&key)
        .json(&json!({"colour": "#ffcc00"}))
        .expect(200)
        .await;
    let (form_type, form) = crate::job_files::png_form();
    app.call(Method::PUT, "/api/v1/portal/branding/logo")
        .key(&key)
        .body(&form_type, form)
        .expect(200)
        .await;
    let mails_before = mails_to(&app, &ana_email).await.len();

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../screenshots");
    let mut child = Command::new("node")
        .current_dir(browser_dir())
        .arg("portal.mjs")
        .env("HF_BASE", &app.base)
        .env("HF_WORKSPACE", &ws.slug)
        .env("HF_EMAIL", &ana_email)
        .env("HF_TICKET_SUBJECT", subject)
        .env("HF_REPLY", reply)
        .env("HF_NOTE", note)
        .env("HF_ANSWER", answer)
        .env("HF_INVOICE_NUMBER", &number)
        .env("HF_OTHER_TICKET", &other)
        .env("HF_OTHER_SUBJECT", other_subject)
        .env("HF_CHECKOUT", &checkout.base)
        .env("HF_SCREENSHOTS", shots)
        .env("HF_TIMEOUT_MS", "30000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start node portal.mjs");
    let mut to_browser = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let browser = Browser(child);
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    // The script's questions, answered from what only this side sees; then its result.
    let mut printed = Vec::new();
    let mut result = None;
    let mut session = None;
    while let Some(line) = tokio::time::timeout(Duration::from_secs(600), lines.recv())
        .await
        .expect("the browser script said nothing for ten minutes")
    {
        let Ok(said) = serde_json::from_str::<Value>(&line) else {
            printed.push(line);
            continue;
        };
        let answer = match said["want"].as_str() {
            Some("link") => json!({"path": mailed_link(&app, &ws, &ana_email, mails_before).await}),
            Some("paid") => {
                let url = said["checkout"].as_str().unwrap_or_default();
                let id = url.rsplit('/').next().unwrap_or_default().to_owned();
                assert!(
                    checkout.seen.lock().unwrap().contains(&id),
                    "the browser did not reach the checkout page of {url}"
                );
                let opened = api
                    .calls()
                    .into_iter()
                    .rfind(|c| c.path == "/v1/checkout/sessions")
                    .expect("no checkout was opened at the provider");
                assert_eq!(
                    opened
                        .form("line_items[0][price_data][unit_amount]")
                        .as_deref(),
                    Some("12000")
                );
                let back = opened.form("success_url").expect("a success address");
                // The provider's event for the session the browser reached, signed.
                let completed = stripe_event(
                    "evt_portal_browser_1",
                    "checkout.session.completed",
                    json!({"id": id, "object": "checkout.session", "payment_status": "paid",
                           "payment_intent": "pi_portal_browser_1", "amount_total": 12000,
                           "currency": "eur", "client_reference_id": invoice,
                           "metadata": {"holdfast_invoice": invoice}}),
                );
                assert_eq!(send_stripe(&app, &ws, &completed).await, 200);
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let now = staff_invoice(&app, &ws, &invoice).await;
                    if now["status"] == "paid" {
                        break;
                    }
                    assert!(Instant::now() < deadline, "not paid in time: {now}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                session = Some(id);
                json!({"back": path_of(&back)})
            }
            _ if said.get("ok").is_some() => {
                result = Some(said);
                continue;
            }
            _ => {
                printed.push(line);
                continue;
            }
        };
        writeln!(to_browser, "{answer}").expect("the browser script's stdin");
        to_browser.flush().unwrap();
    }
    drop(browser);
    let stderr = errors.join().unwrap_or_default();
    let result = result.unwrap_or_else(|| {
        panic!(
            "portal.mjs printed no result: {}\n{stderr}",
            printed.join("\n")
        )
    });

    assert_eq!(result["ok"], true, "{result:#}\n{stderr}");
    assert_eq!(result["dialogs"], json!([]), "a script ran: {result:#}");
    assert_eq!(
        result["csp"],
        json!([]),
        "the policy was violated: {result:#}"
    );
    assert_eq!(result["errors"], json!([]), "console errors: {result:#}");
    assert_eq!(
        result["external"],
        json!([]),
        "the pages reached out: {result:#}"
    );
    for page in PAGES {
        assert_eq!(
            result["axe"][page],
            json!([]),
            "accessibility problems on {page}: {result:#}"
        );
        assert_eq!(
            result["overflow"][page], "",
            "{page} is wider than the phone: {result:#}"
        );
        assert_eq!(
            result["small_buttons"][page],
            json!([]),
            "buttons too small to tap on {page}: {result:#}"
        );
    }

    // Signing in: the same answer for the address, a confirmation page that opens twice.
    assert!(
        result["link_sent"]
            .as_str()
            .is_some_and(|t| t.contains(&ana_email)),
        "{result:#}"
    );
    assert_eq!(result["confirm_status"], 200, "{result:#}");
    assert_eq!(result["confirm_again_status"], 200, "{result:#}");
    assert_eq!(result["welcome"], "Welcome, Ana Lima", "{result:#}");
    assert_eq!(result["home_requests"], json!([subject]), "{result:#}");
    assert_eq!(result["home_invoices"], json!([number]), "{result:#}");
    assert_eq!(result["home_shows_other"], false, "{result:#}");
    // The brand on the sign-in page and around the customer's pages (axe checked its
    // contrast on every page above).
    assert_eq!(result["sign_in_logo"], true, "{result:#}");
    assert_eq!(result["bar_logo"], true, "{result:#}");
    let yellow_with_black = json!(["rgb(255, 204, 0)", "rgb(0, 0, 0)"]);
    assert_eq!(result["primary_button"], yellow_with_black, "{result:#}");
    assert_eq!(result["bar"], yellow_with_black, "{result:#}");

    // The request: the team's reply, never the note; the answer appeared.
    assert_eq!(result["ticket_title"], subject, "{result:#}");
    assert_eq!(
        result["ticket_messages"],
        json!(["The tap drips all night.", reply]),
        "{result:#}"
    );
    assert_eq!(result["note_shown"], false, "{result:#}");
    assert_eq!(
        result["ticket_messages_after"],
        json!(["The tap drips all night.", reply, answer]),
        "{result:#}"
    );
    assert_eq!(result["ticket_status_after"], "open", "{result:#}");

    // The invoice: the PDF, Pay to the provider, paid by the webhook.
    assert_eq!(
        result["invoice_title"],
        format!("Invoice {number}"),
        "{result:#}"
    );
    assert_eq!(result["invoice_status"], "Awaiting payment", "{result:#}");
    assert_eq!(
        result["pdf_filename"],
        format!("{number}.pdf"),
        "{result:#}"
    );
    assert_eq!(result["pdf_magic"], "%PDF-", "{result:#}");
    assert_eq!(result["pdf_status"], 200, "{result:#}");
    assert_eq!(result["pdf_type"], "application/pdf", "{result:#}");
    let session = session.expect("the script never reached the checkout");
    assert_eq!(
        result["checkout_url"],
        format!("https://checkout.stripe.com/c/pay/{session}"),
        "{result:#}"
    );
    assert_eq!(result["checkout_heading"], "Test checkout", "{result:#}");
    assert_eq!(
        result["back"],
        format!("/portal/{}/invoices/{invoice}?paid=1", ws.slug),
        "{result:#}"
    );
    assert_eq!(
        result["invoice_status_paid"], "Paid — thank you",
        "{result:#}"
    );
    assert_eq!(result["invoice_status_reloaded"], "Paid — thank you");
    assert_eq!(result["pay_button_after"], 0, "{result:#}");
    assert_eq!(
        result["payments_after"].as_array().map(Vec::len),
        Some(1),
        "{result:#}"
    );

    // Another customer's request: the portal's 404 page, back to the portal, nothing of Ben's.
    assert_eq!(result["other_status"], 404, "{result:#}");
    assert_eq!(result["other_shows_subject"], false, "{result:#}");
    assert_eq!(
        result["other_back"],
        format!("/portal/{}", ws.slug),
        "{result:#}"
    );

    // Signed out, and asked to sign in again.
    assert_eq!(result["signed_out"], "You are signed out.", "{result:#}");
    assert_eq!(
        result["after_sign_out_url"],
        format!("{}/portal/{}", app.base, ws.slug),
        "{result:#}"
    );
    assert_eq!(result["after_sign_out_asks"], true, "{result:#}");

    // What the browser did is what the staff's side sees.
    let thread = staff_ticket(&app, &ws, &ticket).await;
    assert_eq!(thread["status"], "open", "{thread}");
    let last = thread["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["kind"], "inbound", "{thread}");
    assert_eq!(last["author_type"], "contact");
    assert_eq!(last["author_id"], ana.as_str());
    assert_eq!(last["body"], answer);
    let untouched = staff_ticket(&app, &ws, &other).await;
    assert_eq!(
        untouched["messages"].as_array().unwrap().len(),
        1,
        "{untouched}"
    );
    let paid = staff_invoice(&app, &ws, &invoice).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["payments"][0]["method"], "online", "{paid}");
    assert_eq!(paid["payments"][0]["amount"], "120.00", "{paid}");
    assert_eq!(
        api.calls()
            .iter()
            .filter(|c| c.path == "/v1/checkout/sessions")
            .count(),
        1,
        "one Pay, one checkout"
    );
    // Signed out: no session is left; the link was spent by the one sign-in.
    let access = app
        .get(&format!("/api/v1/contacts/{ana}/portal"))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(access["sessions"], json!([]), "{access}");
    let link = mailed_link(&app, &ws, &ana_email, mails_before).await;
    app.browser(Method::GET, &link).expect(404).await;
    let trail = app
        .get("/api/v1/audit?limit=100")
        .key(&key)
        .expect(200)
        .await
        .json;
    for action in [
        "portal.signed_in",
        "invoice.checkout_opened",
        "portal.signed_out",
    ] {
        assert!(
            trail["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action
                    && e["actor_type"] == "contact"
                    && e["actor_id"] == ana.as_str()),
            "{action}: {trail}"
        );
    }
}
