//! Accepting an invitation in the browser (`/invite/{token}`, the link the invitation mail
//! carries): a new account chooses its password, an existing one proves it with its password
//! and code (throttled like a sign-in), then the member is signed in to the console. Bad input
//! changes nothing, other sites are refused, and a used, unknown or malformed invitation meets
//! one 404 page.

use crate::pages::{FORM, assert_page, form};
use holdfast_testkit::{Method, OWNER_PASSWORD, Resp, TestApp, Workspace, find_token};
use serde_json::json;

const PASSWORD: &str = "lantern orchard quietly bicycle";

/// Invites `email` to `ws` as `role`; returns the invitation page's path from the mail.
async fn invite(app: &TestApp, ws: &Workspace, email: &str, role: &str) -> String {
    app.post("/api/v1/invitations")
        .key(&ws.admin_key)
        .json(&json!({"email": email, "role": role}))
        .expect(201)
        .await;
    let mail = app.outbox_mail(email).await;
    let path = format!("/invite/{}", find_token(&mail, "hfi"));
    assert!(
        mail.contains(&format!("{}{path}", app.config.public_url)),
        "{mail}"
    );
    path
}

async fn post(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> Resp {
    app.browser(Method::POST, path)
        .header("origin", &app.base)
        .body(FORM, form(pairs))
        .send()
        .await
}

fn session_cookie(r: &Resp) -> String {
    r.set_cookies()
        .into_iter()
        .find(|c| c.contains("hf_session="))
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .expect("a session cookie")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_account_chooses_its_password_joins_and_is_signed_in() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("invite-page").await;
    let email = format!("new.hire@{}.example.com", ws.slug);
    let path = invite(&app, &ws, &email, "support").await;
    let page = app.browser(Method::GET, &path).expect(200).await;
    assert_page(&page);
    assert!(page.text.contains("Choose a password"), "{}", page.text);
    assert!(page.text.contains("<strong>support</strong>"));

    for (pairs, status, needle) in [
        (
            vec![
                ("password", PASSWORD),
                ("password_again", "not the same one"),
            ],
            422,
            "differ",
        ),
        (
            vec![
                ("password", "password123456789"),
                ("password_again", "password123456789"),
            ],
            422,
            "The password",
        ),
    ] {
        let r = post(&app, &path, &pairs).await;
        assert_eq!(r.status, status, "{}", r.text);
        assert_page(&r);
        assert!(r.text.contains(needle), "{needle}: {}", r.text);
        assert!(r.set_cookies().is_empty());
    }
    let cross = app
        .browser(Method::POST, &path)
        .header("origin", "https://evil.example")
        .body(
            FORM,
            form(&[("password", PASSWORD), ("password_again", PASSWORD)]),
        )
        .expect(403)
        .await;
    assert_page(&cross);
    let json = app
        .browser(Method::POST, &path)
        .header("origin", &app.base)
        .json(&json!({"password": PASSWORD}))
        .expect(415)
        .await;
    assert_page(&json);
    // Nothing was made by the refusals: the invitation is still pending.
    app.browser(Method::GET, &path).expect(200).await;

    let done = post(
        &app,
        &path,
        &[("password", PASSWORD), ("password_again", PASSWORD)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.header("location"), Some("/"));
    let inbox = app
        .browser(Method::GET, "/app/inbox")
        .header("cookie", &session_cookie(&done))
        .expect(200)
        .await;
    assert!(inbox.text.contains(&email), "{}", inbox.text);
    assert_eq!(
        crate::sign_in_status(&app, &email, PASSWORD, &ws.slug).await,
        200
    );
    let trail = app
        .get("/api/v1/audit?action=invitation.accepted")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let summary = trail["data"][0]["summary"].as_str().unwrap();
    assert!(summary.contains("\"session\":\"console\""), "{trail}");

    // Used, unknown, malformed: one 404 page.
    let used = app.browser(Method::GET, &path).expect(404).await;
    assert_page(&used);
    let used_post = post(
        &app,
        &path,
        &[("password", PASSWORD), ("password_again", PASSWORD)],
    )
    .await;
    assert_eq!(used_post.status, 404);
    assert_eq!(used_post.text, used.text);
    for other in [
        "/invite/hfi_0000000000000000000000000000000000000000000",
        "/invite/nonsense",
        "/invite/hfp_0000000000000000000000000000000000000000000",
    ] {
        let r = app.browser(Method::GET, other).expect(404).await;
        assert_eq!(r.text, used.text, "{other}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_account_joins_with_its_password_and_code() {
    let (app, clock) = crate::manual_app().await;
    let home = app.workspace("invite-home").await;
    let other = app.workspace("invite-other").await;
    let (secret, _, _) = crate::two_factor::enrol(&app, &clock, &home).await;
    let path = invite(&app, &other, &home.owner_email, "manager").await;
    let page = app.browser(Method::GET, &path).expect(200).await;
    assert!(page.text.contains("already has a Holdfast account"));
    assert!(page.text.contains("name=\"totp_code\""), "{}", page.text);

    let wrong = post(
        &app,
        &path,
        &[
            ("password", "not the password at all"),
            ("totp_code", "000000"),
        ],
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_page(&wrong);
    assert!(wrong.text.contains("is not right"));
    assert!(wrong.set_cookies().is_empty());
    let no_code = post(&app, &path, &[("password", OWNER_PASSWORD)]).await;
    assert_eq!(no_code.status, 401, "{}", no_code.text);
    assert!(no_code.text.contains("authenticator"), "{}", no_code.text);
    let code = crate::two_factor::code(&secret, &clock);
    let done = post(
        &app,
        &path,
        &[("password", OWNER_PASSWORD), ("totp_code", &code)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.text);
    let inbox = app
        .browser(Method::GET, "/app/inbox")
        .header("cookie", &session_cookie(&done))
        .expect(200)
        .await;
    assert!(inbox.text.contains(&other.slug) || inbox.text.contains("invite-other"));
    // The account's password is unchanged, and it is now a member of both workspaces.
    let members = app
        .get("/api/v1/members")
        .key(&other.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        members["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == home.owner_email.as_str() && m["role"] == "manager"),
        "{members}"
    );
}
