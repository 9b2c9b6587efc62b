//! The console's pages over HTTP, as a browser without JavaScript meets them: the front door
//! and sign-in, the inbox and a ticket, their refusals (no session, another workspace, a role
//! or a module that does not reach them), and the rules every page keeps (the console's
//! Content-Security-Policy; no action without the session's CSRF token). The browser test
//! (`console_browser.rs`) drives the same pages in Chromium.

use crate::ticket_id;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_http::Guard;
use holdfast_http::route_table;
use holdfast_testkit::{Console, Method, OWNER_PASSWORD, TestApp, Workspace};
use serde_json::{Value, json};

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// Signs the owner in through the sign-in form; returns the console session.
pub(crate) async fn sign_in(app: &TestApp, ws: &Workspace) -> Console {
    let r = app
        .browser(Method::POST, "/sign-in")
        .header("origin", &app.base)
        .body(
            FORM,
            form(&[
                ("email", &ws.owner_email),
                ("password", OWNER_PASSWORD),
                ("workspace", &ws.slug),
                ("next", ""),
            ]),
        )
        .expect(303)
        .await;
    assert_eq!(r.header("location"), Some("/"));
    let session_cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.contains("hf_session="))
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .expect("a session cookie");
    // The CSRF token is on every signed-in page.
    let page = app
        .browser(Method::GET, "/app/inbox")
        .header("cookie", &session_cookie)
        .expect(200)
        .await;
    let csrf_token = between(&page.text, "<meta name=\"csrf-token\" content=\"", "\"");
    Console {
        session_cookie,
        csrf_token,
        session_id: String::new(),
    }
}

pub(crate) fn between(text: &str, start: &str, end: &str) -> String {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {text}"))
        + start.len();
    text[at..][..text[at..].find(end).unwrap()].to_owned()
}

