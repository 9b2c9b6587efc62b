//! The console attacked: what a role, a workspace or a form may not reach through the pages
//! and their actions, found by an attacker's pass over the console.

use crate::pages::FORM;
use crate::{key_with_role, ticket_id};
use holdfast_testkit::{Method, TestApp};
use serde_json::json;

/// A role with tickets.write but not tickets.read may act on a ticket, but the console shows
/// it nothing of the ticket: not the conversation after its note (htmx asks for it), nor a
/// saved reply filled in with the ticket's subject (the API's preview needs tickets.read).
#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_writes_but_cannot_read_tickets_is_shown_nothing_of_them() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("write-only").await;
    let id = ticket_id(
        &app,
        &ws,
        json!({"subject": "Secret subject", "contact": {"email": "c@example.com"}, "message": "Private words"}),
    )
    .await;
    let saved = app
        .post("/api/v1/saved-replies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Hidden macro", "body": "About {{ticket.subject}}: macro text"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
    let key = key_with_role(&app, &ws, &role).await.0;
    // What the API refuses this role …
    app.get(&format!("/api/v1/tickets/{id}"))
        .key(&key)
        .expect(403)
        .await;
    app.get(&format!("/api/v1/saved-replies/{saved}"))
        .key(&key)
        .expect(403)
        .await;
    // … the console does not show either.
    let r = app
        .browser(
            Method::GET,
            &format!("/app/tickets/{id}/saved-reply?saved={saved}"),
        )
        .key(&key)
        .send()
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        !r.text.contains("Secret subject") && !r.text.contains("macro text"),
        "{}",
        r.text
    );
    // Its note is taken, but the answer is not the conversation.
    let r = app
        .browser(Method::POST, &format!("/app/tickets/{id}/messages"))
        .key(&key)
        .header("hx-request", "true")
        .body(FORM, "kind=note&body=A+note")
        .send()
        .await;
    assert!([204, 303].contains(&r.status), "{}: {}", r.status, r.text);
    assert!(!r.text.contains("Private words"), "{}", r.text);
    let thread = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 2);
    // Nor does the API fill a saved reply in for it: the reply that would show the macro and
    // the subject is refused, and nothing is sent.
    let r = app
        .post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&key)
        .json(&json!({"saved_reply_id": saved}))
        .expect(403)
        .await;
    r.problem("HF-AUTH-003");
    assert!(
        !r.text.contains("Secret subject") && !r.text.contains("macro text"),
        "{}",
        r.text
    );
    // Its own words are still taken.
    app.post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&key)
        .json(&json!({"body": "Written by hand"}))
        .expect(201)
        .await;
    let thread = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 3);
}
