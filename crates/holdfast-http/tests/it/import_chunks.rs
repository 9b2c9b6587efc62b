//! CSV import written a chunk at a time on both databases: each row is decided against the
//! workspace as the rows before it in the same chunk left it (an address taken over, a contact
//! matched twice, case-differing and repeated emails), and a job taken over after a commit in
//! the middle of a chunk's worth of rows resumes after the last committed row.

use crate::contact;
use crate::crm::{finished, import};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};

async fn get(app: &TestApp, ws: &Workspace, path: &str) -> Value {
    app.get(path).key(&ws.admin_key).expect(200).await.json
}

async fn by_email(app: &TestApp, ws: &Workspace, email: &str) -> Vec<Value> {
    get(app, ws, "/api/v1/contacts?limit=200").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["email"].as_str().map(str::to_lowercase) == Some(email.to_lowercase()))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_of_one_chunk_see_the_changes_of_the_rows_before_them() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("chunk-order").await;
    let carl = contact(
        &app,
        &ws,
        json!({"name": "Carl", "email": "carl@example.com", "phone": "+14155550101", "tags": ["old"]}),
    )
    .await;
    let dora = contact(
        &app,
        &ws,
        json!({"name": "Dora", "email": "dora@example.com", "phone": "+14155550102"}),
    )
    .await;
    let csv = "name,email,phone,tags,consent.email\n\
               Carl New,CARL@Example.com,,a,yes\n\
               Eve,eve@example.com,+14155550102,,\n\
               Dora Again,dora@example.com,,,yes\n\
               Fay,fay@example.com,+14155550199,,\n\
               Fay Too,FAY@EXAMPLE.COM,,,\n\
               Zed,zed@example.com,+14155550101,b,no\n";
    let r = import(&app, &ws, "mode=skip_invalid", csv).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let done = finished(&app, &ws, r.json["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    // Carl (twice: by email, then by phone), Dora's contact (by phone) are updated; Dora's
    // old address, Fay and nobody else are created; Fay's second row repeats her first.
    assert_eq!(
        (&done["created"], &done["updated"], &done["skipped"]),
        (&json!(2), &json!(3), &json!(1)),
        "{done}"
    );
    assert_eq!(done["errors"].as_array().unwrap().len(), 1, "{done}");
    assert_eq!(done["errors"][0]["row"], 6, "{done}");

    let carl_now = get(&app, &ws, &format!("/api/v1/contacts/{carl}")).await;
    assert_eq!(
        carl_now["name"], "Zed",
        "the second match saw the first: {carl_now}"
    );
    assert_eq!(carl_now["email"], "zed@example.com");
    assert_eq!(carl_now["tags"], json!(["old", "a", "b"]));
    let log = get(&app, &ws, &format!("/api/v1/contacts/{carl}/consent/log")).await;
    let changes: Vec<(&str, &str)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["old_value"].as_str().unwrap(),
                e["new_value"].as_str().unwrap(),
            )
        })
        .collect();
    // The row that took Carl by phone brought another address: email consent went back to
    // unknown, as any change of address does, before the row's own "no".
    assert_eq!(
        changes,
        vec![
            ("unknown", "granted"),
            ("granted", "unknown"),
            ("unknown", "denied")
        ]
    );

    // Dora's contact took Eve's address by phone, so the row with Dora's old address found
    // nobody and made a new contact.
    let dora_now = get(&app, &ws, &format!("/api/v1/contacts/{dora}")).await;
    assert_eq!(dora_now["email"], "eve@example.com", "{dora_now}");
    let new_dora = by_email(&app, &ws, "dora@example.com").await;
    assert_eq!(new_dora.len(), 1, "{new_dora:?}");
    assert_ne!(new_dora[0]["id"].as_str().unwrap(), dora);
    assert_eq!(new_dora[0]["name"], "Dora Again");
    let consent = get(
        &app,
        &ws,
        &format!(
            "/api/v1/contacts/{}/consent",
            new_dora[0]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(consent["channels"]["email"]["status"], "granted");
    assert_eq!(by_email(&app, &ws, "fay@example.com").await.len(), 1);
    assert_eq!(by_email(&app, &ws, "carl@example.com").await.len(), 0);
    let all = get(&app, &ws, "/api/v1/contacts?limit=200").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 4, "{all}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_over_import_resumes_after_the_last_committed_row() {
    let app = TestApp::spawn_with(Layer {
        worker: Some(false),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("chunk-resume").await;
    // What a first worker committed before it died: two rows of five, mid-chunk.
    for (name, email) in [("Old A", "a@example.com"), ("Old B", "b@example.com")] {
        contact(&app, &ws, json!({"name": name, "email": email})).await;
    }
    let csv = "name,email,consent.sms\n\
               New A,a@example.com,yes\n\
               New B,b@example.com,yes\n\
               C,c@example.com,yes\n\
               D,d@example.com,yes\n\
               E,e@example.com,yes\n";
    let r = import(&app, &ws, "", csv).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_owned();
    let mut tx = app.workspace_tx(&ws).await;
    sqlx::query(
        "UPDATE contact_imports SET status = 'running', rows_processed = 2, created = 2 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws.id)
    .bind(&id)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let stop = app.extra_worker();
    let done = finished(&app, &ws, &id).await;
    let _ = stop.send(());
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(
        (&done["rows_processed"], &done["created"], &done["updated"]),
        (&json!(5), &json!(5), &json!(0)),
        "{done}"
    );
    // The committed rows are not written again; the rest are.
    let a = by_email(&app, &ws, "a@example.com").await;
    assert_eq!(a[0]["name"], "Old A", "{a:?}");
    let a_consent = get(
        &app,
        &ws,
        &format!("/api/v1/contacts/{}/consent", a[0]["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(a_consent["channels"]["sms"]["status"], "unknown");
    for (name, email) in [
        ("C", "c@example.com"),
        ("D", "d@example.com"),
        ("E", "e@example.com"),
    ] {
        let found = by_email(&app, &ws, email).await;
        assert_eq!(found.len(), 1, "{email}");
        assert_eq!(found[0]["name"], name);
        let consent = get(
            &app,
            &ws,
            &format!(
                "/api/v1/contacts/{}/consent",
                found[0]["id"].as_str().unwrap()
            ),
        )
        .await;
        assert_eq!(consent["channels"]["sms"]["status"], "granted", "{email}");
    }
    let imported = get(&app, &ws, "/api/v1/audit?action=contacts.imported").await;
    assert_eq!(imported["data"].as_array().unwrap().len(), 1);
}
