//! The audit trail: sensitive actions recorded with who, what, from where; filters, pages and
//! export; the chain verifies and contains no secrets; entries cannot be changed.

use holdfast_core::ops::audit::{AuditEntry, verify_chain};
use holdfast_testkit::{OWNER_PASSWORD, TestApp, Workspace};
use serde_json::{Value, json};

async fn entries(app: &TestApp, ws: &Workspace, query: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/audit{query}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn actions(list: &[Value]) -> Vec<&str> {
    list.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sensitive_actions_are_recorded_with_actor_origin_and_request() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("audited").await;

    app.post("/api/v1/auth/login")
        .json(&json!({"email": ws.owner_email, "password": "a wrong password entirely", "workspace": ws.slug}))
        .header("user-agent", "audit-test-agent")
        .expect(401)
        .await;
    let tokens = app.login(&ws).await;
    let access = tokens["access_token"].as_str().unwrap();
    let key = app
        .post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .header("x-request-id", "req-audit-key-1")
        .json(&json!({"name": "ci", "role": "support"}))
        .expect(201)
        .await
        .json;
    let secret = key["secret"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_str().unwrap().to_owned();
    app.delete(&format!("/api/v1/api-keys/{key_id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    let contact = app
        .post("/api/v1/contacts")
        .key(access)
        .json(&json!({"name": "Grace Hopper", "email": "grace@example.com"}))
        .expect(201)
        .await
        .json;
    let contact_id = contact["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/contacts/{contact_id}"))
        .key(access)
        .json(&json!({"phone": "+1 202 555 0101"}))
        .expect(200)
        .await;
    // Deleting a contact erases it: a session steps up first.
    app.post("/api/v1/auth/step-up")
        .key(access)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(204)
        .await;
    app.delete(&format!("/api/v1/contacts/{contact_id}"))
        .key(access)
        .expect(204)
        .await;

    let list = entries(&app, &ws, "").await;
    assert_eq!(
        actions(&list),
        vec![
            "contact.erased",
            "auth.step_up",
            "contact.updated",
            "contact.created",
            "api_key.revoked",
            "api_key.created",
            "auth.sign_in",
            "auth.sign_in_failed",
            "api_key.created",
            "workspace.created",
        ],
        "newest first"
    );
    let failed = &list[7];
    assert_eq!(failed["actor_type"], "anonymous");
    assert_eq!(failed["entity_type"], "user");
    assert_eq!(failed["user_agent"], "audit-test-agent");
    assert_eq!(failed["ip"], "127.0.0.1");
    assert!(failed["summary"].as_str().unwrap().contains("password"));
    let signed_in = &list[6];
    assert_eq!(signed_in["actor_type"], "user");
    assert_eq!(signed_in["actor_id"], signed_in["entity_id"]);
    let created_key = &list[5];
    assert_eq!(created_key["actor_type"], "api_key");
    assert_eq!(created_key["entity_id"], key_id.as_str());
    assert_eq!(created_key["request_id"], "req-audit-key-1");
    let updated = &list[2];
    assert_eq!(updated["actor_type"], "user");
    assert_eq!(
        updated["summary"].as_str().unwrap(),
        r#"{"changed":["phone"]}"#,
        "names the field, not the value"
    );

    // Filters and pages.
    let only = entries(&app, &ws, "?action=api_key.created").await;
    assert_eq!(only.len(), 2);
    let about = entries(
        &app,
        &ws,
        &format!("?entity_type=contact&entity_id={contact_id}"),
    )
    .await;
    assert_eq!(about.len(), 3);
    let by_user = entries(
        &app,
        &ws,
        &format!("?actor={}", signed_in["actor_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(by_user.len(), 5, "{:?}", actions(&by_user));
    let page = app
        .get("/api/v1/audit?limit=4")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = entries(&app, &ws, &format!("?cursor={cursor}")).await;
    assert_eq!(rest.len(), 6);
    assert_eq!(rest[0]["seq"], 6);
    let later = list[0]["at"].as_i64().unwrap() + 1;
    assert!(
        entries(&app, &ws, &format!("?from={later}"))
            .await
            .is_empty()
    );
    for bad in ["?limit=0", "?limit=x", "?cursor=abc", "?from=-1", "?nope=1"] {
        app.get(&format!("/api/v1/audit{bad}"))
            .key(&ws.admin_key)
            .expect(422)
            .await
            .problem("HF-REQ-004");
    }

    // The export is the whole chain, oldest first, and it verifies offline.
    let export = app
        .get("/api/v1/audit/export")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(export.header("content-type"), Some("application/x-ndjson"));
    let chain: Vec<AuditEntry> = export
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verify_chain(chain), Ok(10));
    for secret_text in [secret.as_str(), OWNER_PASSWORD, "a wrong password entirely"] {
        assert!(
            !export.text.contains(secret_text),
            "a secret reached the trail"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn trails_are_per_workspace_and_entries_cannot_be_changed() {
    let app = TestApp::spawn().await;
    let a = app.workspace("trail-a").await;
    let b = app.workspace("trail-b").await;
    app.post("/api/v1/contacts")
        .key(&a.admin_key)
        .json(&json!({"name": "Only in A"}))
        .expect(201)
        .await;
    let b_list = entries(&app, &b, "").await;
    assert_eq!(
        actions(&b_list),
        vec!["api_key.created", "workspace.created"]
    );
    assert_eq!(b_list[1]["seq"], 1, "each workspace has its own sequence");

    // The database itself refuses to edit or remove an entry.
    let update = sqlx::query("UPDATE audit_events SET action = 'nothing' WHERE workspace_id = $1")
        .bind(&a.id)
        .execute(app.db.unscoped_pool())
        .await;
    let delete = sqlx::query("DELETE FROM audit_events WHERE workspace_id = $1")
        .bind(&a.id)
        .execute(app.db.unscoped_pool())
        .await;
    if app.db.backend() == holdfast_store::Backend::Sqlite {
        assert!(update.is_err() && delete.is_err(), "append-only on SQLite");
    } else {
        // Without the tenant setting, row-level security hides every row first.
        assert_eq!(update.map(|r| r.rows_affected()).unwrap_or(0), 0);
        assert_eq!(delete.map(|r| r.rows_affected()).unwrap_or(0), 0);
        let mut tx = app.workspace_tx(&a).await;
        let refused =
            sqlx::query("UPDATE audit_events SET action = 'nothing' WHERE workspace_id = $1")
                .bind(&a.id)
                .execute(&mut *tx)
                .await;
        assert!(refused.is_err(), "append-only on PostgreSQL");
        drop(tx);
        for statement in [
            "TRUNCATE audit_events",
            "TRUNCATE audit_heads",
            "UPDATE audit_heads SET seq = 0",
            "DELETE FROM audit_heads",
        ] {
            let mut tx = app.workspace_tx(&a).await;
            let refused = sqlx::query(statement).execute(&mut *tx).await;
            assert!(refused.is_err(), "{statement} must be refused");
        }
    }
    if app.db.backend() == holdfast_store::Backend::Sqlite {
        for statement in ["UPDATE audit_heads SET seq = 0", "DELETE FROM audit_heads"] {
            let refused = sqlx::query(statement).execute(app.db.unscoped_pool()).await;
            assert!(refused.is_err(), "{statement} must be refused");
        }
    }
    assert_eq!(entries(&app, &a, "").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_changes_extend_one_unbroken_chain() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("concurrent-audit").await;
    let creates = (0..24).map(|i| {
        app.post("/api/v1/contacts")
            .key(&ws.admin_key)
            .json(&json!({"name": format!("Parallel {i}")}))
            .expect(201)
    });
    futures::future::join_all(creates).await;
    let export = app
        .get("/api/v1/audit/export")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    let chain: Vec<AuditEntry> = export
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        verify_chain(chain),
        Ok(26),
        "workspace + key + 24 contacts, in one chain"
    );
}

/// A cursor of the form the trail issued before it paged like every list (the plain sequence
/// number) still pages: a client holding one across an upgrade goes on. The opaque cursor the
/// trail issues now gives the same page.
#[tokio::test(flavor = "multi_thread")]
async fn an_audit_cursor_from_before_the_upgrade_still_pages() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("audit-cursor").await;
    for n in 0..3 {
        crate::contact(
            &app,
            &ws,
            serde_json::json!({"name": format!("Cursor {n}")}),
        )
        .await;
    }
    let first = app
        .get("/api/v1/audit?limit=1")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let seq = first["data"][0]["seq"].as_i64().unwrap();
    let opaque = first["next_cursor"].as_str().unwrap().to_owned();
    let by_opaque = app
        .get(&format!("/api/v1/audit?limit=1&cursor={opaque}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let by_number = app
        .get(&format!("/api/v1/audit?limit=1&cursor={seq}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(by_opaque["data"], by_number["data"]);
    assert_eq!(by_number["data"][0]["seq"].as_i64().unwrap(), seq - 1);
    app.get("/api/v1/audit?cursor=abc")
        .key(&ws.admin_key)
        .expect(422)
        .await;
}
