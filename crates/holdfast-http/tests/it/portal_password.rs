//! The client portal's optional password, on either database: a signed-in customer sets and
//! changes it (the current one required once set; their other sessions end), signs in with it
//! by page (a cookie) and by API (the link's tokens), every failed sign-in one 401 whatever
//! the reason and repeated ones throttled (429), and a forgotten one reset with a link mailed
//! to the address on file that works once, within 2 hours, and ends every session.

use crate::{PortalCustomer, mails_to, new_mail_to, portal_api_tokens, portal_customer};
use holdfast_core::clock::ManualClock;
use holdfast_testkit::{Method, TestApp, Workspace, find_token};
use serde_json::json;
use std::sync::Arc;

const FORM: &str = "application/x-www-form-urlencoded";
const PASSWORD: &str = "harbour lantern quietly orchard";
const NEXT_PASSWORD: &str = "meadow copper violin evening";

/// Addresses unique to this run: the PostgreSQL suite shares one mail outbox among all tests.
static DOMAIN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{}.example.com", holdfast_testkit::unique("ppw")));

fn at(local: &str) -> String {
    format!("{local}@{}", *DOMAIN)
}

fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

async fn api_sign_in(
    app: &TestApp,
    workspace: &str,
    email: &str,
    password: &str,
) -> holdfast_testkit::Resp {
    app.post("/api/portal/v1/auth/password")
        .json(&json!({"workspace": workspace, "email": email, "password": password}))
        .send()
        .await
}

