//! The operator's controls: a suspended workspace answers every credential, page and hook with
//! a refusal (hooks with one the provider retries), its sessions end, its jobs wait, its data
//! is kept, and another workspace never notices; a locked account signs in nowhere.

use crate::hooks::{now_s, send_standard, set_secret};
use holdfast_core::ops::config::Layer;
use holdfast_store::ops::controls::{self, Changed};
use holdfast_testkit::python::standard_sign;
use holdfast_testkit::{Method, OWNER_PASSWORD, TestApp};
use serde_json::json;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn now_ms() -> i64 {
    holdfast_core::clock::Clock::now_ms(&holdfast_core::clock::SystemClock)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_workspace_is_closed_everywhere_and_kept_whole() {
    // No worker: the test claims jobs itself, to see which wait.
    let app = TestApp::spawn_with(Layer {
        worker: Some(false),
        auth_rate_limit_per_minute: Some(60_000),
        ..Layer::default()
    })
    .await;
    let a = app.workspace("suspend-a").await;
    let b = app.workspace("suspend-b").await;
    let contact = crate::contact(&app, &a, json!({"name": "Kept Contact"})).await;
    set_secret(&app, &a, "standard", SECRET).await;
    let console = app.console_login(&a).await;
    let token = app
        .post("/api/v1/auth/login")
        .json(&crate::login_body(&a.owner_email, OWNER_PASSWORD, &a.slug))
        .expect(200)
        .await
        .json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A job of each workspace waits in the queue (an import each).
    for ws in [&a, &b] {
        app.post("/api/v1/contacts/imports")
            .key(&ws.admin_key)
            .body("text/csv", "name,email\nQueued,queued@example.com\n")
            .expect(202)
            .await;
    }

    let done = controls::unscoped_suspend_workspace(&app.db, &a.slug, "invoice unpaid", now_ms())
        .await
        .unwrap();
    assert!(
        matches!(done, Changed::Done { sessions_ended } if sessions_ended == 2),
        "{done:?}"
    );
    assert_eq!(
        controls::unscoped_suspend_workspace(&app.db, &a.slug, "again", now_ms())
            .await
            .unwrap(),
        Changed::Already
    );

    // Every credential of A is refused with the suspension's problem.
    for r in [
        app.get("/api/v1/contacts").key(&a.admin_key).send().await,
        app.get(&format!("/api/v1/contacts/{contact}"))
            .key(&a.admin_key)
            .send()
            .await,
        app.get("/api/v1/contacts").key(&token).send().await,
    ] {
        assert!([401, 403].contains(&r.status), "{}: {}", r.status, r.text);
        assert!(!r.text.contains("Kept Contact"), "{}", r.text);
    }
    let r = app
        .get("/api/v1/contacts")
        .key(&a.admin_key)
        .expect(403)
        .await;
    r.problem("HF-AUTH-010");
    // The console session ended: a page asks for sign-in again, and signing in is refused.
    let page = app
        .browser(Method::GET, "/app/contacts")
        .cookie(&console)
        .send()
        .await;
    assert!([303, 403].contains(&page.status), "{}", page.status);
    assert!(!page.text.contains("Kept Contact"));
    let again = app
        .post("/api/v1/auth/login")
        .json(&crate::login_body(&a.owner_email, OWNER_PASSWORD, &a.slug))
        .send()
        .await;
    assert_eq!(again.status, 403, "{}", again.text);
    again.problem("HF-AUTH-010");
    // A signed delivery is answered with a status the provider retries; an unsigned one is
    // refused as for any workspace, learning nothing.
    let body = r#"{"type":"invoice.paid"}"#;
    let ts = now_s();
    let signed = app
        .post(&format!("/hooks/standard/{}", a.slug))
        .header("webhook-id", "msg_suspended")
        .header("webhook-timestamp", &ts.to_string())
        .header(
            "webhook-signature",
            &standard_sign(SECRET, "msg_suspended", ts, body),
        )
        .body("application/json", body.to_owned())
        .expect(503)
        .await;
    assert_eq!(signed.header("retry-after"), Some("3600"));
    let unsigned = send_standard(&app, &a.slug, "msg_forged", ts, "v1,Zm9yZ2Vk", body).await;
    assert_eq!(unsigned.status, 401, "{}", unsigned.text);
    // B goes on as before, and its job is claimed; A's waits.
    app.get("/api/v1/contacts")
        .key(&b.admin_key)
        .expect(200)
        .await;
    let claimed = holdfast_store::ops::queue::unscoped_claim(&app.db, 10, 60_000, now_ms(), None)
        .await
        .unwrap();
    let claimed_for: Vec<String> = claimed
        .iter()
        .filter_map(|c| c.tenant.as_ref())
        .map(|t| t.workspace_id().as_str().to_owned())
        .collect();
    assert!(claimed_for.contains(&b.id), "{claimed_for:?}");
    assert!(!claimed_for.contains(&a.id), "{claimed_for:?}");

    // Resumed: the data is all there, the old session stays ended, A's job is claimed, and
    // both changes are in A's audit trail with the reason.
    assert_eq!(
        controls::unscoped_resume_workspace(&app.db, &a.slug, now_ms())
            .await
            .unwrap(),
        Changed::Done { sessions_ended: 0 }
    );
    let kept = app
        .get(&format!("/api/v1/contacts/{contact}"))
        .key(&a.admin_key)
        .expect(200)
        .await;
    assert_eq!(kept.json["name"], "Kept Contact");
    app.get("/api/v1/contacts").key(&token).expect(401).await;
    let claimed = holdfast_store::ops::queue::unscoped_claim(&app.db, 10, 60_000, now_ms(), None)
        .await
        .unwrap();
    assert!(
        claimed
            .iter()
            .any(|c| c.tenant.as_ref().map(|t| t.workspace_id().as_str()) == Some(a.id.as_str())),
        "A's job runs again"
    );
    let audit = app
        .get("/api/v1/audit?entity_type=workspace")
        .key(&a.admin_key)
        .expect(200)
        .await;
    let actions: Vec<&str> = audit.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "workspace.resumed",
            "workspace.suspended",
            "workspace.created"
        ],
        "{}",
        audit.text
    );
    assert!(audit.text.contains("invoice unpaid"));
    // An unknown slug is said to be unknown.
    assert_eq!(
        controls::unscoped_suspend_workspace(&app.db, "no-such-slug", "x", now_ms())
            .await
            .unwrap(),
        Changed::NotFound
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_account_signs_in_nowhere_and_its_sessions_end() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let a = app.workspace("lock-a").await;
    let console = app.console_login(&a).await;
    let before = app
        .post("/api/v1/auth/login")
        .json(&crate::login_body(&a.owner_email, OWNER_PASSWORD, &a.slug))
        .expect(200)
        .await;
    let token = before.json["access_token"].as_str().unwrap().to_owned();
    let refresh = before.json["refresh_token"].as_str().unwrap().to_owned();
    let done = controls::unscoped_lock_user(&app.db, &a.owner_email, "left the company", now_ms())
        .await
        .unwrap();
    assert!(
        matches!(done, Changed::Done { sessions_ended } if sessions_ended == 2),
        "{done:?}"
    );
    app.get("/api/v1/auth/sessions")
        .key(&token)
        .expect(401)
        .await;
    app.post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh}))
        .expect(401)
        .await;
    let page = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(303)
        .await;
    assert!(
        page.header("location")
            .unwrap_or_default()
            .starts_with("/sign-in")
    );
    // The right password is refused with the lock's problem; a wrong one as any wrong one.
    let locked = app
        .post("/api/v1/auth/login")
        .json(&crate::login_body(&a.owner_email, OWNER_PASSWORD, &a.slug))
        .expect(403)
        .await;
    locked.problem("HF-AUTH-011");
    app.post("/api/v1/auth/login")
        .json(&crate::login_body(
            &a.owner_email,
            "not the password at all",
            &a.slug,
        ))
        .expect(401)
        .await;
    // The workspace's API keys are not the account's: they still work.
    app.get("/api/v1/contacts")
        .key(&a.admin_key)
        .expect(200)
        .await;
    // Unlocked: signing in works again.
    assert_eq!(
        controls::unscoped_unlock_user(&app.db, &a.owner_email, now_ms())
            .await
            .unwrap(),
        Changed::Done { sessions_ended: 0 }
    );
    app.post("/api/v1/auth/login")
        .json(&crate::login_body(&a.owner_email, OWNER_PASSWORD, &a.slug))
        .expect(200)
        .await;
    let audit = app
        .get("/api/v1/audit?entity_type=user")
        .key(&a.admin_key)
        .expect(200)
        .await;
    assert!(audit.text.contains("user.locked") && audit.text.contains("user.unlocked"));
    assert!(audit.text.contains("left the company"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operators_list_shows_each_workspace_with_its_size_and_state() {
    let app = TestApp::spawn().await;
    let a = app.workspace("list-a").await;
    let b = app.workspace("list-b").await;
    crate::contact(&app, &a, json!({"name": "One"})).await;
    crate::contact(&app, &a, json!({"name": "Two"})).await;
    crate::ticket_id(
        &app,
        &b,
        json!({"subject": "Hi", "contact": {"email": "c@example.com"}, "message": "Hello"}),
    )
    .await;
    controls::unscoped_suspend_workspace(&app.db, &b.slug, "paused on request", now_ms())
        .await
        .unwrap();
    let all = controls::unscoped_workspaces(&app.db).await.unwrap();
    let find = |slug: &str| all.iter().find(|w| w.slug == slug).unwrap();
    assert_eq!((find(&a.slug).contacts, find(&a.slug).tickets), (2, 0));
    assert_eq!(find(&a.slug).members, 1);
    assert!(find(&a.slug).suspended_at.is_none());
    assert!(find(&a.slug).last_activity_at.is_some());
    assert_eq!((find(&b.slug).contacts, find(&b.slug).tickets), (1, 1));
    assert_eq!(
        find(&b.slug).suspended_reason.as_deref(),
        Some("paused on request")
    );
}

/// What an attacker's pass found, fixed: a password reset while one of the account's
/// workspaces is suspended still ends its sessions in every other workspace (and answers
/// success); a locked account cannot spend an invitation; a suspended workspace's widget is
/// not there (404, as a disabled one), never a 500.
#[tokio::test(flavor = "multi_thread")]
async fn suspension_and_lock_leave_no_way_around_them() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let a = app.workspace("around-a").await;
    let b = app.workspace("around-b").await;
    let c = app.workspace("around-c").await;
    let widget = crate::widget::enable(&app, &a, &["https://shop.example.com"]).await;
    // A's owner joins B too, and holds a session there; C invites them as well.
    // Invitation mail is sent in the background: wait for one whose token is new.
    let invite = |ws: &holdfast_testkit::Workspace, seen: String| {
        let (app, key, email) = (&app, ws.admin_key.clone(), a.owner_email.clone());
        async move {
            app.post("/api/v1/invitations")
                .key(&key)
                .json(&json!({"email": email, "role": "support"}))
                .expect(201)
                .await;
            for _ in 0..100 {
                let mail = app.outbox_mail(&email).await;
                if mail.contains("hfi_") {
                    let token = holdfast_testkit::find_token(&mail, "hfi");
                    if token != seen {
                        return token;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("no new invitation for {email}");
        }
    };
    let into_b = invite(&b, String::new()).await;
    let into_c = invite(&c, into_b.clone()).await;
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": into_b, "password": OWNER_PASSWORD}))
        .expect(200)
        .await;
    let in_b = app
        .post("/api/v1/auth/login")
        .json(&crate::login_body(&a.owner_email, OWNER_PASSWORD, &b.slug))
        .expect(200)
        .await
        .json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    controls::unscoped_suspend_workspace(&app.db, &a.slug, "paused", now_ms())
        .await
        .unwrap();
    // The widget of A is not there.
    let r = app
        .get(&format!("/api/v1/widget/{widget}/config"))
        .header("origin", "https://shop.example.com")
        .send()
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    // A reset ends the session in B and says so.
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": a.owner_email}))
        .expect(202)
        .await;
    // The reset mail is sent in the background: wait for it to be the newest.
    let mut mail = String::new();
    for _ in 0..100 {
        mail = app.outbox_mail(&a.owner_email).await;
        if mail.contains("hfp_") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let reset = holdfast_testkit::find_token(&mail, "hfp");
    app.post("/api/v1/auth/reset-password")
        .json(&json!({"token": reset, "password": "a fresh passphrase for this account"}))
        .expect(204)
        .await;
    app.get("/api/v1/auth/sessions")
        .key(&in_b)
        .expect(401)
        .await;
    // Locked, the account cannot spend C's invitation: refused, and it is still pending.
    controls::unscoped_lock_user(&app.db, &a.owner_email, "left", now_ms())
        .await
        .unwrap();
    let r = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": into_c, "password": "a fresh passphrase for this account"}))
        .expect(403)
        .await;
    r.problem("HF-AUTH-011");
    let members = app
        .get("/api/v1/members")
        .key(&c.admin_key)
        .expect(200)
        .await;
    assert!(!members.text.contains(&a.owner_email), "{}", members.text);
    let pending = app
        .get("/api/v1/invitations")
        .key(&c.admin_key)
        .expect(200)
        .await;
    assert!(pending.text.contains(&a.owner_email), "{}", pending.text);
}
