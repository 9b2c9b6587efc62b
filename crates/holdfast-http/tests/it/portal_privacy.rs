//! A customer's consent preferences and their data in the client portal, over HTTP, on either
//! database: choices made on the page and through the API show in the staff's consent view
//! and log as the contact's own act (source `portal`, address, user agent) and never touch
//! another contact's; a copy of the data is only ever a single-use link mailed to the address
//! on file, working once; a deletion request reaches the staff's queue once however often it is
//! asked, and the customer sees where it stands; bad input is refused naming the field with
//! nothing written; a change without the session's CSRF token is 403 and writes nothing.

use crate::{PortalCustomer, mails_to, new_mail_to, portal_customer};
use holdfast_testkit::{Call, Method, Resp, TestApp, Workspace, find_token, unique};
use serde_json::{Value, json};

/// An address of this run alone (the PostgreSQL suite shares one outbox).
fn email(name: &str) -> String {
    format!("{}@example.com", unique(name))
}

/// A page of the customer's, signed in.
async fn page(app: &TestApp, who: &PortalCustomer, path: &str) -> Resp {
    app.browser(Method::GET, path)
        .header("cookie", &who.cookie)
        .send()
        .await
}

/// A portal form sent as htmx sends it (with the page's CSRF token), from the customer's
/// browser.
async fn form(app: &TestApp, who: &PortalCustomer, path: &str, fields: &[(&str, &str)]) -> Resp {
    app.browser(Method::POST, path)
        .header("cookie", &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .header("hx-request", "true")
        .header("user-agent", "Portal test browser")
        .body(
            "application/x-www-form-urlencoded",
            serde_urlencoded::to_string(fields).unwrap(),
        )
        .send()
        .await
}

/// A call of the portal's API as the customer's browser makes it.
fn api<'a>(app: &'a TestApp, who: &PortalCustomer, m: Method, path: &str) -> Call<'a> {
    app.call(m, path)
        .header("cookie", &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .header("user-agent", "Portal test browser")
}

