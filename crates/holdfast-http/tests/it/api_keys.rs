//! API keys: shown once, stored as a digest, revocation immediate, no escalation.

use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::TestApp;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn create_use_list_and_revoke() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("keys").await;
    let created = app
        .post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .json(&json!({"name": "Zapier", "role": "support"}))
        .expect(201)
        .await;
    let secret = created.json["secret"].as_str().unwrap().to_owned();
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("hf_live_") && secret.len() == 51,
        "{secret}"
    );
    assert!(secret.starts_with(created.json["prefix"].as_str().unwrap()));

    app.get("/api/v1/contacts").key(&secret).expect(200).await;
    let listed = app
        .get("/api/v1/api-keys")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(
        !listed.text.contains(&secret),
        "the secret is never shown again"
    );
    let entry = listed.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(entry["last_used_at"].is_i64(), "use is recorded: {entry}");
    assert_eq!(entry["role"], "support");

    let stored: String = sqlx::query_scalar("SELECT secret_hash FROM api_keys WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.unscoped_pool())
        .await
        .unwrap();
    assert_eq!(
        stored,
        holdfast_core::token::sha256_hex(&secret),
        "only the SHA-256 digest is stored"
    );

    app.delete(&format!("/api/v1/api-keys/{id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get("/api/v1/contacts")
        .key(&secret)
        .expect(401)
        .await
        .problem("HF-AUTH-002");
    app.delete(&format!("/api/v1/api-keys/{id}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    let listed = app
        .get("/api/v1/api-keys")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(listed.text.contains("revoked_at"));
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_cannot_grant_more_than_they_hold() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("escalate").await;
    app.post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .json(&json!({"name": "root", "role": "owner"}))
        .expect(403)
        .await
        .problem("HF-AUTH-003");
    let owner = app.key(&ws.slug, BuiltinRole::Owner).await;
    app.post("/api/v1/api-keys")
        .key(&owner)
        .json(&json!({"name": "second owner", "role": "owner"}))
        .expect(201)
        .await;
    let r = app
        .post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .json(&json!({"name": "", "role": "superuser"}))
        .expect(422)
        .await;
    assert_eq!(
        r.problem("HF-REQ-004")["errors"].as_array().unwrap().len(),
        2
    );
    app.post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .json(&json!({"name": "x", "role": "viewer", "scopes": []}))
        .expect(422)
        .await;
}
