//! Help-desk tools over the API, on both databases: full-text search, saved replies (with
//! placeholders and field rules), bulk changes (all or nothing), and each ticket's activity
//! timeline with first-response and resolution times.

use crate::ids;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};

async fn open(app: &TestApp, ws: &Workspace, subject: &str, email: &str, message: &str) -> String {
    let body = json!({"subject": subject, "contact": {"email": email, "name": "Ada Lovelace"}, "message": message});
    crate::ticket_id(app, ws, body).await
}

/// The ids a search finds, expecting 200.
async fn search(app: &TestApp, ws: &Workspace, q: &str) -> Vec<String> {
    let path = format!("/api/v1/tickets?q={}", urlencode(q));
    let r = app.get(&path).key(&ws.admin_key).send().await;
    assert_eq!(r.status, 200, "q={q:?}: {}", r.text);
    ids(&r.json)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_words_in_subjects_later_messages_and_notes() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("search").await;
    let tap = open(
        &app,
        &ws,
        "Leaking tap",
        "ada@example.com",
        "The kitchen tap drips all night.",
    )
    .await;
    let invoice = open(
        &app,
        &ws,
        "Invoice question",
        "grace@example.com",
        "Why 50% extra?",
    )
    .await;
    let cafe = open(
        &app,
        &ws,
        "Café crème",
        "jean@example.fr",
        "Réservation annulée",
    )
    .await;
    app.post(&format!("/api/v1/tickets/{tap}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "We will send a plumber on Tuesday."}))
        .expect(201)
        .await;
    app.post(&format!("/api/v1/tickets/{invoice}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "Long-standing customer: waive the fee."}))
        .expect(201)
        .await;

    assert_eq!(
        search(&app, &ws, "invoice").await,
        [invoice.as_str()],
        "subject"
    );
    assert_eq!(
        search(&app, &ws, "plumber").await,
        [tap.as_str()],
        "a later reply"
    );
    assert_eq!(
        search(&app, &ws, "waive").await,
        [invoice.as_str()],
        "an internal note"
    );
    assert_eq!(
        search(&app, &ws, "TAP").await,
        [tap.as_str()],
        "case-insensitive"
    );
    assert_eq!(
        search(&app, &ws, "kitchen plumber").await,
        [tap.as_str()],
        "every word, anywhere in the ticket"
    );
    assert!(
        search(&app, &ws, "tap invoice").await.is_empty(),
        "all words must match"
    );
    assert!(search(&app, &ws, "zeppelin").await.is_empty());
    assert_eq!(
        search(&app, &ws, "inv").await,
        [invoice.as_str()],
        "the last word is a prefix"
    );
    assert!(
        search(&app, &ws, "inv question").await.is_empty(),
        "only the last word"
    );
    assert_eq!(search(&app, &ws, "50%").await, [invoice.as_str()]);
    // Accents: both engines fold common Latin accents, whichever side has them.
    assert_eq!(search(&app, &ws, "cafe").await, [cafe.as_str()]);
    assert_eq!(search(&app, &ws, "CAFÉ").await, [cafe.as_str()]);
    assert_eq!(
        search(&app, &ws, "reservation annulee").await,
        [cafe.as_str()]
    );
    // Query syntax of either engine is only ever text.
    for q in [
        "\"tap",
        "tap)",
        "(tap",
        "tap*",
        "*tap",
        "-tap",
        "tap -",
        "^tap",
        "tap:",
        "{tap}",
        "tap \"\"",
        "'tap'",
        "tap\\",
        "tap & ! | <->",
        "tap:*",
        "TAP''",
    ] {
        assert_eq!(search(&app, &ws, q).await, [tap.as_str()], "q={q:?}");
    }
    for q in [
        "tap OR invoice",
        "NEAR(tap drips)",
        "tap NOT kitchen",
        "tap AND",
        "col:tap",
        "' OR ''='",
    ] {
        assert!(
            search(&app, &ws, q).await.is_empty(),
            "operators are words: {q}"
        );
    }
    // No usable words, or too many: 422 naming q.
    for q in [
        "\"*()-",
        "%%%",
        "''=''--",
        &(0..11)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" "),
        &"x".repeat(65),
    ] {
        let r = app
            .get(&format!("/api/v1/tickets?q={}", urlencode(q)))
            .key(&ws.admin_key)
            .expect(422)
            .await;
        assert_eq!(r.json["errors"][0]["field"], "q", "{}", r.text);
    }
    // With the other filters: the tap ticket is pending since the reply.
    let pending = app
        .get("/api/v1/tickets?q=tap&status=pending")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(ids(&pending.json), [tap.as_str()]);
    let open_only = app
        .get("/api/v1/tickets?q=tap&status=open")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(ids(&open_only.json).is_empty());
    // A new subject is searched, the old one no longer.
    app.patch(&format!("/api/v1/tickets/{tap}"))
        .key(&ws.admin_key)
        .json(&json!({"subject": "Dripping faucet"}))
        .expect(200)
        .await;
    assert_eq!(search(&app, &ws, "faucet").await, [tap.as_str()]);
    assert!(search(&app, &ws, "leaking").await.is_empty());
    // Pages, newest first.
    let mut boilers = Vec::new();
    for i in 0..3 {
        boilers.push(
            open(
                &app,
                &ws,
                &format!("Boiler {i}"),
                "b@example.com",
                "No heat",
            )
            .await,
        );
    }
    let first = app
        .get("/api/v1/tickets?q=boiler&limit=2")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(ids(&first), [boilers[2].clone(), boilers[1].clone()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/api/v1/tickets?q=boiler&limit=2&cursor={cursor}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(ids(&second), [boilers[0].clone()]);
    assert_eq!(second["next_cursor"], Value::Null);
    // Another workspace finds only its own tickets.
    let other = app.workspace("search-other").await;
    assert!(search(&app, &other, "plumber").await.is_empty());
    let theirs = open(&app, &other, "Their tap", "x@example.com", "plumber please").await;
    assert_eq!(search(&app, &other, "plumber").await, [theirs]);
    assert_eq!(search(&app, &ws, "plumber").await, [tap]);
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_replies_are_kept_checked_and_unique_per_workspace() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("saved").await;
    let created = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Refund", "body": "Hi {{contact.first_name|there}}, refunded.", "shortcut": "Refund"}))
        .expect(201)
        .await
        .json;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sr_"));
    assert_eq!(created["shortcut"], "refund");
    let dup = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "REFUND", "body": "x"}))
        .expect(409)
        .await;
    assert_eq!(dup.json["errors"][0]["field"], "name", "{}", dup.text);
    let dup_short = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Other", "body": "x", "shortcut": "refund"}))
        .expect(409)
        .await;
    assert_eq!(dup_short.json["errors"][0]["field"], "shortcut");
    let unknown = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Bad", "body": "Dear {{contact.email}}, {{ticket.number}}"}))
        .expect(422)
        .await;
    assert!(
        unknown.text.contains("{{contact.email}}") && unknown.text.contains("{{ticket.number}}"),
        "{}",
        unknown.text
    );
    let long = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "x".repeat(101), "body": "y".repeat(10_001), "shortcut": "a b"}))
        .expect(422)
        .await;
    assert_eq!(
        long.json["errors"].as_array().unwrap().len(),
        3,
        "{}",
        long.text
    );
    app.post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Hi", "body": "Hello", "extra": 1}))
        .expect(422)
        .await;
    let second = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Thanks", "body": "Thank you!"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Lists page, oldest first; a viewer (tickets.read) reads but does not write.
    let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
    let page = app
        .get("/api/v1/saved-replies?limit=1")
        .key(&viewer)
        .expect(200)
        .await
        .json;
    assert_eq!(ids(&page), [id.as_str()]);
    let next = app
        .get(&format!(
            "/api/v1/saved-replies?limit=1&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ))
        .key(&viewer)
        .expect(200)
        .await
        .json;
    assert_eq!(ids(&next), [second.as_str()]);
    app.post("/api/v1/saved-replies")
        .key(&viewer)
        .json(&json!({"name": "No", "body": "No"}))
        .expect(403)
        .await;
    // Change, clear the shortcut, refuse an empty or clashing change.
    let changed = app
        .patch(&format!("/api/v1/saved-replies/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"body": "Refunded, {{contact.name|friend}}.", "shortcut": null}))
        .expect(200)
        .await
        .json;
    assert_eq!(changed["shortcut"], Value::Null);
    assert_eq!(changed["name"], "Refund");
    app.patch(&format!("/api/v1/saved-replies/{id}"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(422)
        .await;
    app.patch(&format!("/api/v1/saved-replies/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"name": "thanks"}))
        .expect(409)
        .await;
    app.patch(&format!("/api/v1/saved-replies/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"body": "{{agent.nickname}}"}))
        .expect(422)
        .await;
    // Another workspace sees nothing and may reuse the name.
    let other = app.workspace("saved-other").await;
    app.get(&format!("/api/v1/saved-replies/{id}"))
        .key(&other.admin_key)
        .expect(404)
        .await;
    app.post("/api/v1/saved-replies")
        .key(&other.admin_key)
        .json(&json!({"name": "Refund", "body": "theirs"}))
        .expect(201)
        .await;
    app.delete(&format!("/api/v1/saved-replies/{id}"))
        .key(&other.admin_key)
        .expect(404)
        .await;
    app.delete(&format!("/api/v1/saved-replies/{id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get(&format!("/api/v1/saved-replies/{id}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    app.get("/api/v1/saved-replies/sr_nope")
        .key(&ws.admin_key)
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_reply_renders_for_the_ticket_and_hides_what_the_role_may_not_read() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("render").await;
    let ticket = open(&app, &ws, "Leaking tap", "ada@example.com", "It drips.").await;
    let template =
        "Hi {{contact.first_name|there}}, about \"{{ticket.subject}}\". — {{agent.name|The team}}";
    let saved = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Ack", "body": template}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let role = |fields: Value| json!({"name": format!("Desk {}", fields), "permissions": ["tickets.read", "tickets.write", "contacts.read"], "fields": fields});
    let sees = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&role(json!({})))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let blind = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&role(json!({"contacts.name": "hidden"})))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (sees_key, _) = crate::key_with_role(&app, &ws, &sees).await;
    let (blind_key, _) = crate::key_with_role(&app, &ws, &blind).await;

    let reply = app
        .post(&format!("/api/v1/tickets/{ticket}/replies"))
        .key(&sees_key)
        .json(&json!({"saved_reply_id": saved}))
        .expect(201)
        .await
        .json;
    assert_eq!(
        reply["body"],
        format!("Hi Ada, about \"Leaking tap\". — as {sees}"),
        "an API key signs with its name"
    );
    assert_eq!(reply["kind"], "reply");
    let hidden = app
        .post(&format!("/api/v1/tickets/{ticket}/replies"))
        .key(&blind_key)
        .json(&json!({"saved_reply_id": saved}))
        .expect(201)
        .await
        .json;
    assert_eq!(
        hidden["body"],
        format!("Hi there, about \"Leaking tap\". — as {blind}"),
        "a hidden name renders as missing"
    );
    assert!(!hidden.to_string().contains("Ada"));
    // The preview renders the same way, with or without a ticket.
    let preview = app
        .post(&format!(
            "/api/v1/saved-replies/{saved}/preview?ticket_id={ticket}"
        ))
        .key(&blind_key)
        .expect(200)
        .await
        .json;
    assert_eq!(preview["body"], hidden["body"]);
    let bare = app
        .post(&format!("/api/v1/saved-replies/{saved}/preview"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        bare["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi there, about \"\"."),
        "{bare}"
    );
    app.post(&format!(
        "/api/v1/saved-replies/{saved}/preview?ticket_id=tk_00000000000000000000000000000001"
    ))
    .key(&ws.admin_key)
    .expect(404)
    .await;
    // Exactly one of body and saved_reply_id; the saved reply must be this workspace's.
    for body in [json!({}), json!({"body": "x", "saved_reply_id": saved})] {
        app.post(&format!("/api/v1/tickets/{ticket}/replies"))
            .key(&ws.admin_key)
            .json(&body)
            .expect(422)
            .await;
    }
    let other = app.workspace("render-other").await;
    let theirs = app
        .post("/api/v1/saved-replies")
        .key(&other.admin_key)
        .json(&json!({"name": "Theirs", "body": "Secret {{contact.name}}"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for id in [theirs.as_str(), "sr_nope"] {
        let r = app
            .post(&format!("/api/v1/tickets/{ticket}/replies"))
            .key(&ws.admin_key)
            .json(&json!({"saved_reply_id": id}))
            .expect(422)
            .await;
        assert_eq!(r.json["errors"][0]["field"], "saved_reply_id");
    }
    // A reply that renders to nothing is refused, not sent empty.
    let empty = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Just a name", "body": "{{contact.name}}"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/tickets/{ticket}/replies"))
        .key(&blind_key)
        .json(&json!({"saved_reply_id": empty}))
        .expect(422)
        .await;
    let thread = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(
        thread["messages"].as_array().unwrap().len(),
        3,
        "inbound and two replies"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_changes_are_all_or_nothing_and_each_ticket_is_changed_as_by_a_patch() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("bulk").await;
    let a = open(&app, &ws, "A", "a@example.com", "one").await;
    let b = open(&app, &ws, "B", "b@example.com", "two").await;
    let c = open(&app, &ws, "C", "c@example.com", "three").await;
    let owner = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = app
        .post("/api/v1/tickets/bulk")
        .key(&ws.admin_key)
        .json(&json!({"ids": [b, a], "status": "resolved", "assignee": owner, "add_tags": ["Billing"]}))
        .expect(200)
        .await
        .json;
    assert_eq!(done["updated"], 2);
    let tickets = done["tickets"].as_array().unwrap();
    assert_eq!(tickets[0]["id"], b.as_str(), "in the order given");
    for t in tickets {
        assert_eq!(t["status"], "resolved");
        assert_eq!(t["assignee"], owner.as_str());
        assert_eq!(t["tags"], json!(["billing"]));
        assert!(t["resolved_at"].is_i64());
        assert!(t["resolution_seconds"].is_i64());
    }
    let activity = app
        .get(&format!("/api/v1/tickets/{a}/activity"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let kinds: Vec<&str> = activity["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "message_received",
            "status_changed",
            "assignee_changed",
            "tags_changed"
        ]
    );
    assert_eq!(activity["data"][2]["data"]["bulk"], true);
    assert_eq!(activity["data"][2]["actor_type"], "api_key");

    // Nothing changes when one id is not this workspace's; the answer names it.
    let other = app.workspace("bulk-other").await;
    let foreign = open(&app, &other, "Theirs", "t@example.com", "x").await;
    let missing = "tk_00000000000000000000000000000009";
    let refused = app
        .post("/api/v1/tickets/bulk")
        .key(&ws.admin_key)
        .json(
            &json!({"ids": [a, c, foreign, missing], "status": "open", "remove_tags": ["billing"]}),
        )
        .expect(422)
        .await;
    assert!(
        refused.text.contains(&foreign) && refused.text.contains(missing),
        "{}",
        refused.text
    );
    assert!(
        !refused.text.contains(&c),
        "only the bad ids are named: {}",
        refused.text
    );
    let still = app
        .get(&format!("/api/v1/tickets/{a}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(still["status"], "resolved");
    assert_eq!(still["tags"], json!(["billing"]));
    let theirs = app
        .get(&format!("/api/v1/tickets/{foreign}"))
        .key(&other.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(theirs["status"], "open");
    // A tag limit broken on one ticket refuses them all.
    let many: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    app.patch(&format!("/api/v1/tickets/{c}"))
        .key(&ws.admin_key)
        .json(&json!({"tags": many}))
        .expect(200)
        .await;
    let over = app
        .post("/api/v1/tickets/bulk")
        .key(&ws.admin_key)
        .json(&json!({"ids": [b, c], "status": "closed", "add_tags": ["one-more"]}))
        .expect(422)
        .await;
    assert!(over.text.contains(&c), "{}", over.text);
    let b_now = app
        .get(&format!("/api/v1/tickets/{b}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(b_now["status"], "resolved", "b was not closed");
    // Bad requests are named; a viewer may not.
    let dup = app
        .post("/api/v1/tickets/bulk")
        .key(&ws.admin_key)
        .json(&json!({"ids": [a, a], "status": "open"}))
        .expect(422)
        .await;
    assert!(dup.text.contains("more than once"), "{}", dup.text);
    let too_many: Vec<String> = (0..101).map(|i| format!("tk_{i:032x}")).collect();
    app.post("/api/v1/tickets/bulk")
        .key(&ws.admin_key)
        .json(&json!({"ids": too_many, "status": "open"}))
        .expect(422)
        .await;
    for body in [
        json!({"ids": [], "status": "open"}),
        json!({"ids": [a]}),
        json!({"ids": ["nope"], "status": "open"}),
        json!({"ids": [a], "status": "done"}),
        json!({"ids": [a], "assignee": "usr_00000000000000000000000000000001"}),
        json!({"ids": [a], "add_tags": ["x"], "remove_tags": ["x"]}),
        json!({"ids": [a], "priority": "high"}),
    ] {
        let r = app
            .post("/api/v1/tickets/bulk")
            .key(&ws.admin_key)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
    }
    let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
    app.post("/api/v1/tickets/bulk")
        .key(&viewer)
        .json(&json!({"ids": [a], "status": "open"}))
        .expect(403)
        .await;
    // A change that changes nothing counts nothing and records nothing.
    let same = app
        .post("/api/v1/tickets/bulk")
        .key(&ws.admin_key)
        .json(&json!({"ids": [a, b], "status": "resolved"}))
        .expect(200)
        .await
        .json;
    assert_eq!(same["updated"], 0);
    let after = app
        .get(&format!("/api/v1/tickets/{a}/activity"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(after["data"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timeline_records_every_change_with_its_actor_and_the_times_follow() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("timeline").await;
    let id = open(&app, &ws, "Leaking tap", "ada@example.com", "It drips.").await;
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    let owner = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/tickets/{id}/notes"))
        .key(&support)
        .json(&json!({"body": "Washer?"}))
        .expect(201)
        .await;
    let reply = app
        .post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&support)
        .json(&json!({"body": "Coming Tuesday."}))
        .expect(201)
        .await
        .json;
    let resolved = app
        .patch(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .json(&json!({"status": "resolved", "assignee": owner, "priority": "high", "tags": ["plumbing"], "subject": "Tap"}))
        .expect(200)
        .await
        .json;
    let created_at = resolved["created_at"].as_i64().unwrap();
    assert_eq!(
        resolved["first_response_seconds"].as_i64().unwrap(),
        (resolved["first_response_at"].as_i64().unwrap() - created_at) / 1000
    );
    assert_eq!(
        resolved["resolution_seconds"].as_i64().unwrap(),
        (resolved["resolved_at"].as_i64().unwrap() - created_at) / 1000
    );
    let closed = app
        .patch(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .json(&json!({"status": "closed"}))
        .expect(200)
        .await
        .json;
    assert_eq!(
        closed["resolved_at"], resolved["resolved_at"],
        "closing keeps the resolution time"
    );
    let reopened = app
        .patch(&format!("/api/v1/tickets/{id}"))
        .key(&support)
        .json(&json!({"status": "open"}))
        .expect(200)
        .await
        .json;
    assert_eq!(reopened["resolved_at"], Value::Null);
    assert_eq!(reopened["resolution_seconds"], Value::Null);
    assert!(reopened["first_response_seconds"].is_i64());

    // Read it two at a time, oldest first.
    let mut entries: Vec<Value> = Vec::new();
    let mut path = format!("/api/v1/tickets/{id}/activity?limit=2");
    loop {
        let page = app.get(&path).key(&ws.admin_key).expect(200).await.json;
        entries.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/tickets/{id}/activity?limit=2&cursor={c}"),
            None => break,
        }
    }
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "message_received",
            "note_added",
            "reply_sent",
            "status_changed",
            "subject_changed",
            "status_changed",
            "assignee_changed",
            "priority_changed",
            "tags_changed",
            "status_changed",
            "status_changed",
        ]
    );
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
    assert_eq!(entries[0]["data"], json!({"channel": "api"}));
    assert_eq!(entries[1]["actor_type"], "contact");
    assert_eq!(entries[3]["data"]["message_id"], reply["id"]);
    assert_eq!(entries[3]["actor_type"], "api_key");
    assert_eq!(entries[3]["actor_id"], reply["author_id"]);
    assert_eq!(
        entries[4]["data"],
        json!({"from": "open", "to": "pending", "reason": "reply"})
    );
    assert_eq!(
        entries[5]["data"],
        json!({"from": "Leaking tap", "to": "Tap"})
    );
    assert_eq!(entries[7]["data"], json!({"from": null, "to": owner}));
    assert_eq!(
        entries[9]["data"],
        json!({"added": ["plumbing"], "removed": []})
    );
    assert_eq!(entries[11]["data"], json!({"from": "closed", "to": "open"}));
    // Another workspace gets 404; a bad cursor is named.
    let other = app.workspace("timeline-other").await;
    app.get(&format!("/api/v1/tickets/{id}/activity"))
        .key(&other.admin_key)
        .expect(404)
        .await;
    let bad = app
        .get(&format!("/api/v1/tickets/{id}/activity?cursor=bm9wZQ"))
        .key(&ws.admin_key)
        .expect(422)
        .await;
    assert_eq!(bad.json["errors"][0]["field"], "cursor");
}

/// On PostgreSQL the new tables are confined to the workspace even for SQL that forgets its
/// predicate, and the search index with them.
#[tokio::test(flavor = "multi_thread")]
async fn rls_confines_saved_replies_timelines_and_the_search_index() {
    if holdfast_testkit::postgres_url().is_none() {
        eprintln!("PostgreSQL-only test: set HOLDFAST_TEST_DATABASE_URL (CI does)");
        return;
    }
    let app = TestApp::spawn().await;
    let a = app.workspace("deskrls-a").await;
    let b = app.workspace("deskrls-b").await;
    for ws in [&a, &b] {
        open(&app, ws, "Leaking tap", "ada@example.com", "It drips.").await;
        app.post("/api/v1/saved-replies")
            .key(&ws.admin_key)
            .json(&json!({"name": "Hi", "body": "Hello"}))
            .expect(201)
            .await;
    }
    let presented = holdfast_core::token::parse_api_key(&a.admin_key).unwrap();
    let actor = holdfast_store::identity::auth::authenticate_api_key(&app.db, &presented, 0)
        .await
        .unwrap()
        .unwrap();
    let mut tx = app.db.write(&actor.tenant).await.unwrap();
    let conn = tx.unscoped_connection();
    for (sql, expected) in [
        ("SELECT count(*) FROM saved_replies", 1),
        ("SELECT count(*) FROM ticket_activity", 2),
        (
            "SELECT count(*) FROM ticket_messages WHERE search_vector @@ holdfast_search_query('drips')",
            1,
        ),
    ] {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap();
        assert_eq!(n, expected, "{sql}");
    }
    let forged = sqlx::query(
        "INSERT INTO ticket_activity (workspace_id, id, ticket_id, seq, kind, actor_type, data, created_at) \
         SELECT $1, 'ta_x', id, 99, 'created', 'system', '{}', 0 FROM tickets",
    )
    .bind(&b.id)
    .execute(&mut *conn)
    .await;
    assert!(
        forged.is_err() || forged.unwrap().rows_affected() == 0,
        "no entry for B from A's transaction"
    );
}
