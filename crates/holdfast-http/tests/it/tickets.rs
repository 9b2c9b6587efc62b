//! Help-desk tickets over the API: a ticket with its first message and a found-or-created
//! contact, filters and pagination, replies and internal notes moving status and times, and
//! validation; and the webhook events they publish.

use crate::ticket;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};
use std::time::Duration;

/// A GET as the workspace's admin, expecting 200; the JSON answer.
async fn get_json(app: &TestApp, ws: &Workspace, path: &str) -> Value {
    app.get(path).key(&ws.admin_key).expect(200).await.json
}

fn leak() -> Value {
    json!({
        "subject": "Leaking tap",
        "contact": {"email": "Ada@Example.com", "name": "Ada Lovelace"},
        "message": "The kitchen tap drips all night.",
        "tags": ["Plumbing"]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_starts_with_the_customers_message_and_finds_their_contact() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("desk").await;
    let existing = crate::contact(
        &app,
        &ws,
        json!({"name": "Ada", "email": "ada@example.com"}),
    )
    .await;
    let created = ticket(&app, &ws, leak()).await;
    assert_eq!(created["status"], "open");
    assert_eq!(created["priority"], "normal");
    assert_eq!(created["channel"], "api");
    assert_eq!(created["tags"], json!(["plumbing"]));
    assert_eq!(
        created["contact_id"],
        existing.as_str(),
        "matched by email, case-insensitively"
    );
    assert_eq!(created["messages"][0]["kind"], "inbound");
    assert_eq!(created["messages"][0]["author_type"], "contact");
    // A phone-only customer gets a new contact, found again the next time.
    let by_phone = json!({"subject": "Boiler", "contact": {"phone": "+44 20 7946 0000"}, "message": "No heat."});
    let first = ticket(&app, &ws, by_phone.clone()).await;
    let second = ticket(&app, &ws, by_phone).await;
    assert_eq!(first["contact_id"], second["contact_id"]);
    assert_ne!(first["contact_id"], created["contact_id"]);
    let contact = get_json(
        &app,
        &ws,
        &format!("/api/v1/contacts/{}", first["contact_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(contact["phone"], "+442079460000");
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_notes_and_status_move_the_ticket_along() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("flow").await;
    let created = ticket(&app, &ws, leak()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    app.post(&format!("/api/v1/tickets/{id}/notes"))
        .key(&support)
        .json(&json!({"body": "Probably the washer."}))
        .expect(201)
        .await;
    let after_note = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .expect(200)
        .await
        .json;
    assert_eq!(after_note["status"], "open", "a note changes no status");
    assert_eq!(after_note["first_response_at"], Value::Null);
    let reply = app
        .post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&support)
        .json(&json!({"body": "We will come on Tuesday."}))
        .expect(201)
        .await
        .json;
    assert_eq!(reply["kind"], "reply");
    assert_eq!(reply["author_type"], "api_key");
    let thread = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .expect(200)
        .await
        .json;
    assert_eq!(thread["status"], "pending", "waiting for the customer");
    assert!(thread["first_response_at"].is_i64());
    let kinds: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["inbound", "note", "reply"]);

    // Assign to the owner, resolve, and the times follow.
    let owner = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resolved = app
        .patch(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .json(&json!({"status": "resolved", "assignee": owner, "priority": "high", "tags": ["plumbing", "visit"]}))
        .expect(200)
        .await
        .json;
    assert_eq!(resolved["assignee"], owner.as_str());
    assert!(resolved["resolved_at"].is_i64());
    let reopened = app
        .patch(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .json(&json!({"status": "open", "assignee": null}))
        .expect(200)
        .await
        .json;
    assert_eq!(reopened["resolved_at"], Value::Null);
    assert_eq!(reopened["assignee"], Value::Null);
    // Someone who is not a member cannot be assigned; bad values are named.
    let bad = app
        .patch(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .json(&json!({"assignee": "usr_00000000000000000000000000000001"}))
        .expect(422)
        .await;
    assert_eq!(bad.json["errors"][0]["field"], "assignee");
    app.patch(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .json(&json!({"status": "done", "priority": "asap"}))
        .expect(422)
        .await;
    app.patch(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .json(&json!({}))
        .expect(422)
        .await;
    // A viewer reads but does not write.
    let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
    app.get(&format!("/api/v1/tickets/{id}"))
        .key(&viewer)
        .expect(200)
        .await;
    app.post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&viewer)
        .json(&json!({"body": "hi"}))
        .expect(403)
        .await;
    app.post("/api/v1/tickets/tk_00000000000000000000000000000001/replies")
        .key(&support)
        .json(&json!({"body": "hi"}))
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_filters_searches_and_pages() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("lists").await;
    let a = ticket(&app, &ws, leak()).await;
    let b = ticket(
        &app,
        &ws,
        json!({"subject": "Invoice question", "contact": {"email": "grace@example.com"}, "message": "Why 50% extra?", "tags": ["billing"]}),
    )
    .await;
    app.patch(&format!("/api/v1/tickets/{}", b["id"].as_str().unwrap()))
        .key(&ws.admin_key)
        .json(&json!({"status": "pending"}))
        .expect(200)
        .await;
    let ids = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = get_json(&app, &ws, "/api/v1/tickets").await;
    assert_eq!(
        ids(&all),
        [b["id"].as_str().unwrap(), a["id"].as_str().unwrap()],
        "newest first"
    );
    let pending = get_json(&app, &ws, "/api/v1/tickets?status=pending").await;
    assert_eq!(ids(&pending), [b["id"].as_str().unwrap()]);
    let tagged = get_json(&app, &ws, "/api/v1/tickets?tag=plumbing").await;
    assert_eq!(ids(&tagged), [a["id"].as_str().unwrap()]);
    let in_body = get_json(&app, &ws, "/api/v1/tickets?q=DRIPS").await;
    assert_eq!(
        ids(&in_body),
        [a["id"].as_str().unwrap()],
        "search covers message bodies"
    );
    let percent = get_json(&app, &ws, "/api/v1/tickets?q=50%25").await;
    assert_eq!(
        ids(&percent),
        [b["id"].as_str().unwrap()],
        "wildcards are literal"
    );
    let by_contact = get_json(
        &app,
        &ws,
        &format!(
            "/api/v1/tickets?contact={}",
            a["contact_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(ids(&by_contact), [a["id"].as_str().unwrap()]);
    let page = get_json(&app, &ws, "/api/v1/tickets?limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = get_json(
        &app,
        &ws,
        &format!("/api/v1/tickets?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids(&next), [a["id"].as_str().unwrap()]);
    assert_eq!(next["next_cursor"], Value::Null);
    let bad = app
        .get("/api/v1/tickets?status=lost&assignee=bob&contact=x&limit=0")
        .key(&ws.admin_key)
        .expect(422)
        .await;
    assert!(
        bad.json["errors"].as_array().unwrap().len() >= 3,
        "{}",
        bad.text
    );
    // Another workspace sees none of them.
    let other = app.workspace("lists-other").await;
    let theirs = app
        .get("/api/v1/tickets")
        .key(&other.admin_key)
        .expect(200)
        .await
        .json;
    assert!(ids(&theirs).is_empty());
    app.get(&format!("/api/v1/tickets/{}", a["id"].as_str().unwrap()))
        .key(&other.admin_key)
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tickets_are_refused_with_every_field_named_and_nothing_stored() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("badtickets").await;
    let bad = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": "", "contact": {}, "message": " ", "priority": "asap"}))
        .expect(422)
        .await;
    let fields: Vec<&str> = bad.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["subject", "contact", "message", "priority"]);
    app.post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": "x", "contact": {"email": "not-an-email"}, "message": "hi"}))
        .expect(422)
        .await;
    let listed = get_json(&app, &ws, "/api/v1/tickets").await;
    assert!(listed["data"].as_array().unwrap().is_empty());
    let contacts = app
        .get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        contacts["data"].as_array().unwrap().is_empty(),
        "no half-made contact"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_events_reach_webhooks() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("ticketevents").await;
    app.post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": receiver.base, "event_types": ["ticket.created", "ticket.updated", "message.created"]}))
        .expect(201)
        .await;
    let created = ticket(&app, &ws, leak()).await;
    let id = created["id"].as_str().unwrap();
    app.post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "On our way."}))
        .expect(201)
        .await;
    app.patch(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"status": "resolved"}))
        .expect(200)
        .await;
    // A bulk change publishes one ticket.updated per ticket it changes (not for the one it
    // leaves as it was), like a PATCH.
    let second = ticket(&app, &ws, leak()).await;
    let second = second["id"].as_str().unwrap();
    app.post("/api/v1/tickets/bulk")
        .key(&ws.admin_key)
        .json(&json!({"ids": [id, second], "status": "resolved", "add_tags": ["bulk"]}))
        .expect(200)
        .await;
    let all = receiver.wait_for(8, Duration::from_secs(20)).await;
    let bulk_updates: Vec<Value> = all
        .iter()
        .map(|r| r.json())
        .filter(|j| {
            j["type"] == "ticket.updated" && j["data"]["tags"] == json!(["plumbing", "bulk"])
        })
        .collect();
    assert_eq!(bulk_updates.len(), 2, "{bulk_updates:?}");
    let seen: Vec<_> = all
        .into_iter()
        .filter(|r| {
            let j = r.json();
            j["data"]["id"] == id || j["data"]["ticket_id"] == id
        })
        .filter(|r| r.json()["data"]["tags"] != json!(["plumbing", "bulk"]))
        .collect();
    let mut types: Vec<String> = seen
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "message.created",
            "message.created",
            "ticket.created",
            "ticket.updated"
        ]
    );
    let updated = seen
        .iter()
        .find(|r| r.json()["type"] == "ticket.updated")
        .unwrap()
        .json();
    assert_eq!(updated["data"]["status"], "resolved");
}

/// A Mailgun inbound-route POST (multipart form), signed with `key`.
pub(crate) fn mailgun_form(
    key: &str,
    token: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> (String, Vec<u8>) {
    let (timestamp, signature) = mailgun_signature(key, token);
    let boundary = "----holdfast-test-boundary";
    let mut body = Vec::new();
    let mut text = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    text("timestamp", &timestamp);
    text("token", token);
    text("signature", &signature);
    for (name, value) in fields {
        text(name, value);
    }
    if let Some((filename, content_type, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Mailgun's signature of a delivery: the current Unix time and
/// hex(HMAC-SHA256(key, timestamp + token)).
fn mailgun_signature(key: &str, token: &str) -> (String, String) {
    use hmac::{Hmac, Mac};
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{timestamp}{token}").as_bytes());
    let signature = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (timestamp, signature)
}

/// A Mailgun event notification (JSON) about the mail with `message_id`.
fn mailgun_event(key: &str, token: &str, message_id: &str, event: Value) -> (String, Vec<u8>) {
    let (timestamp, signature) = mailgun_signature(key, token);
    let mut data = event;
    data["message"] = json!({"headers": {"message-id": message_id}});
    data["recipient"] = json!("grace@example.com");
    let body = json!({
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": data,
    });
    ("application/json".into(), body.to_string().into_bytes())
}

/// Stores the workspace's Mailgun signing key.
pub(crate) async fn mailgun_key(app: &TestApp, ws: &Workspace, key: &str) {
    app.call(
        holdfast_testkit::Method::PUT,
        "/api/v1/inbound-hooks/mailgun",
    )
    .key(&ws.admin_key)
    .json(&json!({"secret": key}))
    .expect(200)
    .await;
}

/// A plain mail from `from` to the support address, as Mailgun's route posts it.
fn mail(
    key: &str,
    token: &str,
    from: &str,
    subject: &str,
    message_id: &str,
    in_reply_to: Option<&str>,
    body: &str,
) -> (String, Vec<u8>) {
    let mut fields = vec![
        ("sender", from),
        ("from", from),
        ("recipient", "support@inbound.example.com"),
        ("subject", subject),
        ("Message-Id", message_id),
        ("body-plain", body),
    ];
    if let Some(parent) = in_reply_to {
        fields.push(("In-Reply-To", parent));
    }
    mailgun_form(key, token, &fields, None)
}

pub(crate) async fn wait_for_tickets(app: &TestApp, ws: &Workspace, n: usize) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed = get_json(app, ws, "/api/v1/tickets").await;
        let count = listed["data"].as_array().unwrap().len();
        let messages_settled = count >= n;
        if messages_settled || std::time::Instant::now() > deadline {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn wait_for_messages(
    app: &TestApp,
    ws: &Workspace,
    ticket: &str,
    n: usize,
) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let thread = get_json(app, ws, &format!("/api/v1/tickets/{ticket}")).await;
        if thread["messages"].as_array().unwrap().len() >= n || std::time::Instant::now() > deadline
        {
            return thread;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_becomes_a_ticket_and_replies_thread_into_it() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("mailin").await;
    let key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    mailgun_key(&app, &ws, key).await;
    let post = |content_type: String, body: Vec<u8>| {
        let app = &app;
        let slug = ws.slug.clone();
        async move {
            app.post(&format!("/hooks/mailgun/{slug}"))
                .body(&content_type, body)
                .send()
                .await
        }
    };
    let pdf: &[u8] = b"%PDF-1.4 quote";
    let (ct, body) = mailgun_form(
        key,
        "token-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &[
            ("sender", "grace@example.com"),
            ("from", "Grace Hopper <grace@example.com>"),
            ("recipient", "support@inbound.example.com"),
            ("subject", "Quote for a new boiler"),
            ("Message-Id", "<first-1@mail.example.com>"),
            ("body-plain", "Hello, could you send a quote?\n\nGrace"),
        ],
        Some(("../../quote.pdf", "application/pdf", pdf)),
    );
    let r = post(ct, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = wait_for_tickets(&app, &ws, 1).await;
    let ticket = listed["data"][0].clone();
    assert_eq!(ticket["subject"], "Quote for a new boiler", "{listed}");
    assert_eq!(ticket["channel"], "email");
    let id = ticket["id"].as_str().unwrap().to_owned();
    let thread = wait_for_messages(&app, &ws, &id, 1).await;
    assert!(
        thread["messages"][0]["body"]
            .as_str()
            .unwrap()
            .contains("send a quote")
    );
    let attachment = &thread["attachments"][0];
    assert_eq!(
        attachment["filename"], "quote.pdf",
        "path parts are stripped"
    );
    assert_eq!(attachment["content_type"], "application/pdf");
    let download = app
        .get(&format!(
            "/api/v1/tickets/{id}/attachments/{}",
            attachment["id"].as_str().unwrap()
        ))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(download.text.as_bytes(), pdf);
    assert!(
        download
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    let contact = get_json(
        &app,
        &ws,
        &format!(
            "/api/v1/contacts/{}",
            ticket["contact_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(contact["email"], "grace@example.com");

    // Her answer, by In-Reply-To: the same ticket, quoted history stripped.
    let (ct, body) = mail(
        key,
        "token-two-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "grace@example.com",
        "Re: something else entirely",
        "<second-2@mail.example.com>",
        Some("<first-1@mail.example.com>"),
        "Tuesday works.\n\nOn Mon, Grace wrote:\n> Hello, could you send a quote?",
    );
    assert_eq!(post(ct, body).await.status, 200);
    let thread = wait_for_messages(&app, &ws, &id, 2).await;
    let second = thread["messages"][1]["body"].as_str().unwrap();
    assert_eq!(second, "Tuesday works.", "{thread}");
    // The same mail delivered again (a new signature) adds nothing.
    let (ct2, body2) = mail(
        key,
        "token-three-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "grace@example.com",
        "Re: something else entirely",
        "<second-2@mail.example.com>",
        Some("<first-1@mail.example.com>"),
        "Tuesday works.",
    );
    assert_eq!(post(ct2, body2).await.status, 200);
    // A same-subject mail with no thread headers is a new ticket: never threaded by subject.
    let (ct3, body3) = mail(
        key,
        "token-four-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "eve@example.net",
        "Quote for a new boiler",
        "<other-3@mail.example.net>",
        None,
        "Me too.",
    );
    assert_eq!(post(ct3, body3).await.status, 200);
    let listed = wait_for_tickets(&app, &ws, 2).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    let thread = get_json(&app, &ws, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(
        thread["messages"].as_array().unwrap().len(),
        2,
        "the redelivery added nothing"
    );

    // A forged delivery (wrong key) is refused and makes no ticket.
    let (ct, body) = mailgun_form(
        "key-wrong",
        "token-five-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &[
            ("sender", "mallory@example.org"),
            ("subject", "Forged"),
            ("body-plain", "x"),
        ],
        None,
    );
    assert_eq!(post(ct, body).await.status, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let listed = get_json(&app, &ws, "/api/v1/tickets").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
}

use holdfast_testkit::mail_header as header;

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_is_mailed_in_the_thread_and_the_answer_comes_back_to_the_ticket() {
    let sink = holdfast_testkit::SmtpSink::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        smtp_url: Some(sink.url()),
        mail_from: Some("Acme Support <support@acme.example>".into()),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("mailout").await;
    let key = "key-mailout-0123456789abcdef";
    mailgun_key(&app, &ws, key).await;
    let post = |(content_type, body): (String, Vec<u8>)| {
        let app = &app;
        let slug = ws.slug.clone();
        async move {
            let r = app
                .post(&format!("/hooks/mailgun/{slug}"))
                .body(&content_type, body)
                .send()
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
    };
    post(mail(
        key,
        "token-out-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "grace@example.com",
        "Boiler quote",
        "<q1@mail.example.com>",
        None,
        "How much for a new boiler?",
    ))
    .await;
    let id = wait_for_tickets(&app, &ws, 1).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for_messages(&app, &ws, &id, 1).await;
    let reply = app
        .post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "About 2400 EUR, installed."}))
        .expect(201)
        .await
        .json;
    let sent = sink
        .wait_for("grace@example.com", Duration::from_secs(20))
        .await
        .expect("the reply is mailed");
    let data = sent.data.clone();
    assert_eq!(header(&data, "Subject"), Some("Re: Boiler quote"));
    let message_id = header(&data, "Message-ID").unwrap().to_owned();
    assert_eq!(
        message_id,
        format!("<{}@acme.example>", reply["id"].as_str().unwrap())
    );
    assert_eq!(header(&data, "In-Reply-To"), Some("<q1@mail.example.com>"));
    assert_eq!(header(&data, "References"), Some("<q1@mail.example.com>"));
    let reply_to = header(&data, "Reply-To").unwrap().to_owned();
    assert!(
        reply_to.starts_with("reply+") && reply_to.ends_with("@acme.example"),
        "{reply_to}"
    );
    assert!(sent.text().contains("2400 EUR"));

    // Her answer threads by In-Reply-To …
    let ours = message_id.trim_matches(['<', '>']).to_owned();
    post(mail(
        key,
        "token-out-two-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "grace@example.com",
        "Re: Boiler quote",
        "<q2@mail.example.com>",
        Some(&format!("<{ours}>")),
        "Deal. Tuesday?\n\n> About 2400 EUR, installed.",
    ))
    .await;
    let thread = wait_for_messages(&app, &ws, &id, 3).await;
    assert_eq!(thread["messages"][2]["body"], "Deal. Tuesday?", "{thread}");
    assert_eq!(
        thread["status"], "open",
        "her answer reopens the pending ticket"
    );
    // … and a mail client that drops the headers still reaches it through the reply token.
    let (ct, body) = mailgun_form(
        key,
        "token-out-three-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &[
            ("sender", "grace@example.com"),
            ("from", "grace@example.com"),
            ("recipient", &reply_to),
            ("subject", "new subject line"),
            ("Message-Id", "<q3@mail.example.com>"),
            ("body-plain", "One more thing."),
        ],
        None,
    );
    post((ct, body)).await;
    let thread = wait_for_messages(&app, &ws, &id, 4).await;
    assert_eq!(thread["messages"][3]["body"], "One more thing.");
    assert_eq!(
        wait_for_tickets(&app, &ws, 1).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delivery_reports_move_a_mailed_replys_status_forward_only() {
    let sink = holdfast_testkit::SmtpSink::start().await;
    let receiver = holdfast_testkit::receiver::Receiver::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        smtp_url: Some(sink.url()),
        mail_from: Some("Acme Support <support@acme.example>".into()),
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("delivery").await;
    let key = "key-delivery-0123456789abcdef";
    mailgun_key(&app, &ws, key).await;
    app.post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": receiver.base, "event_types": ["message.delivery_updated"]}))
        .expect(201)
        .await;
    let created = ticket(
        &app,
        &ws,
        json!({"subject": "Boiler", "contact": {"email": "grace@example.com"}, "message": "Cold."}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let reply = app
        .post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "On our way."}))
        .expect(201)
        .await
        .json;
    assert_eq!(reply["delivery_status"], "queued", "{reply}");
    let note = app
        .post(&format!("/api/v1/tickets/{id}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "Internal."}))
        .expect(201)
        .await
        .json;
    assert_eq!(
        note["delivery_status"],
        Value::Null,
        "a note is never mailed"
    );
    let sent = sink
        .wait_for("grace@example.com", Duration::from_secs(20))
        .await
        .expect("the reply is mailed");
    let message_id = header(&sent.data, "Message-ID")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    let status_of_reply = |expected: &'static str| {
        let (app, ws, id, reply) = (&app, &ws, id.clone(), reply["id"].clone());
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                let thread = get_json(app, ws, &format!("/api/v1/tickets/{id}")).await;
                let message = thread["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["id"] == reply)
                    .cloned()
                    .unwrap();
                if message["delivery_status"] == expected || std::time::Instant::now() > deadline {
                    return message;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(status_of_reply("sent").await["delivery_status"], "sent");

    let post = |(content_type, body): (String, Vec<u8>)| {
        let app = &app;
        let slug = ws.slug.clone();
        async move {
            app.post(&format!("/hooks/mailgun/{slug}"))
                .body(&content_type, body)
                .send()
                .await
                .status
        }
    };
    // Mailgun reports delivery; the message says so and integrations hear of it.
    let delivered = mailgun_event(
        key,
        "token-dlv-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &message_id,
        json!({"event": "delivered", "delivery-status": {"code": 250}}),
    );
    assert_eq!(post(delivered).await, 200);
    assert_eq!(
        status_of_reply("delivered").await["delivery_status"],
        "delivered"
    );
    let hook = receiver.wait_for(1, Duration::from_secs(20)).await;
    let payload = hook[0].json();
    assert_eq!(payload["type"], "message.delivery_updated", "{payload}");
    assert_eq!(payload["data"]["delivery_status"], "delivered");

    // A late temporary failure does not undo a delivery; a complaint outranks it.
    let late = mailgun_event(
        key,
        "token-dlv-two-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &message_id,
        json!({"event": "failed", "severity": "temporary", "delivery-status": {"code": 421, "message": "try later"}}),
    );
    assert_eq!(post(late).await, 200);
    let complained = mailgun_event(
        key,
        "token-dlv-three-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &message_id,
        json!({"event": "complained"}),
    );
    assert_eq!(post(complained).await, 200);
    let message = status_of_reply("complained").await;
    assert_eq!(message["delivery_status"], "complained", "{message}");
    assert_eq!(
        message["delivery_detail"],
        "the customer marked the mail as spam"
    );
    // Two reports reached integrations: delivered, then complained (not the late deferral).
    let hooks = receiver.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests().len(), 2, "{hooks:?}");

    // A forged report (wrong key) is refused and changes nothing; a report about mail this
    // workspace never sent is taken and ignored.
    let forged = mailgun_event(
        "key-wrong",
        "token-dlv-four-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &message_id,
        json!({"event": "delivered"}),
    );
    assert_eq!(post(forged).await, 401);
    let stranger = mailgun_event(
        key,
        "token-dlv-five-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "nobody@elsewhere.example",
        json!({"event": "failed", "severity": "permanent"}),
    );
    assert_eq!(post(stranger).await, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status_of_reply("complained").await["delivery_status"],
        "complained"
    );
    assert_eq!(
        get_json(&app, &ws, "/api/v1/tickets").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "a delivery report never becomes a ticket"
    );
}

/// The RFC 5322 Message-ID a mailed reply went out with (read the way the app reads it).
async fn email_message_id(app: &TestApp, ws: &Workspace, message: &str) -> String {
    let mut tx = app.workspace_tx(ws).await;
    let id: Option<String> = sqlx::query_scalar(
        "SELECT email_message_id FROM ticket_messages WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws.id)
    .bind(message)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    id.expect("the reply was mailed")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bounce_naming_the_address_is_withheld_from_a_role_that_hides_it() {
    // Mail providers' bounce words often name the recipient; a role with the contact's
    // address hidden must not read it there (ticket, contact export, webhook payload).
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..holdfast_core::ops::config::Layer::default()
    })
    .await;
    let ws = app.workspace("bounce-hidden").await;
    let address = "bounce.target@hidden-mail.example";
    let role = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "Desk without addresses",
                      "permissions": ["contacts.read", "contacts.export", "tickets.read"],
                      "fields": {"contacts.email": "hidden"}}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (key, _) = crate::key_with_role(&app, &ws, &role).await;
    app.post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(
            &json!({"url": format!("{}/bounces", receiver.base), "role": role,
                      "event_types": ["message.delivery_updated"]}),
        )
        .expect(201)
        .await;
    let ticket = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": "Bounce", "contact": {"email": address}, "message": "Help"}))
        .expect(201)
        .await
        .json;
    let (id, contact) = (
        ticket["id"].as_str().unwrap().to_owned(),
        ticket["contact_id"].as_str().unwrap().to_owned(),
    );
    let reply = app
        .post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "On it."}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let message_id = email_message_id(&app, &ws, &reply).await;
    let signing = "key-0123456789abcdef0123456789abcdef";
    mailgun_key(&app, &ws, signing).await;
    let (content_type, body) = mailgun_event(
        signing,
        "token-bounce-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &message_id,
        json!({"event": "failed", "severity": "permanent",
               "delivery-status": {"code": 550, "message": format!(
                   "5.1.1 <{address}>: Recipient address rejected: User unknown")}}),
    );
    app.post(&format!("/hooks/mailgun/{}", ws.slug))
        .body(&content_type, body)
        .expect(200)
        .await;
    // The admin reads the provider's words (the test is not vacuous).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let thread = app
            .get(&format!("/api/v1/tickets/{id}"))
            .key(&ws.admin_key)
            .expect(200)
            .await;
        if thread.text.contains(address) && thread.text.contains("Recipient address rejected") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", thread.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let thread = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&key)
        .expect(200)
        .await;
    assert!(!thread.text.contains(address), "{}", thread.text);
    assert!(
        thread.text.contains("\"failed\""),
        "the status stays: {}",
        thread.text
    );
    let export = app
        .get(&format!("/api/v1/contacts/{contact}/export"))
        .key(&key)
        .expect(200)
        .await;
    assert!(!export.text.contains(address), "{}", export.text);
    let delivered = receiver.wait_for(1, Duration::from_secs(20)).await;
    let payload = delivered[0].json();
    assert_eq!(payload["type"], "message.delivery_updated", "{payload}");
    assert_eq!(payload["data"]["delivery_status"], "failed", "{payload}");
    assert!(!payload.to_string().contains(address), "{payload}");
}
