//! The workspace switcher: a person in several workspaces sees a link to `/app/workspaces`,
//! which lists them; switching ends this session (with the CSRF token) and leads to the sign-in
//! form with the other workspace filled in, where the password is asked again. Someone else's
//! workspace is 404; an API key has no workspaces to switch between.

use crate::pages::{FORM, assert_page, form, sign_in};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{Method, OWNER_PASSWORD, TestApp, find_token};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_person_in_two_workspaces_switches_by_signing_in_to_the_other() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let home = app.workspace("switch-home").await;
    let other = app.workspace("switch-other").await;
    let stranger = app.workspace("switch-stranger").await;
    let alone = sign_in(&app, &stranger).await;
    let page = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&alone)
        .expect(200)
        .await;
    assert!(
        !page.text.contains("Switch workspace"),
        "one workspace only"
    );

    // The home owner joins the other workspace with their own password.
    app.post("/api/v1/invitations")
        .key(&other.admin_key)
        .json(&json!({"email": home.owner_email, "role": "support"}))
        .expect(201)
        .await;
    let token = find_token(&app.outbox_mail(&home.owner_email).await, "hfi");
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": OWNER_PASSWORD}))
        .expect(200)
        .await;

    let console = sign_in(&app, &home).await;
    let inbox = app
        .browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        inbox
            .text
            .contains("<a href=\"/app/workspaces\">Switch workspace</a>")
    );
    let list = app
        .browser(Method::GET, "/app/workspaces")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&list);
    assert!(list.text.contains("Signed in here"));
    assert!(list.text.contains("<td>switch-other</td>"), "{}", list.text);
    assert!(!list.text.contains("switch-stranger"));
    assert!(
        list.text
            .contains(&format!("name=\"workspace\" value=\"{}\"", other.slug))
    );

    // Without the CSRF token, and to someone else's workspace: refused, still signed in.
    app.browser(Method::POST, "/app/workspaces/switch")
        .cookie(&console)
        .body(FORM, form(&[("workspace", &other.slug)]))
        .expect(403)
        .await;
    let theirs = app
        .browser(Method::POST, "/app/workspaces/switch")
        .console(&console)
        .body(FORM, form(&[("workspace", &stranger.slug)]))
        .expect(404)
        .await;
    assert_page(&theirs);
    app.browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(200)
        .await;

    let switched = app
        .browser(Method::POST, "/app/workspaces/switch")
        .console(&console)
        .body(FORM, form(&[("workspace", &other.slug)]))
        .expect(303)
        .await;
    let to = format!("/sign-in?workspace={}", other.slug);
    assert_eq!(switched.header("location"), Some(to.as_str()));
    assert!(
        switched
            .set_cookies()
            .iter()
            .any(|c| c.contains("hf_session=;"))
    );
    // This workspace's session is over; the form names the other one.
    app.browser(Method::GET, "/app/inbox")
        .cookie(&console)
        .expect(303)
        .await;
    let form_page = app.browser(Method::GET, &to).expect(200).await;
    assert!(
        form_page.text.contains(&format!(
            "name=\"workspace\" type=\"text\" autocomplete=\"organization\" required value=\"{}\"",
            other.slug
        )),
        "{}",
        form_page.text
    );
    let signed = app
        .browser(Method::POST, "/sign-in")
        .header("origin", &app.base)
        .body(
            FORM,
            form(&[
                ("email", &home.owner_email),
                ("password", OWNER_PASSWORD),
                ("workspace", &other.slug),
            ]),
        )
        .expect(303)
        .await;
    let session = signed
        .set_cookies()
        .into_iter()
        .find(|c| c.contains("hf_session="))
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .unwrap();
    let there = app
        .browser(Method::GET, "/app/inbox")
        .header("cookie", &session)
        .expect(200)
        .await;
    assert!(
        there.text.contains("· switch-other</span>"),
        "{}",
        there.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_switcher_is_a_persons_and_the_form_fills_in_only_a_slug() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("switch-keys").await;
    let key = app.key(&ws.slug, BuiltinRole::Admin).await;
    let r = app
        .browser(Method::GET, "/app/workspaces")
        .key(&key)
        .expect(403)
        .await;
    assert_page(&r);
    let r = app
        .browser(Method::GET, "/app/workspaces")
        .expect(303)
        .await;
    assert_eq!(r.header("location"), Some("/sign-in?next=/app/workspaces"));
    let odd = app
        .browser(Method::GET, "/sign-in?workspace=%22%3E%3Cscript%3E")
        .expect(200)
        .await;
    assert!(odd.text.contains("required value=\"\""));
    assert!(!odd.text.contains("<script>"));
}
