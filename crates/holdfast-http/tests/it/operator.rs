//! The operator's controls: a suspended workspace answers every credential, page and hook with
//! a refusal (hooks with one the provider retries), its sessions end, its jobs wait, its data
//! is kept, and another workspace never notices; a locked account signs in nowhere.

use crate::hooks::{now_s, send_standard, set_secret};
use holdfast_core::ops::config::Layer;
use holdfast_store::ops::controls::{self, Changed};
use holdfast_testkit::python::standard_sign;
use holdfast_testkit::sse::EventStream;
use holdfast_testkit::{Method, OWNER_PASSWORD, TestApp};
use serde_json::json;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

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

/// An open live event stream, by an access token, and the next event within `WAIT`.
async fn live(app: &TestApp, credential: &str) -> EventStream {
    let mut stream = EventStream::open(&format!("{}/api/v1/events", app.base), credential).await;
    let ready = stream.next(WAIT).await.expect("a ready event");
    assert_eq!(ready.event, "ready");
    stream
}

/// The stream ends (its body closes) well within `within`, delivering nothing more.
async fn ends_delivering_nothing(stream: &mut EventStream, within: Duration) {
    let started = Instant::now();
    let next = stream.next(within).await;
    assert!(
        next.is_none(),
        "delivered after its credential ended: {next:?}"
    );
    assert!(
        started.elapsed() < within,
        "the stream is still open after {within:?}"
    );
}

fn access_token(r: &holdfast_testkit::Resp) -> String {
    r.json["access_token"].as_str().unwrap().to_owned()
}

/// The second attacker's pass: an open event stream outlived its credential. Now a session
/// ended, an account locked or a workspace suspended ends the stream, and nothing committed
/// after is delivered to it; the workspace's other streams go on.
#[tokio::test(flavor = "multi_thread")]
async fn an_open_event_stream_ends_when_its_credential_stops_holding() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let a = app.workspace("stream-end").await;
    let login = || {
        app.post("/api/v1/auth/login")
            .json(&crate::login_body(&a.owner_email, OWNER_PASSWORD, &a.slug))
            .expect(200)
    };
    let (to_lock, to_end) = (access_token(&login().await), access_token(&login().await));
    let mut of_locked = live(&app, &to_lock).await;
    let mut of_ended = live(&app, &to_end).await;
    let mut of_key = live(&app, &a.admin_key).await;

    app.post("/api/v1/auth/logout")
        .key(&to_end)
        .expect(204)
        .await;
    controls::unscoped_lock_user(&app.db, &a.owner_email, "left", now_ms())
        .await
        .unwrap();
    // Past the moment an event could be delivered on the guard's first answer.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    crate::ticket(
        &app,
        &a,
        json!({"subject": "After the lock", "contact": {"email": "c@example.com"}, "message": "Hello"}),
    )
    .await;
    for event in ["ticket.created", "message.created"] {
        let heard = of_key.next_named(event, WAIT).await;
        assert!(heard.is_some(), "the key's stream goes on: {event}");
    }
    ends_delivering_nothing(&mut of_locked, Duration::from_secs(10)).await;
    ends_delivering_nothing(&mut of_ended, Duration::from_secs(10)).await;

    // Suspended: the key's stream ends within a re-check, with no event to carry it.
    controls::unscoped_suspend_workspace(&app.db, &a.slug, "unpaid", now_ms())
        .await
        .unwrap();
    ends_delivering_nothing(&mut of_key, Duration::from_secs(15)).await;
    // And it cannot open again.
    app.get("/api/v1/events")
        .key(&a.admin_key)
        .expect(403)
        .await
        .problem("HF-AUTH-010");
}

/// The second attacker's pass: a suspended workspace's invitation page showed its name, the
/// role and the invited address. Now it answers as the rest of the workspace does, and the
/// invitation is not spent: resumed, it opens again.
#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_workspaces_invitation_reveals_nothing_and_stays_pending() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let a = app.workspace("hidden-lantern").await;
    let invitee = format!("invitee@{}.example.com", a.slug);
    app.post("/api/v1/invitations")
        .key(&a.admin_key)
        .json(&json!({"email": invitee, "role": "support"}))
        .expect(201)
        .await;
    let mut mail = String::new();
    for _ in 0..100 {
        mail = app.outbox_mail(&invitee).await;
        if mail.contains("hfi_") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = holdfast_testkit::find_token(&mail, "hfi");
    let path = format!("/invite/{token}");
    let open = app.browser(Method::GET, &path).expect(200).await;
    assert!(open.text.contains("Join hidden-lantern"), "{}", open.text);

    controls::unscoped_suspend_workspace(&app.db, &a.slug, "unpaid", now_ms())
        .await
        .unwrap();
    let page = app.browser(Method::GET, &path).send().await;
    assert_eq!(page.status, 403, "{}", page.text);
    let form = "password=a+fresh+passphrase+for+this+account&password_again=a+fresh+passphrase+for+this+account";
    let submitted = app
        .browser(Method::POST, &path)
        .header("origin", &app.base)
        .body("application/x-www-form-urlencoded", form.to_owned())
        .send()
        .await;
    assert_eq!(submitted.status, 403, "{}", submitted.text);
    for r in [&page, &submitted] {
        assert!(r.text.contains("suspended"), "{}", r.text);
        for secret in ["hidden-lantern", "invitee@", "invited as", "support"] {
            assert!(!r.text.contains(secret), "{secret}: {}", r.text);
        }
    }
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": "a fresh passphrase for this account"}))
        .expect(403)
        .await
        .problem("HF-AUTH-010");

    controls::unscoped_resume_workspace(&app.db, &a.slug, now_ms())
        .await
        .unwrap();
    let again = app.browser(Method::GET, &path).expect(200).await;
    assert!(
        again.text.contains(&invitee),
        "still pending: {}",
        again.text
    );
}

