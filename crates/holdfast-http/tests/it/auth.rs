//! Sign-in: tokens, refresh rotation and reuse detection, sessions, throttling and the absence
//! of any account-enumeration signal.

use crate::{login_body, sign_in_status};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{OWNER_PASSWORD, TestApp};
use serde_json::{Value, json};

/// A frozen clock; the per-address limit is raised so that only the behaviour under test acts.
fn s(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_users_act_with_their_role_and_refresh_rotates() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("signin").await;
    let tokens = app.login(&ws).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = s(&tokens, "access_token");
    assert!(s(&tokens, "refresh_token").starts_with("hfr_"));

    let id = app
        .post("/api/v1/contacts")
        .key(&access)
        .json(&json!({"name": "Made by a person"}))
        .expect(201)
        .await;
    app.get(&format!("/api/v1/contacts/{}", s(&id.json, "id")))
        .key(&access)
        .expect(200)
        .await;
    app.get("/api/v1/api-keys").key(&access).expect(200).await;

    let next = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": tokens["refresh_token"]}))
        .expect(200)
        .await
        .json;
    assert_ne!(next["refresh_token"], tokens["refresh_token"]);
    assert_eq!(
        next["session_id"], tokens["session_id"],
        "the same session continues"
    );
    app.get("/api/v1/contacts")
        .key(&s(&next, "access_token"))
        .expect(200)
        .await;

    // Presenting the spent token again means it leaked: the whole family ends.
    let r = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": tokens["refresh_token"]}))
        .expect(401)
        .await;
    assert!(
        r.problem("HF-AUTH-002")["detail"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    app.get("/api/v1/contacts")
        .key(&s(&next, "access_token"))
        .expect(401)
        .await;
    app.post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": next["refresh_token"]}))
        .expect(401)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_of_one_kind_are_refused_where_another_is_expected() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("kinds").await;
    let tokens = app.login(&ws).await;
    for wrong in [
        tokens["access_token"].clone(),
        json!(ws.admin_key),
        json!("hfr_short"),
        json!(""),
    ] {
        app.post("/api/v1/auth/refresh")
            .json(&json!({"refresh_token": wrong}))
            .expect(401)
            .await
            .problem("HF-AUTH-002");
    }
    app.get("/api/v1/contacts")
        .key(&s(&tokens, "refresh_token"))
        .expect(401)
        .await;
    app.get("/api/v1/auth/sessions")
        .key(&ws.admin_key)
        .expect(403)
        .await
        .problem("HF-AUTH-003");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_unknown_email_and_unknown_workspace_look_the_same() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("enum").await;
    let other = app.workspace("enum-other").await;
    let attempts = [
        login_body(&ws.owner_email, "not the password at all", &ws.slug),
        login_body("nobody-here@example.com", OWNER_PASSWORD, &ws.slug),
        login_body(&ws.owner_email, OWNER_PASSWORD, "no-such-workspace"),
        login_body(&ws.owner_email, OWNER_PASSWORD, &other.slug),
    ];
    let mut bodies = Vec::new();
    for body in &attempts {
        let r = app.post("/api/v1/auth/login").json(body).expect(401).await;
        let mut p = r.problem("HF-AUTH-002").clone();
        p["request_id"] = Value::Null;
        bodies.push(p);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "responses differ: {bodies:?}"
    );
    app.post("/api/v1/auth/login")
        .json(&json!({"email": "x@example.com", "password": "p", "workspace": "w", "totp": 1}))
        .expect(422)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_lock_the_account_with_growing_delays_existing_or_not() {
    let (app, clock) = crate::manual_app().await;
    let ws = app.workspace("throttle").await;
    let ghost = format!("ghost@{}.example.com", ws.slug);
    for email in [ws.owner_email.as_str(), ghost.as_str()] {
        for n in 1..=6 {
            assert_eq!(
                sign_in_status(&app, email, "wrong wrong wrong wrong", &ws.slug).await,
                401,
                "failure {n} for {email}"
            );
        }
        // Locked now: even the right password waits, and the answer says how long.
        let r = app
            .post("/api/v1/auth/login")
            .json(&login_body(email, OWNER_PASSWORD, &ws.slug))
            .expect(429)
            .await;
        r.problem("HF-RATE-001");
        assert_eq!(r.header("retry-after"), Some("2"));
    }
    clock.advance(2_000);
    assert_eq!(
        sign_in_status(&app, &ws.owner_email, "wrong wrong wrong wrong", &ws.slug).await,
        401
    );
    let r = app
        .post("/api/v1/auth/login")
        .json(&login_body(&ws.owner_email, OWNER_PASSWORD, &ws.slug))
        .expect(429)
        .await;
    assert_eq!(r.header("retry-after"), Some("4"), "the delay doubles");
    clock.advance(4_000);
    app.post("/api/v1/auth/login")
        .json(&login_body(&ws.owner_email, OWNER_PASSWORD, &ws.slug))
        .expect(200)
        .await;
    assert_eq!(
        sign_in_status(&app, &ws.owner_email, "wrong wrong wrong wrong", &ws.slug).await,
        401,
        "success reset the count"
    );
    app.post("/api/v1/auth/login")
        .json(&login_body(&ws.owner_email, OWNER_PASSWORD, &ws.slug))
        .expect(200)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn access_tokens_expire_after_15_minutes_and_sessions_after_idling() {
    let (app, clock) = crate::manual_app().await;
    let ws = app.workspace("expiry").await;
    let tokens = app.login(&ws).await;
    clock.advance(15 * 60 * 1000);
    app.get("/api/v1/contacts")
        .key(&s(&tokens, "access_token"))
        .expect(401)
        .await;
    let next = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": tokens["refresh_token"]}))
        .expect(200)
        .await
        .json;
    app.get("/api/v1/contacts")
        .key(&s(&next, "access_token"))
        .expect(200)
        .await;
    clock.advance(7 * 24 * 3600 * 1000 + 1);
    app.post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": next["refresh_token"]}))
        .expect(401)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn users_list_and_end_their_sessions_with_immediate_effect() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("sessions").await;
    let phone = app.login(&ws).await;
    let laptop = app.login(&ws).await;
    let listed = app
        .get("/api/v1/auth/sessions")
        .key(&s(&laptop, "access_token"))
        .header("user-agent", "laptop")
        .expect(200)
        .await
        .json;
    let data = listed["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let current: Vec<&Value> = data.iter().filter(|d| d["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], laptop["session_id"]);
    assert_eq!(current[0]["ip"], "127.0.0.1");

    app.delete(&format!(
        "/api/v1/auth/sessions/{}",
        s(&phone, "session_id")
    ))
    .key(&s(&laptop, "access_token"))
    .expect(204)
    .await;
    app.get("/api/v1/contacts")
        .key(&s(&phone, "access_token"))
        .expect(401)
        .await;
    app.post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": phone["refresh_token"]}))
        .expect(401)
        .await;
    app.delete("/api/v1/auth/sessions/ses_00000000000000000000000000000000")
        .key(&s(&laptop, "access_token"))
        .expect(404)
        .await;

    app.delete("/api/v1/auth/sessions")
        .key(&s(&laptop, "access_token"))
        .expect(204)
        .await;
    app.get("/api/v1/contacts")
        .key(&s(&laptop, "access_token"))
        .expect(401)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_bcrypt_and_weaker_hashes_are_upgraded_at_sign_in() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("bcrypt").await;
    let user_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&ws.owner_email)
        .fetch_one(app.db.unscoped_pool())
        .await
        .unwrap();
    let legacy = bcrypt::hash(OWNER_PASSWORD, 4).unwrap();
    holdfast_store::identity::unscoped_set_password_hash(&app.db, &user_id, &legacy)
        .await
        .unwrap();
    app.login(&ws).await;
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(&user_id)
        .fetch_one(app.db.unscoped_pool())
        .await
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
        "{stored}"
    );
    app.login(&ws).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_endpoints_are_rate_limited_per_address() {
    // One sign-in a minute after a burst of 10: twelve attempts exceed it however slowly a
    // loaded machine hashes them (at 6 a minute, a token came back during a slow run).
    let app = TestApp::spawn_with(Layer {
        auth_rate_limit_per_minute: Some(1),
        ..Layer::default()
    })
    .await;
    let mut statuses = Vec::new();
    for n in 0..12 {
        let body = login_body(&format!("visitor{n}@example.com"), "x", "acme");
        statuses.push(
            app.post("/api/v1/auth/login")
                .json(&body)
                .send()
                .await
                .status,
        );
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    app.get("/healthz").expect(200).await;
}
