//! A forgotten password in the browser: `/sign-in` links to `/sign-in/forgot`, which answers
//! the same for every address (as the API); the mailed `/reset/{token}` sets a new password
//! with the API's checks, ends every session and leads to sign-in. Bad input changes nothing,
//! other sites are refused, and a spent, unknown or malformed link meets one 404 page.

use crate::pages::{FORM, assert_page, form, sign_in};
use crate::sign_in_status;
use holdfast_testkit::{Method, OWNER_PASSWORD, Resp, TestApp, find_token};

const NEW_PASSWORD: &str = "lantern orchard quietly bicycle";

async fn post(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> Resp {
    app.browser(Method::POST, path)
        .header("origin", &app.base)
        .body(FORM, form(pairs))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn forgot_answers_alike_for_every_address_and_refuses_bad_input() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("forgot-page").await;
    let sign_in_page = app.browser(Method::GET, "/sign-in").expect(200).await;
    assert!(sign_in_page.text.contains("href=\"/sign-in/forgot\""));
    let page = app
        .browser(Method::GET, "/sign-in/forgot")
        .expect(200)
        .await;
    assert_page(&page);
    assert!(
        page.text
            .contains("<form method=\"post\" action=\"/sign-in/forgot\">")
    );
    let known = post(&app, "/sign-in/forgot", &[("email", &ws.owner_email)]).await;
    let unknown = post(
        &app,
        "/sign-in/forgot",
        &[("email", "nobody@nowhere.example.com")],
    )
    .await;
    assert_eq!((known.status, unknown.status), (200, 200));
    assert_page(&known);
    assert_eq!(known.text, unknown.text, "the same answer for both");
    assert!(known.text.contains("is on its way"), "{}", known.text);
    // Only the known address gets a message.
    let mail = app.outbox_mail(&ws.owner_email).await;
    assert!(mail.contains("/reset/hfp_"), "{mail}");
    let bad = post(&app, "/sign-in/forgot", &[("email", "not an address")]).await;
    assert_eq!(bad.status, 422);
    assert_page(&bad);
    assert!(bad.text.contains("Email "), "{}", bad.text);
    assert!(bad.text.contains("value=\"not an address\""));
    let cross = app
        .browser(Method::POST, "/sign-in/forgot")
        .header("origin", "https://evil.example")
        .body(FORM, form(&[("email", &ws.owner_email)]))
        .expect(403)
        .await;
    assert_page(&cross);
    let json = app
        .browser(Method::POST, "/sign-in/forgot")
        .header("origin", &app.base)
        .json(&serde_json::json!({"email": ws.owner_email}))
        .expect(415)
        .await;
    assert_page(&json);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reset_link_sets_a_new_password_once_ends_sessions_and_leads_to_sign_in() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("reset-page").await;
    let console = sign_in(&app, &ws).await;
    post(&app, "/sign-in/forgot", &[("email", &ws.owner_email)]).await;
    let mail = app.outbox_mail(&ws.owner_email).await;
    let token = find_token(&mail, "hfp");
    let path = format!("/reset/{token}");
    assert!(
        mail.contains(&format!("{}{path}", app.config.public_url)),
        "{mail}"
    );
    let page = app.browser(Method::GET, &path).expect(200).await;
    assert_page(&page);
    assert!(
        page.text
            .contains(&format!("<form method=\"post\" action=\"{path}\">"))
    );

    // Bad input: the form again with the reason; the password is unchanged.
    for (pairs, needle) in [
        (
            [
                ("password", NEW_PASSWORD),
                ("password_again", "something else"),
            ],
            "differ",
        ),
        (
            [
                ("password", "password123456789"),
                ("password_again", "password123456789"),
            ],
            "The password",
        ),
    ] {
        let r = post(&app, &path, &pairs).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert_page(&r);
        assert!(r.text.contains(needle), "{needle}: {}", r.text);
    }
    let missing = post(&app, &path, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(missing.status, 422);
    let cross = app
        .browser(Method::POST, &path)
        .header("origin", "https://evil.example")
        .body(
            FORM,
            form(&[("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)]),
        )
        .expect(403)
        .await;
    assert_page(&cross);
    assert_eq!(
        sign_in_status(&app, &ws.owner_email, OWNER_PASSWORD, &ws.slug).await,
        200
    );

    let done = post(
        &app,
        &path,
        &[("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.header("location"), Some("/sign-in?done=reset"));
    let notice = app
        .browser(Method::GET, "/sign-in?done=reset")
        .expect(200)
        .await;
    assert!(notice.text.contains("Your password is changed"));
    // Every session ended, the console's too; the new password signs in.
    let r = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(303)
        .await;
    assert_eq!(r.header("location"), Some("/sign-in?next=/app/inbox"));
    assert_eq!(
        sign_in_status(&app, &ws.owner_email, NEW_PASSWORD, &ws.slug).await,
        200
    );
    assert_eq!(
        sign_in_status(&app, &ws.owner_email, OWNER_PASSWORD, &ws.slug).await,
        401
    );

    // Spent, unknown, malformed, another kind of token: one 404 page.
    let spent = app.browser(Method::GET, &path).expect(404).await;
    assert_page(&spent);
    let spent_post = post(
        &app,
        &path,
        &[
            ("password", "another fresh passphrase here"),
            ("password_again", "another fresh passphrase here"),
        ],
    )
    .await;
    assert_eq!(spent_post.status, 404);
    for other in [
        "/reset/hfp_0000000000000000000000000000000000000000000",
        "/reset/not-a-token",
        "/reset/hfi_0000000000000000000000000000000000000000000",
    ] {
        let r = app.browser(Method::GET, other).expect(404).await;
        assert_eq!(r.text, spent.text, "{other}");
    }
    assert_eq!(spent_post.text, spent.text);
}
