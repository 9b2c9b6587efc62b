//! A customer's requests (tickets) in the client portal, over HTTP, on either database:
//! opening one and replying (pages and API), the team's replies shown and its internal notes
//! never, the staff side seeing the customer's messages; every portal ticket route answering
//! 404 to every other customer (of the workspace and of another) without a word of theirs;
//! bad input refused with the reason (422, the page keeping the text) and nothing written; a
//! state change without the session's CSRF token refused (403) and nothing written.

use crate::{PortalCustomer, method, portal_customer};
use holdfast_core::ops::config::Layer;
use holdfast_http::{Guard, route_table};
use holdfast_testkit::{Method, Resp, TestApp, Workspace, unique};
use serde_json::{Value, json};

/// An address of this run alone: the local outbox is shared by every test on PostgreSQL (and
/// by earlier runs), so a sign-in mail is looked for at an address nobody else uses.
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

/// A portal form sent as htmx sends it (with the page's CSRF token).
async fn form(app: &TestApp, who: &PortalCustomer, path: &str, fields: &[(&str, &str)]) -> Resp {
    app.browser(Method::POST, path)
        .header("cookie", &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .header("hx-request", "true")
        .body(
            "application/x-www-form-urlencoded",
            serde_urlencoded::to_string(fields).unwrap(),
        )
        .send()
        .await
}

/// A call of the portal's API as the customer's browser makes it.
fn api<'a>(
    app: &'a TestApp,
    who: &PortalCustomer,
    m: Method,
    path: &str,
) -> holdfast_testkit::Call<'a> {
    app.call(m, path)
        .header("cookie", &who.cookie)
        .header("x-csrf-token", &who.csrf)
}

