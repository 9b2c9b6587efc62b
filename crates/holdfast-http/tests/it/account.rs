//! Deleting one's own account: both factors on the request itself, never the last owner.

use crate::two_factor::{code, enrol, setup};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{OWNER_PASSWORD, TestApp, Workspace, find_token, unique};
use serde_json::{Value, json};

const MEMBER_PASSWORD: &str = "harbour lantern crocus seventeen";

/// Invites a member and has them join; returns their email and token response.
async fn member(app: &TestApp, key: &str, role: &str) -> (String, Value) {
    let email = format!("{}@example.com", unique("leaver"));
    app.post("/api/v1/invitations")
        .key(key)
        .json(&json!({"email": email, "role": role}))
        .expect(201)
        .await;
    let token = find_token(&app.outbox_mail(&email).await, "hfi");
    let tokens = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": MEMBER_PASSWORD}))
        .expect(200)
        .await
        .json;
    (email, tokens)
}

fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

async fn member_emails(app: &TestApp, ws: &Workspace) -> Vec<String> {
    app.get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_deletes_their_account_with_their_password() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("leave").await;
    let (email, tokens) = member(&app, &ws.admin_key, "support").await;
    let token = access(&tokens);

    app.post("/api/v1/auth/account/delete")
        .key(&token)
        .json(&json!({"password": "not my password at all"}))
        .expect(401)
        .await
        .problem("HF-AUTH-002");
    app.post("/api/v1/auth/account/delete")
        .key(&ws.admin_key)
        .json(&json!({"password": MEMBER_PASSWORD}))
        .expect(403)
        .await;
    assert!(member_emails(&app, &ws).await.contains(&email));

    app.post("/api/v1/auth/account/delete")
        .key(&token)
        .json(&json!({"password": MEMBER_PASSWORD}))
        .expect(204)
        .await;
    assert!(!member_emails(&app, &ws).await.contains(&email));
    app.get("/api/v1/contacts").key(&token).expect(401).await;
    app.post("/api/v1/auth/login")
        .json(&json!({"email": email, "password": MEMBER_PASSWORD, "workspace": ws.slug}))
        .expect(401)
        .await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(&email)
        .fetch_one(app.db.unscoped_pool())
        .await
        .unwrap();
    assert_eq!(users, 0, "the account is gone, not just its membership");
    let trail = app
        .get("/api/v1/audit?action=member.account_deleted")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(trail["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_only_owner_cannot_delete_their_account() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("sole").await;
    let token = access(&app.login(&ws).await);
    let problem = app
        .post("/api/v1/auth/account/delete")
        .key(&token)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(409)
        .await;
    let detail = problem.problem("HF-REQ-007")["detail"].as_str().unwrap();
    assert!(detail.contains(&ws.slug), "{detail}");
    assert!(member_emails(&app, &ws).await.contains(&ws.owner_email));
    app.get("/api/v1/contacts").key(&token).expect(200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_an_authenticator_deletion_needs_the_code_even_after_a_step_up() {
    let (app, clock, ws) = setup().await;
    let (secret, _, token) = enrol(&app, &clock, &ws).await;
    // Another owner joins, so that this account may go.
    let owner_key = app.key(&ws.slug, BuiltinRole::Owner).await;
    member(&app, &owner_key, "owner").await;

    app.post("/api/v1/auth/step-up")
        .key(&token)
        .json(&json!({"password": OWNER_PASSWORD, "totp_code": code(&secret, &clock)}))
        .expect(204)
        .await;
    clock.advance(30_000);
    app.post("/api/v1/auth/account/delete")
        .key(&token)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(401)
        .await
        .problem("HF-AUTH-004");
    app.post("/api/v1/auth/account/delete")
        .key(&token)
        .json(&json!({"password": OWNER_PASSWORD, "totp_code": "000000"}))
        .expect(401)
        .await;
    app.post("/api/v1/auth/account/delete")
        .key(&token)
        .json(&json!({"password": OWNER_PASSWORD, "totp_code": code(&secret, &clock)}))
        .expect(204)
        .await;
    assert!(!member_emails(&app, &ws).await.contains(&ws.owner_email));
}