/// The reset messages in `to`'s outbox.
async fn reset_mails(app: &TestApp, to: &str) -> usize {
    holdfast_store::ops::mail_outbox::unscoped_list(&app.db, Some(to), 50)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.body_text.contains("hfp_"))
        .count()
}

/// The second attacker's pass: a locked account could reset its own password. Now a reset
/// link of a locked account answers 403 HF-AUTH-011 (API and console) and changes nothing, and
/// asking for a reset answers as for any address but sends nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_locked_account_cannot_reset_its_password() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let a = app.workspace("reset-locked").await;
    // A reset message sent before the lock.
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": a.owner_email}))
        .expect(202)
        .await;
    let mut mail = String::new();
    for _ in 0..100 {
        mail = app.outbox_mail(&a.owner_email).await;
        if mail.contains("hfp_") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = holdfast_testkit::find_token(&mail, "hfp");
    controls::unscoped_lock_user(&app.db, &a.owner_email, "under review", now_ms())
        .await
        .unwrap();

    let fresh = "a fresh passphrase for this account";
    let refused = app
        .post("/api/v1/auth/reset-password")
        .json(&json!({"token": token, "password": fresh}))
        .expect(403)
        .await;
    let problem = refused.problem("HF-AUTH-011");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("cannot be reset"),
        "{problem}"
    );
    let path = format!("/reset/{token}");
    let page = app.browser(Method::GET, &path).send().await;
    assert_eq!(page.status, 403, "{}", page.text);
    assert!(page.text.contains("locked"), "{}", page.text);
    let form = format!("password={0}&password_again={0}", fresh.replace(' ', "+"));
    let submitted = app
        .browser(Method::POST, &path)
        .header("origin", &app.base)
        .body("application/x-www-form-urlencoded", form)
        .send()
        .await;
    assert_eq!(submitted.status, 403, "{}", submitted.text);

    // Asking again answers alike, API and console, and sends nothing.
    let before = reset_mails(&app, &a.owner_email).await;
    assert_eq!(before, 1);
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": a.owner_email}))
        .expect(202)
        .await;
    let console = app
        .browser(Method::POST, "/sign-in/forgot")
        .header("origin", &app.base)
        .body(
            "application/x-www-form-urlencoded",
            format!("email={}", a.owner_email.replace('@', "%40")),
        )
        .expect(200)
        .await;
    assert!(!console.text.contains("locked"), "{}", console.text);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(reset_mails(&app, &a.owner_email).await, before);

    // The password is the one it was.
    controls::unscoped_unlock_user(&app.db, &a.owner_email, now_ms())
        .await
        .unwrap();
    assert_eq!(
        crate::sign_in_status(&app, &a.owner_email, OWNER_PASSWORD, &a.slug).await,
        200
    );
    assert_eq!(
        crate::sign_in_status(&app, &a.owner_email, fresh, &a.slug).await,
        401
    );
}

/// The second attacker's pass: sign-ins to a suspended workspace left no trace. Now a wrong
/// password and a right one refused for the suspension are both in its audit trail.
#[tokio::test(flavor = "multi_thread")]
async fn sign_ins_refused_by_a_suspension_are_audited() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let a = app.workspace("audit-suspended").await;
    controls::unscoped_suspend_workspace(&app.db, &a.slug, "unpaid", now_ms())
        .await
        .unwrap();
    app.post("/api/v1/auth/login")
        .json(&crate::login_body(
            &a.owner_email,
            "not the password at all",
            &a.slug,
        ))
        .expect(401)
        .await;
    app.post("/api/v1/auth/login")
        .json(&crate::login_body(&a.owner_email, OWNER_PASSWORD, &a.slug))
        .expect(403)
        .await
        .problem("HF-AUTH-010");
    // Recorded off the answer's path: wait for both.
    let mut failures = Vec::new();
    for _ in 0..100 {
        let tenant = holdfast_store::ops::admin::unscoped_tenant_by_slug(&app.db, &a.slug)
            .await
            .unwrap()
            .unwrap();
        let (_, chain) = controls::operator_audit_chain(&app.db, &tenant)
            .await
            .unwrap();
        failures = chain
            .into_iter()
            .filter(|e| e.action == "auth.sign_in_failed")
            .map(|e| e.summary)
            .collect();
        if failures.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        failures.iter().any(|s| s.contains("\"password\"")),
        "{failures:?}"
    );
    assert!(
        failures.iter().any(|s| s.contains("workspace_suspended")),
        "{failures:?}"
    );
    // The operator's resume shows them through the API as well.
    controls::unscoped_resume_workspace(&app.db, &a.slug, now_ms())
        .await
        .unwrap();
    let audit = app
        .get("/api/v1/audit?action=auth.sign_in_failed")
        .key(&a.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        audit.json["data"].as_array().unwrap().len(),
        2,
        "{}",
        audit.text
    );
}
