//! Password reset by mail, over a real SMTP exchange and through the local outbox.

use crate::sign_in_status;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{OWNER_PASSWORD, SmtpSink, TestApp, find_token};
use serde_json::{Value, json};
use std::time::Duration;

const NEW_PASSWORD: &str = "lantern orchard quietly bicycle";

fn reset_token(text: &str) -> String {
    find_token(text, "hfp")
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_by_mail_sets_the_password_once_and_ends_every_session() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(sink.url()),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("reset").await;
    let tokens = app.login(&ws).await;

    let r = app
        .post("/api/v1/auth/forgot-password")
        .json(&json!({"email": ws.owner_email.to_uppercase()}))
        .expect(202)
        .await;
    let mail = sink
        .wait_for(&ws.owner_email, Duration::from_secs(10))
        .await
        .expect("the reset message arrives over SMTP");
    assert!(
        mail.data.contains("Subject: Reset your Holdfast password"),
        "{}",
        mail.data
    );
    assert_eq!(mail.from, "holdfast@localhost");
    let token = reset_token(&mail.text());
    assert!(
        mail.text()
            .contains(&format!("{}/reset/{token}", app.config.public_url))
    );

    let weak = app
        .post("/api/v1/auth/reset-password")
        .json(&json!({"token": token, "password": "password123456789"}))
        .expect(422)
        .await;
    assert!(weak.text.contains("too easy"), "{}", weak.text);
    app.post("/api/v1/auth/reset-password")
        .json(&json!({"token": token, "password": NEW_PASSWORD}))
        .expect(204)
        .await;

    app.get("/api/v1/contacts")
        .key(tokens["access_token"].as_str().unwrap())
        .expect(401)
        .await;
    app.post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": tokens["refresh_token"]}))
        .expect(401)
        .await;
    assert_eq!(
        sign_in_status(&app, &ws.owner_email, OWNER_PASSWORD, &ws.slug).await,
        401
    );
    assert_eq!(
        sign_in_status(&app, &ws.owner_email, NEW_PASSWORD, &ws.slug).await,
        200
    );
    let again = app
        .post("/api/v1/auth/reset-password")
        .json(&json!({"token": token, "password": "another fresh passphrase here"}))
        .expect(401)
        .await;
    again.problem("HF-AUTH-002");
    assert_eq!(
        r.json["status"],
        "if an account uses this address, a reset message is on its way"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_addresses_get_the_same_answer_and_no_mail() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(sink.url()),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("reset-enum").await;
    let strip = |mut v: Value| {
        v["request_id"] = Value::Null;
        v
    };
    let known = app
        .post("/api/v1/auth/forgot-password")
        .json(&json!({"email": ws.owner_email}))
        .expect(202)
        .await;
    let unknown = app
        .post("/api/v1/auth/forgot-password")
        .json(&json!({"email": "nobody@nowhere.example.com"}))
        .expect(202)
        .await;
    assert_eq!(strip(known.json), strip(unknown.json));
    sink.wait_for(&ws.owner_email, Duration::from_secs(10))
        .await
        .expect("mail for the real account");
    assert!(
        sink.wait_for("nobody@nowhere.example.com", Duration::from_millis(300))
            .await
            .is_none()
    );
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": "not an address"}))
        .expect(422)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_smtp_mail_waits_in_the_outbox_and_tokens_expire_in_15_minutes() {
    let (app, clock) = TestApp::spawn_on_clock(Layer::default(), 1_800_000_000_000).await;
    let ws = app.workspace("outbox").await;
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": ws.owner_email}))
        .expect(202)
        .await;
    let text = app.outbox_mail(&ws.owner_email).await;
    let kept = holdfast_store::ops::mail_outbox::unscoped_list(&app.db, Some(&ws.owner_email), 5)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "the message is kept in the outbox");
    let token = reset_token(&text);
    clock.advance(15 * 60 * 1000);
    app.post("/api/v1/auth/reset-password")
        .json(&json!({"token": token, "password": NEW_PASSWORD}))
        .expect(401)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_kinds_of_token_cannot_reset_a_password() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("reset-kinds").await;
    let tokens = app.login(&ws).await;
    for wrong in [
        tokens["refresh_token"].clone(),
        tokens["access_token"].clone(),
        json!(ws.admin_key),
        json!("hfp_x"),
    ] {
        app.post("/api/v1/auth/reset-password")
            .json(&json!({"token": wrong, "password": NEW_PASSWORD}))
            .expect(401)
            .await;
    }
    assert_eq!(
        sign_in_status(&app, &ws.owner_email, OWNER_PASSWORD, &ws.slug).await,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_completed_reset_voids_every_earlier_reset_message() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(sink.url()),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("reset-void").await;
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": ws.owner_email}))
        .expect(202)
        .await;
    let first = reset_token(
        &sink
            .wait_for(&ws.owner_email, Duration::from_secs(10))
            .await
            .unwrap()
            .text(),
    );
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": ws.owner_email}))
        .expect(202)
        .await;
    let mut second = first.clone();
    for _ in 0..400 {
        let all: Vec<String> = sink
            .messages()
            .iter()
            .map(|m| reset_token(&m.text()))
            .collect();
        if let Some(t) = all.iter().find(|t| **t != first) {
            second = t.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_ne!(first, second, "a second message arrived");
    app.post("/api/v1/auth/reset-password")
        .json(&json!({"token": second, "password": NEW_PASSWORD}))
        .expect(204)
        .await;
    app.post("/api/v1/auth/reset-password")
        .json(&json!({"token": first, "password": "yet another fine passphrase"}))
        .expect(401)
        .await;
}