/// Sets the customer's password through their page (htmx, with the CSRF token).
async fn set_by_page(
    app: &TestApp,
    ws: &Workspace,
    who: &PortalCustomer,
    fields: &[(&str, &str)],
) -> holdfast_testkit::Resp {
    app.browser(Method::POST, &format!("/portal/{}/password", ws.slug))
        .header("cookie", &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .header("hx-request", "true")
        .body(FORM, form(fields))
        .send()
        .await
}

async fn home_status(app: &TestApp, ws: &Workspace, who: &PortalCustomer) -> u16 {
    app.browser(Method::GET, &format!("/portal/{}/home", ws.slug))
        .header("cookie", &who.cookie)
        .send()
        .await
        .status
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_sets_a_password_and_signs_in_with_it_by_page_and_by_api() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-pw").await;
    let email = at("ann");
    let (_, browser) = portal_customer(&app, &ws, "Ann", &email).await;
    let other = portal_api_tokens(&app, &ws, &email).await;

    // Nothing to sign in with yet.
    assert_eq!(
        api_sign_in(&app, &ws.slug, &email, PASSWORD).await.status,
        401
    );

    let page = app
        .browser(Method::GET, &format!("/portal/{}/password", ws.slug))
        .header("cookie", &browser.cookie)
        .expect(200)
        .await;
    assert!(page.text.contains("hx-post=\"/portal/"), "{}", page.text);
    // Without the CSRF token: refused, nothing set.
    app.browser(Method::POST, &format!("/portal/{}/password", ws.slug))
        .header("cookie", &browser.cookie)
        .body(FORM, form(&[("password", PASSWORD)]))
        .expect(403)
        .await;
    // The staff strength rules: a weak one is the form again, naming what is wrong.
    let weak = set_by_page(&app, &ws, &browser, &[("password", "password123")]).await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert!(weak.text.contains("password"), "{}", weak.text);
    assert_eq!(
        api_sign_in(&app, &ws.slug, &email, "password123")
            .await
            .status,
        401
    );

    let saved = set_by_page(&app, &ws, &browser, &[("password", PASSWORD)]).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert!(
        saved.text.contains("Your password is set"),
        "{}",
        saved.text
    );
    // This session goes on; the contact's other session (the API client's) is over.
    assert_eq!(home_status(&app, &ws, &browser).await, 200);
    app.get("/api/portal/v1/tickets")
        .key(&other.access)
        .expect(401)
        .await;

    // By API: the same tokens as a spent link.
    let tokens = api_sign_in(&app, &ws.slug, &email.to_uppercase(), PASSWORD).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let access = tokens.json["access_token"].as_str().unwrap().to_owned();
    assert!(
        tokens.json["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("hfpr_")
    );
    app.get("/api/portal/v1/tickets")
        .key(&access)
        .expect(200)
        .await;

    // By page: a browser session, its cookie opening the overview.
    let front = app
        .browser(Method::GET, &format!("/portal/{}", ws.slug))
        .expect(200)
        .await;
    assert!(
        front.text.contains("Send me a sign-in link"),
        "{}",
        front.text
    );
    assert!(front.text.contains("/password-sign-in"), "{}", front.text);
    let signed_in = app
        .browser(
            Method::POST,
            &format!("/portal/{}/password-sign-in", ws.slug),
        )
        .body(FORM, form(&[("email", &email), ("password", PASSWORD)]))
        .expect(303)
        .await;
    let cookie = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-hf_portal=hfps_"))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    app.browser(Method::GET, &format!("/portal/{}/home", ws.slug))
        .header("cookie", &cookie)
        .expect(200)
        .await;

    // Changing it needs the current one, named when missing or wrong.
    for body in [
        json!({"password": NEXT_PASSWORD}),
        json!({"password": NEXT_PASSWORD, "current_password": "not it at all"}),
    ] {
        let r = app
            .call(Method::PUT, "/api/portal/v1/auth/password")
            .key(&access)
            .json(&body)
            .expect(422)
            .await;
        assert!(r.text.contains("current_password"), "{}", r.text);
    }
    app.call(Method::PUT, "/api/portal/v1/auth/password")
        .key(&access)
        .json(&json!({"password": NEXT_PASSWORD, "current_password": PASSWORD}))
        .expect(204)
        .await;
    assert_eq!(
        api_sign_in(&app, &ws.slug, &email, PASSWORD).await.status,
        401
    );
    assert_eq!(
        api_sign_in(&app, &ws.slug, &email, NEXT_PASSWORD)
            .await
            .status,
        200
    );
    // The page sessions ended with the change; the API session that changed it goes on.
    app.browser(Method::GET, &format!("/portal/{}/home", ws.slug))
        .header("cookie", &cookie)
        .expect(303)
        .await;
    app.get("/api/portal/v1/tickets")
        .key(&access)
        .expect(200)
        .await;

    // Audited (twice: set, changed), and staff never see the password.
    let trail = app
        .get("/api/v1/audit?action=portal.password_set")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        trail.text.matches("\"portal.password_set\"").count(),
        2,
        "{}",
        trail.text
    );
    assert!(!trail.text.contains(PASSWORD) && !trail.text.contains("argon2"));

    // Bad input names its fields.
    let bad = app
        .post("/api/portal/v1/auth/password")
        .json(&json!({"workspace": "No Such!", "email": "nope", "password": ""}))
        .expect(422)
        .await;
    for field in ["workspace", "email", "password"] {
        assert!(
            bad.text.contains(&format!("\"{field}\"")),
            "{field}: {}",
            bad.text
        );
    }
    let r = app
        .call(Method::PUT, "/api/portal/v1/auth/password")
        .key(&access)
        .json(&json!({"current_password": NEXT_PASSWORD}))
        .expect(422)
        .await;
    assert!(r.text.contains("password"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_failed_password_sign_in_is_one_answer_and_repeated_ones_are_throttled() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-pw-fail").await;
    let (with, without, barred) = (at("with"), at("without"), at("barred"));
    let (_, a) = portal_customer(&app, &ws, "With", &with).await;
    portal_customer(&app, &ws, "Without", &without).await;
    let (barred_id, b) = portal_customer(&app, &ws, "Barred", &barred).await;
    for who in [&a, &b] {
        let r = set_by_page(&app, &ws, who, &[("password", PASSWORD)]).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Staff take access away: the password stays, but signs in nobody.
    app.call(Method::PUT, &format!("/api/v1/contacts/{barred_id}/portal"))
        .key(&ws.admin_key)
        .json(&json!({"access": false}))
        .expect(200)
        .await;

    let mut details = Vec::new();
    for (workspace, email, password) in [
        ("no-such-workspace", with.as_str(), PASSWORD),
        (ws.slug.as_str(), at("stranger").as_str(), PASSWORD),
        (ws.slug.as_str(), without.as_str(), PASSWORD),
        (ws.slug.as_str(), barred.as_str(), PASSWORD),
        (ws.slug.as_str(), with.as_str(), "not the password"),
    ] {
        let r = api_sign_in(&app, workspace, email, password).await;
        assert_eq!(r.status, 401, "{email}: {}", r.text);
        r.problem("HF-AUTH-002");
        details.push(r.json["detail"].clone());
    }
    assert!(details.windows(2).all(|w| w[0] == w[1]), "{details:?}");
    // The page says the same, as a page.
    let page = app
        .browser(
            Method::POST,
            &format!("/portal/{}/password-sign-in", ws.slug),
        )
        .body(FORM, form(&[("email", &barred), ("password", PASSWORD)]))
        .expect(401)
        .await;
    assert!(page.text.contains("<!doctype html>"), "{}", page.text);

    // Repeated failures for one address lock it a while, with Retry-After.
    let victim = at("victim");
    let mut throttled = None;
    for _ in 0..12 {
        let r = api_sign_in(&app, &ws.slug, &victim, "guess guess guess").await;
        if r.status == 429 {
            throttled = Some(r);
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let throttled = throttled.expect("repeated failures are throttled");
    assert!(throttled.header("retry-after").is_some());
    // Another address is not locked by them.
    assert_eq!(
        api_sign_in(&app, &ws.slug, &with, PASSWORD).await.status,
        200
    );
}

/// Asks for a reset link for `email` by API and returns its path from the mail.
async fn reset_link(app: &TestApp, ws: &Workspace, email: &str) -> String {
    let before = mails_to(app, email).await.len();
    app.post("/api/portal/v1/auth/password-reset")
        .json(&json!({"workspace": ws.slug, "email": email}))
        .expect(202)
        .await;
    let mail = new_mail_to(app, email, before).await;
    let token = find_token(&mail, "hfpw");
    let path = format!("/portal/{}/password-reset/{token}", ws.slug);
    assert!(mail.contains(&path), "{mail}");
    assert!(mail.contains("2 hours"), "{mail}");
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forgotten_password_is_reset_once_by_a_mailed_link_that_ends_every_session() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-pw-reset").await;
    let email = at("cat");
    let (_, browser) = portal_customer(&app, &ws, "Cat", &email).await;
    let api = portal_api_tokens(&app, &ws, &email).await;

    // The same answer for an address with no contact, and no mail for it.
    let stranger = at("nobody");
    let r = app
        .post("/api/portal/v1/auth/password-reset")
        .json(&json!({"workspace": ws.slug, "email": stranger}))
        .expect(202)
        .await;
    let bad = app
        .post("/api/portal/v1/auth/password-reset")
        .json(&json!({"workspace": ws.slug, "email": "not an address"}))
        .expect(422)
        .await;
    assert!(bad.text.contains("\"email\""), "{}", bad.text);

    let path = reset_link(&app, &ws, &email).await;
    assert!(mails_to(&app, &stranger).await.is_empty(), "{}", r.text);
    // Opening the link spends nothing.
    for _ in 0..2 {
        let page = app.browser(Method::GET, &path).expect(200).await;
        assert!(
            page.text.contains(&format!("action=\"{path}\"")),
            "{}",
            page.text
        );
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    }
    // Another site's form is refused; a weak password is the form again.
    app.browser(Method::POST, &path)
        .header("origin", "https://evil.example")
        .body(FORM, form(&[("password", PASSWORD)]))
        .expect(403)
        .await;
    let weak = app
        .browser(Method::POST, &path)
        .body(FORM, form(&[("password", "password123")]))
        .expect(422)
        .await;
    assert!(
        weak.text.contains(&format!("action=\"{path}\"")),
        "{}",
        weak.text
    );

    let done = app
        .browser(Method::POST, &path)
        .body(FORM, form(&[("password", PASSWORD)]))
        .expect(200)
        .await;
    assert!(
        done.text.contains("Your new password is set"),
        "{}",
        done.text
    );
    // Every session is over; the new password signs in.
    assert_eq!(home_status(&app, &ws, &browser).await, 303);
    app.get("/api/portal/v1/tickets")
        .key(&api.access)
        .expect(401)
        .await;
    assert_eq!(
        api_sign_in(&app, &ws.slug, &email, PASSWORD).await.status,
        200
    );
    // The link worked once.
    app.browser(Method::GET, &path).expect(404).await;
    app.browser(Method::POST, &path)
        .body(FORM, form(&[("password", NEXT_PASSWORD)]))
        .expect(404)
        .await;
    assert_eq!(
        api_sign_in(&app, &ws.slug, &email, NEXT_PASSWORD)
            .await
            .status,
        401
    );
    let trail = app
        .get("/api/v1/audit?action=portal.password_reset")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        trail.text.matches("\"portal.password_reset\"").count(),
        1,
        "{}",
        trail.text
    );

    // The page form asks too, with the same answer for every address.
    let asked = app
        .browser(Method::POST, &format!("/portal/{}/password-reset", ws.slug))
        .body(FORM, form(&[("email", &stranger)]))
        .expect(200)
        .await;
    assert!(asked.text.contains("2 hours"), "{}", asked.text);
    // A link that never was: the same 404.
    app.browser(
        Method::GET,
        &format!("/portal/{}/password-reset/hfpw_{}", ws.slug, "A".repeat(43)),
    )
    .expect(404)
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_expires_two_hours_after_its_mail() {
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let clock = ManualClock::new(start);
    let app = TestApp::spawn_custom(
        holdfast_core::ops::config::Layer::default(),
        Arc::new(clock.clone()),
        |router| router,
    )
    .await;
    let ws = app.workspace("portal-pw-expiry").await;
    let email = at("dan");
    portal_customer(&app, &ws, "Dan", &email).await;
    // The outbox lists the newest first by time: the reset mail comes a second later.
    clock.advance(1000);
    let path = reset_link(&app, &ws, &email).await;
    clock.advance(2 * 60 * 60 * 1000 - 60_000);
    app.browser(Method::GET, &path).expect(200).await;
    clock.advance(120_000);
    app.browser(Method::GET, &path).expect(404).await;
    app.browser(Method::POST, &path)
        .body(FORM, form(&[("password", PASSWORD)]))
        .expect(404)
        .await;
}