/// The staff's view of a ticket.
async fn staff_ticket(app: &TestApp, ws: &Workspace, id: &str) -> Value {
    app.get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

/// How many tickets the workspace has.
async fn ticket_count(app: &TestApp, ws: &Workspace) -> usize {
    app.get("/api/v1/tickets?limit=200")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_opens_a_request_replies_and_never_sees_a_note() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-requests").await;
    let (ana_id, ana) = portal_customer(&app, &ws, "Ana Lima", &email("ana")).await;
    let slug = &ws.slug;

    // The overview offers a new request; its form is an htmx form that carries the token.
    let home = page(&app, &ana, &format!("/portal/{slug}/home")).await;
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(
        home.text
            .contains(&format!("href=\"/portal/{slug}/tickets/new\"")),
        "{}",
        home.text
    );
    let new = page(&app, &ana, &format!("/portal/{slug}/tickets/new")).await;
    assert_eq!(new.status, 200, "{}", new.text);
    assert!(new.text.contains(&format!(
        "<meta name=\"csrf-token\" content=\"{}\">",
        ana.csrf
    )));
    assert!(
        new.text
            .contains(&format!("hx-post=\"/portal/{slug}/tickets\""))
            && new
                .text
                .contains("hx-target=\"#content\" hx-select=\"#content\""),
        "{}",
        new.text
    );
    assert_eq!(new.header("referrer-policy"), Some("no-referrer"));

    // Opening a request: htmx is sent on to its page.
    let opened = form(
        &app,
        &ana,
        &format!("/portal/{slug}/tickets"),
        &[
            ("subject", "Leaking tap in the kitchen"),
            ("message", "The tap drips all night."),
        ],
    )
    .await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    let to = opened.header("hx-redirect").unwrap().to_owned();
    let id = to
        .strip_prefix(&format!("/portal/{slug}/tickets/"))
        .unwrap()
        .to_owned();
    assert!(id.starts_with("tk_"), "{to}");

    // The team sees a portal ticket of Ana's contact, her message its first.
    let staff = staff_ticket(&app, &ws, &id).await;
    assert_eq!(staff["channel"], "portal");
    assert_eq!(staff["contact_id"], ana_id.as_str());
    assert_eq!(staff["status"], "open");
    assert_eq!(staff["messages"][0]["kind"], "inbound");
    assert_eq!(staff["messages"][0]["author_type"], "contact");
    assert_eq!(staff["messages"][0]["author_id"], ana_id.as_str());
    assert_eq!(staff["messages"][0]["body"], "The tap drips all night.");

    // The team answers her, and writes a note for itself.
    app.post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "A plumber comes on Monday morning."}))
        .expect(201)
        .await;
    app.post(&format!("/api/v1/tickets/{id}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "INTERNAL grumpy customer, bill the call-out"}))
        .expect(201)
        .await;
    assert_eq!(staff_ticket(&app, &ws, &id).await["status"], "pending");

    // Her page: the subject, the status, her message and the reply; never the note.
    let path = format!("/portal/{slug}/tickets/{id}");
    let shown = page(&app, &ana, &path).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    for text in [
        "Leaking tap in the kitchen",
        "The tap drips all night.",
        "A plumber comes on Monday morning.",
        "pending",
        &format!("<meta name=\"csrf-token\" content=\"{}\">", ana.csrf),
        &format!("hx-post=\"/portal/{slug}/tickets/{id}/reply\""),
    ] {
        assert!(shown.text.contains(text), "{text}: {}", shown.text);
    }
    assert!(!shown.text.contains("INTERNAL"), "{}", shown.text);
    assert!(!shown.text.contains("grumpy"), "{}", shown.text);
    assert!(
        shown
            .header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'")
    );
    // The overview links the request to its page.
    let home = page(&app, &ana, &format!("/portal/{slug}/home")).await;
    assert!(
        home.text.contains(&format!("href=\"{path}\"")),
        "{}",
        home.text
    );

    // Her reply reopens the request, as a mailed answer would.
    let replied = form(
        &app,
        &ana,
        &format!("{path}/reply"),
        &[("body", "Monday works, thank you.")],
    )
    .await;
    assert_eq!(replied.status, 200, "{}", replied.text);
    assert_eq!(replied.header("hx-redirect"), Some(path.as_str()));
    let staff = staff_ticket(&app, &ws, &id).await;
    assert_eq!(staff["status"], "open", "{staff}");
    let last = staff["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "inbound");
    assert_eq!(last["author_type"], "contact");
    assert_eq!(last["author_id"], ana_id.as_str());
    assert_eq!(last["body"], "Monday works, thank you.");
    // Its timeline names the customer.
    let activity = app
        .get(&format!("/api/v1/tickets/{id}/activity"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(
        activity.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "status_changed" && e["actor_type"] == "contact"),
        "{}",
        activity.text
    );
    // The console's page of the ticket shows her message.
    let console = app.console_login(&ws).await;
    let desk = app
        .browser(Method::GET, &format!("/app/tickets/{id}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        desk.text.contains("Monday works, thank you."),
        "{}",
        desk.text
    );

    // The API: the same conversation, who wrote each as you or team; no note, no staff ids.
    let thread = api(
        &app,
        &ana,
        Method::GET,
        &format!("/api/portal/v1/tickets/{id}"),
    )
    .expect(200)
    .await;
    assert_eq!(thread.json["id"], id.as_str());
    assert_eq!(thread.json["subject"], "Leaking tap in the kitchen");
    assert_eq!(thread.json["status"], "open");
    let from: Vec<&str> = thread.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["from"].as_str().unwrap())
        .collect();
    assert_eq!(from, ["you", "team", "you"], "{}", thread.text);
    for hidden in ["INTERNAL", "note", "usr_", "key_", "assignee", "author"] {
        assert!(!thread.text.contains(hidden), "{hidden}: {}", thread.text);
    }
    let reply = api(
        &app,
        &ana,
        Method::POST,
        &format!("/api/portal/v1/tickets/{id}/replies"),
    )
    .json(&json!({"body": "One more thing: the code is 1234."}))
    .expect(201)
    .await;
    assert_eq!(reply.json["from"], "you");
    assert_eq!(reply.json["body"], "One more thing: the code is 1234.");

    // A second request through the API; the list pages by cursor, newest first.
    let second = api(&app, &ana, Method::POST, "/api/portal/v1/tickets")
        .json(&json!({"subject": "Boiler service", "message": "Due in May."}))
        .expect(201)
        .await;
    assert_eq!(second.json["status"], "open");
    assert_eq!(second.json["messages"][0]["from"], "you");
    let second_id = second.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        staff_ticket(&app, &ws, &second_id).await["channel"],
        "portal"
    );
    let first_page = api(&app, &ana, Method::GET, "/api/portal/v1/tickets?limit=1")
        .expect(200)
        .await;
    assert_eq!(first_page.json["data"][0]["id"], second_id.as_str());
    let cursor = first_page.json["next_cursor"].as_str().unwrap().to_owned();
    let next = api(
        &app,
        &ana,
        Method::GET,
        &format!("/api/portal/v1/tickets?limit=1&cursor={cursor}"),
    )
    .expect(200)
    .await;
    assert_eq!(next.json["data"][0]["id"], id.as_str());
    assert!(next.json["next_cursor"].is_null(), "{}", next.text);
    // A closed request takes no more messages: the page says so, the API refuses (409).
    app.patch(&format!("/api/v1/tickets/{second_id}"))
        .key(&ws.admin_key)
        .json(&json!({"status": "closed"}))
        .expect(200)
        .await;
    let closed = page(&app, &ana, &format!("/portal/{slug}/tickets/{second_id}")).await;
    assert!(
        closed.text.contains("This request is closed"),
        "{}",
        closed.text
    );
    assert!(!closed.text.contains("name=\"body\""), "{}", closed.text);
    api(
        &app,
        &ana,
        Method::POST,
        &format!("/api/portal/v1/tickets/{second_id}/replies"),
    )
    .json(&json!({"body": "Hello?"}))
    .expect(409)
    .await
    .problem("HF-REQ-007");
    assert_eq!(
        staff_ticket(&app, &ws, &second_id).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_shows_its_times_in_the_workspace_zone() {
    // 2030-03-17T17:46:40Z: 13:46 in New York (summer time began on 10 March).
    let (app, clock) = TestApp::spawn_on_clock(Layer::default(), 1_900_000_000_000).await;
    let ws = app.workspace("portal-zone").await;
    app.call(Method::PUT, "/api/v1/field-service/time-zone")
        .key(&ws.admin_key)
        .json(&json!({"time_zone": "America/New_York"}))
        .expect(200)
        .await;
    let (_, cleo) = portal_customer(&app, &ws, "Cleo", &email("cleo")).await;
    let opened = api(&app, &cleo, Method::POST, "/api/portal/v1/tickets")
        .json(&json!({"subject": "Window latch", "message": "It sticks."}))
        .expect(201)
        .await;
    let id = opened.json["id"].as_str().unwrap();
    assert_eq!(opened.json["created_at"], 1_900_000_000_000_i64);
    clock.advance(60_000);
    app.post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "We will oil it."}))
        .expect(201)
        .await;
    let shown = page(&app, &cleo, &format!("/portal/{}/tickets/{id}", ws.slug)).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(shown.text.contains("2030-03-17 13:46"), "{}", shown.text);
    assert!(shown.text.contains("2030-03-17 13:47"), "{}", shown.text);
}

/// A customer with a request of their own: the browser, the ticket id, and words of theirs
/// that must never reach anyone else.
struct Owner {
    ws: usize,
    who: PortalCustomer,
    ticket: String,
    secrets: [String; 2],
}

#[tokio::test(flavor = "multi_thread")]
async fn every_portal_ticket_route_answers_404_to_every_other_customer() {
    let app = TestApp::spawn().await;
    let workspaces = [
        app.workspace("portal-iso-a").await,
        app.workspace("portal-iso-b").await,
    ];
    let mut owners = Vec::new();
    for (ws, name) in [(0, "Ana"), (0, "Ben"), (1, "Cy")] {
        let (_, who) = portal_customer(&app, &workspaces[ws], name, &email(name)).await;
        let subject = format!("Subject of {name} zq{ws}");
        let message = format!("Private words of {name} xk{ws}");
        let opened = api(&app, &who, Method::POST, "/api/portal/v1/tickets")
            .json(&json!({"subject": subject, "message": message}))
            .expect(201)
            .await;
        owners.push(Owner {
            ws,
            who,
            ticket: opened.json["id"].as_str().unwrap().to_owned(),
            secrets: [subject, message],
        });
    }
    let table = route_table();
    let routes: Vec<_> = table
        .specs()
        .filter(|s| s.guard == Guard::Portal && s.path.contains("/tickets/{id}"))
        .collect();
    assert!(routes.len() >= 4, "{} ticket routes", routes.len());
    let mut checked = 0;
    for caller in &owners {
        let slug = &workspaces[caller.ws].slug;
        // Their own list and overview hold their request only.
        let list = api(&app, &caller.who, Method::GET, "/api/portal/v1/tickets")
            .expect(200)
            .await;
        let home = page(&app, &caller.who, &format!("/portal/{slug}/home")).await;
        for other in owners.iter().filter(|o| o.ticket != caller.ticket) {
            for secret in &other.secrets {
                assert!(!list.text.contains(secret.as_str()), "{}", list.text);
                assert!(!home.text.contains(secret.as_str()), "{}", home.text);
            }
        }
        assert_eq!(list.json["data"].as_array().unwrap().len(), 1);
        for other in owners.iter().filter(|o| o.ticket != caller.ticket) {
            for spec in &routes {
                let path = spec
                    .path
                    .replace("{workspace_slug}", slug)
                    .replace("{id}", &other.ticket);
                let m = method(&spec.method);
                let call = if spec.doc.page {
                    app.browser(m.clone(), &path)
                } else {
                    app.call(m.clone(), &path)
                }
                .header("cookie", &caller.who.cookie)
                .header("x-csrf-token", &caller.who.csrf);
                let call = match (m == Method::GET, spec.doc.page) {
                    (true, _) => call,
                    (false, true) => {
                        call.body("application/x-www-form-urlencoded", "body=Let%20me%20in")
                    }
                    (false, false) => call.json(&json!({"body": "Let me in"})),
                };
                let r = call.send().await;
                let label = format!("{} {path}", spec.method);
                assert_eq!(r.status, 404, "{label}: {}", r.text);
                for secret in &other.secrets {
                    assert!(!r.text.contains(secret.as_str()), "{label}: {}", r.text);
                }
                checked += 1;
            }
            // A reply refused for its text is still 404 first: nothing tells that it exists.
            let r = form(
                &app,
                &caller.who,
                &format!("/portal/{slug}/tickets/{}/reply", other.ticket),
                &[("body", "")],
            )
            .await;
            assert_eq!(r.status, 404, "{}", r.text);
            // So is an id that is no ticket at all, the same way.
            let r = api(
                &app,
                &caller.who,
                Method::GET,
                "/api/portal/v1/tickets/tk_00000000000000000000000000000001",
            )
            .expect(404)
            .await;
            r.problem("HF-REQ-005");
        }
    }
    assert!(checked >= 24, "checked {checked}");
    // Nothing was written into anyone's request.
    for owner in &owners {
        let thread = staff_ticket(&app, &workspaces[owner.ws], &owner.ticket).await;
        assert_eq!(thread["messages"].as_array().unwrap().len(), 1, "{thread}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_the_reason_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-bad").await;
    let (_, dee) = portal_customer(&app, &ws, "Dee", &email("dee")).await;
    let slug = &ws.slug;
    let opened = api(&app, &dee, Method::POST, "/api/portal/v1/tickets")
        .json(&json!({"subject": "Fence", "message": "A board is loose."}))
        .expect(201)
        .await;
    let id = opened.json["id"].as_str().unwrap().to_owned();
    let before = ticket_count(&app, &ws).await;

    // The API: every bad field named (422), unknown fields refused, nothing written.
    let bad = api(&app, &dee, Method::POST, "/api/portal/v1/tickets")
        .json(&json!({"subject": "  ", "message": ""}))
        .expect(422)
        .await;
    bad.problem("HF-REQ-004");
    let fields: Vec<&str> = bad.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["subject", "message"], "{}", bad.text);
    for body in [
        json!({"subject": "x".repeat(301), "message": "Hi"}),
        json!({"subject": "Hi", "message": "y".repeat(100_001)}),
        json!({"subject": "Hi", "message": "Hi", "contact_id": "ct_00000000000000000000000000000001"}),
        json!({"subject": "Hi"}),
    ] {
        let r = api(&app, &dee, Method::POST, "/api/portal/v1/tickets")
            .json(&body)
            .expect(422)
            .await;
        r.problem("HF-REQ-004");
        assert!(r.text.len() < 5_000, "the answer does not echo the input");
    }
    let unknown = api(&app, &dee, Method::POST, "/api/portal/v1/tickets")
        .json(&json!({"subject": "Hi", "message": "Hi", "priority": "urgent"}))
        .expect(422)
        .await;
    assert!(unknown.text.contains("unknown field"), "{}", unknown.text);
    let replies = format!("/api/portal/v1/tickets/{id}/replies");
    for body in [
        json!({"body": ""}),
        json!({"body": "z".repeat(100_001)}),
        json!({"body": "Hi", "kind": "note"}),
        json!({}),
    ] {
        api(&app, &dee, Method::POST, &replies)
            .json(&body)
            .expect(422)
            .await
            .problem("HF-REQ-004");
    }
    api(
        &app,
        &dee,
        Method::GET,
        "/api/portal/v1/tickets?limit=0&cursor=!!",
    )
    .expect(422)
    .await
    .problem("HF-REQ-004");
    api(
        &app,
        &dee,
        Method::GET,
        "/api/portal/v1/tickets?status=open",
    )
    .expect(422)
    .await;

    // The pages: the form again with the reason and the text as typed (422), never a 500.
    let new = form(
        &app,
        &dee,
        &format!("/portal/{slug}/tickets"),
        &[("subject", ""), ("message", "My typed words stay here")],
    )
    .await;
    assert_eq!(new.status, 422, "{}", new.text);
    assert!(
        new.text.contains("Subject: must not be empty."),
        "{}",
        new.text
    );
    assert!(
        new.text.contains("My typed words stay here"),
        "{}",
        new.text
    );
    assert!(new.text.contains("<main id=\"content\">"), "{}", new.text);
    let long = "w".repeat(301);
    let new = form(
        &app,
        &dee,
        &format!("/portal/{slug}/tickets"),
        &[("subject", &long), ("message", "   ")],
    )
    .await;
    assert_eq!(new.status, 422, "{}", new.text);
    assert!(new.text.contains("at most 300 characters"), "{}", new.text);
    assert!(
        new.text.contains("Message: must not be empty."),
        "{}",
        new.text
    );
    assert!(new.text.contains(&long), "the subject as typed");
    let reply = form(
        &app,
        &dee,
        &format!("/portal/{slug}/tickets/{id}/reply"),
        &[("body", "Call me at nine\u{7}")],
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(
        reply
            .text
            .contains("Message: must not contain control characters."),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("Call me at nine"), "{}", reply.text);
    assert!(
        reply.text.contains("A board is loose."),
        "the conversation is there"
    );
    let empty = form(
        &app,
        &dee,
        &format!("/portal/{slug}/tickets/{id}/reply"),
        &[("body", "")],
    )
    .await;
    assert_eq!(empty.status, 422, "{}", empty.text);
    // A form of the wrong kind is a clear refusal too.
    let json_form = app
        .browser(Method::POST, &format!("/portal/{slug}/tickets"))
        .header("cookie", &dee.cookie)
        .header("x-csrf-token", &dee.csrf)
        .json(&json!({"subject": "Hi", "message": "Hi"}))
        .send()
        .await;
    assert_eq!(json_form.status, 415, "{}", json_form.text);
    // An id that is not one: 404.
    assert_eq!(
        page(&app, &dee, &format!("/portal/{slug}/tickets/not-an-id"))
            .await
            .status,
        404,
        "a malformed id is not found"
    );

    assert_eq!(ticket_count(&app, &ws).await, before, "nothing was opened");
    let thread = staff_ticket(&app, &ws, &id).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1, "{thread}");

    // With the help desk off, nothing is written through the portal; past requests still read.
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm", "client_portal"]}))
        .expect(200)
        .await;
    let off = api(&app, &dee, Method::POST, "/api/portal/v1/tickets")
        .json(&json!({"subject": "Hi", "message": "Hi"}))
        .expect(404)
        .await;
    assert!(off.text.contains("helpdesk module is off"), "{}", off.text);
    api(&app, &dee, Method::POST, &replies)
        .json(&json!({"body": "Hi"}))
        .expect(404)
        .await;
    let shown = page(&app, &dee, &format!("/portal/{slug}/tickets/{id}")).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(!shown.text.contains("name=\"body\""), "no reply form");
    let home = page(&app, &dee, &format!("/portal/{slug}/home")).await;
    assert!(!home.text.contains("New request"), "{}", home.text);
    assert_eq!(
        page(&app, &dee, &format!("/portal/{slug}/tickets/new"))
            .await
            .status,
        404
    );
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm", "client_portal", "helpdesk"]}))
        .expect(200)
        .await;
    assert_eq!(ticket_count(&app, &ws).await, before);
    let thread = staff_ticket(&app, &ws, &id).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1, "{thread}");
}