async fn staff_consent(app: &TestApp, ws: &Workspace, contact: &str) -> Value {
    app.get(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

async fn staff_log(app: &TestApp, ws: &Workspace, contact: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/contacts/{contact}/consent/log?limit=200"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// The outbound decisions about a contact for the data link (its queueing).
async fn data_links_queued(app: &TestApp, ws: &Workspace, contact: &str) -> usize {
    app.get(&format!("/api/v1/contacts/{contact}/outreach?limit=200"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["purpose"] == "data_access" && d["stage"] == "queue")
        .count()
}

/// The staff's queue of erasure requests, of this contact.
async fn staff_requests(app: &TestApp, ws: &Workspace, contact: &str) -> Vec<Value> {
    app.get("/api/v1/privacy/erasure-requests?limit=200")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["contact_id"] == contact)
        .cloned()
        .collect()
}

/// The audit entries of one action.
async fn audited(app: &TestApp, ws: &Workspace, action: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/audit?action={action}&limit=200"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn statuses(consent: &Value) -> Vec<(String, String)> {
    consent["channels"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(c, v)| (c.clone(), v["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_changes_their_preferences_and_staff_see_their_own_act() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-prefs").await;
    // Opt-in with double opt-in on email: a grant by staff would wait; the customer's own,
    // from a session their mailbox opened, does not.
    app.call(Method::PUT, "/api/v1/settings/privacy")
        .key(&ws.admin_key)
        .json(&json!({"mode": "gdpr", "double_opt_in": ["email"]}))
        .expect(200)
        .await;
    let (ana_id, ana) = portal_customer(&app, &ws, "Ana Lima", &email("ana")).await;
    let (ben_id, ben) = portal_customer(&app, &ws, "Ben Ode", &email("ben")).await;
    let slug = &ws.slug;
    let path = format!("/portal/{slug}/preferences");

    // The overview (every page's bar) leads to both pages.
    let home = page(&app, &ana, &format!("/portal/{slug}/home")).await;
    for link in [
        format!("href=\"/portal/{slug}/preferences\""),
        format!("href=\"/portal/{slug}/data\""),
    ] {
        assert!(home.text.contains(&link), "{link}: {}", home.text);
    }
    // The page: every channel with Yes/No, nothing chosen yet, an htmx form with the token.
    let shown = page(&app, &ana, &path).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    for text in [
        "Your contact preferences",
        "data-channel=\"email\"",
        "data-channel=\"postal\"",
        "Text messages (SMS)",
        "Unsubscribe from everything",
        &format!("hx-post=\"{path}\""),
        &format!("<meta name=\"csrf-token\" content=\"{}\">", ana.csrf),
    ] {
        assert!(shown.text.contains(text), "{text}: {}", shown.text);
    }
    assert!(!shown.text.contains(" checked"), "{}", shown.text);
    assert_eq!(shown.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(shown.header("x-robots-tag"), Some("noindex"));

    // Email yes, SMS no: htmx is sent back to the page, which says it is saved.
    let saved = form(
        &app,
        &ana,
        &path,
        &[("email", "granted"), ("sms", "denied")],
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let back = saved.header("hx-redirect").unwrap().to_owned();
    assert_eq!(back, format!("{path}?done=saved"));
    let again = page(&app, &ana, &back).await;
    assert!(again.text.contains("Saved."), "{}", again.text);
    assert!(
        again
            .text
            .contains("name=\"email\" value=\"granted\" checked"),
        "{}",
        again.text
    );
    assert!(
        again.text.contains("name=\"sms\" value=\"denied\" checked"),
        "{}",
        again.text
    );

    // Staff see it: granted at once (the contact's own act), on their consent as source portal.
    let consent = staff_consent(&app, &ws, &ana_id).await;
    assert_eq!(
        consent["channels"]["email"]["status"], "granted",
        "{consent}"
    );
    assert_eq!(consent["channels"]["email"]["lawful_basis"], "consent");
    assert_eq!(consent["channels"]["email"]["source"], "portal");
    assert_eq!(consent["channels"]["sms"]["status"], "denied");
    assert_eq!(consent["channels"]["sms"]["source"], "portal");
    let log = staff_log(&app, &ws, &ana_id).await;
    assert_eq!(log.len(), 2, "{log:?}");
    for entry in &log {
        assert_eq!(entry["actor"], "contact", "{entry}");
        assert_eq!(entry["source"], "portal", "{entry}");
        assert_eq!(entry["user_agent"], "Portal test browser", "{entry}");
        assert!(
            entry["ip"].as_str().is_some_and(|ip| !ip.is_empty()),
            "{entry}"
        );
    }
    assert_eq!(log[0]["channel"], "email");
    assert_eq!(log[0]["new_value"], "granted");
    // No confirmation was asked of her: nothing waits.
    assert!(
        !staff_consent(&app, &ws, &ana_id)
            .await
            .to_string()
            .contains("pending")
    );

    // The API reads the same and changes some channels (PATCH) or all of them (PUT).
    let read = api(&app, &ana, Method::GET, "/api/portal/v1/preferences")
        .expect(200)
        .await;
    assert_eq!(read.json["channels"]["email"]["status"], "granted");
    assert_eq!(read.json["channels"]["whatsapp"]["status"], "unknown");
    assert_eq!(read.json["do_not_contact"], false);
    let patched = api(&app, &ana, Method::PATCH, "/api/portal/v1/preferences")
        .json(&json!({"channels": {"phone": {"status": "granted"}}}))
        .expect(200)
        .await;
    assert_eq!(patched.json["channels"]["phone"]["status"], "granted");
    assert_eq!(patched.json["channels"]["email"]["status"], "granted");
    let put = api(&app, &ana, Method::PUT, "/api/portal/v1/preferences")
        .json(&json!({"channels": {
            "email": {"status": "denied"}, "sms": {"status": "denied"},
            "whatsapp": {"status": "granted"}, "phone": {"status": "granted"},
            "postal": {"status": "denied"}}}))
        .expect(200)
        .await;
    assert_eq!(
        statuses(&put.json),
        [
            ("email".to_owned(), "denied".to_owned()),
            ("phone".to_owned(), "granted".to_owned()),
            ("postal".to_owned(), "denied".to_owned()),
            ("sms".to_owned(), "denied".to_owned()),
            ("whatsapp".to_owned(), "granted".to_owned()),
        ]
    );
    // A choice equal to the current one writes nothing: sms was denied already, phone granted.
    assert_eq!(staff_log(&app, &ws, &ana_id).await.len(), 6);
    // Unsubscribe from everything, from the page.
    let all = form(&app, &ana, &path, &[("action", "unsubscribe_all")]).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let consent = staff_consent(&app, &ws, &ana_id).await;
    assert!(
        statuses(&consent).iter().all(|(_, s)| s == "denied"),
        "{consent}"
    );
    let log = staff_log(&app, &ws, &ana_id).await;
    assert!(
        log.iter()
            .all(|e| e["actor"] == "contact" && e["source"] == "portal"),
        "{log:?}"
    );

    // Another contact's preferences never change: a body cannot name one, and Ben's stand.
    api(&app, &ana, Method::PATCH, "/api/portal/v1/preferences")
        .json(&json!({"contact_id": ben_id, "channels": {"email": {"status": "granted"}}}))
        .expect(422)
        .await;
    assert!(staff_log(&app, &ws, &ben_id).await.is_empty());
    assert!(
        statuses(&staff_consent(&app, &ws, &ben_id).await)
            .iter()
            .all(|(_, s)| s == "unknown")
    );
    let bens = api(&app, &ben, Method::GET, "/api/portal/v1/preferences")
        .expect(200)
        .await;
    assert!(
        statuses(&bens.json).iter().all(|(_, s)| s == "unknown"),
        "{}",
        bens.text
    );

    // Staff put her on the do-not-contact list: the page says nothing is sent whatever she
    // chooses; her choices still record.
    app.patch(&format!("/api/v1/contacts/{ana_id}/consent"))
        .key(&ws.admin_key)
        .json(&json!({"do_not_contact": true}))
        .expect(200)
        .await;
    let shown = page(&app, &ana, &path).await;
    assert!(shown.text.contains("do-not-contact list"), "{}", shown.text);
    let read = api(&app, &ana, Method::GET, "/api/portal/v1/preferences")
        .expect(200)
        .await;
    assert_eq!(read.json["do_not_contact"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_choices_are_refused_naming_the_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-prefs-bad").await;
    let (cy_id, cy) = portal_customer(&app, &ws, "Cy", &email("cy")).await;
    let slug = &ws.slug;
    let prefs = "/api/portal/v1/preferences";

    let fields = |r: &Resp| -> Vec<String> {
        r.json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    // Every bad field named at once; a good one beside them is not written either.
    let bad = api(&app, &cy, Method::PATCH, prefs)
        .json(&json!({"channels": {
            "email": {"status": "granted"}, "fax": {"status": "granted"},
            "sms": {"status": "maybe"}, "phone": {"status": "pending"}}}))
        .expect(422)
        .await;
    bad.problem("HF-REQ-004");
    assert_eq!(
        fields(&bad),
        [
            "channels.fax",
            "channels.phone.status",
            "channels.sms.status"
        ],
        "{}",
        bad.text
    );
    let empty = api(&app, &cy, Method::PATCH, prefs)
        .json(&json!({}))
        .expect(422)
        .await;
    assert_eq!(fields(&empty), ["channels"], "{}", empty.text);
    let partial_put = api(&app, &cy, Method::PUT, prefs)
        .json(&json!({"channels": {"email": {"status": "denied"}}}))
        .expect(422)
        .await;
    assert_eq!(
        fields(&partial_put),
        [
            "channels.sms",
            "channels.whatsapp",
            "channels.phone",
            "channels.postal"
        ],
        "{}",
        partial_put.text
    );
    for body in [
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "contract"}}}),
        json!({"channels": {"email": "granted"}}),
        json!({"channels": {"email": {"status": "unknown"}}}),
        json!({"channels": {"email": {"status": "granted"}}, "do_not_contact": false}),
    ] {
        api(&app, &cy, Method::PATCH, prefs)
            .json(&body)
            .expect(422)
            .await
            .problem("HF-REQ-004");
    }
    let not_json = api(&app, &cy, Method::PATCH, prefs)
        .body("text/plain", "email=granted")
        .send()
        .await;
    assert_eq!(not_json.status, 415, "{}", not_json.text);

    // The page: the form again with what was wrong (422), never a 500.
    let path = format!("/portal/{slug}/preferences");
    let refused = form(
        &app,
        &cy,
        &path,
        &[("email", "maybe"), ("fax", "granted"), ("sms", "granted")],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("Email: must be granted or denied."),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("fax: is not a choice"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("<main id=\"content\">"),
        "{}",
        refused.text
    );
    let wrong_action = form(&app, &cy, &path, &[("action", "erase_everything")]).await;
    assert_eq!(wrong_action.status, 422, "{}", wrong_action.text);
    let json_form = app
        .browser(Method::POST, &path)
        .header("cookie", &cy.cookie)
        .header("x-csrf-token", &cy.csrf)
        .json(&json!({"email": "granted"}))
        .send()
        .await;
    assert_eq!(json_form.status, 415, "{}", json_form.text);

    // Nothing was written.
    assert!(staff_log(&app, &ws, &cy_id).await.is_empty());
    assert!(
        statuses(&staff_consent(&app, &ws, &cy_id).await)
            .iter()
            .all(|(_, s)| s == "unknown")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_of_the_data_goes_only_to_the_address_on_file_and_its_link_works_once() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-data").await;
    let dee_email = email("dee");
    let eve_email = email("eve");
    let (dee_id, dee) = portal_customer(&app, &ws, "Dee", &dee_email).await;
    let (eve_id, _) = portal_customer(&app, &ws, "Eve", &eve_email).await;
    let slug = &ws.slug;
    let data = format!("/portal/{slug}/data");

    // The page offers the link and shows none of the data itself.
    let shown = page(&app, &dee, &data).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    for text in [
        "Email me a download link",
        "Ask to delete my data",
        &format!("hx-post=\"{data}/export\""),
        &format!("hx-post=\"{data}/erasure-request\""),
    ] {
        assert!(shown.text.contains(text), "{text}: {}", shown.text);
    }
    assert!(!shown.text.contains(&dee_email), "{}", shown.text);

    // Asking mails a single-use link to Dee's address, and to no one else.
    let mails_before = mails_to(&app, &dee_email).await.len();
    let eve_before = mails_to(&app, &eve_email).await.len();
    let asked = form(&app, &dee, &format!("{data}/export"), &[]).await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    let back = asked.header("hx-redirect").unwrap().to_owned();
    assert_eq!(back, format!("{data}?done=mailed"));
    assert!(!asked.text.contains("hfdl_"));
    let told = page(&app, &dee, &back).await;
    assert!(
        told.text
            .contains("We sent a download link to your email address"),
        "{}",
        told.text
    );
    let mail = new_mail_to(&app, &dee_email, mails_before).await;
    let token = find_token(&mail, "hfdl");
    let download = format!("/preferences/download/{token}");
    assert!(mail.contains(&download), "{mail}");
    assert_eq!(mails_to(&app, &eve_email).await.len(), eve_before);
    assert_eq!(data_links_queued(&app, &ws, &dee_id).await, 1);
    assert_eq!(data_links_queued(&app, &ws, &eve_id).await, 0);

    // Asking again at once, on the page or the API, sends no second link.
    let again = form(&app, &dee, &format!("{data}/export"), &[]).await;
    assert_eq!(
        again.header("hx-redirect"),
        Some(format!("{data}?done=already_mailed").as_str())
    );
    let by_api = api(&app, &dee, Method::POST, "/api/portal/v1/data/export")
        .expect(202)
        .await;
    assert_eq!(by_api.json["status"], "already_mailed", "{}", by_api.text);
    assert!(!by_api.text.contains("hfdl_") && !by_api.text.contains(&dee_email));
    assert_eq!(data_links_queued(&app, &ws, &dee_id).await, 1);

    // The request is audited as Dee's own, from the portal.
    let requested = audited(&app, &ws, "contact.export_requested").await;
    let mine: Vec<&Value> = requested
        .iter()
        .filter(|e| e["entity_id"] == dee_id.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{requested:?}");
    assert_eq!(mine[0]["actor_type"], "contact");
    assert_eq!(mine[0]["actor_id"], dee_id.as_str());
    assert!(
        mine[0]["summary"].to_string().contains("portal"),
        "{}",
        mine[0]
    );

    // The link: its page spends nothing; the download works once and holds Dee's data.
    app.get(&download).expect(200).await;
    let file = app.post(&download).expect(200).await;
    assert!(
        file.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let document: Value = serde_json::from_str(&file.text).unwrap();
    assert_eq!(document["contact"]["email"], dee_email.as_str());
    assert_eq!(document["contact"]["id"], dee_id.as_str());
    assert!(!file.text.contains(&eve_email), "no one else's data");
    app.post(&download).expect(404).await;
    app.get(&download).expect(404).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_request_reaches_staff_once_and_the_customer_sees_where_it_stands() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-erasure").await;
    let (fay_id, fay) = portal_customer(&app, &ws, "Fay", &email("fay")).await;
    let (gus_id, _) = portal_customer(&app, &ws, "Gus", &email("gus")).await;
    let slug = &ws.slug;
    let data = format!("/portal/{slug}/data");
    let request = "/api/portal/v1/data/erasure-request";

    let none = api(&app, &fay, Method::GET, request).expect(200).await;
    assert_eq!(none.json["status"], "none", "{}", none.text);
    assert!(none.json["id"].is_null());

    // Asked on the page: htmx back to it, which shows the request open and no second button.
    let asked = form(&app, &fay, &format!("{data}/erasure-request"), &[]).await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    let back = asked.header("hx-redirect").unwrap().to_owned();
    assert_eq!(back, format!("{data}?done=requested"));
    let shown = page(&app, &fay, &back).await;
    assert!(
        shown.text.contains("Your request is recorded"),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("data-erasure=\"open\""),
        "{}",
        shown.text
    );
    assert!(
        !shown.text.contains("Ask to delete my data"),
        "{}",
        shown.text
    );

    // Asked again (page and API): the same open request, 200, nothing new.
    form(&app, &fay, &format!("{data}/erasure-request"), &[]).await;
    let open = api(&app, &fay, Method::POST, request).expect(200).await;
    assert_eq!(open.json["status"], "open", "{}", open.text);
    let id = open.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        open.json["due_at"].as_i64().unwrap() - open.json["requested_at"].as_i64().unwrap(),
        30 * 24 * 3600 * 1000
    );
    assert!(!open.text.contains("decided_by"), "{}", open.text);
    let read = api(&app, &fay, Method::GET, request).expect(200).await;
    assert_eq!(read.json["id"], id.as_str());

    // Staff see one request, from the portal, in their queue; none for Gus.
    let queued = staff_requests(&app, &ws, &fay_id).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["id"], id.as_str());
    assert_eq!(queued[0]["source"], "portal");
    assert_eq!(queued[0]["status"], "open");
    assert!(staff_requests(&app, &ws, &gus_id).await.is_empty());
    let filed = audited(&app, &ws, "erasure_request.filed").await;
    let filed: Vec<&Value> = filed
        .iter()
        .filter(|e| e["entity_id"] == fay_id.as_str())
        .collect();
    assert_eq!(filed.len(), 1, "audited once: {filed:?}");
    assert_eq!(filed[0]["actor_type"], "contact");
    assert_eq!(filed[0]["actor_id"], fay_id.as_str());

    // Staff decline it, saying why: Fay sees it declined with the reason, and may ask again.
    app.post(&format!("/api/v1/privacy/erasure-requests/{id}/reject"))
        .key(&ws.admin_key)
        .json(&json!({"reason": "an invoice of yours is still open"}))
        .expect(200)
        .await;
    let declined = api(&app, &fay, Method::GET, request).expect(200).await;
    assert_eq!(declined.json["status"], "rejected", "{}", declined.text);
    assert_eq!(declined.json["reason"], "an invoice of yours is still open");
    assert!(declined.json["decided_at"].is_i64());
    let shown = page(&app, &fay, &data).await;
    assert!(
        shown.text.contains("data-erasure=\"rejected\""),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("an invoice of yours is still open"),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("Ask to delete my data"),
        "{}",
        shown.text
    );
    let anew = api(&app, &fay, Method::POST, request).expect(201).await;
    assert_eq!(anew.json["status"], "open");
    assert_ne!(anew.json["id"], id.as_str());
    assert_eq!(staff_requests(&app, &ws, &fay_id).await.len(), 2);
}

/// The call with this CSRF token, or none.
fn with<'a>(call: Call<'a>, token: Option<&str>) -> Call<'a> {
    match token {
        Some(t) => call.header("x-csrf-token", t),
        None => call,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_without_the_csrf_token_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-privacy-csrf").await;
    let hal_email = email("hal");
    let (hal_id, hal) = portal_customer(&app, &ws, "Hal", &hal_email).await;
    let (_, ida) = portal_customer(&app, &ws, "Ida", &email("ida")).await;
    let slug = &ws.slug;
    let mails_before = mails_to(&app, &hal_email).await.len();

    for token in [None, Some(ida.csrf.as_str()), Some("not-a-token")] {
        for (m, path, body) in [
            (
                Method::PATCH,
                "/api/portal/v1/preferences",
                json!({"channels": {"email": {"status": "granted"}}}),
            ),
            (
                Method::PUT,
                "/api/portal/v1/preferences",
                json!({"channels": {"email": {"status": "granted"}, "sms": {"status": "granted"},
                       "whatsapp": {"status": "granted"}, "phone": {"status": "granted"},
                       "postal": {"status": "granted"}}}),
            ),
            (Method::POST, "/api/portal/v1/data/export", json!({})),
            (
                Method::POST,
                "/api/portal/v1/data/erasure-request",
                json!({}),
            ),
        ] {
            with(
                app.call(m.clone(), path)
                    .header("cookie", &hal.cookie)
                    .json(&body),
                token,
            )
            .expect(403)
            .await
            .problem("HF-AUTH-007");
        }
        for (path, body) in [
            (format!("/portal/{slug}/preferences"), "email=granted"),
            (
                format!("/portal/{slug}/preferences"),
                "action=unsubscribe_all",
            ),
            (format!("/portal/{slug}/data/export"), ""),
            (format!("/portal/{slug}/data/erasure-request"), ""),
        ] {
            let r = with(
                app.browser(Method::POST, &path)
                    .header("cookie", &hal.cookie)
                    .body("application/x-www-form-urlencoded", body),
                token,
            )
            .send()
            .await;
            assert_eq!(r.status, 403, "{path}: {}", r.text);
            assert!(
                r.text.contains("<!doctype html>"),
                "a page refuses as a page"
            );
        }
    }
    // From a page of another site, even with the token: refused.
    app.patch("/api/portal/v1/preferences")
        .header("cookie", &hal.cookie)
        .header("x-csrf-token", &hal.csrf)
        .header("origin", "https://evil.example.com")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"channels": {"email": {"status": "granted"}}}))
        .expect(403)
        .await
        .problem("HF-AUTH-007");

    // Nothing was written, queued or filed.
    assert!(staff_log(&app, &ws, &hal_id).await.is_empty());
    assert_eq!(data_links_queued(&app, &ws, &hal_id).await, 0);
    assert!(staff_requests(&app, &ws, &hal_id).await.is_empty());
    assert_eq!(mails_to(&app, &hal_email).await.len(), mails_before);
}
