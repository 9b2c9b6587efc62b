//! Deleting a contact is erasing it: `DELETE /api/v1/contacts/{id}` needs `contacts.erase` and
//! a step-up, is refused under legal hold, and removes the contact's tickets, messages and
//! files like `POST …/erase`, so no ticket is left naming a contact that is gone. Approving an
//! erasure request whose contact row is already gone (removed before deletion was erasure)
//! still erases what names the person. Erasure touches only its own workspace's outbox mail.
//! Both databases.

use crate::privacy::{attachment_file, drain_jobs, scan, wait_until};
use crate::tickets::{mailgun_form, mailgun_key, wait_for_tickets};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{OWNER_PASSWORD, TestApp, Workspace};
use serde_json::json;

/// One statement in the workspace's row-level-security scope (as the old `DELETE` did, or to
/// count what is left); returns the rows affected or the count.
async fn raw(app: &TestApp, ws: &Workspace, sql: &'static str, bind: &str) -> i64 {
    let mut tx = app.workspace_tx(ws).await;
    let n = if sql.starts_with("SELECT") {
        sqlx::query_scalar(sql)
            .bind(&ws.id)
            .bind(bind)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    } else {
        sqlx::query(sql)
            .bind(&ws.id)
            .bind(bind)
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected() as i64
    };
    tx.commit().await.unwrap();
    n
}

/// Tickets of the workspace whose contact does not exist.
async fn dangling_tickets(app: &TestApp, ws: &Workspace) -> i64 {
    raw(
        app,
        ws,
        "SELECT count(*) FROM tickets t WHERE t.workspace_id = $1 AND t.contact_id IS NOT NULL \
         AND $2 = $2 AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.workspace_id = t.workspace_id \
         AND c.id = t.contact_id)",
        "",
    )
    .await
}

