//! The website widget over HTTP: origin lock and CORS, bot checks, identity verification,
//! body limits, rate limits, visitor tokens that read one conversation, key rotation, and the
//! admins' settings (step-up, audit, the sealed identity secret). Both databases.

use crate::ticket_list;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_core::helpdesk::widget::identity_hash;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{Method, OWNER_PASSWORD, Resp, TestApp, Workspace};
use serde_json::{Value, json};

const ORIGIN: &str = "https://shop.example.com";
const BOT_DETAIL: &str = "the form was sent too quickly or looks automated; please try again";

/// Generous budgets, so only the rate-limit test meets them; a one-second fill time.
pub(crate) fn layer() -> Layer {
    Layer {
        widget_min_fill_seconds: Some(1),
        widget_rate_limit_per_ip: Some(1000),
        widget_rate_limit_per_key: Some(1000),
        ..Layer::default()
    }
}

/// Allows `origins` and returns the widget's key (an admin API key needs no step-up).
pub async fn enable(app: &TestApp, ws: &Workspace, origins: &[&str]) -> String {
    app.call(Method::PUT, "/api/v1/widget")
        .key(&ws.admin_key)
        .json(&json!({"enabled": true, "allowed_origins": origins}))
        .expect(200)
        .await
        .json["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A form token old enough to pass the fill-time check.
pub(crate) async fn form_token(app: &TestApp, key: &str) -> String {
    let token = config(app, key).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    token
}

async fn config(app: &TestApp, key: &str) -> String {
    app.get(&format!("/api/v1/widget/{key}/config"))
        .header("origin", ORIGIN)
        .expect(200)
        .await
        .json["form_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn submit<'a>(app: &'a TestApp, key: &str, body: &Value) -> holdfast_testkit::Call<'a> {
    app.post(&format!("/api/v1/widget/{key}/messages"))
        .header("origin", ORIGIN)
        .json(body)
}

/// Rows of `table` in the workspace, read the way the app reads them (on PostgreSQL, inside
/// the workspace's row-level-security scope).
async fn count(app: &TestApp, table: &str, ws: &Workspace) -> i64 {
    let mut tx = app.workspace_tx(ws).await;
    let sql = match table {
        "tickets" => "SELECT count(*) FROM tickets WHERE workspace_id = $1",
        "ticket_messages" => "SELECT count(*) FROM ticket_messages WHERE workspace_id = $1",
        "contacts" => "SELECT count(*) FROM contacts WHERE workspace_id = $1",
        "widget_visitors" => "SELECT count(*) FROM widget_visitors WHERE workspace_id = $1",
        "widget_identities" => "SELECT count(*) FROM widget_identities WHERE workspace_id = $1",
        _ => panic!("no count for {table}"),
    };
    let n: i64 = sqlx::query_scalar(sql)
        .bind(&ws.id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    n
}

async fn nothing_stored(app: &TestApp, ws: &Workspace, contacts_before: i64) {
    assert_eq!(count(app, "tickets", ws).await, 0, "a ticket was stored");
    assert_eq!(count(app, "ticket_messages", ws).await, 0);
    assert_eq!(count(app, "widget_visitors", ws).await, 0);
    assert_eq!(count(app, "contacts", ws).await, contacts_before);
}

async fn refused(app: &TestApp, reason: &str) -> u64 {
    let metrics = app.get("/metrics").expect(200).await.text;
    metrics
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "holdfast_widget_refused_total{{reason=\"{reason}\"}}"
            ))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {reason} counter in {metrics}"))
}

async fn conversation(app: &TestApp, key: &str, token: &str) -> Resp {
    app.get(&format!("/api/v1/widget/{key}/conversation"))
        .header("origin", ORIGIN)
        .header("x-holdfast-visitor", token)
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_from_an_allowed_origin_opens_a_ticket_for_a_new_anonymous_contact() {
    let app = TestApp::spawn_with(layer()).await;
    let ws = app.workspace("widget").await;
    let other = app.workspace("widget-other").await;
    let existing = crate::contact(
        &app,
        &ws,
        json!({"name": "Ada Lovelace", "email": "ada@example.com"}),
    )
    .await;
    app.post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": "Ada's private order", "contact": {"email": "ada@example.com"}, "message": "my private history"}))
        .expect(201)
        .await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    enable(&app, &other, &[ORIGIN]).await;
    let token = form_token(&app, &key).await;

    // Someone claiming Ada's address: a new contact, never Ada's.
    let first = submit(
        &app,
        &key,
        &json!({"name": "Ada?", "email": "ADA@example.com", "message": "Where is my order?", "form_token": token, "website": ""}),
    )
    .expect(201)
    .await;
    assert_eq!(first.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(first.header("vary").unwrap_or_default().contains("Origin"));
    assert!(first.header("access-control-allow-credentials").is_none());
    let visitor = first.json["visitor_token"].as_str().unwrap().to_owned();
    assert!(visitor.starts_with("hfv_"));
    assert_eq!(first.json["message"]["from"], "visitor");
    assert!(
        first.json.get("ticket_id").is_none() && !first.text.contains("ct_"),
        "{}",
        first.text
    );

    let list = ticket_list(&app, &ws).await;
    let ticket = list.iter().find(|t| t["channel"] == "widget").unwrap();
    assert_eq!(ticket["subject"], "Where is my order?");
    let contact = ticket["contact_id"].as_str().unwrap();
    assert_ne!(
        contact, existing,
        "an anonymous visitor joined Ada's contact"
    );
    let c = app
        .get(&format!("/api/v1/contacts/{contact}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(c.json["name"], "Ada?");
    assert!(c.json["email"].is_null(), "{}", c.text);
    assert!(
        ticket_list(&app, &other).await.is_empty(),
        "the other workspace got it"
    );
    assert_eq!(count(&app, "tickets", &other).await, 0);

    // The team replies and writes a note; the visitor sees the reply, never the note.
    let tid = ticket["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/tickets/{tid}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "It ships tomorrow."}))
        .expect(201)
        .await;
    app.post(&format!("/api/v1/tickets/{tid}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "INTERNAL: customer seems upset"}))
        .expect(201)
        .await;
    let conv = conversation(&app, &key, &visitor).await;
    assert_eq!(conv.status, 200, "{}", conv.text);
    assert_eq!(conv.header("access-control-allow-origin"), Some(ORIGIN));
    let bodies: Vec<(&str, &str)> = conv.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"].as_str().unwrap(), m["body"].as_str().unwrap()))
        .collect();
    assert_eq!(
        bodies,
        [
            ("visitor", "Where is my order?"),
            ("team", "It ships tomorrow.")
        ]
    );
    assert!(!conv.text.contains("INTERNAL") && !conv.text.contains("private history"));
    assert_eq!(conv.json["status"], "pending");

    // A follow-up with the token joins the same ticket and reopens it.
    let again = submit(
        &app,
        &key,
        &json!({"message": "Thanks!", "form_token": token}),
    )
    .header("x-holdfast-visitor", &visitor)
    .expect(201)
    .await;
    assert_eq!(again.json["visitor_token"], visitor.as_str());
    let list = ticket_list(&app, &ws).await;
    assert_eq!(list.iter().filter(|t| t["channel"] == "widget").count(), 1);
    let thread = app
        .get(&format!("/api/v1/tickets/{tid}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(thread.json["status"], "open");
    let last = thread.json["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["body"], "Thanks!");
    assert_eq!(last["kind"], "inbound");
    assert_eq!(last["author_id"], contact);

    // Another visitor reads only their own conversation; unknown and foreign tokens are 404.
    let second = submit(
        &app,
        &key,
        &json!({"message": "A different question", "form_token": token}),
    )
    .expect(201)
    .await;
    let second_token = second.json["visitor_token"].as_str().unwrap();
    let conv = conversation(&app, &key, second_token).await;
    assert_eq!(conv.json["messages"].as_array().unwrap().len(), 1);
    assert!(!conv.text.contains("Where is my order") && !conv.text.contains("ships"));
    let other_key = app
        .get("/api/v1/widget")
        .key(&other.admin_key)
        .expect(200)
        .await
        .json["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for (k, t) in [
        (key.as_str(), format!("hfv_{}", "a".repeat(43))),
        (key.as_str(), "not-a-token".to_owned()),
        (other_key.as_str(), visitor.clone()),
    ] {
        let r = conversation(&app, k, &t).await;
        assert_eq!(r.status, 404, "{}", r.text);
        r.problem("HF-REQ-005");
    }
    let r = app
        .get(&format!("/api/v1/widget/{key}/conversation"))
        .header("origin", ORIGIN)
        .send()
        .await;
    assert_eq!(r.status, 404);
    // A follow-up with an unknown token stores nothing.
    let before = count(&app, "ticket_messages", &ws).await;
    submit(
        &app,
        &key,
        &json!({"message": "sneaky", "form_token": token}),
    )
    .header("x-holdfast-visitor", &format!("hfv_{}", "b".repeat(43)))
    .expect(404)
    .await;
    assert_eq!(count(&app, "ticket_messages", &ws).await, before);
    // Only the digest of a visitor token is stored.
    assert_eq!(count(&app, "widget_visitors", &ws).await, 2);
    let mut tx = app.workspace_tx(&ws).await;
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM widget_visitors WHERE workspace_id = $1")
            .bind(&ws.id)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    assert!(hashes.iter().all(|h| h.len() == 64 && !h.contains("hfv_")));
}

#[tokio::test(flavor = "multi_thread")]
async fn other_origins_are_refused_with_nothing_stored_and_preflights_answer_only_allowed_ones() {
    let app = TestApp::spawn_with(layer()).await;
    let ws = app.workspace("widget-origin").await;
    let key = enable(&app, &ws, &[ORIGIN, "http://localhost:3000"]).await;
    let token = form_token(&app, &key).await;
    let contacts = count(&app, "contacts", &ws).await;
    let before = refused(&app, "origin").await;
    let body = json!({"message": "hello", "form_token": token});
    for origin in [
        Some("https://evil.example.com"),
        Some("https://shop.example.com.evil.com"),
        Some("http://shop.example.com"),
        Some("null"),
        None,
    ] {
        let mut call = app
            .post(&format!("/api/v1/widget/{key}/messages"))
            .json(&body);
        if let Some(o) = origin {
            call = call.header("origin", o);
        }
        let r = call.send().await;
        assert_eq!(r.status, 403, "{origin:?}: {}", r.text);
        r.problem("HF-AUTH-003");
        assert!(r.header("access-control-allow-origin").is_none());
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/problem+json")
        );
    }
    assert_eq!(refused(&app, "origin").await, before + 5);
    nothing_stored(&app, &ws, contacts).await;
    // Reading config and conversations is locked the same way.
    app.get(&format!("/api/v1/widget/{key}/config"))
        .header("origin", "https://evil.example.com")
        .expect(403)
        .await;

    // Preflight: the allowed origin (normalised) gets methods and headers, never credentials.
    let pre = app
        .call(Method::OPTIONS, &format!("/api/v1/widget/{key}/messages"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-holdfast-visitor",
        )
        .expect(204)
        .await;
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert!(
        pre.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(
        pre.header("access-control-allow-headers")
            .unwrap()
            .contains("x-holdfast-visitor")
    );
    assert!(pre.header("access-control-allow-credentials").is_none());
    let pre = app
        .call(Method::OPTIONS, &format!("/api/v1/widget/{key}/messages"))
        .header("origin", "https://evil.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    assert_eq!(pre.status, 403);
    assert!(pre.header("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn bots_are_refused_by_honeypot_and_form_token_with_nothing_stored() {
    let app = TestApp::spawn_with(layer()).await;
    let ws = app.workspace("widget-bots").await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let good = form_token(&app, &key).await;
    let fresh = config(&app, &key).await;
    let (stamp, mac) = good.split_once('.').unwrap();
    let backdated = format!("{}.{mac}", stamp.parse::<i64>().unwrap() - 60_000);
    let contacts = count(&app, "contacts", &ws).await;
    let before = refused(&app, "bot").await;
    let cases = [
        json!({"message": "buy now", "form_token": good, "website": "http://spam.example"}),
        json!({"message": "buy now"}),
        json!({"message": "buy now", "form_token": ""}),
        json!({"message": "buy now", "form_token": fresh}),
        json!({"message": "buy now", "form_token": backdated}),
        json!({"message": "buy now", "form_token": "1.forged"}),
    ];
    for body in &cases {
        let r = submit(&app, &key, body).send().await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.json["detail"], BOT_DETAIL);
        assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    }
    assert_eq!(refused(&app, "bot").await, before + cases.len() as u64);
    nothing_stored(&app, &ws, contacts).await;
    // The same token passes once it is old enough.
    submit(
        &app,
        &key,
        &json!({"message": "a person", "form_token": good}),
    )
    .expect(201)
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_identity_keeps_one_contact_and_a_bad_hash_stores_nothing() {
    let app = TestApp::spawn_with(layer()).await;
    let ws = app.workspace("widget-identity").await;
    let existing = crate::contact(
        &app,
        &ws,
        json!({"name": "Grace", "email": "grace@example.com"}),
    )
    .await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let token = form_token(&app, &key).await;
    let contacts = count(&app, "contacts", &ws).await;
    let before = refused(&app, "identity").await;

    // No secret yet: a user id cannot be verified.
    let r = submit(
        &app,
        &key,
        &json!({"message": "hi", "form_token": token, "user_id": "u-1", "user_hash": "00"}),
    )
    .send()
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let secret = app
        .post("/api/v1/widget/identity-secret/rotate")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["identity_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("wis_"));
    let good = identity_hash(&secret, "u-1");
    for body in [
        json!({"message": "hi", "form_token": token, "user_id": "u-1"}),
        json!({"message": "hi", "form_token": token, "user_id": "u-1", "user_hash": identity_hash(&secret, "u-2")}),
        json!({"message": "hi", "form_token": token, "user_id": "u-1", "user_hash": identity_hash("wis_wrong", "u-1")}),
        json!({"message": "hi", "form_token": token, "user_id": "u-1", "user_hash": ""}),
    ] {
        let r = submit(&app, &key, &body).send().await;
        assert_eq!(r.status, 403, "{body}: {}", r.text);
        r.problem("HF-AUTH-003");
    }
    assert_eq!(refused(&app, "identity").await, before + 5);
    nothing_stored(&app, &ws, contacts).await;
    assert_eq!(count(&app, "widget_identities", &ws).await, 0);

    // Verified: the same contact across two conversations, never merged with the contact
    // that already had the address.
    let mut seen = Vec::new();
    for text in ["first question", "second question"] {
        submit(
            &app,
            &key,
            &json!({"message": text, "form_token": token, "user_id": "u-1", "user_hash": good,
                    "name": "Grace H", "email": "grace@example.com"}),
        )
        .expect(201)
        .await;
    }
    for t in ticket_list(&app, &ws).await {
        seen.push(t["contact_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1], "one verified user, one contact");
    assert_ne!(seen[0], existing);
    assert_eq!(count(&app, "widget_identities", &ws).await, 1);
    // A verified user cannot write into an anonymous visitor's conversation.
    let anon = submit(&app, &key, &json!({"message": "anon", "form_token": token}))
        .expect(201)
        .await;
    let messages = count(&app, "ticket_messages", &ws).await;
    submit(
        &app,
        &key,
        &json!({"message": "hijack", "form_token": token, "user_id": "u-1", "user_hash": good}),
    )
    .header(
        "x-holdfast-visitor",
        anon.json["visitor_token"].as_str().unwrap(),
    )
    .expect(403)
    .await;
    assert_eq!(count(&app, "ticket_messages", &ws).await, messages);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_malformed_and_invalid_bodies_get_clear_errors_and_store_nothing() {
    let app = TestApp::spawn_with(layer()).await;
    let ws = app.workspace("widget-bodies").await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let token = form_token(&app, &key).await;
    let contacts = count(&app, "contacts", &ws).await;
    let path = format!("/api/v1/widget/{key}/messages");
    let post = |content_type: &str, body: String| {
        app.post(&path)
            .header("origin", ORIGIN)
            .body(content_type, body)
    };
    let huge = json!({"message": "x".repeat(17 * 1024), "form_token": token}).to_string();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("application/json", huge, 413, "16384 bytes"),
        (
            "application/json",
            "{\"message\": ".into(),
            400,
            "not valid JSON",
        ),
        ("text/plain", "{}".into(), 415, "application/json"),
        (
            "application/json",
            json!({"message": "hi", "form_token": token, "admin": true}).to_string(),
            422,
            "unknown field",
        ),
        (
            "application/json",
            json!({"message": "  ", "form_token": token}).to_string(),
            422,
            "must not be empty",
        ),
        (
            "application/json",
            json!({"message": "m".repeat(5001), "form_token": token}).to_string(),
            422,
            "at most 5000",
        ),
        (
            "application/json",
            json!({"message": "hi", "email": "nope", "name": "n".repeat(101), "form_token": token})
                .to_string(),
            422,
            "email",
        ),
    ];
    for (content_type, body, status, says) in cases {
        let r = post(content_type, body).send().await;
        assert_eq!(r.status, status, "{says}: {}", r.text);
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/problem+json")
        );
        assert!(r.text.contains(says), "expected '{says}' in {}", r.text);
    }
    let r = post(
        "application/json",
        json!({"message": "hi", "email": "nope", "name": "n".repeat(101), "form_token": token})
            .to_string(),
    )
    .send()
    .await;
    let fields: Vec<&str> = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email"]);
    nothing_stored(&app, &ws, contacts).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_are_limited_per_key_and_per_address() {
    let app = TestApp::spawn_with(Layer {
        widget_rate_limit_per_key: Some(3),
        ..layer()
    })
    .await;
    let a = app.workspace("widget-rate-a").await;
    let b = app.workspace("widget-rate-b").await;
    let key_a = enable(&app, &a, &[ORIGIN]).await;
    let key_b = enable(&app, &b, &[ORIGIN]).await;
    let token_b = config(&app, &key_b).await;
    let token_a = form_token(&app, &key_a).await;
    let before = refused(&app, "rate").await;
    for _ in 0..3 {
        submit(
            &app,
            &key_a,
            &json!({"message": "hi", "form_token": token_a}),
        )
        .expect(201)
        .await;
    }
    let r = submit(
        &app,
        &key_a,
        &json!({"message": "hi", "form_token": token_a}),
    )
    .expect(429)
    .await;
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(
        r.json["detail"]
            .as_str()
            .unwrap()
            .contains("this website widget")
    );
    assert_eq!(count(&app, "tickets", &a).await, 3);
    // Key A's budget is its own: key B still takes messages from the same address.
    submit(
        &app,
        &key_b,
        &json!({"message": "hi", "form_token": token_b}),
    )
    .expect(201)
    .await;
    assert_eq!(refused(&app, "rate").await, before + 1);

    // Per address, across every widget.
    let app = TestApp::spawn_with(Layer {
        widget_rate_limit_per_ip: Some(3),
        ..layer()
    })
    .await;
    let a = app.workspace("widget-ip-a").await;
    let b = app.workspace("widget-ip-b").await;
    let key_a = enable(&app, &a, &[ORIGIN]).await;
    let key_b = enable(&app, &b, &[ORIGIN]).await;
    let token_a = config(&app, &key_a).await;
    let token_b = form_token(&app, &key_b).await;
    for (key, token) in [(&key_a, &token_a), (&key_b, &token_b), (&key_a, &token_a)] {
        submit(&app, key, &json!({"message": "hi", "form_token": token}))
            .expect(201)
            .await;
    }
    let r = submit(
        &app,
        &key_b,
        &json!({"message": "hi", "form_token": token_b}),
    )
    .expect(429)
    .await;
    assert!(r.json["detail"].as_str().unwrap().contains("one address"));
    assert_eq!(count(&app, "tickets", &b).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_disabled_or_helpdesk_off_widget_answers_like_an_unknown_key() {
    let app = TestApp::spawn_with(layer()).await;
    let ws = app.workspace("widget-rotate").await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let unknown = app
        .get(&format!("/api/v1/widget/wgt_{}/config", "Z".repeat(43)))
        .header("origin", ORIGIN)
        .expect(404)
        .await;
    let rotated = app
        .post("/api/v1/widget/rotate-key")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    let new_key = rotated.json["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    assert!(
        rotated.json["embed_snippet"]
            .as_str()
            .unwrap()
            .contains(&new_key)
    );
    let old = app
        .get(&format!("/api/v1/widget/{key}/config"))
        .header("origin", ORIGIN)
        .expect(404)
        .await;
    assert_eq!(old.json["detail"], unknown.json["detail"]);
    config(&app, &new_key).await;

    app.call(Method::PUT, "/api/v1/widget")
        .key(&ws.admin_key)
        .json(&json!({"enabled": false}))
        .expect(200)
        .await;
    let off = app
        .get(&format!("/api/v1/widget/{new_key}/config"))
        .header("origin", ORIGIN)
        .expect(404)
        .await;
    assert_eq!(off.json["detail"], unknown.json["detail"]);
    app.call(Method::PUT, "/api/v1/widget")
        .key(&ws.admin_key)
        .json(&json!({"enabled": true}))
        .expect(200)
        .await;
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm"]}))
        .expect(200)
        .await;
    let module_off = app
        .get(&format!("/api/v1/widget/{new_key}/config"))
        .header("origin", ORIGIN)
        .expect(404)
        .await;
    assert_eq!(module_off.json["detail"], unknown.json["detail"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_changes_need_step_up_are_audited_and_the_identity_secret_is_sealed() {
    let app = TestApp::spawn_with(layer()).await;
    let ws = app.workspace("widget-admin").await;
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    app.get("/api/v1/widget").key(&support).expect(403).await;

    let access = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings = app.get("/api/v1/widget").key(&access).expect(200).await;
    assert_eq!(settings.json["enabled"], true);
    assert_eq!(settings.json["allowed_origins"], json!([]));
    assert_eq!(settings.json["identity_secret_set"], false);
    let change = json!({"allowed_origins": ["HTTPS://Shop.Example.com:443"]});
    for (method, path) in [
        (Method::PUT, "/api/v1/widget"),
        (Method::POST, "/api/v1/widget/rotate-key"),
        (Method::POST, "/api/v1/widget/identity-secret/rotate"),
        (Method::POST, "/api/v1/widget/identity-secret/reveal"),
    ] {
        app.call(method, path)
            .key(&access)
            .json(&change)
            .expect(403)
            .await
            .problem("HF-AUTH-005");
    }
    app.post("/api/v1/auth/step-up")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(204)
        .await;
    let bad = app
        .call(Method::PUT, "/api/v1/widget")
        .key(&access)
        .json(&json!({"allowed_origins": ["http://shop.example.com", "https://*.example.com"]}))
        .expect(422)
        .await;
    assert_eq!(bad.json["errors"].as_array().unwrap().len(), 2);
    let changed = app
        .call(Method::PUT, "/api/v1/widget")
        .key(&access)
        .json(&change)
        .expect(200)
        .await;
    assert_eq!(changed.json["allowed_origins"], json!([ORIGIN]));
    app.post("/api/v1/widget/identity-secret/reveal")
        .key(&access)
        .expect(404)
        .await;
    let secret = app
        .post("/api/v1/widget/identity-secret/rotate")
        .key(&access)
        .expect(200)
        .await
        .json["identity_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = app
        .post("/api/v1/widget/identity-secret/reveal")
        .key(&access)
        .expect(200)
        .await;
    assert_eq!(shown.json["identity_secret"], secret.as_str());
    let after = app.get("/api/v1/widget").key(&access).expect(200).await;
    assert_eq!(after.json["identity_secret_set"], true);
    assert!(!after.text.contains(&secret));

    let audit = app
        .get("/api/v1/audit?limit=50")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(
        !audit.text.contains(&secret),
        "the audit trail holds the secret"
    );
    let entries = audit.json["data"].as_array().unwrap();
    let of = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {}", audit.text))
            .clone()
    };
    let settings_changed = of("widget.settings_changed");
    let summary: Value =
        serde_json::from_str(settings_changed["summary"].as_str().unwrap()).unwrap();
    assert_eq!(summary["before"]["allowed_origins"], json!([]));
    assert_eq!(summary["after"]["allowed_origins"], json!([ORIGIN]));
    assert_eq!(settings_changed["actor_type"], "user");
    of("widget.identity_secret_rotated");
    of("widget.identity_secret_revealed");

    // Encrypted at rest: the column holds sealed text, not the secret.
    let mut tx = app.workspace_tx(&ws).await;
    let raw: String = sqlx::query_scalar(
        "SELECT identity_secret_sealed FROM widget_settings WHERE workspace_id = $1",
    )
    .bind(&ws.id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert!(raw.starts_with("v1:"), "{raw}");
    assert!(!raw.contains(&secret) && !raw.contains(&secret[4..]));
    assert!(!holdfast_testkit::captured_logs().contains(&secret));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_instance_cors_list_does_not_capture_the_widgets_own_origins() {
    let app = TestApp::spawn_with(Layer {
        cors_allowed_origins: Some(vec!["https://console.example.com".into()]),
        ..layer()
    })
    .await;
    let ws = app.workspace("widget-cors").await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let pre = app
        .call(Method::OPTIONS, &format!("/api/v1/widget/{key}/messages"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .expect(204)
        .await;
    assert_eq!(pre.header("access-control-allow-origin"), Some(ORIGIN));
    // The console's origin is the instance's, not the widget's.
    app.call(Method::OPTIONS, &format!("/api/v1/widget/{key}/messages"))
        .header("origin", "https://console.example.com")
        .header("access-control-request-method", "POST")
        .expect(403)
        .await;
    let api = app
        .call(Method::OPTIONS, "/api/v1/contacts")
        .header("origin", "https://console.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    assert_eq!(
        api.header("access-control-allow-origin"),
        Some("https://console.example.com")
    );
    let token = form_token(&app, &key).await;
    submit(&app, &key, &json!({"message": "hi", "form_token": token}))
        .expect(201)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn widget_conversations_publish_the_same_ticket_events_as_other_channels() {
    let receiver = holdfast_testkit::receiver::Receiver::start().await;
    let app = TestApp::spawn_with(Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..layer()
    })
    .await;
    let ws = app.workspace("widget-events").await;
    app.post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": receiver.base, "event_types": ["ticket.created", "ticket.updated", "message.created"]}))
        .expect(201)
        .await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let token = form_token(&app, &key).await;
    let first = submit(
        &app,
        &key,
        &json!({"message": "Is the shop open on Sunday?", "form_token": token}),
    )
    .expect(201)
    .await;
    submit(
        &app,
        &key,
        &json!({"message": "And Monday?", "form_token": token}),
    )
    .header(
        "x-holdfast-visitor",
        first.json["visitor_token"].as_str().unwrap(),
    )
    .expect(201)
    .await;
    let seen = receiver
        .wait_for(4, std::time::Duration::from_secs(20))
        .await;
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
    let created = seen
        .iter()
        .find(|r| r.json()["type"] == "ticket.created")
        .unwrap()
        .json();
    assert_eq!(created["data"]["channel"], "widget");
}

/// A widget app on a clock the test moves; returns the clock.
async fn widget_on_clock() -> (TestApp, holdfast_core::clock::ManualClock) {
    TestApp::spawn_on_clock(layer(), 1_800_000_000_000).await
}

/// Opens a conversation on a manual clock and returns the visitor token.
async fn visitor_on_clock(
    app: &TestApp,
    clock: &holdfast_core::clock::ManualClock,
    key: &str,
    message: &str,
) -> String {
    let token = config(app, key).await;
    clock.advance(2_000);
    submit(app, key, &json!({"message": message, "form_token": token}))
        .expect(201)
        .await
        .json["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[tokio::test(flavor = "multi_thread")]
async fn a_visitor_token_unused_for_the_idle_limit_stops_opening_its_conversation() {
    let (app, clock) = widget_on_clock().await;
    let ws = app.workspace("widget-idle").await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let token = visitor_on_clock(&app, &clock, &key, "Is my order on its way?").await;
    // Used within the limit, it lives on: each use starts the idle period again.
    clock.advance(29 * DAY_MS);
    assert_eq!(conversation(&app, &key, &token).await.status, 200);
    clock.advance(29 * DAY_MS);
    assert_eq!(
        conversation(&app, &key, &token).await.status,
        200,
        "58 days after it was made, but used 29 days ago"
    );
    let form = config(&app, &key).await;
    clock.advance(2_000);
    submit(
        &app,
        &key,
        &json!({"message": "Still waiting", "form_token": form}),
    )
    .header("x-holdfast-visitor", &token)
    .expect(201)
    .await;
    // Idle past the default 30 days: refused like an unknown token, reads and writes alike.
    clock.advance(30 * DAY_MS + 1_000);
    let expired = conversation(&app, &key, &token).await;
    assert_eq!(expired.status, 404, "{}", expired.text);
    let unknown = conversation(&app, &key, &format!("hfv_{}", "A".repeat(43))).await;
    assert_eq!(expired.json["detail"], unknown.json["detail"]);
    let form = config(&app, &key).await;
    clock.advance(2_000);
    submit(
        &app,
        &key,
        &json!({"message": "Hello again", "form_token": form}),
    )
    .header("x-holdfast-visitor", &token)
    .expect(404)
    .await;
    assert_eq!(
        ticket_list(&app, &ws).await.len(),
        1,
        "nothing new was opened"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_still_finds_a_revoked_visitors_typed_address() {
    let app = TestApp::spawn_with(layer()).await;
    let ws = app.workspace("widget-revoke-erase").await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let form = form_token(&app, &key).await;
    submit(
        &app,
        &key,
        &json!({"name": "Rhea Visitor", "email": "rhea@example.com", "message": "Hello?",
                "form_token": form, "website": ""}),
    )
    .expect(201)
    .await;
    app.post("/api/v1/widget/rotate-key?revoke_visitors=true")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    let id = crate::contact(
        &app,
        &ws,
        json!({"name": "Rhea", "email": "rhea@example.com"}),
    )
    .await;
    let erased = app
        .post(&format!("/api/v1/contacts/{id}/erase"))
        .key(&ws.admin_key)
        .json(&json!({"reason": "asked by mail"}))
        .expect(200)
        .await
        .json;
    assert_eq!(
        erased["linked_contacts"].as_array().map(Vec::len),
        Some(1),
        "the widget contact made from the typed address: {erased}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_the_widget_key_can_revoke_every_visitor_token() {
    let (app, clock) = widget_on_clock().await;
    let ws = app.workspace("widget-revoke").await;
    let key = enable(&app, &ws, &[ORIGIN]).await;
    let first = visitor_on_clock(&app, &clock, &key, "First visitor").await;
    // A plain rotation keeps conversations open under the new key.
    let key = app
        .post("/api/v1/widget/rotate-key")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(conversation(&app, &key, &first).await.status, 200);
    let second = visitor_on_clock(&app, &clock, &key, "Second visitor").await;
    let rotated = app
        .post("/api/v1/widget/rotate-key?revoke_visitors=true")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    let key = rotated.json["key"].as_str().unwrap().to_owned();
    for token in [&first, &second] {
        let r = conversation(&app, &key, token).await;
        assert_eq!(r.status, 404, "a revoked token still reads: {}", r.text);
    }
    // The records stay (erasure follows the typed address to the person's widget contacts).
    assert_eq!(count(&app, "widget_visitors", &ws).await, 2);
    let trail = app
        .get("/api/v1/audit?action=widget.key_rotated")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        trail["data"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("\"visitors_revoked\":2"),
        "{trail}"
    );
    // A bad option is named.
    let bad = app
        .post("/api/v1/widget/rotate-key?revoke_visitors=maybe")
        .key(&ws.admin_key)
        .send()
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("revoke_visitors"), "{}", bad.text);
    // New visitors start afresh.
    let third = visitor_on_clock(&app, &clock, &key, "Third visitor").await;
    assert_eq!(conversation(&app, &key, &third).await.status, 200);
}
