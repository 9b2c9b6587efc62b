//! The console's invoicing pages in a real headless Chromium (`tests/browser/console_invoicing.mjs`,
//! playwright-core driving the system's `/usr/bin/chromium`): sign in, open the invoices, start
//! an invoice for a contact found by a search, add and type a line while the totals update
//! without a reload (a bad quantity names its line), save, issue (confirmed by a checkbox, no
//! dialog), check the PDF preview answers a PDF, record a payment and see the invoice paid;
//! then the payments list, the invoicing settings, and an invoice's public page for its
//! customer. axe-core on every page (no serious or critical violations), no dialog and no
//! Content-Security-Policy report. Screenshots go to `screenshots/` (gitignored). Skipped with
//! a note when Chromium, Node.js or the npm packages are missing, except under `CI=true`.

use crate::widget_browser::{browser_dir, missing};
use holdfast_testkit::{OWNER_PASSWORD, TestApp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn a_person_drafts_issues_and_records_payment_for_an_invoice_in_chromium() {
    if let Some(why) = missing() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the invoicing console browser test cannot run under CI=true: {why}");
        }
        eprintln!("SKIPPED the invoicing console browser test: {why}");
        return;
    }
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("console-invoicing-browser").await;
    let key = ws.admin_key.clone();
    let ada = crate::contact(&app, &ws, crate::ada()).await;
    crate::contact(
        &app,
        &ws,
        json!({"name": "<img src=x onerror=alert(1)>", "email": "mallory@example.com"}),
    )
    .await;
    // An issued invoice with a public link: its page for the customer (the token comes from
    // the API, shown once).
    let other = app
        .post("/api/v1/invoices")
        .key(&key)
        .json(&json!({"contact_id": ada,
                      "lines": [{"description": "Call-out", "quantity": "1", "unit_price": "55", "tax_percent": "20"}]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/invoices/{other}/issue"))
        .key(&key)
        .json(&json!({}))
        .expect(200)
        .await;
    let token = app
        .post(&format!("/api/v1/invoices/{other}/public-link"))
        .key(&key)
        .expect(201)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../screenshots");
    let out = tokio::task::spawn_blocking({
        let base = app.base.clone();
        let (slug, email) = (ws.slug.clone(), ws.owner_email.clone());
        move || {
            Command::new("node")
                .current_dir(browser_dir())
                .arg("console_invoicing.mjs")
                .env("HF_BASE", base)
                .env("HF_WORKSPACE", slug)
                .env("HF_EMAIL", email)
                .env("HF_PASSWORD", OWNER_PASSWORD)
                .env("HF_SEARCH", "lovelace")
                // 1 × 120 at 20 %, and 3 × 19.99 less 12.5 % at 7.625 %: 172.47 + 28.00.
                .env("HF_TOTAL", "200.47 EUR")
                .env("HF_PUBLIC", format!("/p/invoices/{token}"))
                .env("HF_SCREENSHOTS", shots)
                .env("HF_TIMEOUT_MS", "30000")
                .output()
                .expect("cannot start node console_invoicing.mjs")
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let result: Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "console_invoicing.mjs printed no result: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert_eq!(result["ok"], true, "{result:#}");
    assert_eq!(result["dialogs"], json!([]), "a script ran: {result:#}");
    assert_eq!(
        result["csp"],
        json!([]),
        "the policy was violated: {result:#}"
    );
    for page in [
        "invoices",
        "invoice-new",
        "editor",
        "editor-typed",
        "issued",
        "paid",
        "payments",
        "settings-invoicing",
        "settings-payments",
        "public-invoice",
    ] {
        assert_eq!(
            result["axe"][page],
            json!([]),
            "accessibility problems on {page}: {result:#}"
        );
    }
    assert_eq!(result["contacts_found"], 1, "{result:#}");
    assert!(
        result["bad_line"]
            .as_str()
            .is_some_and(|t| t.contains("Line 2, quantity")),
        "{result:#}"
    );
    assert_eq!(result["live_total"], "200.47 EUR", "{result:#}");
    assert_eq!(result["totals_without_reload"], true, "{result:#}");
    assert_eq!(result["saved_total"], "200.47 EUR", "{result:#}");
    assert!(
        result["issued_title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Invoice INV-")),
        "{result:#}"
    );
    assert_eq!(result["pdf_target"], "_blank", "{result:#}");
    assert_eq!(result["pdf_status"], 200, "{result:#}");
    assert_eq!(result["pdf_type"], "application/pdf", "{result:#}");
    assert!(
        result["pdf_disposition"]
            .as_str()
            .is_some_and(|d| d.starts_with("inline")),
        "{result:#}"
    );
    assert_eq!(result["status_after_payment"], "Paid", "{result:#}");
    assert_eq!(result["balance_after_payment"], "0.00 EUR", "{result:#}");
    assert_eq!(result["payments_listed"], 1, "{result:#}");
    assert!(
        result["public_title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Invoice INV-")),
        "{result:#}"
    );
    // What the browser did is what the API sees.
    let list = app
        .get("/api/v1/invoices?status=paid")
        .key(&key)
        .expect(200)
        .await;
    let paid = &list.json["data"][0];
    assert_eq!(paid["total"], "200.47", "{}", list.text);
    assert_eq!(paid["payments"][0]["method"], "bank_transfer");
    assert_eq!(paid["payments"][0]["reference"], "BT-2026-001");
}
