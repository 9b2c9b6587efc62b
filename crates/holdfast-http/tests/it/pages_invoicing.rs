//! The console's invoicing pages over HTTP, on SQLite and PostgreSQL alike: the invoices list
//! with its filters and paging, a new draft, the draft's editor (lines added and removed
//! without JavaScript, saved, issued) and its live totals (the API's rounding, a bad line
//! named, nothing written), an issued invoice's money recorded through its page (the status
//! moves, as the API then says), refusals next to their forms, the PDF preview, the payments
//! list, and the invoicing and payment-account settings (a step-up first). A role for which
//! `invoices.amount` is hidden sees no money anywhere and gets no money form; a technician
//! gets none of it; another workspace's invoice is a 404; an action without the CSRF token is
//! refused. The Chromium flow is `console_invoicing_browser.rs`.

use crate::pages::{FORM, assert_page, between, form};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{Console, Method, OWNER_PASSWORD, Resp, TestApp, Workspace};
use serde_json::{Value, json};

async fn post_form(app: &TestApp, console: &Console, path: &str, fields: &[(&str, &str)]) -> Resp {
    app.browser(Method::POST, path)
        .console(console)
        .body(FORM, form(fields))
        .send()
        .await
}

/// A draft for `contact` through the API; its id.
async fn draft(app: &TestApp, ws: &Workspace, contact: &str, lines: Value) -> String {
    app.post("/api/v1/invoices")
        .key(&ws.admin_key)
        .json(&json!({"contact_id": contact, "lines": lines}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn invoice(app: &TestApp, ws: &Workspace, id: &str) -> Value {
    app.get(&format!("/api/v1/invoices/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

/// The editor's form for `lines` (description, quantity, unit price, tax, discount).
fn editor_fields(lines: &[[&str; 5]]) -> Vec<(String, String)> {
    let mut fields = vec![("currency".to_owned(), "EUR".to_owned())];
    for (i, line) in lines.iter().enumerate() {
        for (name, value) in [
            "description",
            "quantity",
            "unit_price",
            "tax_percent",
            "discount_percent",
        ]
        .iter()
        .zip(line)
        {
            fields.push((format!("line.{i}.{name}"), (*value).to_owned()));
        }
    }
    fields
}

fn encoded(fields: &[(String, String)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_lists_drafts_edits_saves_and_issues_an_invoice_on_its_pages() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inv-pages").await;
    let console = app.console_login(&ws).await;
    let ada = crate::contact(&app, &ws, crate::ada()).await;
    let grace = crate::contact(
        &app,
        &ws,
        json!({"name": "<b>Grace</b> Hopper", "email": "grace@example.com"}),
    )
    .await;
    // The navigation has the section; the list is empty at first.
    let list = app
        .browser(Method::GET, "/app/invoices")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&list);
    assert!(
        list.text
            .contains("<a href=\"/app/invoices\" aria-current=\"page\">Invoices</a>")
    );
    assert!(list.text.contains("No invoices yet."), "{}", list.text);

    // A new draft: the contact found by a search, one line, then its editor.
    let new = app
        .browser(Method::GET, "/app/invoices/new?q=hopper")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&new);
    assert!(
        new.text.contains(&format!("value=\"{grace}\"")),
        "{}",
        new.text
    );
    assert!(
        new.text.contains("&#60;b&#62;Grace&#60;/b&#62; Hopper"),
        "escaped name"
    );
    assert!(
        !new.text.contains(&format!("value=\"{ada}\"")),
        "only what matches"
    );
    let created = post_form(
        &app,
        &console,
        "/app/invoices/new",
        &[
            ("contact_id", &grace),
            ("currency", "EUR"),
            ("description", "Boiler service"),
            ("quantity", "1"),
            ("unit_price", "120.00"),
            ("tax_percent", "20"),
        ],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.text);
    let at = created.header("location").unwrap().to_owned();
    let id = at.strip_prefix("/app/invoices/").unwrap().to_owned();
    assert!(id.starts_with("ivc_"), "{at}");
    let stored = invoice(&app, &ws, &id).await;
    assert_eq!(stored["total"], "144.00");
    assert_eq!(stored["status"], "draft");
    // Bad input on the new-invoice form: the page again, the problem named, nothing made.
    let bad = post_form(
        &app,
        &console,
        "/app/invoices/new",
        &[
            ("contact_id", &grace),
            ("description", "Nothing"),
            ("quantity", "0"),
            ("unit_price", "1"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_page(&bad);
    assert!(bad.text.contains("lines[0].quantity"), "{}", bad.text);

    // The editor: lines in a table, live totals, Save; Add a line without saving anything.
    let page = app
        .browser(Method::GET, &at)
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&page);
    assert!(page.text.contains("Draft invoice"));
    assert!(
        page.text.contains(
            "name=\"line.0.unit_price\" type=\"text\" inputmode=\"decimal\" value=\"120\""
        ),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("hx-post=\"/app/invoices/"),
        "live totals"
    );
    assert!(
        page.text
            .contains("hx-trigger=\"input changed delay:300ms\"")
    );
    assert!(page.text.contains("144.00 EUR"), "{}", page.text);
    assert!(
        !page.text.contains("/pdf\""),
        "a draft has no PDF preview yet"
    );
    let mut fields = editor_fields(&[["Boiler service", "1", "120", "20", ""]]);
    fields.push(("action".into(), "add".into()));
    let added = app
        .browser(Method::POST, &at)
        .console(&console)
        .body(FORM, encoded(&fields))
        .expect(200)
        .await;
    assert!(
        added.text.contains("name=\"line.1.description\""),
        "a second row"
    );
    assert!(added.text.contains("Not saved yet."));
    assert_eq!(
        invoice(&app, &ws, &id).await["lines"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Two lines saved, with notes and terms.
    let mut fields = editor_fields(&[
        ["Boiler service", "1", "120", "20", ""],
        ["Valve", "2", "15.50", "20", "10"],
    ]);
    fields.push(("notes".into(), "Key under the mat".into()));
    fields.push(("payment_terms_days".into(), "30".into()));
    fields.push(("action".into(), "save".into()));
    let saved = app
        .browser(Method::POST, &at)
        .console(&console)
        .body(FORM, encoded(&fields))
        .expect(303)
        .await;
    assert_eq!(
        saved.header("location"),
        Some(format!("{at}?done=saved").as_str())
    );
    let stored = invoice(&app, &ws, &id).await;
    assert_eq!(stored["lines"][1]["net"], "27.90");
    assert_eq!(stored["total"], "177.48");
    assert_eq!(stored["notes"], "Key under the mat");
    assert_eq!(stored["payment_terms_days"], 30);
    // Removing the second line is shown, not saved.
    let mut fields = editor_fields(&[
        ["Boiler service", "1", "120", "20", ""],
        ["Valve", "2", "15.50", "20", "10"],
    ]);
    fields.push(("action".into(), "remove.1".into()));
    let removed = app
        .browser(Method::POST, &at)
        .console(&console)
        .body(FORM, encoded(&fields))
        .expect(200)
        .await;
    assert!(!removed.text.contains("name=\"line.1.description\""));
    assert!(
        removed.text.contains("144.00 EUR"),
        "the totals of what is shown"
    );
    // A save with a bad line: the editor again, the line named, nothing saved.
    let mut fields = editor_fields(&[["Boiler service", "1", "12x", "20", ""]]);
    fields.push(("action".into(), "save".into()));
    let refused = app
        .browser(Method::POST, &at)
        .console(&console)
        .body(FORM, encoded(&fields))
        .expect(422)
        .await;
    assert_page(&refused);
    assert!(
        refused.text.contains("Line 1, unit price"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("value=\"12x\""),
        "what was typed stays"
    );
    assert_eq!(invoice(&app, &ws, &id).await["total"], "177.48");

    // Issue: refused without the confirmation, then done; the lines are final.
    let unconfirmed = post_form(
        &app,
        &console,
        &format!("{at}/issue"),
        &[("issue_date", "")],
    )
    .await;
    assert_eq!(unconfirmed.status, 422, "{}", unconfirmed.text);
    assert!(unconfirmed.text.contains("tick the box"));
    assert_eq!(invoice(&app, &ws, &id).await["status"], "draft");
    let issued = post_form(
        &app,
        &console,
        &format!("{at}/issue"),
        &[("confirm", "yes"), ("issue_date", "2025-06-01")],
    )
    .await;
    assert_eq!(issued.status, 303, "{}", issued.text);
    let stored = invoice(&app, &ws, &id).await;
    assert_eq!(stored["status"], "issued");
    assert_eq!(stored["issue_date"], "2025-06-01");
    assert_eq!(stored["due_date"], "2025-07-01");
    let number = stored["number"].as_str().unwrap().to_owned();
    let page = app
        .browser(Method::GET, &format!("{at}?done=issued"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(page.text.contains(&format!("Invoice {number}")));
    assert!(page.text.contains("its lines are final"));
    assert!(
        !page.text.contains("name=\"line.0.description\""),
        "no editor"
    );
    assert!(page.text.contains("Record the payment"));
    assert!(
        page.text
            .contains(&format!("href=\"/app/invoices/{id}/pdf\""))
    );
    assert!(page.text.contains("target=\"_blank\""));
    // The PDF preview: inline, the API's document.
    let pdf = app
        .browser(Method::GET, &format!("{at}/pdf"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(
        pdf.header("content-disposition")
            .unwrap()
            .starts_with("inline;")
    );
    assert!(pdf.text.starts_with("%PDF-"));
    // A second draft to delete, and one for Ada; the list, its filters and the overdue mark.
    let doomed = draft(
        &app,
        &ws,
        &ada,
        json!([{"description": "Oops", "quantity": "1", "unit_price": "1"}]),
    )
    .await;
    let deleted = post_form(
        &app,
        &console,
        &format!("/app/invoices/{doomed}/delete"),
        &[],
    )
    .await;
    assert_eq!(deleted.status, 303, "{}", deleted.text);
    assert_eq!(
        deleted.header("location"),
        Some("/app/invoices?done=deleted")
    );
    app.get(&format!("/api/v1/invoices/{doomed}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    let another = draft(
        &app,
        &ws,
        &ada,
        json!([{"description": "Call-out", "quantity": "1", "unit_price": "55"}]),
    )
    .await;
    let list = app
        .browser(Method::GET, "/app/invoices")
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(list.text.matches("<tr data-row").count(), 2);
    assert!(list.text.contains(&number));
    assert!(list.text.contains("Ada Lovelace"));
    assert!(list.text.contains("177.48 EUR"));
    assert!(
        list.text.contains("class=\"overdue\""),
        "due 2025-07-01: {}",
        list.text
    );
    for (query, rows, shows) in [
        ("status=draft", 1, another.as_str()),
        ("status=issued", 1, number.as_str()),
        ("kind=credit_note", 0, "No invoice matches."),
        ("overdue=true", 1, number.as_str()),
    ] {
        let r = app
            .browser(Method::GET, &format!("/app/invoices?{query}"))
            .cookie(&console)
            .expect(200)
            .await;
        assert_eq!(r.text.matches("<tr data-row").count(), rows, "{query}");
        assert!(r.text.contains(shows), "{query}: {}", r.text);
    }
    for query in [
        "status=open",
        "overdue=maybe",
        "kind=bill",
        "cursor=%%%",
        "sort=total",
    ] {
        let r = app
            .browser(Method::GET, &format!("/app/invoices?{query}"))
            .cookie(&console)
            .send()
            .await;
        assert_eq!(r.status, 422, "{query}: {}", r.text);
        assert_page(&r);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_pages_by_keyset_like_the_api() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inv-paging").await;
    let console = app.console_login(&ws).await;
    let ada = crate::contact(&app, &ws, crate::ada()).await;
    for n in 0..52 {
        draft(
            &app,
            &ws,
            &ada,
            json!([{"description": format!("Visit {n}"), "quantity": "1", "unit_price": "10"}]),
        )
        .await;
    }
    let first = app
        .browser(Method::GET, "/app/invoices?status=draft")
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(first.text.matches("<tr data-row").count(), 50);
    let more = between(&first.text, "<p class=\"pager\"><a href=\"", "\"").replace("&#38;", "&");
    assert!(more.contains("status=draft"), "{more}");
    let rest = app
        .browser(Method::GET, &more)
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rest.text.matches("<tr data-row").count(), 2);
    assert!(!rest.text.contains("class=\"pager\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn live_totals_round_as_a_save_does_and_name_the_bad_line_without_writing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inv-totals").await;
    let console = app.console_login(&ws).await;
    let ada = crate::contact(&app, &ws, crate::ada()).await;
    let id = draft(
        &app,
        &ws,
        &ada,
        json!([{"description": "Start", "quantity": "1", "unit_price": "1"}]),
    )
    .await;
    let totals = format!("/app/invoices/{id}/totals");
    // Thirds of a price and a discounted line at an odd rate: each line rounds once, half
    // away from zero; the totals are sums of the rounded lines (`invoices.rs` has the same).
    let tricky = editor_fields(&[
        ["Labour (a third)", "0.333", "10.00", "19", ""],
        ["Labour (a third)", "0.333", "10", "19", ""],
        ["Labour (a third)", "0.333", "10", "19.0", ""],
        ["Filters", "3", "19.99", "7.625", "12.5"],
    ]);
    let r = app
        .browser(Method::POST, &totals)
        .console(&console)
        .header("hx-request", "true")
        .body(FORM, encoded(&tricky))
        .expect(200)
        .await;
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(
        r.text.starts_with("<div id=\"totals\""),
        "a fragment: {}",
        r.text
    );
    assert!(
        r.text.contains("<dd id=\"total-net\">62.46 EUR</dd>"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("<dd id=\"total-tax\">5.89 EUR</dd>"),
        "{}",
        r.text
    );
    assert!(r.text.contains("<strong>68.35 EUR</strong>"), "{}", r.text);
    assert!(
        r.text.contains("Tax at 7.625 %</dt><dd>4.00 EUR"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("Tax at 19 %</dt><dd>1.89 EUR"),
        "{}",
        r.text
    );
    // The same lines saved through the API give the same figures.
    let saved = app
        .patch(&format!("/api/v1/invoices/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"lines": [
            {"description": "a", "quantity": "0.333", "unit_price": "10.00", "tax_percent": "19"},
            {"description": "b", "quantity": "0.333", "unit_price": "10", "tax_percent": "19"},
            {"description": "c", "quantity": "0.333", "unit_price": "10", "tax_percent": "19.0"},
            {"description": "d", "quantity": "3", "unit_price": "19.99", "tax_percent": "7.625", "discount_percent": "12.5"}
        ]}))
        .expect(200)
        .await
        .json;
    assert_eq!(saved["total"], "68.35");
    let before = invoice(&app, &ws, &id).await;
    // A bad quantity on the second line: 422, the line named, never a 500, nothing written.
    for (quantity, says) in [
        ("0", "must be above zero"),
        ("two", "must be a number"),
        ("1.2345", "at most 3 decimal places"),
    ] {
        let bad = editor_fields(&[
            ["Labour", "1", "10", "19", ""],
            ["Filters", quantity, "19.99", "7.625", ""],
        ]);
        let r = app
            .browser(Method::POST, &totals)
            .console(&console)
            .header("hx-request", "true")
            .body(FORM, encoded(&bad))
            .expect(422)
            .await;
        assert!(r.text.starts_with("<div id=\"totals\""), "{}", r.text);
        assert!(
            r.text.contains("Line 2, quantity"),
            "{quantity}: {}",
            r.text
        );
        assert!(r.text.contains(says), "{quantity}: {}", r.text);
        assert!(r.text.contains("role=\"alert\""));
    }
    // Other bad input: no lines, a currency that is none, a price too large to keep.
    let none = app
        .browser(Method::POST, &totals)
        .console(&console)
        .body(FORM, "currency=EUR")
        .expect(422)
        .await;
    assert!(none.text.contains("at least one line"), "{}", none.text);
    let mut odd = editor_fields(&[["x", "1", "1", "", ""]]);
    odd[0].1 = "EURO".into();
    let r = app
        .browser(Method::POST, &totals)
        .console(&console)
        .body(FORM, encoded(&odd))
        .expect(422)
        .await;
    assert!(r.text.contains("currency"), "{}", r.text);
    let huge = editor_fields(&[["x", "999999999", "999999999", "", ""]; 12]);
    let r = app
        .browser(Method::POST, &totals)
        .console(&console)
        .body(FORM, encoded(&huge))
        .expect(422)
        .await;
    assert!(r.text.contains("too large"), "{}", r.text);
    // A form of another kind (not a form body) is refused as a page.
    app.browser(Method::POST, &totals)
        .console(&console)
        .body("application/json", "{}")
        .expect(415)
        .await;
    assert_eq!(invoice(&app, &ws, &id).await, before, "nothing was written");
    // An issued invoice has no editor: its totals are final.
    app.post(&format!("/api/v1/invoices/{id}/issue"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(200)
        .await;
    app.browser(Method::POST, &totals)
        .console(&console)
        .body(FORM, encoded(&tricky))
        .expect(409)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_recorded_on_the_page_moves_the_status_and_refusals_show_next_to_the_form() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inv-pay").await;
    let console = app.console_login(&ws).await;
    // An address of this workspace's own, so the outbox holds no other test's mail to it.
    let email = format!("payer@{}.example.com", ws.slug);
    let ada = crate::contact(&app, &ws, json!({"name": "Ada Lovelace", "email": email})).await;
    let id = draft(
        &app,
        &ws,
        &ada,
        json!([{"description": "Repair", "quantity": "1", "unit_price": "100"}]),
    )
    .await;
    app.post(&format!("/api/v1/invoices/{id}/issue"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(200)
        .await;
    let pay = format!("/app/invoices/{id}/payments");
    // Too much, a method that is none, an amount that is none: the page again, the problem
    // next to the payment form, nothing recorded.
    for (fields, says) in [
        (
            vec![("method", "cash"), ("amount", "100.01")],
            "at most the balance due, 100.00 EUR",
        ),
        (
            vec![("method", "barter"), ("amount", "10")],
            "choose how the money changed hands",
        ),
        (
            vec![("method", "online"), ("amount", "10")],
            "verified webhook only",
        ),
        (vec![("method", "cash"), ("amount", "ten")], "amount"),
        (
            vec![("method", "cash"), ("amount", "10"), ("date", "2099-01-01")],
            "must not be after today",
        ),
    ] {
        let r = post_form(&app, &console, &pay, &fields).await;
        assert_eq!(r.status, 422, "{fields:?}: {}", r.text);
        assert_page(&r);
        let near = between(&r.text, "id=\"record-heading\"", "</section>");
        assert!(near.contains(says), "{fields:?}: {near}");
    }
    assert_eq!(invoice(&app, &ws, &id).await["status"], "issued");
    // Part of it: partly paid, as the API says.
    let r = post_form(
        &app,
        &console,
        &pay,
        &[
            ("method", "bank_transfer"),
            ("amount", "40"),
            ("date", "2026-11-30"),
            ("reference", "BT-77"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("/app/invoices/{id}?done=payment").as_str())
    );
    let stored = invoice(&app, &ws, &id).await;
    assert_eq!(stored["status"], "partially_paid");
    assert_eq!(stored["balance"], "60.00");
    assert_eq!(stored["payments"][0]["reference"], "BT-77");
    // The rest, through htmx: it is told where to go.
    let r = app
        .browser(Method::POST, &pay)
        .console(&console)
        .header("hx-request", "true")
        .body(FORM, form(&[("method", "cash"), ("amount", "60.00")]))
        .expect(200)
        .await;
    assert_eq!(
        r.header("hx-redirect"),
        Some(format!("/app/invoices/{id}?done=payment").as_str())
    );
    assert_eq!(invoice(&app, &ws, &id).await["status"], "paid");
    let page = app
        .browser(Method::GET, &format!("/app/invoices/{id}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        page.text
            .contains("<dd id=\"invoice-status\" class=\"status\">Paid</dd>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("BT-77"));
    assert!(page.text.contains("Bank transfer"));
    // A refund reopens it; a void is refused while money is kept (said next to its form).
    let r = post_form(
        &app,
        &console,
        &format!("/app/invoices/{id}/refunds"),
        &[("method", "cash"), ("amount", "10")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(invoice(&app, &ws, &id).await["status"], "partially_paid");
    let r = post_form(
        &app,
        &console,
        &format!("/app/invoices/{id}/void"),
        &[("reason", "mistake")],
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(
        between(&r.text, "id=\"void-heading\"", "</section>")
            .contains("refund it or issue a credit note")
    );
    // The payments page lists both, newest first.
    let list = app
        .browser(Method::GET, "/app/payments")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&list);
    assert_eq!(list.text.matches("<tr data-row>").count(), 3);
    assert!(list.text.contains("−10.00 EUR"), "{}", list.text);
    assert!(list.text.contains("40.00 EUR"));
    assert!(
        list.text.find("−10.00 EUR") < list.text.find("40.00 EUR"),
        "newest first"
    );
    // A full credit note: its own page.
    let r = post_form(
        &app,
        &console,
        &format!("/app/invoices/{id}/credit-notes"),
        &[("reason", "goodwill")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let note = r.header("location").unwrap().to_owned();
    assert!(note.ends_with("?done=credited"), "{note}");
    let page = app
        .browser(Method::GET, &note)
        .cookie(&console)
        .expect(200)
        .await;
    assert!(page.text.contains("Credit note CN-"), "{}", page.text);
    // The public link: shown once on the page that answers; revoked after.
    let r = post_form(
        &app,
        &console,
        &format!("/app/invoices/{id}/public-link"),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = between(&r.text, "id=\"once-link\" class=\"secret\" href=\"", "\"");
    assert!(url.contains("/p/invoices/hfpi_"), "{url}");
    let token = url.rsplit('/').next().unwrap();
    app.browser(Method::GET, &format!("/p/invoices/{token}"))
        .expect(200)
        .await;
    let again = app
        .browser(Method::GET, &format!("/app/invoices/{id}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(!again.text.contains(token), "shown once");
    let r = post_form(
        &app,
        &console,
        &format!("/app/invoices/{id}/public-link/revoke"),
        &[],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    app.browser(Method::GET, &format!("/p/invoices/{token}"))
        .expect(404)
        .await;
    // Checkout without a payment account: refused, said next to its form.
    let r = post_form(&app, &console, &format!("/app/invoices/{id}/checkout"), &[]).await;
    assert!(r.status >= 400, "{}", r.text);
    assert_page(&r);
    assert!(
        between(&r.text, "id=\"checkout-heading\"", "</section>").contains("role=\"alert\""),
        "{}",
        r.text
    );
    // Mail it: queued through the choke point.
    let r = post_form(
        &app,
        &console,
        &format!("/app/invoices/{id}/send"),
        &[("message", "Thank you")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(app.outbox_mail(&email).await.contains("Thank you"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_amounts_sees_no_money_and_gets_no_money_form() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inv-nomoney").await;
    let ada = crate::contact(&app, &ws, crate::ada()).await;
    let price = "987.65";
    let issued = draft(
        &app,
        &ws,
        &ada,
        json!([{"description": "Roof repair", "quantity": "1", "unit_price": price}]),
    )
    .await;
    app.post(&format!("/api/v1/invoices/{issued}/issue"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(200)
        .await;
    app.post(&format!("/api/v1/invoices/{issued}/payments"))
        .key(&ws.admin_key)
        .json(&json!({"amount": "123.45", "method": "cash", "reference": "CASH-1"}))
        .expect(201)
        .await;
    let open = draft(
        &app,
        &ws,
        &ada,
        json!([{"description": "Gutter", "quantity": "2", "unit_price": price}]),
    )
    .await;
    let role = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "Clerk", "permissions": ["invoices.read", "invoices.write", "contacts.read"],
                      "fields": {"invoices.amount": "hidden"}}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (clerk, _) = crate::key_with_role(&app, &ws, &role).await;
    let money = [price, "987,65", "1975.30", "864.20", "123.45"];
    for path in [
        "/app/invoices".to_owned(),
        format!("/app/invoices/{issued}"),
        format!("/app/invoices/{open}"),
        "/app/payments".to_owned(),
        "/app/invoices/new".to_owned(),
    ] {
        let r = app
            .browser(Method::GET, &path)
            .key(&clerk)
            .expect(200)
            .await;
        assert_page(&r);
        for amount in money {
            assert!(
                !r.text.contains(amount),
                "{path} shows {amount}: {}",
                r.text
            );
        }
        for form in [
            "/payments\" hx-post",
            "/refunds\"",
            "/credit-notes\"",
            "/checkout\"",
            "/public-link\"",
            "/totals\"",
            "name=\"line.0.unit_price\"",
            "/pdf\"",
        ] {
            assert!(!r.text.contains(form), "{path} offers {form}");
        }
    }
    // What it may see: the lines' words and quantities, the status, the payment's method.
    let page = app
        .browser(Method::GET, &format!("/app/invoices/{issued}"))
        .key(&clerk)
        .expect(200)
        .await;
    assert!(page.text.contains("Roof repair"));
    assert!(page.text.contains("Partly paid"));
    assert!(page.text.contains("CASH-1"));
    assert!(page.text.contains("Your role may not see amounts."));
    let draft_page = app
        .browser(Method::GET, &format!("/app/invoices/{open}"))
        .key(&clerk)
        .expect(200)
        .await;
    assert!(
        draft_page.text.contains("name=\"notes\""),
        "notes are its to change"
    );
    // The money routes refuse it, as the API does; the notes it may save.
    for (path, fields) in [
        (
            format!("/app/invoices/{issued}/payments"),
            vec![("method", "cash"), ("amount", "1")],
        ),
        (
            format!("/app/invoices/{issued}/refunds"),
            vec![("method", "cash"), ("amount", "1")],
        ),
        (
            format!("/app/invoices/{issued}/credit-notes"),
            vec![("reason", "x")],
        ),
        (format!("/app/invoices/{issued}/checkout"), vec![]),
        (format!("/app/invoices/{issued}/public-link"), vec![]),
        (
            format!("/app/invoices/{open}/totals"),
            vec![
                ("line.0.description", "x"),
                ("line.0.quantity", "1"),
                ("line.0.unit_price", "1"),
            ],
        ),
    ] {
        let r = app
            .browser(Method::POST, &path)
            .key(&clerk)
            .body(FORM, form(&fields))
            .send()
            .await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        assert_page(&r);
        assert!(r.text.contains("invoices.amount"), "{path}: {}", r.text);
        for amount in money {
            assert!(!r.text.contains(amount), "{path} shows {amount}");
        }
    }
    app.browser(Method::GET, &format!("/app/invoices/{issued}/pdf"))
        .key(&clerk)
        .expect(403)
        .await;
    let r = app
        .browser(Method::POST, &format!("/app/invoices/{open}"))
        .key(&clerk)
        .body(
            FORM,
            form(&[
                ("notes", "Call first"),
                ("line.0.unit_price", "0.01"),
                ("action", "save"),
            ]),
        )
        .expect(303)
        .await;
    assert!(r.header("location").unwrap().ends_with("?done=saved"));
    let stored = invoice(&app, &ws, &open).await;
    assert_eq!(stored["notes"], "Call first");
    assert_eq!(
        stored["lines"][0]["unit_price"], price,
        "prices are not its to send"
    );
    assert_eq!(
        invoice(&app, &ws, &issued).await["status"],
        "partially_paid"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn technicians_other_workspaces_and_forms_without_the_token_are_refused() {
    let app = TestApp::spawn().await;
    let a = app.workspace("inv-refuse-a").await;
    let b = app.workspace("inv-refuse-b").await;
    let console = app.console_login(&a).await;
    let mine = crate::contact(&app, &a, crate::ada()).await;
    let theirs = crate::contact(&app, &b, json!({"name": "B's customer"})).await;
    let my_invoice = draft(
        &app,
        &a,
        &mine,
        json!([{"description": "A's work", "quantity": "1", "unit_price": "10"}]),
    )
    .await;
    let their_invoice = draft(
        &app,
        &b,
        &theirs,
        json!([{"description": "B's secret work", "quantity": "1", "unit_price": "10"}]),
    )
    .await;
    // A technician has no invoices.read: every page refused, and no section in the navigation.
    let technician = app.key(&a.slug, BuiltinRole::Technician).await;
    for path in [
        "/app/invoices".to_owned(),
        "/app/invoices/new".to_owned(),
        format!("/app/invoices/{my_invoice}"),
        format!("/app/invoices/{my_invoice}/pdf"),
        "/app/payments".to_owned(),
        "/app/settings/invoicing".to_owned(),
        "/app/settings/payments".to_owned(),
    ] {
        let r = app
            .browser(Method::GET, &path)
            .key(&technician)
            .expect(403)
            .await;
        assert_page(&r);
        assert!(r.text.contains("lacks the permission"), "{path}");
    }
    let r = app
        .browser(Method::POST, &format!("/app/invoices/{my_invoice}/totals"))
        .key(&technician)
        .body(FORM, "line.0.quantity=1")
        .expect(403)
        .await;
    assert_page(&r);
    let contacts = app
        .browser(Method::GET, "/app/contacts")
        .key(&technician)
        .expect(200)
        .await;
    assert!(
        !contacts.text.contains("href=\"/app/invoices\""),
        "no Invoices section"
    );
    // Another workspace's invoice: 404 pages, nothing of it shown or changed.
    for path in [
        format!("/app/invoices/{their_invoice}"),
        format!("/app/invoices/{their_invoice}/pdf"),
        "/app/invoices/not-an-id".to_owned(),
    ] {
        let r = app
            .browser(Method::GET, &path)
            .cookie(&console)
            .expect(404)
            .await;
        assert_page(&r);
        assert!(!r.text.contains("B's"), "{path}");
    }
    for action in [
        "",
        "/totals",
        "/issue",
        "/delete",
        "/payments",
        "/void",
        "/public-link",
    ] {
        let r = post_form(
            &app,
            &console,
            &format!("/app/invoices/{their_invoice}{action}"),
            &[
                ("line.0.description", "x"),
                ("confirm", "yes"),
                ("action", "save"),
            ],
        )
        .await;
        assert_eq!(r.status, 404, "{action}: {}", r.text);
        assert!(!r.text.contains("B's"));
    }
    assert_eq!(invoice(&app, &b, &their_invoice).await["status"], "draft");
    // No CSRF token: refused, nothing changed.
    for (action, fields) in [
        ("", vec![("notes", "forged"), ("action", "save")]),
        ("/issue", vec![("confirm", "yes")]),
        ("/delete", vec![]),
        ("/totals", vec![("line.0.quantity", "1")]),
    ] {
        let r = app
            .browser(Method::POST, &format!("/app/invoices/{my_invoice}{action}"))
            .cookie(&console)
            .body(FORM, form(&fields))
            .expect(403)
            .await;
        assert_page(&r);
    }
    let kept = invoice(&app, &a, &my_invoice).await;
    assert_eq!(kept["status"], "draft");
    assert_eq!(kept["notes"], Value::Null);
    // The invoicing module off: the pages are not there, nor is the section.
    app.patch("/api/v1/modules")
        .key(&a.admin_key)
        .json(&json!({"enabled": ["helpdesk", "crm"]}))
        .expect(200)
        .await;
    let r = app
        .browser(Method::GET, "/app/invoices")
        .cookie(&console)
        .expect(404)
        .await;
    assert!(r.text.contains("invoicing module is off"));
    let inbox = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(200)
        .await;
    assert!(!inbox.text.contains("href=\"/app/invoices\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_pages_change_after_a_step_up_and_show_a_payment_key_by_its_last_four() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("inv-settings").await;
    let console = app.console_login(&ws).await;
    let index = app
        .browser(Method::GET, "/app/settings")
        .cookie(&console)
        .expect(200)
        .await;
    assert!(index.text.contains("href=\"/app/settings/invoicing\""));
    assert!(index.text.contains("href=\"/app/settings/payments\""));
    let page = app
        .browser(Method::GET, "/app/settings/invoicing")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&page);
    assert!(page.text.contains("value=\"INV-\""));
    let fields = [
        ("business_name", "Holdfast Plumbing"),
        ("business_details", "1 Mill Lane\nLeeds"),
        ("invoice_prefix", "HF-"),
        ("next_invoice_number", "7"),
        ("credit_note_prefix", "HFC-"),
        ("next_credit_note_number", "1"),
        ("payment_terms_days", "30"),
        ("currency", "gbp"),
        ("payment_instructions", "Sort code 00-00-00"),
        ("footer", "Thank you"),
    ];
    // A step-up first: payment instructions say where customers send money.
    let refused = app
        .browser(Method::POST, "/app/settings/invoicing")
        .console(&console)
        .header("referer", &format!("{}/app/settings/invoicing", app.base))
        .body(FORM, form(&fields))
        .expect(403)
        .await;
    assert!(
        refused
            .text
            .contains("href=\"/app/step-up?back=%2Fapp%2Fsettings%2Finvoicing\""),
        "{}",
        refused.text
    );
    let key = "rk_test_51HolDfAsTrEsTrIcTeDkEyZ9w4";
    let connect = [("provider", "stripe"), ("secret_key", key)];
    let refused = post_form(&app, &console, "/app/settings/payments", &connect).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Confirm and continue"));
    let accounts = app
        .get("/api/v1/invoicing/payment-accounts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(accounts.json["data"], json!([]), "nothing connected");
    post_form(
        &app,
        &console,
        "/app/step-up",
        &[
            ("password", OWNER_PASSWORD),
            ("back", "/app/settings/payments"),
        ],
    )
    .await;
    // Bad numbers: the form again with what was typed, nothing saved.
    let mut bad = fields;
    bad[3] = ("next_invoice_number", "seven");
    let r = post_form(&app, &console, "/app/settings/invoicing", &bad).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.text
            .contains("next_invoice_number: must be a whole number"),
        "{}",
        r.text
    );
    assert!(r.text.contains("value=\"seven\""));
    let r = post_form(&app, &console, "/app/settings/invoicing", &fields).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let settings = app
        .get("/api/v1/invoicing/settings")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(settings["invoice_prefix"], "HF-");
    assert_eq!(settings["currency"], "GBP");
    assert_eq!(settings["payment_instructions"], "Sort code 00-00-00");
    // A key of the wrong shape: said, and never echoed back.
    let wrong = "sk_live_thisIsAFullSecretKey1234";
    let r = post_form(
        &app,
        &console,
        "/app/settings/payments",
        &[("provider", "stripe"), ("secret_key", wrong)],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("restricted key"));
    assert!(!r.text.contains(wrong));
    let r = post_form(&app, &console, "/app/settings/payments", &connect).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = app
        .browser(Method::GET, "/app/settings/payments?done=connected")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&page);
    assert!(
        page.text.contains("<code id=\"hint-stripe\">…Z9w4</code>"),
        "{}",
        page.text
    );
    assert!(!page.text.contains(key), "the key is never shown again");
    assert!(!page.text.contains("rk_test_51"));
    let r = post_form(
        &app,
        &console,
        "/app/settings/payments/disconnect",
        &[("provider", "stripe")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = post_form(
        &app,
        &console,
        "/app/settings/payments/disconnect",
        &[("provider", "stripe")],
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(
        r.text
            .contains("no account with this provider is connected")
    );
    // A role that may only read: the settings shown, no forms.
    let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
    let page = app
        .browser(Method::GET, "/app/settings/payments")
        .key(&viewer)
        .expect(200)
        .await;
    assert!(!page.text.contains("name=\"secret_key\""));
    let page = app
        .browser(Method::GET, "/app/settings/invoicing")
        .key(&viewer)
        .expect(200)
        .await;
    assert!(!page.text.contains("Save the settings"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_bills_a_job_named_in_the_link_with_its_line_items_to_price() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inv-from-job").await;
    let console = app.console_login(&ws).await;
    let ada = crate::contact(&app, &ws, crate::ada()).await;
    let job = app
        .post("/api/v1/jobs")
        .key(&ws.admin_key)
        .json(&json!({"contact_id": ada, "title": "Leaking tap",
                      "line_items": [{"kind": "service", "description": "Repair", "quantity": "1.5"},
                                     {"kind": "material", "description": "Washer", "quantity": "4"}]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = app
        .browser(Method::GET, &format!("/app/invoices/new?job={job}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&page);
    assert!(
        page.text.contains("“Leaking tap” for Ada Lovelace"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("name=\"job_id\" value=\"{job}\""))
    );
    let r = post_form(
        &app,
        &console,
        "/app/invoices/new",
        &[("job_id", &job), ("currency", "EUR")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let id = r
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let stored = invoice(&app, &ws, &id).await;
    assert_eq!(stored["job_id"], json!(job));
    assert_eq!(stored["contact_id"], json!(ada));
    assert_eq!(stored["lines"][1]["description"], "Washer");
    assert_eq!(stored["lines"][1]["unit_price"], "0");
    // Its editor shows the job; priced, it can be issued.
    let editor = app
        .browser(Method::GET, &format!("/app/invoices/{id}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(editor.text.contains(&format!("<code>{job}</code>")));
    assert!(editor.text.contains("name=\"line.1.description\""));
    // A job that is none, or another's: said, nothing made.
    let other = app.workspace("inv-from-job-b").await;
    let b_contact = crate::contact(&app, &other, json!({"name": "B's customer"})).await;
    let b_job = app
        .post("/api/v1/jobs")
        .key(&other.admin_key)
        .json(&json!({"contact_id": b_contact, "title": "B's visit"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = app
        .browser(Method::GET, &format!("/app/invoices/new?job={b_job}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        page.text
            .contains("is not a job of this workspace you reach")
    );
    assert!(!page.text.contains("B's"));
    let r = post_form(&app, &console, "/app/invoices/new", &[("job_id", &b_job)]).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("job_id"), "{}", r.text);
    app.browser(Method::GET, "/app/invoices/new?job=not-a-job")
        .cookie(&console)
        .expect(422)
        .await;
    let list = app
        .get("/api/v1/invoices")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(list.json["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn open_checkout_on_the_page_shows_the_providers_address_for_the_balance() {
    let api = holdfast_testkit::payments::ProviderApi::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        payments_api_base: Some(api.base.clone()),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("inv-checkout").await;
    let console = app.console_login(&ws).await;
    let ada = crate::contact(&app, &ws, crate::ada()).await;
    let id = draft(
        &app,
        &ws,
        &ada,
        json!([{"description": "Repair", "quantity": "1", "unit_price": "80"}]),
    )
    .await;
    app.post(&format!("/api/v1/invoices/{id}/issue"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(200)
        .await;
    app.post(&format!("/api/v1/invoices/{id}/payments"))
        .key(&ws.admin_key)
        .json(&json!({"amount": "30", "method": "cash"}))
        .expect(201)
        .await;
    app.call(Method::PUT, "/api/v1/invoicing/payment-accounts/stripe")
        .key(&ws.admin_key)
        .json(&json!({"secret_key": "rk_test_51HolDfAsTrEsTrIcTeDkEy00"}))
        .expect(200)
        .await;
    let r = post_form(&app, &console, &format!("/app/invoices/{id}/checkout"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_page(&r);
    let url = between(&r.text, "id=\"once-link\" class=\"secret\" href=\"", "\"");
    assert!(
        url.starts_with("https://checkout.stripe.com/c/pay/cs_test_"),
        "{url}"
    );
    assert!(
        r.text
            .contains("A checkout for 50.00 EUR was opened with stripe."),
        "{}",
        r.text
    );
    let call = api
        .calls()
        .into_iter()
        .last()
        .expect("a session was asked for");
    assert_eq!(call.path, "/v1/checkout/sessions");
    assert_eq!(
        call.form("line_items[0][price_data][unit_amount]")
            .as_deref(),
        Some("5000")
    );
    // Nothing is recorded until the provider's verified webhook says so.
    assert_eq!(invoice(&app, &ws, &id).await["status"], "partially_paid");
}
