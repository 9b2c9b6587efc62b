//! Data-subject rights: the export, erasure (proven by scanning every text column of every
//! table for the person afterwards), legal hold, erasure requests, and retention with the
//! clock moved to either side of each boundary. Both databases.

use crate::tickets::{mailgun_form, mailgun_key, wait_for_messages, wait_for_tickets};
use crate::widget::{enable, form_token, submit};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::{Method, TestApp, Workspace, postgres_url};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

const DAY: i64 = 24 * 60 * 60 * 1000;
const ORIGIN: &str = "https://shop.example.com";

/// Every `table.column` holding text whose value contains one of `needles`
/// (case-insensitive). The tables and columns come from the database's own catalogue, so a
/// table added later is scanned without changing this test. On PostgreSQL the scan runs in
/// the workspace's row-level-security scope (tables without a policy show every row).
pub(crate) async fn scan(app: &TestApp, ws: &Workspace, needles: &[String]) -> Vec<String> {
    let mut tx = app.workspace_tx(ws).await;
    let columns: Vec<(String, String)> = if postgres_url().is_some() {
        sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() \
             AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') \
             ORDER BY table_name, column_name",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    } else {
        let all: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.name",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        all.into_iter()
            .filter(|(_, _, ty)| {
                let ty = ty.to_uppercase();
                !["INT", "BLOB", "REAL", "DOUB", "FLOA"]
                    .iter()
                    .any(|k| ty.contains(k))
            })
            .map(|(t, c, _)| (t, c))
            .collect()
    };
    assert!(
        columns.iter().any(|(t, c)| t == "contacts" && c == "email"),
        "the catalogue query found no text columns: {columns:?}"
    );
    let mut hits = Vec::new();
    for (table, column) in &columns {
        let sql = format!(
            "SELECT count(*) FROM \"{}\" WHERE lower(CAST(\"{}\" AS TEXT)) LIKE $1",
            table.replace('"', "\"\""),
            column.replace('"', "\"\"")
        );
        for needle in needles {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .bind(format!("%{}%", needle.to_lowercase()))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            if n > 0 {
                hits.push(format!("{table}.{column} ({n} rows contain {needle:?})"));
            }
        }
    }
    tx.rollback().await.unwrap();
    hits
}

