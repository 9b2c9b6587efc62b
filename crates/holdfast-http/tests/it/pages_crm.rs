//! The console's CRM pages over HTTP: the contacts list (search, filters, paging), a contact
//! (its fields as the role may see them, tickets, consent) and its actions (export, erasure
//! and legal hold behind a recent password, preference-link revocation), companies, the CSV
//! import wizard with its progress, and `/app/step-up`; with bad input, other workspaces'
//! ids, roles without the permission and the CRM module off. The Chromium flow is
//! `console_crm_browser.rs`.

use crate::pages::{FORM, assert_page, between, form};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{Console, Method, OWNER_PASSWORD, Resp, TestApp};
use serde_json::json;
use std::time::Duration;

/// Rows of a page's list.
fn rows(r: &Resp) -> usize {
    r.text.matches("<tr data-row>").count()
}

async fn id_of(r: Resp) -> String {
    r.json["id"].as_str().unwrap().to_owned()
}

/// A `multipart/form-data` body, as a browser sends a form with a file input: each part a
/// name, an optional file name and its bytes.
pub(crate) fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----hfwizardboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match filename {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_form(app: &TestApp, console: &Console, path: &str, fields: &[(&str, &str)]) -> Resp {
    app.browser(Method::POST, path)
        .console(console)
        .body(FORM, form(fields))
        .send()
        .await
}

async fn post_multipart(
    app: &TestApp,
    console: &Console,
    path: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> Resp {
    let (content_type, body) = multipart(parts);
    app.browser(Method::POST, path)
        .console(console)
        .body(&content_type, body)
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contacts_page_searches_filters_and_pages_like_the_api() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("crm-list").await;
    let console = app.console_login(&ws).await;
    let company = id_of(
        app.post("/api/v1/companies")
            .key(&ws.admin_key)
            .json(&json!({"name": "Acme Plumbing", "domain": "acme.example.com"}))
            .expect(201)
            .await,
    )
    .await;
    app.post("/api/v1/contact-fields")
        .key(&ws.admin_key)
        .json(&json!({"key": "colour", "label": "Colour", "type": "text"}))
        .expect(201)
        .await;
    let xss = "<script>alert(1)</script> Mallory";
    crate::contact(
        &app,
        &ws,
        json!({"name": xss, "email": "mallory@example.com", "company_id": company, "custom": {"colour": "blue"}}),
    )
    .await;
    for n in 0..52 {
        crate::contact(
            &app,
            &ws,
            json!({"name": format!("Customer {n:02}"), "email": format!("c{n}@example.com")}),
        )
        .await;
    }
    let first = app
        .browser(Method::GET, "/app/contacts")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&first);
    assert!(!first.text.contains("<script>alert(1)"), "unescaped name");
    assert!(
        first
            .text
            .contains("&#60;script&#62;alert(1)&#60;/script&#62; Mallory")
    );
    assert_eq!(rows(&first), 50);
    assert!(first.text.contains("href=\"/app/contacts/ct_"));
    let more = between(&first.text, "<p class=\"pager\"><a href=\"", "\"").replace("&#38;", "&");
    let rest = app
        .browser(Method::GET, &more)
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rows(&rest), 3);
    assert!(!rest.text.contains("class=\"pager\""));
    // The API's search and filters: words in names and emails, the company, a custom value.
    for (query, expected, shows) in [
        ("q=customer+07", 1, "Customer 07"),
        ("q=c51%40example", 1, "Customer 51"),
        (&format!("company_id={company}") as &str, 1, "Mallory"),
        ("field=colour&value=blue", 1, "Mallory"),
        ("custom.colour=blue", 1, "Mallory"),
        ("q=nobody-is-called-this", 0, "No contact matches"),
    ] {
        let r = app
            .browser(Method::GET, &format!("/app/contacts?{query}"))
            .cookie(&console)
            .expect(200)
            .await;
        assert_eq!(rows(&r), expected, "{query}");
        assert!(r.text.contains(shows), "{query}: {}", r.text);
    }
    // The filters' choices: the workspace's companies and custom fields.
    assert!(first.text.contains(&format!(
        "<option value=\"{company}\">Acme Plumbing</option>"
    )));
    assert!(
        first
            .text
            .contains("<option value=\"colour\">Colour</option>")
    );
    // Bad input: a page that says which filter is wrong.
    for (query, names) in [
        ("field=colour", "value"),
        ("value=blue", "field"),
        ("field=size&value=9", "custom.size"),
        ("company_id=not-a-company", "company_id"),
        ("sort=name", "sort"),
        ("cursor=%%%", "cursor"),
    ] {
        let r = app
            .browser(Method::GET, &format!("/app/contacts?{query}"))
            .cookie(&console)
            .expect(422)
            .await;
        assert_page(&r);
        assert!(r.text.contains(names), "{query}: {}", r.text);
    }
    // Companies: the list, a search, and a company's page with its contacts.
    let companies = app
        .browser(Method::GET, "/app/companies?q=acme")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&companies);
    assert!(
        companies
            .text
            .contains(&format!("href=\"/app/companies/{company}\""))
    );
    let none = app
        .browser(Method::GET, "/app/companies?q=zzz")
        .cookie(&console)
        .expect(200)
        .await;
    assert!(none.text.contains("No company matches"));
    let page = app
        .browser(Method::GET, &format!("/app/companies/{company}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&page);
    assert!(page.text.contains("acme.example.com"));
    assert!(page.text.contains("Mallory"));
    assert_eq!(rows(&page), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_page_shows_what_the_role_may_see_with_tickets_and_consent() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("crm-contact").await;
    let console = app.console_login(&ws).await;
    app.post("/api/v1/contact-fields")
        .key(&ws.admin_key)
        .json(&json!({"key": "gate_code", "label": "Gate code", "type": "text"}))
        .expect(201)
        .await;
    let id = crate::contact(
        &app,
        &ws,
        json!({"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958",
               "tags": ["vip"], "custom": {"gate_code": "<b>4711</b>"}}),
    )
    .await;
    let ticket = crate::ticket_id(
        &app,
        &ws,
        json!({"subject": "Leaking tap", "contact": {"email": "ada@example.com"}, "message": "Drip."}),
    )
    .await;
    app.patch(&format!("/api/v1/contacts/{id}/consent"))
        .key(&ws.admin_key)
        .json(&json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}}, "note": "asked at the counter"}))
        .expect(200)
        .await;
    let page = app
        .browser(Method::GET, &format!("/app/contacts/{id}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&page);
    for shown in [
        "<h1>Ada Lovelace</h1>",
        "ada@example.com",
        "+442079460958",
        "Gate code",
        "&#60;b&#62;4711&#60;/b&#62;",
        &format!("href=\"/app/tickets/{ticket}\""),
        "Leaking tap",
        "granted",
        "asked at the counter",
        // The actions of an owner.
        &format!("href=\"/app/contacts/{id}/export\""),
        &format!("action=\"/app/contacts/{id}/erase\""),
        &format!("action=\"/app/contacts/{id}/legal-hold\""),
        &format!("action=\"/app/contacts/{id}/preference-links/revoke\""),
    ] {
        assert!(page.text.contains(shown), "{shown} missing: {}", page.text);
    }
    assert!(!page.text.contains("<b>4711"), "unescaped custom value");
    // A technician's role hides emails: the address is nowhere, on the contact or the list;
    // it has no tickets, no export and no erasure either.
    let technician = app.key(&ws.slug, BuiltinRole::Technician).await;
    let cut = app
        .browser(Method::GET, &format!("/app/contacts/{id}"))
        .key(&technician)
        .expect(200)
        .await;
    assert_page(&cut);
    assert!(cut.text.contains("Ada Lovelace"));
    assert!(cut.text.contains("+442079460958"));
    assert!(!cut.text.contains("ada@example.com"), "{}", cut.text);
    assert!(!cut.text.contains(">Email<"));
    assert!(!cut.text.contains("Leaking tap"));
    assert!(!cut.text.contains("/export\""));
    assert!(!cut.text.contains("/erase\""));
    let list = app
        .browser(Method::GET, "/app/contacts")
        .key(&technician)
        .expect(200)
        .await;
    assert!(list.text.contains("Ada Lovelace"));
    assert!(!list.text.contains("ada@example.com"));
    assert!(!list.text.contains(">Email<"));
    // Searching by a hidden field finds nothing, as in the API.
    let searched = app
        .browser(Method::GET, "/app/contacts?q=ada%40example")
        .key(&technician)
        .expect(200)
        .await;
    assert_eq!(rows(&searched), 0);
    // The export download: the API's document, audited; the same permission as the API.
    let export = app
        .browser(Method::GET, &format!("/app/contacts/{id}/export"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment; filename=\"contact-ct_")
    );
    assert_eq!(export.json["contact"]["email"], "ada@example.com");
    assert_eq!(export.json["tickets"][0]["subject"], "Leaking tap");
    let audit = app
        .get("/api/v1/audit?action=contact.exported")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(audit.text.contains(id.as_str()), "{}", audit.text);
    let sales = app.key(&ws.slug, BuiltinRole::Sales).await;
    app.browser(Method::GET, &format!("/app/contacts/{id}/export"))
        .key(&sales)
        .expect(200)
        .await;
    for (role, status) in [
        (BuiltinRole::Technician, 403),
        (BuiltinRole::Marketing, 403),
    ] {
        let key = app.key(&ws.slug, role).await;
        let r = app
            .browser(Method::GET, &format!("/app/contacts/{id}/export"))
            .key(&key)
            .expect(status)
            .await;
        assert_page(&r);
    }
    // Revoking the preference links: back on the page with the count.
    let revoked = post_form(
        &app,
        &console,
        &format!("/app/contacts/{id}/preference-links/revoke"),
        &[],
    )
    .await;
    assert_eq!(revoked.status, 303, "{}", revoked.text);
    let to = revoked.header("location").unwrap().to_owned();
    assert!(
        to.starts_with(&format!("/app/contacts/{id}?revoked=")),
        "{to}"
    );
    let after = app
        .browser(Method::GET, &to)
        .cookie(&console)
        .expect(200)
        .await;
    assert!(after.text.contains("preference link(s) revoked"));
}

#[tokio::test(flavor = "multi_thread")]
async fn crm_pages_refuse_other_workspaces_roles_and_the_module_off() {
    let app = TestApp::spawn().await;
    let a = app.workspace("crm-pages-a").await;
    let b = app.workspace("crm-pages-b").await;
    let console = app.console_login(&a).await;
    let theirs = crate::contact(&app, &b, json!({"name": "B's secret customer"})).await;
    let their_company = id_of(
        app.post("/api/v1/companies")
            .key(&b.admin_key)
            .json(&json!({"name": "B's company"}))
            .expect(201)
            .await,
    )
    .await;
    let their_import = id_of(
        app.post("/api/v1/contacts/imports")
            .key(&b.admin_key)
            .body("text/csv", "name\nB's imported customer\n")
            .expect(202)
            .await,
    )
    .await;
    for path in [
        format!("/app/contacts/{theirs}"),
        format!("/app/contacts/{theirs}/export"),
        format!("/app/companies/{their_company}"),
        format!("/app/contacts/imports/{their_import}"),
        format!("/app/contacts/imports/{their_import}/progress"),
        "/app/contacts/not-an-id".to_owned(),
        "/app/companies/not-an-id".to_owned(),
    ] {
        let r = app
            .browser(Method::GET, &path)
            .cookie(&console)
            .expect(404)
            .await;
        assert_page(&r);
        assert!(!r.text.contains("B's"), "{path}: {}", r.text);
    }
    let r = post_form(
        &app,
        &console,
        &format!("/app/contacts/{theirs}/preference-links/revoke"),
        &[],
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_page(&r);
    // Roles without the permission: 403 pages.
    let role = id_of(
        app.post("/api/v1/roles")
            .key(&a.admin_key)
            .json(&json!({"name": "Desk only", "permissions": ["tickets.read"]}))
            .expect(201)
            .await,
    )
    .await;
    let (desk_only, _) = crate::key_with_role(&app, &a, &role).await;
    let mine = crate::contact(&app, &a, json!({"name": "A's customer"})).await;
    for path in [
        "/app/contacts".to_owned(),
        format!("/app/contacts/{mine}"),
        "/app/companies".to_owned(),
    ] {
        let r = app
            .browser(Method::GET, &path)
            .key(&desk_only)
            .expect(403)
            .await;
        assert_page(&r);
    }
    let viewer = app.key(&a.slug, BuiltinRole::Viewer).await;
    let r = app
        .browser(Method::GET, "/app/contacts/import")
        .key(&viewer)
        .expect(403)
        .await;
    assert_page(&r);
    let r = app
        .browser(
            Method::POST,
            &format!("/app/contacts/{mine}/preference-links/revoke"),
        )
        .key(&viewer)
        .body(FORM, "")
        .expect(403)
        .await;
    assert_page(&r);
    let support = app.key(&a.slug, BuiltinRole::Support).await;
    for action in ["erase", "legal-hold"] {
        let r = app
            .browser(Method::POST, &format!("/app/contacts/{mine}/{action}"))
            .key(&support)
            .body(FORM, form(&[("reason", "no"), ("legal_hold", "on")]))
            .expect(403)
            .await;
        assert_page(&r);
    }
    // A support agent's contact page offers no erasure or hold.
    let page = app
        .browser(Method::GET, &format!("/app/contacts/{mine}"))
        .key(&support)
        .expect(200)
        .await;
    assert!(!page.text.contains("/erase\""));
    assert!(!page.text.contains("Legal hold"));
    // The CRM module off: its pages are not there.
    app.patch("/api/v1/modules")
        .key(&a.admin_key)
        .json(&json!({"enabled": ["helpdesk"]}))
        .expect(200)
        .await;
    for path in [
        "/app/contacts".to_owned(),
        format!("/app/contacts/{mine}"),
        "/app/companies".to_owned(),
        "/app/contacts/import".to_owned(),
    ] {
        let r = app
            .browser(Method::GET, &path)
            .cookie(&console)
            .expect(404)
            .await;
        assert_page(&r);
        assert!(r.text.contains("crm module is off"), "{path}");
    }
    let inbox = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        !inbox.text.contains("href=\"/app/contacts\""),
        "the navigation hides it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_and_legal_hold_need_a_recent_password_given_on_the_step_up_page() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("crm-step-up").await;
    let console = app.console_login(&ws).await;
    let id = crate::contact(
        &app,
        &ws,
        json!({"name": "Erin Erasable", "email": "erin@example.com"}),
    )
    .await;
    let page = format!("/app/contacts/{id}");
    let erase = format!("/app/contacts/{id}/erase");
    let referer = format!("{}{page}", app.base);
    // Without a recent password: a page that says so and leads to /app/step-up, back here.
    let refused = app
        .browser(Method::POST, &erase)
        .console(&console)
        .header("referer", &referer)
        .body(FORM, form(&[("reason", "asked by the person")]))
        .expect(403)
        .await;
    assert_page(&refused);
    assert!(
        refused.text.contains("Confirm and continue"),
        "{}",
        refused.text
    );
    let href = format!("href=\"/app/step-up?back=%2Fapp%2Fcontacts%2F{id}\"");
    assert!(refused.text.contains(&href), "{}", refused.text);
    // htmx names the page it was on instead of a referrer.
    let refused = app
        .browser(Method::POST, &erase)
        .console(&console)
        .header("hx-request", "true")
        .header("hx-current-url", &referer)
        .body(FORM, form(&[("reason", "asked by the person")]))
        .expect(403)
        .await;
    assert!(refused.text.contains(&href));
    // Another site's page: nothing of that site is kept.
    let refused = app
        .browser(Method::POST, &erase)
        .console(&console)
        .header("referer", "https://evil.example/app/contacts")
        .body(FORM, form(&[("reason", "x")]))
        .expect(403)
        .await;
    // Only the path of another site's page is kept: the way back stays on this site.
    assert!(
        refused.text.contains("href=\"/app/step-up?back=%2Fapp%2F")
            && !refused.text.contains("evil"),
        "{}",
        refused.text
    );
    app.get(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    // The step-up page: a password form that goes back to the contact.
    let form_page = app
        .browser(Method::GET, &format!("/app/step-up?back={page}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&form_page);
    assert!(
        form_page
            .text
            .contains(&format!("name=\"back\" value=\"{page}\""))
    );
    assert!(form_page.text.contains("type=\"password\""));
    assert!(
        !form_page.text.contains("totp_code"),
        "no authenticator enrolled"
    );
    // A wrong password: the form again, and still no erasure.
    let wrong = post_form(
        &app,
        &console,
        "/app/step-up",
        &[("password", "not the password"), ("back", &page)],
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_page(&wrong);
    assert!(wrong.text.contains("is not right"));
    let still = post_form(&app, &console, &erase, &[("reason", "asked")]).await;
    assert_eq!(still.status, 403);
    // The right password: back to the contact, and the session may erase for a while. htmx
    // is told where to go in a header (it cannot see a 303, which its request follows).
    let stepped = app
        .browser(Method::POST, "/app/step-up")
        .console(&console)
        .header("hx-request", "true")
        .body(FORM, form(&[("password", OWNER_PASSWORD), ("back", &page)]))
        .expect(200)
        .await;
    assert_eq!(stepped.header("hx-redirect"), Some(page.as_str()));
    let stepped = post_form(
        &app,
        &console,
        "/app/step-up",
        &[("password", OWNER_PASSWORD), ("back", &page)],
    )
    .await;
    assert_eq!(stepped.status, 303, "{}", stepped.text);
    assert_eq!(stepped.header("location"), Some(page.as_str()));
    let audit = app
        .get("/api/v1/audit?action=auth.step_up")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        audit.json["data"].as_array().unwrap().len(),
        2,
        "{}",
        audit.text
    );
    // A legal hold first: on with a reason, then erasure is refused, nothing erased.
    let no_reason = post_form(
        &app,
        &console,
        &format!("/app/contacts/{id}/legal-hold"),
        &[("legal_hold", "on"), ("reason", "")],
    )
    .await;
    assert_eq!(no_reason.status, 422, "{}", no_reason.text);
    assert_page(&no_reason);
    let held = post_form(
        &app,
        &console,
        &format!("/app/contacts/{id}/legal-hold"),
        &[("legal_hold", "on"), ("reason", "pending dispute")],
    )
    .await;
    assert_eq!(held.status, 303, "{}", held.text);
    let privacy = app
        .get(&format!("/api/v1/contacts/{id}/privacy"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(privacy.json["legal_hold"], true);
    let shown = app
        .browser(Method::GET, &page)
        .cookie(&console)
        .expect(200)
        .await;
    assert!(shown.text.contains("Lift the legal hold"));
    assert!(!shown.text.contains(&format!("action=\"{erase}\"")));
    let on_hold = post_form(&app, &console, &erase, &[("reason", "asked")]).await;
    assert_eq!(on_hold.status, 409, "{}", on_hold.text);
    assert_page(&on_hold);
    assert!(on_hold.text.contains("legal hold"));
    post_form(
        &app,
        &console,
        &format!("/app/contacts/{id}/legal-hold"),
        &[("legal_hold", "off"), ("reason", "dispute settled")],
    )
    .await;
    // Bad input erases nothing.
    for fields in [vec![], vec![("reason", "")], vec![("reason", "  ")]] {
        let r = post_form(&app, &console, &erase, &fields).await;
        assert_eq!(r.status, 422, "{fields:?}: {}", r.text);
        assert_page(&r);
    }
    let not_a_form = app
        .browser(Method::POST, &erase)
        .console(&console)
        .json(&json!({"reason": "json"}))
        .expect(415)
        .await;
    assert_page(&not_a_form);
    app.get(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    // Now it erases, and the list says so.
    let erased = post_form(&app, &console, &erase, &[("reason", "asked by the person")]).await;
    assert_eq!(erased.status, 303, "{}", erased.text);
    assert_eq!(erased.header("location"), Some("/app/contacts?erased=1"));
    app.get(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    let list = app
        .browser(Method::GET, "/app/contacts?erased=1")
        .cookie(&console)
        .expect(200)
        .await;
    assert!(list.text.contains("The contact was erased"));
    // The way back is a console page of this site only.
    let elsewhere = post_form(
        &app,
        &console,
        "/app/step-up",
        &[
            ("password", OWNER_PASSWORD),
            ("back", "https://evil.example/app/"),
        ],
    )
    .await;
    assert_eq!(elsewhere.header("location"), Some("/app/settings"));
    // An API key has no password to confirm: the step-up page is a signed-in person's.
    app.browser(Method::GET, "/app/step-up")
        .key(&ws.admin_key)
        .expect(403)
        .await;
}

/// Waits for the import to finish; returns the progress fragment then.
async fn finished_fragment(app: &TestApp, console: &Console, import: &str) -> Resp {
    for _ in 0..400 {
        let r = app
            .browser(
                Method::GET,
                &format!("/app/contacts/imports/{import}/progress"),
            )
            .cookie(console)
            .expect(200)
            .await;
        if !r.text.contains("hx-trigger") {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the import did not finish");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_import_wizard_maps_checks_and_imports_with_live_progress() {
    // The job runs only when this test starts a worker, so the page is seen before it ends.
    let app = TestApp::spawn_with(Layer {
        worker: Some(false),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("crm-import").await;
    let console = app.console_login(&ws).await;
    app.post("/api/v1/contact-fields")
        .key(&ws.admin_key)
        .json(&json!({"key": "colour", "label": "Colour", "type": "text"}))
        .expect(201)
        .await;
    let start = app
        .browser(Method::GET, "/app/contacts/import")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&start);
    assert!(start.text.contains("enctype=\"multipart/form-data\""));
    assert!(start.text.contains("type=\"file\""));
    let csv = "Full name,E-mail,Colour,<script>alert(1)</script>\n\
               Ada Lovelace,ada@example.com,blue,x\n\
               Bad Row,not-an-email,red,y\n";
    // Step 1 → 2: the file read, each column with a first guess at its target.
    let mapping = post_multipart(
        &app,
        &console,
        "/app/contacts/import/upload",
        &[
            ("csrf_token", None, b"t"),
            ("csv", Some("people.csv"), csv.as_bytes()),
        ],
    )
    .await;
    assert_eq!(mapping.status, 200, "{}", mapping.text);
    assert_page(&mapping);
    assert!(mapping.text.contains("people.csv"));
    assert!(
        mapping
            .text
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );
    assert!(!mapping.text.contains("<script>alert(1)"));
    for (index, target) in [
        (0, "name"),
        (1, "email"),
        (2, "custom.colour"),
        (3, "ignore"),
    ] {
        let select = between(
            &mapping.text,
            &format!("name=\"map.{index}\">"),
            "</select>",
        );
        assert!(
            select.contains(&format!("<option value=\"{target}\" selected>")),
            "column {index}: {select}"
        );
    }
    let csv_b64 = between(&mapping.text, "name=\"csv_b64\" value=\"", "\"");
    // The pasted text works as the file does.
    let pasted = post_multipart(
        &app,
        &console,
        "/app/contacts/import/upload",
        &[("csv", Some(""), b""), ("csv_text", None, csv.as_bytes())],
    )
    .await;
    assert_eq!(pasted.status, 200, "{}", pasted.text);
    assert_eq!(
        between(&pasted.text, "name=\"csv_b64\" value=\"", "\""),
        csv_b64
    );
    let fields = |mode: &'static str, map: [&'static str; 4]| {
        let mut parts: Vec<(String, Vec<u8>)> = vec![
            ("csv_b64".into(), csv_b64.clone().into_bytes()),
            ("filename".into(), b"people.csv".to_vec()),
            ("mode".into(), mode.as_bytes().to_vec()),
        ];
        for (i, target) in map.iter().enumerate() {
            parts.push((format!("map.{i}"), target.as_bytes().to_vec()));
        }
        parts
    };
    let send = |path: &'static str, parts: Vec<(String, Vec<u8>)>| {
        let app = &app;
        let console = &console;
        async move {
            let borrowed: Vec<(&str, Option<&str>, &[u8])> = parts
                .iter()
                .map(|(n, v)| (n.as_str(), None, v.as_slice()))
                .collect();
            post_multipart(app, console, path, &borrowed).await
        }
    };
    // Step 2 → 3: the dry run with the row errors; nothing stored.
    let report = send(
        "/app/contacts/import/check",
        fields("skip_invalid", ["name", "email", "custom.colour", "ignore"]),
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_page(&report);
    assert!(report.text.contains("Dry run"));
    assert_eq!(between(&report.text, "id=\"report-create\">", "<"), "1");
    assert_eq!(between(&report.text, "id=\"report-invalid\">", "<"), "1");
    assert!(
        report.text.contains("<td>3</td><td>E-mail</td>"),
        "{}",
        report.text
    );
    assert!(report.text.contains("id=\"start-import\""));
    let none = app
        .get("/api/v1/contacts?q=ada")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(none.json["data"].as_array().unwrap().len(), 0);
    // A mapping that names no way to know the person: the mapping again, saying why.
    let unmapped = send(
        "/app/contacts/import/check",
        fields(
            "skip_invalid",
            ["ignore", "ignore", "custom.colour", "ignore"],
        ),
    )
    .await;
    assert_eq!(unmapped.status, 422, "{}", unmapped.text);
    assert_page(&unmapped);
    assert!(
        unmapped
            .text
            .contains("no column maps to name, email or phone")
    );
    assert!(unmapped.text.contains("name=\"map.0\""));
    let twice = send(
        "/app/contacts/import/check",
        fields("skip_invalid", ["name", "name", "ignore", "ignore"]),
    )
    .await;
    assert_eq!(twice.status, 422);
    assert!(twice.text.contains("both map to name"), "{}", twice.text);
    let bad_mode = send(
        "/app/contacts/import/check",
        fields("sometimes", ["name", "email", "ignore", "ignore"]),
    )
    .await;
    assert_eq!(bad_mode.status, 422);
    // All or nothing with an invalid row: the import would fail, and the report says so.
    let strict = send(
        "/app/contacts/import/check",
        fields(
            "all_or_nothing",
            ["name", "email", "custom.colour", "ignore"],
        ),
    )
    .await;
    assert_eq!(strict.status, 200);
    // Step 3: the import starts; its page follows it.
    let started = send(
        "/app/contacts/import/start",
        fields("skip_invalid", ["name", "email", "custom.colour", "ignore"]),
    )
    .await;
    assert_eq!(started.status, 303, "{}", started.text);
    let progress_path = started.header("location").unwrap().to_owned();
    assert!(
        progress_path.starts_with("/app/contacts/imports/imp_"),
        "{progress_path}"
    );
    let import = progress_path.rsplit('/').next().unwrap().to_owned();
    let waiting = app
        .browser(Method::GET, &progress_path)
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&waiting);
    assert!(
        waiting
            .text
            .contains("<progress id=\"import-bar\" max=\"100\" value=\"0\">")
    );
    assert!(
        waiting.text.contains(&format!(
            "hx-get=\"/app/contacts/imports/{import}/progress\" hx-trigger=\"every 1s\""
        )),
        "{}",
        waiting.text
    );
    let _worker = app.extra_worker();
    let done = finished_fragment(&app, &console, &import).await;
    assert_eq!(
        done.header("content-security-policy"),
        Some(holdfast_http::console::CSP)
    );
    assert!(
        done.text.starts_with("<div id=\"import-progress\""),
        "{}",
        done.text
    );
    assert!(done.text.contains("value=\"100\""), "{}", done.text);
    assert_eq!(between(&done.text, "id=\"import-created\">", "<"), "1");
    assert_eq!(between(&done.text, "id=\"import-skipped\">", "<"), "1");
    assert!(done.text.contains("<td>3</td><td>E-mail</td>"));
    let imported = app
        .get("/api/v1/contacts?q=ada")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(imported.json["data"][0]["email"], "ada@example.com");
    assert_eq!(imported.json["data"][0]["custom"]["colour"], "blue");
    let audit = app
        .get("/api/v1/audit?action=contacts.import_started")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(audit.text.contains(&import), "{}", audit.text);

    // Bad input at the first step: a page saying what is wrong.
    let nothing = post_multipart(
        &app,
        &console,
        "/app/contacts/import/upload",
        &[("csv", Some(""), b"")],
    )
    .await;
    assert_eq!(nothing.status, 422);
    assert_page(&nothing);
    assert!(nothing.text.contains("Choose a CSV file"));
    let unclosed = post_multipart(
        &app,
        &console,
        "/app/contacts/import/upload",
        &[("csv_text", None, b"name\n\"never closed\n")],
    )
    .await;
    assert_eq!(unclosed.status, 422);
    assert!(unclosed.text.contains("never closed"), "{}", unclosed.text);
    let not_text = post_multipart(
        &app,
        &console,
        "/app/contacts/import/upload",
        &[("csv", Some("x.csv"), &[0xff, 0xfe, 0x00, 0x41])],
    )
    .await;
    assert_eq!(not_text.status, 422);
    assert!(not_text.text.contains("UTF-8"));
    let urlencoded = post_form(
        &app,
        &console,
        "/app/contacts/import/upload",
        &[("csv_text", "name\nA\n")],
    )
    .await;
    assert_eq!(urlencoded.status, 415);
    assert_page(&urlencoded);
    let damaged = post_multipart(
        &app,
        &console,
        "/app/contacts/import/check",
        &[
            ("csv_b64", None, b"!!not base64!!"),
            ("map.0", None, b"name"),
        ],
    )
    .await;
    assert_eq!(damaged.status, 422);
    assert_page(&damaged);
    // Larger than the API takes: refused while it is read.
    let limit = holdfast_core::crm::contact_import::MAX_IMPORT_BYTES;
    let mut huge = b"name\n".to_vec();
    huge.resize(limit + 1, b'a');
    let too_big = post_multipart(
        &app,
        &console,
        "/app/contacts/import/upload",
        &[("csv", Some("huge.csv"), &huge)],
    )
    .await;
    assert_eq!(
        too_big.status,
        413,
        "{}",
        &too_big.text[..too_big.text.len().min(300)]
    );
    assert_page(&too_big);
    // Without the session's token nothing is read.
    let (content_type, body) = multipart(&[("csv_text", None, csv.as_bytes())]);
    app.browser(Method::POST, "/app/contacts/import/upload")
        .cookie(&console)
        .body(&content_type, body)
        .expect(403)
        .await;
    // One import in all: the refused steps stored nothing.
    let started_events = app
        .get("/api/v1/audit?action=contacts.import_started")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(started_events.json["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contacts_own_retention_period_is_set_and_cleared_after_a_step_up() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("crm-retention").await;
    let console = app.console_login(&ws).await;
    let id = crate::contact(
        &app,
        &ws,
        json!({"name": "Rhea Retained", "email": "rhea@example.com"}),
    )
    .await;
    let page = format!("/app/contacts/{id}");
    let retention = format!("/app/contacts/{id}/retention");
    let privacy = || async {
        app.get(&format!("/api/v1/contacts/{id}/privacy"))
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json
    };
    let trail = || async {
        app.get("/api/v1/audit?action=contact.privacy_changed")
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                serde_json::from_str::<serde_json::Value>(e["summary"].as_str().unwrap()).unwrap()
            })
            .collect::<Vec<_>>()
    };
    let shown = app
        .browser(Method::GET, &page)
        .cookie(&console)
        .expect(200)
        .await;
    assert!(shown.text.contains(&format!("action=\"{retention}\"")));
    assert!(shown.text.contains("The workspace’s periods apply"));
    // Shortening retention lets the daily run erase the contact: a recent password first.
    let refused = post_form(
        &app,
        &console,
        &retention,
        &[("retention_days", "90"), ("reason", "contract ended")],
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Confirm and continue"));
    let stepped = post_form(
        &app,
        &console,
        "/app/step-up",
        &[("password", OWNER_PASSWORD), ("back", &page)],
    )
    .await;
    assert_eq!(stepped.status, 303, "{}", stepped.text);
    // Bad input: a 422 page naming the field, nothing changed.
    for (days, reason, says) in [
        (
            "ninety",
            "contract ended",
            "retention_days: must be a whole number of days",
        ),
        (
            "3",
            "contract ended",
            "retention_days: must be a whole number of days from 7 to 36500",
        ),
        ("40000", "contract ended", "or null for the workspace"),
        ("1.5", "contract ended", "retention_days"),
        ("90", "", "reason"),
    ] {
        let r = post_form(
            &app,
            &console,
            &retention,
            &[("retention_days", days), ("reason", reason)],
        )
        .await;
        assert_eq!(r.status, 422, "{days}: {}", r.text);
        assert_page(&r);
        assert!(r.text.contains(says), "{says}: {}", r.text);
    }
    assert_eq!(privacy().await["retention_days"], json!(null));
    assert!(trail().await.is_empty());
    // Set: back to the contact, which shows it; audited with before, after and the reason.
    let set = post_form(
        &app,
        &console,
        &retention,
        &[("retention_days", " 90 "), ("reason", "contract ended")],
    )
    .await;
    assert_eq!(set.status, 303, "{}", set.text);
    assert_eq!(set.header("location"), Some(page.as_str()));
    assert_eq!(privacy().await["retention_days"], 90);
    let shown = app
        .browser(Method::GET, &page)
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        shown.text.contains("<strong>90 days</strong>"),
        "{}",
        shown.text
    );
    assert!(
        shown
            .text
            .contains("name=\"retention_days\" type=\"text\" inputmode=\"numeric\" value=\"90\"")
    );
    assert!(
        shown.text.contains("Put on legal hold"),
        "the hold is untouched"
    );
    // Empty: the workspace's periods again.
    let cleared = post_form(
        &app,
        &console,
        &retention,
        &[("retention_days", ""), ("reason", "back to the policy")],
    )
    .await;
    assert_eq!(cleared.status, 303, "{}", cleared.text);
    let now = privacy().await;
    assert_eq!(now["retention_days"], json!(null));
    assert_eq!(now["legal_hold"], false);
    let entries = trail().await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(
        entries[1],
        json!({
            "before": {"legal_hold": false, "retention_days": null},
            "after": {"legal_hold": false, "retention_days": 90},
            "reason": "contract ended",
        })
    );
    assert_eq!(entries[0]["after"]["retention_days"], json!(null));
    // A role without contacts.erase: no form, and the action refused.
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    let theirs = app
        .browser(Method::GET, &page)
        .key(&support)
        .expect(200)
        .await;
    assert!(!theirs.text.contains("Retention period"));
    let r = app
        .browser(Method::POST, &retention)
        .key(&support)
        .body(FORM, form(&[("retention_days", "30"), ("reason", "no")]))
        .expect(403)
        .await;
    assert_page(&r);
    assert!(r.text.contains("lacks the permission"), "{}", r.text);
    // Another workspace's contact, or none: 404.
    let other = app.workspace("crm-retention-b").await;
    let theirs = crate::contact(&app, &other, json!({"name": "Other"})).await;
    let r = post_form(
        &app,
        &console,
        &format!("/app/contacts/{theirs}/retention"),
        &[("retention_days", "30"), ("reason", "no")],
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(privacy().await["retention_days"], json!(null));
}
