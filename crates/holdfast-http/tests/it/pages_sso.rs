//! Single sign-on in the console against a real OpenID provider (the harness of `oidc.rs`):
//! the sign-in page offers it only when a provider is configured, `/sign-in/sso` hands the
//! browser on (a page, not a redirect a form's policy would stop), and `/sign-in/confirm`
//! finishes a sign-in the account must confirm (password on the first link, the code with an
//! authenticator) as `POST /api/v1/auth/oidc/complete` does, then signs in to the console.

use crate::oidc::sso;
use crate::pages::{FORM, assert_page, form};
use holdfast_testkit::{Method, OWNER_PASSWORD, Resp, TestApp};

async fn confirm(app: &TestApp, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
    let mut call = app
        .browser(Method::POST, "/sign-in/confirm")
        .header("origin", &app.base)
        .body(FORM, form(pairs));
    if let Some(c) = cookie {
        call = call.header("cookie", c);
    }
    call.send().await
}

fn session_cookie(r: &Resp) -> Option<String> {
    r.set_cookies()
        .into_iter()
        .find(|c| c.contains("hf_session=") && !c.contains("hf_session=;"))
        .and_then(|c| c.split(';').next().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_provider_the_console_offers_no_single_sign_on() {
    let app = TestApp::spawn().await;
    let page = app.browser(Method::GET, "/sign-in").expect(200).await;
    assert!(!page.text.contains("/sign-in/sso"));
    for path in ["/sign-in/sso?workspace=acme", "/sign-in/confirm"] {
        let r = app.browser(Method::GET, path).expect(404).await;
        assert_page(&r);
    }
    let r = confirm(&app, None, &[("password", "x")]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sign_in_page_hands_the_browser_to_the_provider_through_a_page() {
    let t = sso().await;
    let page = t.app.browser(Method::GET, "/sign-in").expect(200).await;
    assert!(
        page.text
            .contains("<form class=\"sso\" method=\"get\" action=\"/sign-in/sso\">"),
        "{}",
        page.text
    );
    let on = t
        .app
        .browser(
            Method::GET,
            &format!("/sign-in/sso?workspace={}", t.ws.slug),
        )
        .expect(200)
        .await;
    assert_page(&on);
    let to = format!("/api/v1/auth/oidc/start?workspace={}", t.ws.slug);
    assert!(
        on.text.contains(&format!(
            "<meta http-equiv=\"refresh\" content=\"0;url={to}\">"
        )),
        "{}",
        on.text
    );
    assert!(on.text.contains(&format!("<a href=\"{to}\">")));
    let token = format!("hfi_{}", "A".repeat(43));
    let invited = t
        .app
        .browser(Method::GET, &format!("/sign-in/sso?invitation={token}"))
        .expect(200)
        .await;
    assert!(
        invited
            .text
            .contains(&format!("oidc/start?invitation={token}"))
    );
    for bad in [
        "/sign-in/sso",
        "/sign-in/sso?workspace=",
        "/sign-in/sso?workspace=Not%20A%20Slug",
        "/sign-in/sso?workspace=%22%3E%3Cscript%3E",
        "/sign-in/sso?invitation=hfp_nope",
    ] {
        let r = t.app.browser(Method::GET, bad).expect(422).await;
        assert_page(&r);
        assert!(!r.text.contains("<script>"), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_link_is_confirmed_on_the_page_with_the_password_then_signs_in() {
    let t = sso().await;
    let query = format!("workspace={}", t.ws.slug);
    let cookie = t.held(&query, &t.ws.owner_email).await;
    let page = t
        .app
        .browser(Method::GET, "/sign-in/confirm")
        .header("cookie", &cookie)
        .expect(200)
        .await;
    assert_page(&page);
    assert!(page.text.contains(&t.ws.owner_email));
    assert!(page.text.contains("name=\"password\""));
    assert!(!page.text.contains("name=\"totp_code\""));
    // Another browser (no flow cookie) has nothing waiting.
    let elsewhere = t
        .app
        .browser(Method::GET, "/sign-in/confirm")
        .expect(401)
        .await;
    assert_page(&elsewhere);
    assert!(elsewhere.text.contains("No single sign-on is waiting"));

    let wrong = confirm(&t.app, Some(&cookie), &[("password", "not the password")]).await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_page(&wrong);
    assert!(wrong.text.contains("is not right"));
    assert!(session_cookie(&wrong).is_none());
    let missing = confirm(&t.app, Some(&cookie), &[]).await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    let cross = t
        .app
        .browser(Method::POST, "/sign-in/confirm")
        .header("origin", "https://evil.example")
        .header("cookie", &cookie)
        .body(FORM, form(&[("password", OWNER_PASSWORD)]))
        .expect(403)
        .await;
    assert_page(&cross);
    assert_eq!(t.linked_identities(&t.ws.owner_email).await, 0);

    let done = confirm(&t.app, Some(&cookie), &[("password", OWNER_PASSWORD)]).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.header("location"), Some("/"));
    assert!(done.set_cookies().iter().any(|c| c.contains("hf_sso=;")));
    let session = session_cookie(&done).expect("a session cookie");
    t.app
        .browser(Method::GET, "/app/inbox")
        .header("cookie", &session)
        .expect(200)
        .await;
    assert_eq!(t.linked_identities(&t.ws.owner_email).await, 1);
    // Spent: the same cookie finishes nothing again.
    let again = confirm(&t.app, Some(&cookie), &[("password", OWNER_PASSWORD)]).await;
    assert_eq!(again.status, 401);
    assert!(again.text.contains("No single sign-on is waiting"));
    let trail = t
        .app
        .get("/api/v1/audit?action=auth.sign_in")
        .key(&t.ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(trail.to_string().contains("sso+password"), "{trail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_with_an_authenticator_gives_its_code_on_the_page() {
    let t = sso().await;
    // The app keeps the system's time; a manual clock set to it makes the enrolment's code.
    let now = {
        use holdfast_core::clock::Clock;
        holdfast_core::clock::SystemClock.now_ms()
    };
    let (_, recovery, _) =
        crate::two_factor::enrol(&t.app, &holdfast_core::clock::ManualClock::new(now), &t.ws).await;
    let cookie = t
        .held(&format!("workspace={}", t.ws.slug), &t.ws.owner_email)
        .await;
    let page = t
        .app
        .browser(Method::GET, "/sign-in/confirm")
        .header("cookie", &cookie)
        .expect(200)
        .await;
    assert!(page.text.contains("name=\"password\""));
    assert!(page.text.contains("name=\"totp_code\""));
    let without = confirm(&t.app, Some(&cookie), &[("password", OWNER_PASSWORD)]).await;
    assert_eq!(without.status, 401, "{}", without.text);
    assert!(without.text.contains("authenticator"));
    let code = recovery[0].as_str();
    let done = confirm(
        &t.app,
        Some(&cookie),
        &[("password", OWNER_PASSWORD), ("totp_code", code)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert!(session_cookie(&done).is_some());
}