pub(crate) fn assert_page(r: &holdfast_testkit::Resp) {
    assert_eq!(
        r.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{}",
        r.text
    );
    assert_eq!(
        r.header("content-security-policy"),
        Some(holdfast_http::console::CSP)
    );
    assert!(r.text.starts_with("<!doctype html>"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_is_sent_to_sign_in_and_comes_back_after() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("front-door").await;
    let r = app.browser(Method::GET, "/").expect(303).await;
    assert_eq!(r.header("location"), Some("/sign-in"));
    let r = app.browser(Method::GET, "/app/inbox").expect(303).await;
    assert_eq!(r.header("location"), Some("/sign-in?next=/app/inbox"));
    let r = app
        .browser(Method::GET, "/sign-in?next=/app/inbox")
        .expect(200)
        .await;
    assert_page(&r);
    assert!(
        r.text
            .contains("<form method=\"post\" action=\"/sign-in\">")
    );
    assert!(r.text.contains("name=\"next\" value=\"/app/inbox\""));
    // Only a console page is a place to come back to.
    for (next, lands) in [
        ("/app/tickets/tk_1", "/app/tickets/tk_1"),
        ("//evil.example/app/", "/"),
        ("https://evil.example/app/", "/"),
        ("/api/v1/contacts", "/"),
    ] {
        let r = app
            .browser(Method::POST, "/sign-in")
            .header("origin", &app.base)
            .body(
                FORM,
                form(&[
                    ("email", &ws.owner_email),
                    ("password", OWNER_PASSWORD),
                    ("workspace", &ws.slug),
                    ("next", next),
                ]),
            )
            .expect(303)
            .await;
        assert_eq!(r.header("location"), Some(lands), "next={next}");
    }
}

/// `/` leads each person to the first section they may open: the inbox, a technician's jobs,
/// the contacts when the help desk is off, their own settings when their role reads neither
/// tickets nor contacts.
#[tokio::test(flavor = "multi_thread")]
async fn the_front_door_leads_to_the_first_section_the_person_may_open() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("front-door-home").await;
    let owner = sign_in(&app, &ws).await;
    let home = |console: Console| {
        let app = &app;
        async move {
            app.browser(Method::GET, "/")
                .cookie(&console)
                .expect(303)
                .await
                .header("location")
                .map(str::to_owned)
        }
    };
    assert_eq!(home(owner.clone()).await.as_deref(), Some("/app/inbox"));
    // A technician reads jobs but not tickets: their jobs.
    let technician =
        crate::pages_settings::member_console(&app, &ws, "tech@example.com", "technician").await;
    assert_eq!(home(technician).await.as_deref(), Some("/app/jobs"));
    // A role that reads neither (it only writes tickets): its own settings.
    let role = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "Writes only", "permissions": ["tickets.write"]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let writer = crate::pages_settings::member_console(&app, &ws, "w@example.com", &role).await;
    assert_eq!(home(writer).await.as_deref(), Some("/app/settings"));
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm"]}))
        .expect(200)
        .await;
    let to = home(owner.clone()).await;
    assert_eq!(to.as_deref(), Some("/app/contacts"));
    // Where it leads opens, and the inbox it no longer leads to is not there.
    app.browser(Method::GET, "/app/contacts")
        .cookie(&owner)
        .expect(200)
        .await;
    app.browser(Method::GET, "/app/inbox")
        .cookie(&owner)
        .expect(404)
        .await;
    // An API key has no console: the front door is a person's.
    app.browser(Method::GET, "/")
        .key(&ws.admin_key)
        .expect(403)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sign_in_form_refuses_wrong_details_and_other_sites() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("sign-in-form").await;
    let wrong = app
        .browser(Method::POST, "/sign-in")
        .header("origin", &app.base)
        .body(
            FORM,
            form(&[
                ("email", &ws.owner_email),
                ("password", "not the password at all"),
                ("workspace", &ws.slug),
            ]),
        )
        .expect(401)
        .await;
    assert_page(&wrong);
    assert!(wrong.text.contains("is not right"), "{}", wrong.text);
    assert!(wrong.set_cookies().is_empty());
    // The address typed stays in the form, escaped.
    assert!(
        wrong
            .text
            .contains(&format!("value=\"{}\"", ws.owner_email))
    );
    let cross = app
        .browser(Method::POST, "/sign-in")
        .header("origin", "https://evil.example")
        .body(
            FORM,
            form(&[
                ("email", &ws.owner_email),
                ("password", OWNER_PASSWORD),
                ("workspace", &ws.slug),
            ]),
        )
        .expect(403)
        .await;
    assert_page(&cross);
    assert!(cross.set_cookies().is_empty());
    let not_a_form = app
        .browser(Method::POST, "/sign-in")
        .header("origin", &app.base)
        .json(&json!({"email": ws.owner_email}))
        .expect(415)
        .await;
    assert_page(&not_a_form);
    let missing_field = app
        .browser(Method::POST, "/sign-in")
        .header("origin", &app.base)
        .body(FORM, form(&[("email", &ws.owner_email)]))
        .expect(422)
        .await;
    assert_page(&missing_field);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_with_an_authenticator_is_asked_for_its_code() {
    let (app, clock) = TestApp::spawn_on_clock(Default::default(), 2_208_988_800_000).await;
    let ws = app.workspace("sign-in-2fa").await;
    let (secret, _, _) = crate::two_factor::enrol(&app, &clock, &ws).await;
    let fields = |code: &str| {
        form(&[
            ("email", &ws.owner_email),
            ("password", OWNER_PASSWORD),
            ("workspace", &ws.slug),
            ("totp_code", code),
        ])
    };
    let asked = app
        .browser(Method::POST, "/sign-in")
        .header("origin", &app.base)
        .body(FORM, fields(""))
        .expect(401)
        .await;
    assert!(asked.text.contains("name=\"totp_code\""), "{}", asked.text);
    assert!(asked.set_cookies().is_empty());
    let wrong = app
        .browser(Method::POST, "/sign-in")
        .header("origin", &app.base)
        .body(FORM, fields("000000"))
        .expect(401)
        .await;
    assert!(wrong.text.contains("name=\"totp_code\""));
    let right = app
        .browser(Method::POST, "/sign-in")
        .header("origin", &app.base)
        .body(FORM, fields(&crate::two_factor::code(&secret, &clock)))
        .expect(303)
        .await;
    assert!(
        right
            .set_cookies()
            .iter()
            .any(|c| c.contains("hf_session="))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_lists_tickets_escaped_filtered_and_in_pages() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inbox-page").await;
    let console = sign_in(&app, &ws).await;
    let xss = "<script>alert(1)</script> \"quoted\" <img src=x onerror=alert(2)>";
    ticket_id(
        &app,
        &ws,
        json!({"subject": xss, "contact": {"email": "ada@example.com"}, "message": "Hello", "tags": ["billing"]}),
    )
    .await;
    for n in 0..52 {
        ticket_id(
            &app,
            &ws,
            json!({"subject": format!("Routine {n:02}"), "contact": {"email": "bob@example.com"}, "message": "Hi"}),
        )
        .await;
    }
    let first = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&first);
    assert!(
        !first.text.contains("<script>alert(1)"),
        "unescaped subject"
    );
    assert!(!first.text.contains("<img src=x"), "unescaped subject");
    // Newest first: the last ticket opened heads the list; 50 rows and a link to the rest.
    assert!(first.text.find("Routine 51").unwrap() < first.text.find("Routine 50").unwrap());
    assert_eq!(first.text.matches("<tr data-row>").count(), 50);
    let older = between(&first.text, "<p class=\"pager\"><a href=\"", "\"").replace("&#38;", "&");
    let rest = app
        .browser(Method::GET, &older)
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rest.text.matches("<tr data-row>").count(), 3);
    assert!(
        rest.text
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );
    assert!(!rest.text.contains("class=\"pager\""));
    // Filters: by tag, by words, by status.
    let billing = app
        .browser(Method::GET, "/app/inbox?tag=billing")
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(billing.text.matches("<tr data-row>").count(), 1);
    let words = app
        .browser(Method::GET, "/app/inbox?q=routine+07")
        .cookie(&console)
        .expect(200)
        .await;
    assert!(words.text.contains("Routine 07"));
    let closed = app
        .browser(Method::GET, "/app/inbox?status=closed")
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(closed.text.matches("<tr data-row>").count(), 0);
    assert!(closed.text.contains("No tickets match"));
    let bad = app
        .browser(Method::GET, "/app/inbox?status=maybe")
        .cookie(&console)
        .expect(422)
        .await;
    assert_page(&bad);
    assert!(bad.text.contains("status"), "{}", bad.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_page_shows_the_conversation_and_takes_replies_notes_and_a_close() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("ticket-page").await;
    let console = sign_in(&app, &ws).await;
    let id = ticket_id(
        &app,
        &ws,
        json!({"subject": "Leaking tap", "contact": {"email": "ada@example.com"}, "message": "The tap <b>drips</b>."}),
    )
    .await;
    let page = app
        .browser(Method::GET, &format!("/app/tickets/{id}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&page);
    assert!(
        page.text.contains("The tap &#60;b&#62;drips&#60;/b&#62;."),
        "{}",
        page.text
    );
    assert!(page.text.contains("class=\"message inbound\""));
    // A reply, as htmx sends it: the conversation comes back with the reply and its status.
    let reply = app
        .browser(Method::POST, &format!("/app/tickets/{id}/messages"))
        .console(&console)
        .header("hx-request", "true")
        .body(
            FORM,
            form(&[("kind", "reply"), ("body", "A plumber comes today.")]),
        )
        .expect(200)
        .await;
    assert!(
        reply.text.starts_with("<div id=\"conversation\""),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("A plumber comes today."));
    assert!(reply.text.contains("Delivery: queued"));
    // A note, as a plain form sends it: back to the ticket.
    let note = app
        .browser(Method::POST, &format!("/app/tickets/{id}/messages"))
        .console(&console)
        .body(
            FORM,
            form(&[("kind", "note"), ("body", "Call before noon.")]),
        )
        .expect(303)
        .await;
    assert_eq!(
        note.header("location"),
        Some(format!("/app/tickets/{id}").as_str())
    );
    let thread = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let kinds: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["inbound", "reply", "note"]);
    // Bad input: a page that says why, nothing added.
    for (fields, status) in [
        (form(&[("kind", "shout"), ("body", "x")]), 422),
        (form(&[("kind", "reply"), ("body", "")]), 422),
        (form(&[("kind", "reply")]), 422),
    ] {
        let r = app
            .browser(Method::POST, &format!("/app/tickets/{id}/messages"))
            .console(&console)
            .body(FORM, fields)
            .expect(status)
            .await;
        assert_page(&r);
    }
    let closed = app
        .browser(Method::POST, &format!("/app/tickets/{id}/status"))
        .console(&console)
        .body(FORM, form(&[("status", "closed")]))
        .expect(303)
        .await;
    assert_eq!(
        closed.header("location"),
        Some(format!("/app/tickets/{id}").as_str())
    );
    let after = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(after["messages"].as_array().unwrap().len(), 3);
    assert_eq!(after["status"], "closed", "{after}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_refuse_other_workspaces_roles_and_modules_off() {
    let app = TestApp::spawn().await;
    let a = app.workspace("pages-a").await;
    let b = app.workspace("pages-b").await;
    let console = sign_in(&app, &a).await;
    let theirs = ticket_id(
        &app,
        &b,
        json!({"subject": "B's secret", "contact": {"email": "b@example.com"}, "message": "Private"}),
    )
    .await;
    let r = app
        .browser(Method::GET, &format!("/app/tickets/{theirs}"))
        .cookie(&console)
        .expect(404)
        .await;
    assert_page(&r);
    assert!(!r.text.contains("B's secret"));
    app.browser(Method::GET, "/app/tickets/not-an-id")
        .cookie(&console)
        .expect(404)
        .await;
    let r = app
        .browser(Method::POST, &format!("/app/tickets/{theirs}/messages"))
        .console(&console)
        .body(FORM, form(&[("kind", "reply"), ("body", "Hello B")]))
        .expect(404)
        .await;
    assert_page(&r);
    // A role without tickets.read (a technician's key) is refused the inbox.
    let technician = app.key(&a.slug, BuiltinRole::Technician).await;
    let r = app
        .browser(Method::GET, "/app/inbox")
        .key(&technician)
        .expect(403)
        .await;
    assert_page(&r);
    // The help desk off: its pages are not there.
    app.patch("/api/v1/modules")
        .key(&a.admin_key)
        .json(&json!({"enabled": ["crm"]}))
        .expect(200)
        .await;
    let r = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(404)
        .await;
    assert_page(&r);
}

/// Real ids of the sweep's workspace, one per kind of record a page names.
struct PageIds {
    /// The workspace's slug, for its client portal's pages.
    slug: String,
    /// A request of the portal's customer, for the portal's pages.
    portal_ticket: String,
    ticket: String,
    role: String,
    endpoint: String,
    contact: String,
    company: String,
    import: String,
    job: String,
    invoice: String,
    /// The portal customer's own job and issued invoice, for the portal's pages.
    portal_job: String,
    portal_invoice: String,
    /// Live tokens by the page path they open (a reset link, an invitation).
    tokens: Vec<(&'static str, String)>,
}

/// The path of a page route with its parameters filled by real ids of their kinds.
fn page_path(spec: &holdfast_http::table::RouteSpec, ids: &PageIds) -> String {
    let mut path = spec.path.to_owned();
    for param in spec.path_params() {
        let id = if spec.path.starts_with("/portal/") {
            // The portal customer's own records.
            match spec.resource_of(param) {
                "jobs" => &ids.portal_job,
                "invoices" => &ids.portal_invoice,
                _ => &ids.portal_ticket,
            }
        } else if spec.path.starts_with("/app/settings/roles/") {
            &ids.role
        } else if spec.path.starts_with("/app/settings/webhooks/") {
            &ids.endpoint
        } else {
            match spec.resource_of(param) {
                "contacts" => &ids.contact,
                "companies" => &ids.company,
                "imports" => &ids.import,
                "jobs" => &ids.job,
                "invoices" => &ids.invoice,
                _ => &ids.ticket,
            }
        };
        if param == "workspace_slug" {
            path = path.replace("{workspace_slug}", &ids.slug);
            continue;
        }
        if param == "tag" {
            // A tag of the API's documentation.
            path = path.replace("{tag}", "tickets");
            continue;
        }
        if param == "token" {
            let token = ids
                .tokens
                .iter()
                .find(|(prefix, _)| spec.path.starts_with(prefix))
                .map_or("{token}", |(_, token)| token.as_str());
            path = path.replace("{token}", token);
            continue;
        }
        path = path.replace(&format!("{{{param}}}"), id);
    }
    path
}

/// A live reset token of the owner's, and a pending invitation's token.
async fn live_tokens(app: &TestApp, ws: &Workspace) -> (String, String) {
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": ws.owner_email}))
        .expect(202)
        .await;
    let reset = holdfast_testkit::find_token(&app.outbox_mail(&ws.owner_email).await, "hfp");
    let invitee = format!("sweep@{}.example.com", ws.slug);
    app.post("/api/v1/invitations")
        .key(&ws.admin_key)
        .json(&json!({"email": invitee, "role": "viewer"}))
        .expect(201)
        .await;
    let invitation = holdfast_testkit::find_token(&app.outbox_mail(&invitee).await, "hfi");
    (reset, invitation)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_carries_the_console_policy_and_every_action_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("page-sweep").await;
    let console = sign_in(&app, &ws).await;
    // The portal's brand, so its logo and stylesheet answer too.
    app.call(Method::PUT, "/api/v1/portal/branding")
        .key(&ws.admin_key)
        .json(&json!({"colour": "#0b5cad"}))
        .expect(200)
        .await;
    let (logo_type, logo) = crate::job_files::png_form();
    app.call(Method::PUT, "/api/v1/portal/branding/logo")
        .key(&ws.admin_key)
        .body(&logo_type, logo)
        .expect(200)
        .await;
    let ticket = crate::ticket(
        &app,
        &ws,
        json!({"subject": "Sweep", "contact": {"email": "c@example.com"}, "message": "Hi"}),
    )
    .await;
    let id = ticket["id"].as_str().unwrap().to_owned();
    let created = |r: holdfast_testkit::Resp| r.json["id"].as_str().unwrap().to_owned();
    let role = created(
        app.post("/api/v1/roles")
            .key(&ws.admin_key)
            .json(&json!({"name": "Sweep role", "permissions": ["contacts.read"]}))
            .expect(201)
            .await,
    );
    let company = created(
        app.post("/api/v1/companies")
            .key(&ws.admin_key)
            .json(&json!({"name": "Sweep Co"}))
            .expect(201)
            .await,
    );
    let endpoint = created(
        app.post("/api/v1/webhooks")
            .key(&ws.admin_key)
            .json(&json!({"url": "https://hooks.example.com/sweep", "event_types": ["contact.created"]}))
            .expect(201)
            .await,
    );
    let import = created(
        app.post("/api/v1/contacts/imports")
            .key(&ws.admin_key)
            .body("text/csv", "name,email\nSwept,swept@example.com\n")
            .expect(202)
            .await,
    );
    let (reset, invitation) = live_tokens(&app, &ws).await;
    // A job's public page for its customer.
    let job = created(
        app.post("/api/v1/jobs")
            .key(&ws.admin_key)
            .json(&json!({"contact_id": ticket["contact_id"], "title": "Sweep visit"}))
            .expect(201)
            .await,
    );
    let job_link = app
        .post(&format!("/api/v1/jobs/{job}/public-link"))
        .key(&ws.admin_key)
        .expect(201)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // An invoice's public page for its customer.
    let invoice = created(
        app.post("/api/v1/invoices")
            .key(&ws.admin_key)
            .json(&json!({"contact_id": ticket["contact_id"],
                          "lines": [{"description": "Sweep visit", "quantity": "1", "unit_price": "10"}]}))
            .expect(201)
            .await,
    );
    app.post(&format!("/api/v1/invoices/{invoice}/issue"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(200)
        .await;
    let invoice_link = app
        .post(&format!("/api/v1/invoices/{invoice}/public-link"))
        .key(&ws.admin_key)
        .expect(201)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A customer of the client portal, signed in, and a live sign-in link of theirs.
    let (customer_id, customer) =
        crate::portal_customer(&app, &ws, "Sweep customer", "sweep-customer@example.com").await;
    let portal_job = crate::portal_billing::job_for(&app, &ws, &customer_id, "Portal visit").await;
    let portal_invoice =
        crate::portal_billing::issued_for(&app, &ws, &customer_id, "Portal work").await;
    let portal_link = crate::portal_link(&app, &ws, "sweep-customer@example.com").await;
    let portal_token = portal_link.rsplit('/').next().unwrap().to_owned();
    // And a live password reset link of theirs.
    let before = crate::mails_to(&app, "sweep-customer@example.com")
        .await
        .len();
    app.post("/api/portal/v1/auth/password-reset")
        .json(&json!({"workspace": ws.slug, "email": "sweep-customer@example.com"}))
        .expect(202)
        .await;
    let reset_mail = crate::new_mail_to(&app, "sweep-customer@example.com", before).await;
    let password_reset = holdfast_testkit::find_token(&reset_mail, "hfpw");
    let portal_ticket = crate::ticket(
        &app,
        &ws,
        json!({"subject": "Sweep request", "contact": {"email": "sweep-customer@example.com"}, "message": "Hi"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = PageIds {
        slug: ws.slug.clone(),
        portal_ticket: portal_ticket.clone(),
        ticket: id.clone(),
        role,
        endpoint,
        contact: ticket["contact_id"].as_str().unwrap().to_owned(),
        company,
        import,
        job: job.clone(),
        invoice: invoice.clone(),
        portal_job,
        portal_invoice,
        tokens: vec![
            ("/reset/", reset),
            ("/invite/", invitation),
            ("/p/jobs/", job_link),
            ("/p/invoices/", invoice_link),
            ("/portal/{workspace_slug}/password-reset/", password_reset),
            ("/portal/", portal_token),
        ],
    };
    let table = route_table();
    let pages: Vec<_> = table.specs().filter(|s| s.doc.page).collect();
    assert!(
        pages.len() >= 8,
        "the sweep sees the pages ({})",
        pages.len()
    );
    let mut checked = 0;
    for spec in &pages {
        let path = page_path(spec, &ids);
        if spec.method == Method::GET {
            if spec.path.starts_with("/assets/") {
                continue;
            }
            // A portal page as its signed-in customer sees it; every other as staff.
            let r = if spec.guard == Guard::Portal {
                app.browser(Method::GET, &path)
                    .header("cookie", &customer.cookie)
                    .send()
                    .await
            } else {
                app.browser(Method::GET, &path)
                    .cookie(&console)
                    .send()
                    .await
            };
            // The first run's page opens nothing once a workspace exists (`pages_setup.rs`);
            // single sign-on's pages are not there without a provider (`pages_sso.rs`).
            let answers: &[u16] =
                if ["/setup/{token}", "/sign-in/sso", "/sign-in/confirm"].contains(&spec.path) {
                    &[404]
                } else if spec.guard == Guard::Portal {
                    &[200]
                } else {
                    &[200, 303]
                };
            assert!(
                answers.contains(&r.status),
                "GET {path}: {} {}",
                r.status,
                r.text
            );
            // Whole pages and the fragments live updates fetch carry the same headers; a file
            // (an invoice's PDF, the portal's logo and stylesheet) carries a policy that
            // allows nothing.
            let file = ["application/pdf", "image/png", "text/css"]
                .iter()
                .any(|t| r.header("content-type").is_some_and(|c| c.starts_with(t)));
            if file {
                assert!(
                    r.header("content-security-policy")
                        .is_some_and(|p| p.contains("default-src 'none'")),
                    "GET {path}"
                );
            } else if r.status != 303 {
                assert_eq!(
                    r.header("content-security-policy"),
                    Some(holdfast_http::console::CSP),
                    "GET {path}"
                );
            }
            assert_eq!(r.header("x-frame-options"), Some("DENY"), "GET {path}");
            checked += 1;
        } else if !spec.guard.is_public() {
            assert!(
                matches!(
                    spec.guard,
                    Guard::Staff { .. } | Guard::StaffStepUp { .. } | Guard::User | Guard::Portal
                ),
                "{} {path}: a console action is a signed-in user's (or a portal customer's)",
                spec.method
            );
            let signed_in = if spec.guard == Guard::Portal {
                app.browser(spec.method.clone(), &path)
                    .header("cookie", &customer.cookie)
            } else {
                app.browser(spec.method.clone(), &path).cookie(&console)
            };
            let r = signed_in
                .body(
                    FORM,
                    form(&[("kind", "note"), ("body", "x"), ("status", "open")]),
                )
                .send()
                .await;
            assert_eq!(
                r.status, 403,
                "{} {path} without the token: {}",
                spec.method, r.text
            );
            assert_page(&r);
            checked += 1;
        }
    }
    assert!(checked >= 5, "checked {checked}");
    // Nothing was added by the refused actions.
    let thread: Value = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1);
    assert_eq!(thread["status"], "open");
    let request: Value = app
        .get(&format!("/api/v1/tickets/{portal_ticket}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(request["messages"].as_array().unwrap().len(), 1);
    let opened = app
        .get("/api/v1/tickets?limit=200")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(
        opened["data"].as_array().unwrap().len(),
        2,
        "no request was opened by a refused form"
    );
    // The static files: the script library and the console's own, never inline.
    for asset in [
        "/assets/htmx.min.js",
        "/assets/console.js",
        "/assets/console.css",
    ] {
        let r = app.browser(Method::GET, asset).expect(200).await;
        assert!(r.header("cache-control").unwrap().contains("max-age"));
    }
    let htmx = app
        .browser(Method::GET, "/assets/htmx.min.js")
        .expect(200)
        .await;
    assert!(htmx.text.starts_with("var htmx=function()"));
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("sign-out").await;
    let console = sign_in(&app, &ws).await;
    app.browser(Method::POST, "/sign-out")
        .cookie(&console)
        .expect(403)
        .await;
    let r = app
        .browser(Method::POST, "/sign-out")
        .console(&console)
        .expect(303)
        .await;
    assert_eq!(r.header("location"), Some("/sign-in"));
    assert!(
        r.set_cookies()
            .iter()
            .any(|c| c.starts_with("hf_session=;") || c.contains("hf_session=;"))
    );
    let r = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(303)
        .await;
    assert_eq!(r.header("location"), Some("/sign-in?next=/app/inbox"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_light_and_compressed_for_browsers_that_ask() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("page-weight").await;
    let console = sign_in(&app, &ws).await;
    for n in 0..50 {
        ticket_id(
            &app,
            &ws,
            json!({"subject": format!("A customer question number {n}"), "contact": {"email": "w@example.com"}, "message": "Hi", "tags": ["billing", "urgent"]}),
        )
        .await;
    }
    // A full inbox page with its stylesheet and script (htmx aside) stays under 100 KB.
    let inbox = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(200)
        .await;
    let css = app
        .browser(Method::GET, "/assets/console.css")
        .expect(200)
        .await;
    let js = app
        .browser(Method::GET, "/assets/console.js")
        .expect(200)
        .await;
    let weight = inbox.text.len() + css.text.len() + js.text.len();
    assert!(weight < 100 * 1024, "the inbox weighs {weight} bytes");
    // Asked for gzip or brotli, pages and assets come compressed, and smaller.
    for (encoding, path) in [
        ("gzip", "/app/inbox"),
        ("br", "/app/inbox"),
        ("gzip", "/assets/htmx.min.js"),
        ("br", "/assets/console.css"),
    ] {
        let r = app
            .browser(Method::GET, path)
            .cookie(&console)
            .header("accept-encoding", encoding)
            .expect(200)
            .await;
        assert_eq!(r.header("content-encoding"), Some(encoding), "{path}");
        let plain = app
            .browser(Method::GET, path)
            .cookie(&console)
            .expect(200)
            .await;
        assert!(plain.header("content-encoding").is_none());
        let compressed = app
            .http
            .get(format!("{}{path}", app.base))
            .header("cookie", &console.session_cookie)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len();
        assert!(
            compressed < plain.text.len() / 2,
            "{path} {encoding}: {compressed} of {}",
            plain.text.len()
        );
    }
    // The live event stream is never buffered by compression.
    let stream = app
        .get("/api/v1/events")
        .cookie(&console)
        .header("accept-encoding", "gzip")
        .expect(200)
        .await;
    assert!(stream.header("content-encoding").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_page_changes_details_offers_saved_replies_and_shows_contact_and_timeline() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("ticket-details").await;
    let console = sign_in(&app, &ws).await;
    let id = ticket_id(
        &app,
        &ws,
        json!({"subject": "Boiler", "contact": {"email": "ada@example.com", "name": "Ada Lovelace"}, "message": "Cold."}),
    )
    .await;
    let saved = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Greeting", "body": "Hi {{contact.name|there}}, about {{ticket.subject}}:"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = app
        .browser(Method::GET, &format!("/app/tickets/{id}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(page.text.contains("ada@example.com"), "the contact panel");
    assert!(page.text.contains("Ada Lovelace"));
    assert!(
        page.text
            .contains(&format!("<option value=\"{saved}\">Greeting</option>"))
    );
    assert!(page.text.contains(&format!("<option value=\"{owner}\"")));
    // The saved reply, filled in for this ticket, replaces the reply box.
    let filled = app
        .browser(
            Method::GET,
            &format!("/app/tickets/{id}/saved-reply?saved={saved}"),
        )
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        filled.text.starts_with("<textarea id=\"message-body\""),
        "{}",
        filled.text
    );
    assert!(
        filled.text.contains("Hi Ada Lovelace, about Boiler:"),
        "{}",
        filled.text
    );
    app.browser(
        Method::GET,
        &format!("/app/tickets/{id}/saved-reply?saved=sr_nope"),
    )
    .cookie(&console)
    .expect(404)
    .await;
    // Status, priority, assignee and tags in one form.
    let fields = form(&[
        ("status", "pending"),
        ("priority", "urgent"),
        ("assignee", &owner),
        ("tags", "heating, Winter "),
    ]);
    app.browser(Method::POST, &format!("/app/tickets/{id}/details"))
        .console(&console)
        .body(FORM, fields)
        .expect(303)
        .await;
    let after = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(after["status"], "pending");
    assert_eq!(after["priority"], "urgent");
    assert_eq!(after["assignee"], owner.as_str());
    assert_eq!(after["tags"], json!(["heating", "winter"]));
    // A stranger as assignee or a bad priority: a page that says so, nothing changed.
    for fields in [
        form(&[
            ("status", "open"),
            ("priority", "urgent"),
            ("assignee", "usr_00000000000000000000000000000000"),
            ("tags", ""),
        ]),
        form(&[
            ("status", "open"),
            ("priority", "whenever"),
            ("assignee", ""),
            ("tags", ""),
        ]),
    ] {
        let r = app
            .browser(Method::POST, &format!("/app/tickets/{id}/details"))
            .console(&console)
            .body(FORM, fields)
            .expect(422)
            .await;
        assert_page(&r);
    }
    let still = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(still["status"], "pending");
    // The timeline tells what happened.
    let page = app
        .browser(Method::GET, &format!("/app/tickets/{id}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        page.text.contains("status: open → pending"),
        "{}",
        page.text
    );
    assert!(page.text.contains("priority: normal → urgent"));
    // A role that hides contact emails sees the panel without the address.
    let hidden = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "No emails", "permissions": ["tickets.read", "contacts.read"], "fields": {"contacts.email": "hidden"}}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (key, _) = crate::key_with_role(&app, &ws, &hidden).await;
    let page = app
        .browser(Method::GET, &format!("/app/tickets/{id}"))
        .key(&key)
        .expect(200)
        .await;
    assert!(page.text.contains("Ada Lovelace"));
    assert!(
        !page.text.contains("ada@example.com"),
        "a hidden field on the page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_changes_ticked_tickets_at_once_and_shows_the_unassigned() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("inbox-bulk").await;
    let console = sign_in(&app, &ws).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            ticket_id(
                &app,
                &ws,
                json!({"subject": format!("Bulk {n}"), "contact": {"email": "b@example.com"}, "message": "Hi"}),
            )
            .await,
        );
    }
    let unassigned = app
        .browser(Method::GET, "/app/inbox?view=unassigned")
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(unassigned.text.matches("<tr data-row>").count(), 3);
    assert!(unassigned.text.contains("name=\"ids\""));
    // Tick two: close them, take them, tag them; come back to the same view.
    let fields = form(&[
        ("ids", &ids[0]),
        ("ids", &ids[1]),
        ("status", "closed"),
        ("assignee", "me"),
        ("add_tag", "Done"),
        ("back", "/app/inbox?view=unassigned"),
    ]);
    let r = app
        .browser(Method::POST, "/app/inbox/bulk")
        .console(&console)
        .body(FORM, fields)
        .expect(303)
        .await;
    assert_eq!(r.header("location"), Some("/app/inbox?view=unassigned"));
    for (n, id) in ids.iter().enumerate() {
        let t = app
            .get(&format!("/api/v1/tickets/{id}"))
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json;
        if n < 2 {
            assert_eq!(t["status"], "closed");
            assert!(t["assignee"].as_str().unwrap().starts_with("usr_"));
            assert_eq!(t["tags"], json!(["done"]));
        } else {
            assert_eq!(t["status"], "open");
            assert!(t["assignee"].is_null());
        }
    }
    let left = app
        .browser(Method::GET, "/app/inbox?view=unassigned")
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(left.text.matches("<tr data-row>").count(), 1);
    let mine = app
        .browser(Method::GET, "/app/inbox?view=mine")
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(mine.text.matches("<tr data-row>").count(), 2);
    // Nothing ticked, a stranger's id, a bad status: a page saying why, nothing changed.
    for fields in [
        form(&[("status", "closed")]),
        form(&[
            ("ids", &ids[2]),
            ("ids", "tk_00000000000000000000000000000000"),
            ("status", "closed"),
        ]),
        form(&[("ids", &ids[2]), ("status", "gone")]),
        form(&[("ids", &ids[2]), ("assignee", "someone")]),
    ] {
        let r = app
            .browser(Method::POST, "/app/inbox/bulk")
            .console(&console)
            .body(FORM, fields)
            .expect(422)
            .await;
        assert_page(&r);
    }
    let third = app
        .get(&format!("/api/v1/tickets/{}", ids[2]))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(third["status"], "open");
    // Only back to the inbox.
    let r = app
        .browser(Method::POST, "/app/inbox/bulk")
        .console(&console)
        .body(
            FORM,
            form(&[
                ("ids", &ids[2]),
                ("status", "pending"),
                ("back", "https://evil.example/"),
            ]),
        )
        .expect(303)
        .await;
    assert_eq!(r.header("location"), Some("/app/inbox"));
}

#[tokio::test(flavor = "multi_thread")]
async fn writing_an_answer_tells_the_tickets_other_viewers() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("replying").await;
    let other = app.workspace("replying-other").await;
    let console = sign_in(&app, &ws).await;
    let id = ticket_id(
        &app,
        &ws,
        json!({"subject": "Two people", "contact": {"email": "t@example.com"}, "message": "Hi"}),
    )
    .await;
    let theirs = ticket_id(
        &app,
        &other,
        json!({"subject": "Elsewhere", "contact": {"email": "e@example.com"}, "message": "Hi"}),
    )
    .await;
    let mut events = holdfast_testkit::sse::EventStream::open(
        &format!("{}/api/v1/events", app.base),
        &ws.admin_key,
    )
    .await;
    let ready = events
        .next(std::time::Duration::from_secs(20))
        .await
        .expect("ready");
    assert_eq!(ready.event, "ready");
    let mut bystander = holdfast_testkit::sse::EventStream::open(
        &format!("{}/api/v1/events", app.base),
        &other.admin_key,
    )
    .await;
    bystander
        .next(std::time::Duration::from_secs(20))
        .await
        .expect("ready");
    app.browser(Method::POST, &format!("/app/tickets/{id}/replying"))
        .console(&console)
        .expect(204)
        .await;
    let heard = events
        .next_named("ticket.replying", std::time::Duration::from_secs(20))
        .await
        .expect("the presence notice");
    let notice: Value = serde_json::from_str(&heard.data).unwrap();
    assert_eq!(notice["ticket_id"], id.as_str());
    assert!(notice["user_id"].as_str().unwrap().starts_with("usr_"));
    assert!(
        bystander
            .next_named("ticket.replying", std::time::Duration::from_secs(2))
            .await
            .is_none(),
        "another workspace heard it"
    );
    // Another workspace's ticket, and no CSRF token: refused, nothing said.
    app.browser(Method::POST, &format!("/app/tickets/{theirs}/replying"))
        .console(&console)
        .expect(404)
        .await;
    app.browser(Method::POST, &format!("/app/tickets/{id}/replying"))
        .cookie(&console)
        .expect(403)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_htmx_sent_navigates_with_hx_redirect_instead_of_a_redirect_it_would_follow() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("htmx-redirect").await;
    let console = sign_in(&app, &ws).await;
    // htmx's XMLHttpRequest follows a 303 itself and would swap the page it leads to into the
    // form; an answer with HX-Redirect makes htmx navigate.
    let r = app
        .browser(Method::POST, "/sign-out")
        .console(&console)
        .header("hx-request", "true")
        .expect(200)
        .await;
    assert_eq!(r.header("hx-redirect"), Some("/sign-in"));
    assert_eq!(r.header("location"), None);
    assert!(r.set_cookies().iter().any(|c| c.contains("hf_session=;")));
    // Without a session, a page htmx asks for leads to sign-in the same way.
    let r = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .header("hx-request", "true")
        .expect(200)
        .await;
    assert_eq!(r.header("hx-redirect"), Some("/sign-in?next=/app/inbox"));
}

/// The inbox marks, for each person, the tickets with messages they have not seen: a new
/// ticket is unread, opening it reads it, a later reply makes it unread again (a note does not), and the ticked
/// tickets can be marked read or unread by hand. One person's marks are not another's.
#[tokio::test(flavor = "multi_thread")]
async fn unread_markers_follow_what_each_person_has_seen() {
    let (app, clock) = crate::manual_app().await;
    let ws = app.workspace("unread").await;
    let owner = sign_in(&app, &ws).await;
    let agent =
        crate::pages_settings::member_console(&app, &ws, "agent@example.com", "support").await;
    let a = ticket_id(
        &app,
        &ws,
        json!({"subject": "Alpha question", "contact": {"email": "a@example.com"}, "message": "Hi"}),
    )
    .await;
    let b = ticket_id(
        &app,
        &ws,
        json!({"subject": "Beta question", "contact": {"email": "b@example.com"}, "message": "Hi"}),
    )
    .await;
    let unread = |console: Console| {
        let app = &app;
        async move {
            let page = app
                .browser(Method::GET, "/app/inbox")
                .cookie(&console)
                .expect(200)
                .await;
            let mut subjects: Vec<String> = page
                .text
                .split("<td class=\"unread\">")
                .skip(1)
                .map(|cell| {
                    between(cell, "/app/tickets/", "</a>")
                        .split_once("\">")
                        .map(|(_, s)| s.to_owned())
                        .unwrap_or_default()
                })
                .collect();
            subjects.sort();
            subjects
        }
    };
    assert_eq!(
        unread(owner.clone()).await,
        ["Alpha question", "Beta question"]
    );
    // Opening a ticket reads it, for this person only.
    clock.advance(1_000);
    app.browser(Method::GET, &format!("/app/tickets/{a}"))
        .cookie(&owner)
        .expect(200)
        .await;
    assert_eq!(unread(owner.clone()).await, ["Beta question"]);
    assert_eq!(
        unread(agent.clone()).await,
        ["Alpha question", "Beta question"]
    );
    // Looking again writes nothing new, and it stays read.
    app.browser(Method::GET, &format!("/app/tickets/{a}"))
        .cookie(&owner)
        .expect(200)
        .await;
    assert_eq!(unread(owner.clone()).await, ["Beta question"]);
    // An internal note is not a message of the conversation: it stays read.
    clock.advance(1_000);
    app.post(&format!("/api/v1/tickets/{a}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "A colleague's note"}))
        .expect(201)
        .await;
    assert_eq!(unread(owner.clone()).await, ["Beta question"]);
    // A message after the look (a colleague's reply) makes it unread again.
    clock.advance(1_000);
    app.post(&format!("/api/v1/tickets/{a}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "A colleague's reply"}))
        .expect(201)
        .await;
    assert_eq!(
        unread(owner.clone()).await,
        ["Alpha question", "Beta question"]
    );
    // Marked read by hand (both), then one unread again.
    let mark = |console: Console, pairs: Vec<(&'static str, String)>, status: u16| {
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.browser(Method::POST, "/app/inbox/read")
                .console(&console)
                .body(FORM, form(&fields))
                .expect(status)
                .await
        }
    };
    let r = mark(
        owner.clone(),
        vec![
            ("ids", a.clone()),
            ("ids", b.clone()),
            ("as", "read".into()),
            ("back", "/app/inbox?view=open".into()),
        ],
        303,
    )
    .await;
    assert_eq!(r.header("location"), Some("/app/inbox?view=open"));
    assert!(unread(owner.clone()).await.is_empty());
    mark(
        owner.clone(),
        vec![("ids", b.clone()), ("as", "unread".into())],
        303,
    )
    .await;
    assert_eq!(unread(owner.clone()).await, ["Beta question"]);
    assert_eq!(
        unread(agent.clone()).await,
        ["Alpha question", "Beta question"]
    );
    // Bad input changes nothing and says what is wrong.
    for (pairs, says) in [
        (
            vec![("ids", a.clone()), ("as", "sideways".into())],
            "must be read or unread",
        ),
        (vec![("as", "read".into())], "tick 1 to"),
        (
            vec![("ids", "not-a-ticket".into()), ("as", "read".into())],
            "not a ticket id",
        ),
    ] {
        let r = mark(owner.clone(), pairs, 422).await;
        assert_page(&r);
        assert!(r.text.contains(says), "{says}: {}", r.text);
    }
    assert_eq!(unread(owner.clone()).await, ["Beta question"]);
    // Another workspace's ticket id changes nothing there or here; without the CSRF token the
    // form is refused.
    let other = app.workspace("unread-other").await;
    let foreign = ticket_id(
        &app,
        &other,
        json!({"subject": "Foreign", "contact": {"email": "f@example.com"}, "message": "Hi"}),
    )
    .await;
    mark(
        owner.clone(),
        vec![("ids", foreign), ("as", "read".into())],
        303,
    )
    .await;
    assert_eq!(unread(owner.clone()).await, ["Beta question"]);
    app.browser(Method::POST, "/app/inbox/read")
        .cookie(&owner)
        .body(FORM, form(&[("ids", &b), ("as", "read")]))
        .expect(403)
        .await;
    assert_eq!(unread(owner).await, ["Beta question"]);
}