/// The workspace's audit chain, verified as `holdfast audit verify` does.
async fn audit_chain(app: &TestApp, ws: &Workspace) -> Vec<holdfast_core::ops::audit::AuditEntry> {
    let tenant = holdfast_store::ops::admin::unscoped_tenant_by_slug(&app.db, &ws.slug)
        .await
        .unwrap()
        .unwrap();
    let mut tx = app.db.read(&tenant).await.unwrap();
    let chain = holdfast_store::ops::audit::chain(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    holdfast_core::ops::audit::verify_chain(chain.clone()).expect("the audit chain verifies");
    chain
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn attachment_file(app: &TestApp, bytes: &[u8]) -> std::path::PathBuf {
    let sha = sha_hex(bytes);
    app.config
        .data_dir
        .join("attachments")
        .join(&sha[..2])
        .join(&sha)
}

/// Waits for `check` to hold: a bound on a worker's progress, not a speed target — generous,
/// because the PostgreSQL suite runs every test app's worker at once on two cores (two
/// minutes ran out once the suite grew).
pub(crate) async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every job of this workspace is done. A job that failed an attempt under the
/// suite's load (a busy database, a slow receiver) waits out its backoff — up to minutes by the
/// fourth attempt — which is the queue's behaviour, not these tests' subject: such a job is made
/// due at once, and what it failed with is printed, so a run that still times out says why.
pub(crate) async fn drain_jobs(app: &TestApp, ws: &Workspace) {
    wait_until("jobs drained", async || {
        let backing_off: Vec<(String, i64, Option<String>)> = sqlx::query_as(
            "SELECT kind, attempts, last_error FROM queue_jobs \
             WHERE workspace_id = $1 AND state = 'queued' AND attempts > 0",
        )
        .bind(&ws.id)
        .fetch_all(app.db.unscoped_pool())
        .await
        .unwrap();
        if !backing_off.is_empty() {
            eprintln!("jobs waiting to retry, made due now: {backing_off:?}");
            sqlx::query(
                "UPDATE queue_jobs SET run_at = 0 \
                 WHERE workspace_id = $1 AND state = 'queued' AND attempts > 0",
            )
            .bind(&ws.id)
            .execute(app.db.unscoped_pool())
            .await
            .unwrap();
        }
        pending_jobs(app, ws).await == 0
    })
    .await;
}

/// Jobs of this workspace not yet done (the queue is drained when this is zero).
pub(crate) async fn pending_jobs(app: &TestApp, ws: &Workspace) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM queue_jobs WHERE workspace_id = $1 AND state IN ('queued', 'running')",
    )
    .bind(&ws.id)
    .fetch_one(app.db.unscoped_pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_leaves_no_trace_of_the_contact_in_any_table() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..crate::widget::layer()
    })
    .await;
    let ws = app.workspace("erase").await;
    let other_ws = app.workspace("erase-other").await;
    // A person no other test (nor another run on a shared database) has.
    let tag = holdfast_testkit::unique("q");
    let hex = &tag[2..];
    let name = format!("Zebulon Quaxmire-{hex}");
    let email = format!("zq.{hex}@privacy-test.example");
    let digits = format!("{:08}", u32::from_str_radix(hex, 16).unwrap() % 100_000_000);
    let phone = format!("+4420{digits}");
    let needles = vec![
        email.clone(),
        phone.clone(),
        format!("4420{digits}"),
        name.to_lowercase(),
    ];

    app.post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": receiver.base, "event_types": [
            "contact.created", "contact.updated", "contact.erased", "ticket.created", "message.created"
        ]}))
        .expect(201)
        .await;

    // An idempotent create (its stored response holds the contact), then a change.
    let created = app
        .post("/api/v1/contacts")
        .key(&ws.admin_key)
        .header("idempotency-key", &format!("create-{hex}"))
        .json(&json!({"name": name, "email": email, "phone": phone, "company": format!("Quaxmire Works {hex}")}))
        .expect(201)
        .await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"tags": ["vip"]}))
        .expect(200)
        .await;
    // Someone else, whose data must survive, in this workspace and in another.
    let other = crate::contact(
        &app,
        &ws,
        json!({"name": "Other Person", "email": format!("other.{hex}@example.com")}),
    )
    .await;
    let stranger = crate::contact(&app, &other_ws, json!({"email": email})).await;

    // A ticket by API, a reply (a mail job and an outbox mail) and a note.
    let ticket = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(
            &json!({"subject": format!("Boiler for {name}"), "contact": {"email": email},
                      "message": format!("Please call {name} on {phone}")}),
        )
        .expect(201)
        .await
        .json;
    let ticket_id = ticket["id"].as_str().unwrap().to_owned();
    assert_eq!(ticket["contact_id"], id);
    app.post(&format!("/api/v1/tickets/{ticket_id}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": format!("Dear {name}, we will call {phone} tomorrow.")}))
        .expect(201)
        .await;
    app.post(&format!("/api/v1/tickets/{ticket_id}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": format!("{name} prefers mornings")}))
        .expect(201)
        .await;
    let other_ticket = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": "Other's tap", "contact": {"email": format!("other.{hex}@example.com")},
                      "message": "It drips."}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A mail from them with an attachment only they sent, and one the other contact sent too.
    let key = "key-privacy0000000000000000000000";
    mailgun_key(&app, &ws, key).await;
    let own_file = format!("passport scan of {hex}").into_bytes();
    let shared_file = format!("price list {hex}").into_bytes();
    for (i, (from, bytes)) in [
        (format!("{name} <{email}>"), own_file.clone()),
        (format!("{name} <{email}>"), shared_file.clone()),
        (
            format!("Other Person <other.{hex}@example.com>"),
            shared_file.clone(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let subject = format!("Documents {i}");
        let message_id = format!("<doc-{i}-{hex}@mail.example.com>");
        let text = format!("Attached, regards {from}");
        let (ct, body) = mailgun_form(
            key,
            &format!("token-{i}-{hex}-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            &[
                ("sender", from.as_str()),
                ("from", from.as_str()),
                ("recipient", "support@inbound.example.com"),
                ("subject", subject.as_str()),
                ("Message-Id", message_id.as_str()),
                ("body-plain", text.as_str()),
            ],
            Some(("file.pdf", "application/pdf", &bytes)),
        );
        let r = app
            .post(&format!("/hooks/mailgun/{}", ws.slug))
            .body(&ct, body)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    wait_for_tickets(&app, &ws, 5).await;
    // And a widget conversation from a visitor claiming their address.
    let widget_key = enable(&app, &ws, &[ORIGIN]).await;
    let token = form_token(&app, &widget_key).await;
    submit(
        &app,
        &widget_key,
        &json!({"name": name, "email": email, "message": format!("Hi, {name} here"),
                "form_token": token, "website": ""}),
    )
    .expect(201)
    .await;
    app.outbox_mail(&email).await;
    // A CSV import naming them (the import keeps its file), and consent with its log.
    app.post("/api/v1/contacts/imports")
        .key(&ws.admin_key)
        .body(
            "text/csv",
            format!(
                "name,email,phone\n{name},{email},{phone}\nSomeone Else,se.{hex}@example.com,\n"
            ),
        )
        .expect(202)
        .await;
    app.patch(&format!("/api/v1/contacts/{id}/consent"))
        .key(&ws.admin_key)
        .json(&json!({"channels": {"sms": {"status": "denied"}}, "note": format!("{name} asked by phone")}))
        .expect(200)
        .await;
    drain_jobs(&app, &ws).await;
    assert!(attachment_file(&app, &own_file).exists());
    assert!(attachment_file(&app, &shared_file).exists());

    // The scan finds them everywhere before: it can fail.
    let before = scan(&app, &ws, &needles).await;
    for place in [
        "contacts.email",
        "contacts.name",
        "tickets.subject",
        "ticket_messages.body",
        "idempotency_keys.response_body",
        "webhook_messages.payload",
        "inbound_events.body",
        "mail_outbox.to_address",
        "widget_visitors.claimed_email",
        "contact_imports.csv",
        "consent_log.note",
    ] {
        assert!(
            before.iter().any(|h| h.starts_with(&format!("{place} "))),
            "{place} not found before erasure: {before:#?}"
        );
    }

    // The export holds everything about them.
    let export = app
        .get(&format!("/api/v1/contacts/{id}/export"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(export["contact"]["email"], email);
    assert_eq!(export["consent"]["current"]["mode"], "ccpa");
    assert!(export["consent"]["log"].is_array());
    assert!(
        !export["consent"]["outbound_decisions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(export["privacy"]["legal_hold"], false);
    let threads = export["tickets"].as_array().unwrap();
    assert_eq!(threads.len(), 3, "{export:#}");
    let api_thread = threads.iter().find(|t| t["id"] == ticket_id).unwrap();
    let kinds: Vec<&str> = api_thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["inbound", "reply", "note"], "notes are exported");
    let attachments: Vec<&Value> = threads
        .iter()
        .flat_map(|t| t["attachments"].as_array().unwrap())
        .collect();
    assert_eq!(attachments.len(), 2);
    let download = attachments[0]["download"].as_str().unwrap();
    app.get(download).key(&ws.admin_key).expect(200).await;
    assert!(!export.to_string().contains(&other));

    // A legal hold refuses the erasure and changes nothing.
    let privacy = format!("/api/v1/contacts/{id}/privacy");
    app.patch(&privacy)
        .key(&ws.admin_key)
        .json(&json!({"legal_hold": true, "reason": "pending dispute"}))
        .expect(200)
        .await;
    let held = app
        .post(&format!("/api/v1/contacts/{id}/erase"))
        .key(&ws.admin_key)
        .json(&json!({"reason": "customer asked"}))
        .expect(409)
        .await;
    assert!(held.json["detail"].as_str().unwrap().contains("legal hold"));
    app.get(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    app.patch(&privacy)
        .key(&ws.admin_key)
        .json(&json!({"legal_hold": false, "reason": "dispute settled"}))
        .expect(200)
        .await;

    let erased = app
        .post(&format!("/api/v1/contacts/{id}/erase"))
        .key(&ws.admin_key)
        .json(&json!({"reason": "customer asked by mail"}))
        .expect(200)
        .await
        .json;
    assert_eq!(erased["tickets"], 4, "{erased}");
    assert_eq!(
        erased["linked_contacts"].as_array().unwrap().len(),
        1,
        "the widget contact made from their claimed address"
    );
    assert_eq!(erased["attachment_files_deleted"], 1, "{erased}");
    app.post(&format!("/api/v1/contacts/{id}/erase"))
        .key(&ws.admin_key)
        .json(&json!({"reason": "again"}))
        .expect(404)
        .await;
    app.get(&format!("/api/v1/contacts/{id}/export"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    app.get(&format!("/api/v1/tickets/{ticket_id}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    // Subscribers hear of it by id only.
    let is_erasure = |r: &holdfast_testkit::receiver::Captured| {
        r.json()["type"] == "contact.erased" && r.json()["data"]["id"] == id
    };
    wait_until("contact.erased delivered", async || {
        receiver.requests().iter().any(is_erasure)
    })
    .await;
    let erased_event = receiver.requests().into_iter().find(is_erasure).unwrap();
    assert_eq!(erased_event.json()["data"], json!({"id": id}));
    drain_jobs(&app, &ws).await;

    // Nothing of them is left in any text column of any table.
    let after = scan(&app, &ws, &needles).await;
    // On SQLite the scan sees every workspace: the other workspace's contact with the same
    // address is not this erasure's business (it is checked below). PostgreSQL's scan runs
    // in this workspace's scope and cannot see it.
    let theirs = format!("contacts.email (1 rows contain {email:?})");
    let after: Vec<&String> = after
        .iter()
        .filter(|h| postgres_url().is_some() || **h != theirs)
        .collect();
    assert!(after.is_empty(), "left after erasure: {after:#?}");
    if postgres_url().is_none() {
        // The full-text index drops erased terms at once (not at its next merge).
        let secure: i64 = sqlx::query_scalar(
            "SELECT CAST(v AS INTEGER) FROM ticket_fts_config WHERE k = 'secure-delete'",
        )
        .fetch_one(app.db.unscoped_pool())
        .await
        .unwrap();
        assert_eq!(secure, 1);
    }
    assert!(
        !attachment_file(&app, &own_file).exists(),
        "their file is gone"
    );
    assert!(
        attachment_file(&app, &shared_file).exists(),
        "a file another message still refers to stays"
    );

    // Everyone else is untouched.
    app.get(&format!("/api/v1/contacts/{other}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    let thread = wait_for_messages(&app, &ws, &other_ticket, 1).await;
    assert_eq!(thread["messages"][0]["body"], "It drips.");
    let got = app
        .get(&format!("/api/v1/contacts/{stranger}"))
        .key(&other_ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(got.json["email"], email);

    // The audit trail records the erasure by id, and its chain still verifies.
    let chain = audit_chain(&app, &ws).await;
    let entry = chain
        .iter()
        .find(|e| e.action == "contact.erased")
        .expect("erasure audited");
    assert_eq!(entry.entity_id, id);
    assert!(chain.iter().any(|e| e.action == "contact.exported"));
    assert!(
        chain
            .iter()
            .any(|e| e.action == "contact.privacy_changed" && e.entity_id == id)
    );
}

/// Where these tests' manual clocks start: far from the wall clock, so ticks of tests using
/// the real clock never reach this data.
const FAR_FROM_NOW: i64 = 2_208_988_800_000;

#[tokio::test(flavor = "multi_thread")]
async fn erasure_requests_queue_for_a_decision_and_bad_input_changes_nothing() {
    let (app, clock) = TestApp::spawn_on_clock(Layer::default(), FAR_FROM_NOW).await;
    let ws = app.workspace("requests").await;
    let id = crate::contact(
        &app,
        &ws,
        json!({"name": "Rita Request", "email": "rita@example.com"}),
    )
    .await;
    let contact = format!("/api/v1/contacts/{id}");

    // Who may do what.
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    let marketing = app.key(&ws.slug, BuiltinRole::Marketing).await;
    app.post(&format!("{contact}/erase"))
        .key(&support)
        .json(&json!({"reason": "x"}))
        .expect(403)
        .await
        .problem("HF-AUTH-003");
    let refused = app
        .get(&format!("{contact}/export"))
        .key(&marketing)
        .expect(403)
        .await;
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("tickets.read")
    );
    let owner = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("{contact}/erase"))
        .key(&owner)
        .json(&json!({"reason": "x"}))
        .expect(403)
        .await
        .problem("HF-AUTH-005");

    // Bad input is refused with the field named, and nothing is stored.
    for body in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "x".repeat(501)}),
        json!({"reason": "ok", "force": true}),
    ] {
        app.post(&format!("{contact}/erase"))
            .key(&ws.admin_key)
            .json(&body)
            .expect(422)
            .await;
    }
    for body in [
        json!({"legal_hold": true}),
        json!({"reason": "nothing to change"}),
        json!({"retention_days": 3, "reason": "too short"}),
        json!({"legal_hold": "yes", "reason": "x"}),
    ] {
        app.patch(&format!("{contact}/privacy"))
            .key(&ws.admin_key)
            .json(&body)
            .expect(422)
            .await;
    }
    let flags = app
        .get(&format!("{contact}/privacy"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(
        flags,
        json!({"id": id, "legal_hold": false, "retention_days": null})
    );
    app.post("/api/v1/contacts/ct_00000000000000000000000000000001/erase")
        .key(&ws.admin_key)
        .json(&json!({"reason": "x"}))
        .expect(404)
        .await
        .problem("HF-REQ-005");
    app.post("/api/v1/contacts/nonsense/erasure-requests")
        .key(&ws.admin_key)
        .expect(404)
        .await;
    for query in ["?status=closed", "?limit=0", "?limit=x", "?cursor=abc"] {
        let r = app
            .get(&format!("/api/v1/privacy/erasure-requests{query}"))
            .key(&ws.admin_key)
            .send()
            .await;
        assert!(
            r.status == 400 || r.status == 422,
            "{query}: {} {}",
            r.status,
            r.text
        );
    }

    // A request waits 30 days; filing again returns the open one.
    let filed = app
        .post(&format!("{contact}/erasure-requests"))
        .key(&ws.admin_key)
        .expect(201)
        .await
        .json;
    let request = filed["id"].as_str().unwrap().to_owned();
    assert!(request.starts_with("erq_"));
    assert_eq!(filed["status"], "open");
    assert_eq!(filed["source"], "operator");
    assert_eq!(
        filed["due_at"].as_i64().unwrap() - filed["requested_at"].as_i64().unwrap(),
        30 * DAY
    );
    let again = app
        .post(&format!("{contact}/erasure-requests"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(again["id"], request.as_str());

    // Another contact's request, filed later, is due later; both are open, soonest first.
    let later = crate::contact(&app, &ws, json!({"name": "Lena Later"})).await;
    clock.advance(DAY);
    let later_request = app
        .post(&format!("/api/v1/contacts/{later}/erasure-requests"))
        .key(&ws.admin_key)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(30 * DAY);
    let listed = app
        .get("/api/v1/privacy/erasure-requests")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let data = listed["data"].as_array().unwrap();
    assert_eq!(data[0]["id"], request.as_str());
    assert_eq!(data[0]["overdue"], true, "due a day ago");
    assert_eq!(data[1]["id"], later_request.as_str());
    assert_eq!(data[1]["overdue"], false, "due now, not yet over");

    // Rejecting needs a reason; a decided request cannot be decided again.
    let reject = format!("/api/v1/privacy/erasure-requests/{later_request}/reject");
    app.post(&reject)
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(422)
        .await;
    let rejected = app
        .post(&reject)
        .key(&ws.admin_key)
        .json(&json!({"reason": "identity not confirmed"}))
        .expect(200)
        .await
        .json;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "identity not confirmed");
    app.post(&reject)
        .key(&ws.admin_key)
        .json(&json!({"reason": "again"}))
        .expect(409)
        .await;
    app.get(&format!("/api/v1/contacts/{later}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;

    // Approving erases; the request stays as the record, naming the contact by id only.
    let approved = app
        .post(&format!(
            "/api/v1/privacy/erasure-requests/{request}/approve"
        ))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["contact_id"], id.as_str());
    assert!(
        approved["decided_by"]
            .as_str()
            .unwrap()
            .starts_with("api_key:")
    );
    app.get(&contact).key(&ws.admin_key).expect(404).await;
    app.post(&format!(
        "/api/v1/privacy/erasure-requests/{request}/approve"
    ))
    .key(&ws.admin_key)
    .expect(409)
    .await;
    let open = app
        .get("/api/v1/privacy/erasure-requests?status=open")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(open["data"], json!([]));
    let chain = audit_chain(&app, &ws).await;
    for action in [
        "erasure_request.filed",
        "erasure_request.rejected",
        "erasure_request.approved",
        "contact.erased",
    ] {
        assert!(
            chain.iter().any(|e| e.action == action),
            "{action} not audited"
        );
    }
    assert!(
        !chain.iter().any(|e| e.summary.contains("rita")),
        "the audit trail holds no personal data"
    );
}

/// A ticket for the contact with this email, opened now by the API.
async fn open_ticket(app: &TestApp, ws: &Workspace, email: &str, subject: &str) -> String {
    let body = json!({"subject": subject, "contact": {"email": email}, "message": format!("{subject}, please")});
    crate::ticket_id(app, ws, body).await
}

async fn resolve(app: &TestApp, ws: &Workspace, ticket: &str) {
    app.patch(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .json(&json!({"status": "resolved"}))
        .expect(200)
        .await;
}

async fn contact_of(app: &TestApp, ws: &Workspace, ticket: &str) -> String {
    app.get(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["contact_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn preview(app: &TestApp, ws: &Workspace) -> Value {
    app.get("/api/v1/settings/retention/preview")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

/// The scheduler's tick: due jobs, upkeep and the daily retention run.
async fn tick(app: &TestApp, secret: &str) {
    app.post("/internal/cron/tick")
        .header("x-holdfast-cron-secret", secret)
        .expect(200)
        .await;
}

fn sorted(mut ids: Vec<&str>) -> Value {
    ids.sort();
    json!(ids)
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_purges_exactly_what_expired_once_a_day() {
    let secret = "retention-cron-secret-0123456789abcdef";
    let layer = Layer {
        cron_secret: Some(secret.into()),
        ..Layer::default()
    };
    let (app, clock) = TestApp::spawn_on_clock(layer, FAR_FROM_NOW).await;
    let ws = app.workspace("retention").await;
    let settings = "/api/v1/settings/retention";

    // Periods: closed tickets 30 days, messages 60, inactive contacts 90. Everything below is
    // made a day either side of a boundary, as seen from "now" (200 days after the start).
    let h_ticket = open_ticket(&app, &ws, "held@example.com", "Held").await; // now - 200
    resolve(&app, &ws, &h_ticket).await;
    let held = contact_of(&app, &ws, &h_ticket).await;
    clock.advance(109 * DAY); // now - 91
    let p = crate::contact(&app, &ws, json!({"name": "Past Inactive"})).await;
    clock.advance(2 * DAY); // now - 89
    let q = crate::contact(&app, &ws, json!({"name": "Quite Recent"})).await;
    clock.advance(28 * DAY); // now - 61
    let z = open_ticket(&app, &ws, "zed@example.com", "Open thread").await;
    let m1 = wait_for_messages(&app, &ws, &z, 1).await["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(2 * DAY); // now - 59
    let m2 = app
        .post(&format!("/api/v1/tickets/{z}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "Still on it."}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(28 * DAY); // now - 31
    let x = open_ticket(&app, &ws, "xavier@example.com", "Closed long ago").await;
    resolve(&app, &ws, &x).await;
    clock.advance(2 * DAY); // now - 29
    let y = open_ticket(&app, &ws, "xavier@example.com", "Closed lately").await;
    resolve(&app, &ws, &y).await;
    clock.advance(18 * DAY); // now - 11
    let r = crate::contact(&app, &ws, json!({"name": "Short Keep"})).await;
    // In a workspace with no periods of its own, only a contact's own period applies.
    let own_ws = app.workspace("retention-own").await;
    let own = crate::contact(&app, &own_ws, json!({"name": "Own Period"})).await;
    let own_kept = crate::contact(&app, &own_ws, json!({"name": "No Period"})).await;
    let r2_ticket = open_ticket(&app, &ws, "short2@example.com", "Short keep ticket").await;
    resolve(&app, &ws, &r2_ticket).await;
    let r2 = contact_of(&app, &ws, &r2_ticket).await;
    clock.advance(2 * DAY); // now - 9
    app.patch(&format!("/api/v1/contacts/{r2}"))
        .key(&ws.admin_key)
        .json(&json!({"tags": ["active"]}))
        .expect(200)
        .await;
    clock.advance(9 * DAY); // now

    // Settings: bounds are checked, every bad field named, nothing stored.
    let bad = app
        .call(Method::PUT, settings)
        .key(&ws.admin_key)
        .json(
            &json!({"closed_tickets_days": 6, "messages_days": 0, "inactive_contacts_days": 36501}),
        )
        .expect(422)
        .await;
    let fields: Vec<&str> = bad.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "closed_tickets_days",
            "messages_days",
            "inactive_contacts_days"
        ]
    );
    app.call(Method::PUT, settings)
        .key(&ws.admin_key)
        .json(&json!({"closed_tickets_days": 30, "keep": true}))
        .expect(422)
        .await;
    let empty = app.get(settings).key(&ws.admin_key).expect(200).await.json;
    assert_eq!(
        empty,
        json!({"closed_tickets_days": null, "messages_days": null, "inactive_contacts_days": null, "last_run": null})
    );
    assert_eq!(
        preview(&app, &ws).await["counts"],
        json!({"tickets": 0, "messages": 0, "contacts": 0})
    );

    app.call(Method::PUT, settings)
        .key(&ws.admin_key)
        .json(
            &json!({"closed_tickets_days": 30, "messages_days": 60, "inactive_contacts_days": 90}),
        )
        .expect(200)
        .await;
    for (contact, body) in [
        (&held, json!({"legal_hold": true, "reason": "litigation"})),
        (
            &r,
            json!({"retention_days": 10, "reason": "asked for short keeping"}),
        ),
        (
            &r2,
            json!({"retention_days": 10, "reason": "asked for short keeping"}),
        ),
    ] {
        app.patch(&format!("/api/v1/contacts/{contact}/privacy"))
            .key(&ws.admin_key)
            .json(&body)
            .expect(200)
            .await;
    }

    app.patch(&format!("/api/v1/contacts/{own}/privacy"))
        .key(&own_ws.admin_key)
        .json(&json!({"retention_days": 10, "reason": "asked for short keeping"}))
        .expect(200)
        .await;

    // The dry run names exactly what is a day past its period, and nothing a day short.
    let dry = preview(&app, &ws).await;
    assert_eq!(dry["contact_ids"], sorted(vec![&p, &r]), "{dry:#}");
    assert_eq!(dry["ticket_ids"], sorted(vec![&x, &r2_ticket]), "{dry:#}");
    assert_eq!(dry["message_ids"], json!([m1]), "{dry:#}");
    assert_eq!(
        dry["counts"],
        json!({"tickets": 2, "messages": 1, "contacts": 2})
    );

    // The daily run (the scheduler's tick) removes exactly that, once for the day.
    tick(&app, secret).await;
    for gone in [&p, &r] {
        app.get(&format!("/api/v1/contacts/{gone}"))
            .key(&ws.admin_key)
            .expect(404)
            .await;
    }
    for kept in [&q, &held, &r2] {
        app.get(&format!("/api/v1/contacts/{kept}"))
            .key(&ws.admin_key)
            .expect(200)
            .await;
    }
    app.get(&format!("/api/v1/contacts/{own}"))
        .key(&own_ws.admin_key)
        .expect(404)
        .await;
    app.get(&format!("/api/v1/contacts/{own_kept}"))
        .key(&own_ws.admin_key)
        .expect(200)
        .await;
    for gone in [&x, &r2_ticket] {
        app.get(&format!("/api/v1/tickets/{gone}"))
            .key(&ws.admin_key)
            .expect(404)
            .await;
    }
    for kept in [&y, &h_ticket] {
        app.get(&format!("/api/v1/tickets/{kept}"))
            .key(&ws.admin_key)
            .expect(200)
            .await;
    }
    let thread = app
        .get(&format!("/api/v1/tickets/{z}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let left: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(left, [m2.as_str()]);
    let after = app.get(settings).key(&ws.admin_key).expect(200).await.json;
    assert_eq!(after["last_run"]["counts"], dry["counts"]);
    assert_eq!(after["last_run"]["day"], "2040-07-19");
    assert_eq!(
        preview(&app, &ws).await["counts"],
        json!({"tickets": 0, "messages": 0, "contacts": 0})
    );
    let purged = audit_chain(&app, &ws)
        .await
        .into_iter()
        .filter(|e| e.action == "retention.purged")
        .collect::<Vec<_>>();
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0].actor_type, "system");
    assert!(
        purged[0].summary.contains("\"contacts\":2"),
        "{}",
        purged[0].summary
    );

    // Two days later, what was a day short has expired; the same day's second tick waits.
    clock.advance(2 * DAY);
    let dry = preview(&app, &ws).await;
    assert_eq!(dry["contact_ids"], sorted(vec![&q, &r2]), "{dry:#}");
    assert_eq!(dry["ticket_ids"], json!([y]), "{dry:#}");
    assert_eq!(dry["message_ids"], json!([m2]), "{dry:#}");
    tick(&app, secret).await;
    tick(&app, secret).await;
    let after = app.get(settings).key(&ws.admin_key).expect(200).await.json;
    assert_eq!(after["last_run"]["day"], "2040-07-21");
    assert_eq!(
        after["last_run"]["counts"],
        json!({"tickets": 1, "messages": 1, "contacts": 2})
    );
    app.get(&format!("/api/v1/contacts/{held}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        audit_chain(&app, &ws)
            .await
            .iter()
            .filter(|e| e.action == "retention.purged")
            .count(),
        2,
        "one run per day"
    );

    // The run-now route reports what went (nothing left today).
    let now = app
        .post("/api/v1/settings/retention/run")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(now, json!({"tickets": 0, "messages": 0, "contacts": 0}));
}
