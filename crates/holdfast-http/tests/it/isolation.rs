//! Tenant isolation through the API, on whichever database the suite runs on.

use crate::{ada, contact};
use holdfast_testkit::TestApp;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn another_workspace_cannot_see_change_or_delete_a_contact() {
    let app = TestApp::spawn().await;
    let a = app.workspace("iso-a").await;
    let b = app.workspace("iso-b").await;
    let id = contact(&app, &a, ada()).await;
    let path = format!("/api/v1/contacts/{id}");

    app.get(&path)
        .key(&b.admin_key)
        .expect(404)
        .await
        .problem("HF-REQ-005");
    app.patch(&path)
        .key(&b.admin_key)
        .json(&json!({"name": "Hijacked"}))
        .expect(404)
        .await;
    app.delete(&path).key(&b.admin_key).expect(404).await;
    let listed = app
        .get("/api/v1/contacts?q=ada")
        .key(&b.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        listed.json["data"],
        json!([]),
        "search must not cross workspaces"
    );

    // The same email may exist in both workspaces: uniqueness is per workspace.
    contact(&app, &b, ada()).await;
    let still = app.get(&path).key(&a.admin_key).expect(200).await;
    assert_eq!(still.json["name"], "Ada Lovelace");

    // A cursor taken from A's list does not reveal A's rows to B.
    for n in 0..3 {
        contact(&app, &a, json!({"name": format!("A{n}")})).await;
    }
    let page = app
        .get("/api/v1/contacts?limit=1")
        .key(&a.admin_key)
        .expect(200)
        .await;
    let cursor = page.json["next_cursor"].as_str().unwrap().to_owned();
    let r = app
        .get(&format!("/api/v1/contacts?cursor={cursor}"))
        .key(&b.admin_key)
        .expect(200)
        .await;
    assert!(
        r.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "A0" && c["id"] != id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_workspace_cannot_revoke_or_list_keys() {
    let app = TestApp::spawn().await;
    let a = app.workspace("iso-ka").await;
    let b = app.workspace("iso-kb").await;
    let a_keys = app
        .get("/api/v1/api-keys")
        .key(&a.admin_key)
        .expect(200)
        .await;
    let a_key_id = a_keys.json["data"][0]["id"].as_str().unwrap().to_owned();
    app.delete(&format!("/api/v1/api-keys/{a_key_id}"))
        .key(&b.admin_key)
        .expect(404)
        .await;
    let b_keys = app
        .get("/api/v1/api-keys")
        .key(&b.admin_key)
        .expect(200)
        .await;
    assert!(!b_keys.text.contains(&a_key_id));
    app.get("/api/v1/contacts")
        .key(&a.admin_key)
        .expect(200)
        .await;
}