/// The call with this CSRF token, or none.
fn with<'a>(call: holdfast_testkit::Call<'a>, token: Option<&str>) -> holdfast_testkit::Call<'a> {
    match token {
        Some(t) => call.header("x-csrf-token", t),
        None => call,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_without_the_csrf_token_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-csrf").await;
    let (_, eli) = portal_customer(&app, &ws, "Eli", &email("eli")).await;
    let (_, fay) = portal_customer(&app, &ws, "Fay", &email("fay")).await;
    let slug = &ws.slug;
    let opened = api(&app, &eli, Method::POST, "/api/portal/v1/tickets")
        .json(&json!({"subject": "Gutter", "message": "It overflows."}))
        .expect(201)
        .await;
    let id = opened.json["id"].as_str().unwrap().to_owned();
    let before = ticket_count(&app, &ws).await;

    // Without a token, with another session's, with a page of another site: 403, nothing done.
    for token in [None, Some(fay.csrf.as_str()), Some("not-a-token")] {
        with(
            app.post("/api/portal/v1/tickets")
                .header("cookie", &eli.cookie)
                .json(&json!({"subject": "Sneaky", "message": "Sneaky"})),
            token,
        )
        .expect(403)
        .await
        .problem("HF-AUTH-007");
        with(
            app.post(&format!("/api/portal/v1/tickets/{id}/replies"))
                .header("cookie", &eli.cookie)
                .json(&json!({"body": "Sneaky"})),
            token,
        )
        .expect(403)
        .await
        .problem("HF-AUTH-007");
        for (path, body) in [
            (
                format!("/portal/{slug}/tickets"),
                "subject=Sneaky&message=Sneaky",
            ),
            (format!("/portal/{slug}/tickets/{id}/reply"), "body=Sneaky"),
        ] {
            let r = with(
                app.browser(Method::POST, &path)
                    .header("cookie", &eli.cookie)
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
    let cross = app
        .post(&format!("/api/portal/v1/tickets/{id}/replies"))
        .header("cookie", &eli.cookie)
        .header("x-csrf-token", &eli.csrf)
        .header("origin", "https://evil.example.com")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"body": "Sneaky"}))
        .expect(403)
        .await;
    cross.problem("HF-AUTH-007");
    assert_eq!(ticket_count(&app, &ws).await, before);
    let thread = staff_ticket(&app, &ws, &id).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1, "{thread}");
    assert!(!thread.to_string().contains("Sneaky"));
}