/// A mail from `email` with an attachment, through the signed Mailgun route: a ticket, its
/// message, the file and the raw inbound event naming the address.
async fn mail_in(app: &TestApp, ws: &Workspace, email: &str, tag: &str, file: &[u8]) {
    let key = "key-deletion000000000000000000000";
    mailgun_key(app, ws, key).await;
    let from = format!("Mailer {tag} <{email}>");
    let message_id = format!("<del-{tag}@mail.example.com>");
    let (ct, body) = mailgun_form(
        key,
        &format!("token-{tag}-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        &[
            ("sender", from.as_str()),
            ("from", from.as_str()),
            ("recipient", "support@inbound.example.com"),
            ("subject", "Deletion test"),
            ("Message-Id", message_id.as_str()),
            ("body-plain", "My details are attached."),
        ],
        Some(("file.pdf", "application/pdf", file)),
    );
    let r = app
        .post(&format!("/hooks/mailgun/{}", ws.slug))
        .body(&ct, body)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_contact_needs_the_erase_permission_and_a_step_up() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("delete-perm").await;
    let id = crate::contact(&app, &ws, json!({"name": "Kept Person"})).await;
    let path = format!("/api/v1/contacts/{id}");
    // Support may edit contacts (contacts.write) but not erase them.
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    app.delete(&path)
        .key(&support)
        .expect(403)
        .await
        .problem("HF-AUTH-003");
    // The owner's session must step up first.
    let access = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&path)
        .key(&access)
        .expect(403)
        .await
        .problem("HF-AUTH-005");
    app.get(&path).key(&ws.admin_key).expect(200).await;
    app.post("/api/v1/auth/step-up")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(204)
        .await;
    app.delete(&path).key(&access).expect(204).await;
    app.get(&path).key(&ws.admin_key).expect(404).await;
    app.delete(&path).key(&access).expect(404).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_contact_on_legal_hold_is_refused_like_erasure() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("delete-hold").await;
    let email = format!("{}@held.example.com", holdfast_testkit::unique("h"));
    let id = crate::contact(&app, &ws, json!({"name": "Held Person", "email": email})).await;
    let ticket = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": "Dispute", "contact": {"email": email}, "message": "evidence"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(&format!("/api/v1/contacts/{id}/privacy"))
        .key(&ws.admin_key)
        .json(&json!({"legal_hold": true, "reason": "pending dispute"}))
        .expect(200)
        .await;
    let refused = app
        .delete(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(409)
        .await;
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("legal hold"),
        "{}",
        refused.text
    );
    app.get(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    app.get(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(dangling_tickets(&app, &ws).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_contact_erases_its_tickets_messages_and_files() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("delete-erases").await;
    let tag = holdfast_testkit::unique("d");
    let email = format!("{tag}@deleted.example.com");
    let id = crate::contact(&app, &ws, json!({"name": "Deleted Person", "email": email})).await;
    let ticket = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": format!("About {tag}"), "contact": {"email": email}, "message": "hello"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = format!("private file of {tag}").into_bytes();
    mail_in(&app, &ws, &email, &tag, &file).await;
    wait_for_tickets(&app, &ws, 2).await;
    drain_jobs(&app, &ws).await;
    assert!(attachment_file(&app, &file).exists());
    let before = scan(&app, &ws, std::slice::from_ref(&email)).await;
    assert!(
        before.iter().any(|h| h.starts_with("inbound_events.body")),
        "{before:#?}"
    );

    app.delete(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    drain_jobs(&app, &ws).await;

    app.get(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    let count = |sql: &'static str| raw(&app, &ws, sql, &id);
    assert_eq!(
        count("SELECT count(*) FROM tickets WHERE workspace_id = $1 AND contact_id = $2").await,
        0,
        "no ticket of the deleted contact remains"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM ticket_messages WHERE workspace_id = $1 AND author_type = 'contact' AND author_id = $2"
        )
        .await,
        0,
        "no message of the deleted contact remains"
    );
    assert_eq!(
        count("SELECT count(*) FROM ticket_attachments WHERE workspace_id = $1 AND $2 = $2").await,
        0,
        "no attachment of the deleted contact (the workspace's only one) remains"
    );
    assert!(!attachment_file(&app, &file).exists(), "its file is gone");
    assert_eq!(dangling_tickets(&app, &ws).await, 0);
    let after = scan(&app, &ws, std::slice::from_ref(&email)).await;
    assert!(after.is_empty(), "left after deletion: {after:#?}");
    // Recorded as the erasure it is.
    let tenant = holdfast_store::ops::admin::unscoped_tenant_by_slug(&app.db, &ws.slug)
        .await
        .unwrap()
        .unwrap();
    let mut tx = app.db.read(&tenant).await.unwrap();
    let chain = holdfast_store::ops::audit::chain(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        chain
            .iter()
            .any(|e| e.action == "contact.erased" && e.entity_id == id),
        "deletion is audited as contact.erased"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_a_request_whose_contact_is_gone_erases_what_remains() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("delete-request").await;
    let tag = holdfast_testkit::unique("r");
    let email = format!("{tag}@requested.example.com");
    let id = crate::contact(
        &app,
        &ws,
        json!({"name": "Requesting Person", "email": email}),
    )
    .await;
    app.post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": format!("About {tag}"), "contact": {"email": email}, "message": "hello"}))
        .expect(201)
        .await;
    let file = format!("scan of {tag}").into_bytes();
    mail_in(&app, &ws, &email, &tag, &file).await;
    wait_for_tickets(&app, &ws, 2).await;
    drain_jobs(&app, &ws).await;
    let request = app
        .post(&format!("/api/v1/contacts/{id}/erasure-requests"))
        .key(&ws.admin_key)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The contact row goes on its own, as deletion did before it became erasure: its tickets
    // now name a contact that does not exist.
    let removed = raw(
        &app,
        &ws,
        "DELETE FROM contacts WHERE workspace_id = $1 AND id = $2",
        &id,
    )
    .await;
    assert_eq!(removed, 1);
    assert_eq!(dangling_tickets(&app, &ws).await, 2);

    let decided = app
        .post(&format!(
            "/api/v1/privacy/erasure-requests/{request}/approve"
        ))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(decided.json["status"], "approved");
    drain_jobs(&app, &ws).await;
    assert_eq!(
        dangling_tickets(&app, &ws).await,
        0,
        "the removed contact's tickets are erased"
    );
    assert_eq!(
        raw(
            &app,
            &ws,
            "SELECT count(*) FROM ticket_messages WHERE workspace_id = $1 AND author_id = $2",
            &id
        )
        .await,
        0
    );
    assert!(!attachment_file(&app, &file).exists(), "its file is gone");
    let after = scan(&app, &ws, &[email.clone(), tag.clone()]).await;
    assert!(
        after.is_empty(),
        "left after the approval (raw inbound mail included): {after:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_leaves_other_workspaces_and_staff_mail_in_the_outbox() {
    let app = TestApp::spawn().await;
    let a = app.workspace("outbox-a").await;
    let b = app.workspace("outbox-b").await;
    let address = format!("{}@shared.example.com", holdfast_testkit::unique("x"));
    // B invites the address as staff; A has it as a customer and writes to them.
    app.post("/api/v1/invitations")
        .key(&b.admin_key)
        .json(&json!({"email": address, "role": "support"}))
        .expect(201)
        .await;
    app.outbox_mail(&address).await;
    let id = crate::contact(&app, &a, json!({"name": "Shared Person", "email": address})).await;
    let ticket = app
        .post("/api/v1/tickets")
        .key(&a.admin_key)
        .json(&json!({"subject": "Hello", "contact": {"email": address}, "message": "hi"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/tickets/{ticket}/replies"))
        .key(&a.admin_key)
        .json(&json!({"body": "A's answer to the customer"}))
        .expect(201)
        .await;
    let outbox = async || {
        holdfast_store::ops::mail_outbox::unscoped_list(&app.db, Some(&address), 10)
            .await
            .unwrap()
    };
    wait_until("A's reply in the outbox", async || {
        outbox().await.len() == 2
    })
    .await;

    app.post(&format!("/api/v1/contacts/{id}/erase"))
        .key(&a.admin_key)
        .json(&json!({"reason": "asked"}))
        .expect(200)
        .await;
    let left = outbox().await;
    assert_eq!(
        left.len(),
        1,
        "only A's customer mail goes: {:#?}",
        left.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(
        left[0].subject.contains("invited"),
        "B's invitation stays: {}",
        left[0].subject
    );
}
