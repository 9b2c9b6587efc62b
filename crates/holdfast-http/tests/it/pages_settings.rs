//! The console's settings pages over HTTP (`/app/settings/…` and `/app/step-up`): each with
//! good and bad input, the same guard, permission and step-up as the API doing the same thing
//! (a role without the permission gets a 403 page, a session that has not stepped up is sent
//! to the step-up form), the CSRF token on every action, and other workspaces' ids as 404.
//! The browser test (`console_settings_browser.rs`) drives the same pages in Chromium.

use crate::pages::{FORM, assert_page, between, form};
use holdfast_core::clock::ManualClock;
use holdfast_testkit::{Console, Method, OWNER_PASSWORD, Resp, TestApp, Workspace, find_token};
use serde_json::json;

const MEMBER_PASSWORD: &str = "lantern orchard fifteen pebbles";

/// A form posted as htmx posts it from a settings page (session cookie, CSRF header).
async fn post_form(
    app: &TestApp,
    console: &Console,
    path: &str,
    pairs: &[(&str, &str)],
    status: u16,
) -> Resp {
    let r = app
        .browser(Method::POST, path)
        .console(console)
        .body(FORM, form(pairs))
        .expect(status)
        .await;
    if r.status != 303 {
        assert_page(&r);
    }
    r
}

async fn open(app: &TestApp, console: &Console, path: &str, status: u16) -> Resp {
    let r = app
        .browser(Method::GET, path)
        .cookie(console)
        .expect(status)
        .await;
    assert_page(&r);
    r
}

/// Marks the console session as stepped up, through the step-up form.
pub(crate) async fn step_up(app: &TestApp, console: &Console, code: Option<&str>) {
    let mut pairs = vec![("password", OWNER_PASSWORD), ("back", "/app/settings")];
    if let Some(code) = code {
        pairs.push(("totp_code", code));
    }
    post_form(app, console, "/app/step-up", &pairs, 303).await;
}

/// Invites `email` with `role` (through the API), accepts, and signs the new member in to the
/// console.
pub(crate) async fn member_console(
    app: &TestApp,
    ws: &Workspace,
    email: &str,
    role: &str,
) -> Console {
    app.post("/api/v1/invitations")
        .key(&ws.admin_key)
        .json(&json!({"email": email, "role": role}))
        .expect(201)
        .await;
    let token = find_token(&app.outbox_mail(email).await, "hfi");
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": MEMBER_PASSWORD}))
        .expect(200)
        .await;
    let r = app
        .post("/api/v1/auth/login")
        .json(&json!({"email": email, "password": MEMBER_PASSWORD, "workspace": ws.slug, "session": "cookie"}))
        .expect(200)
        .await;
    Console::from_login(&r)
}

fn totp(secret_text: &str, clock: &ManualClock) -> String {
    crate::two_factor::code(&holdfast_testkit::base32_decode(secret_text), clock)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_settings_index_lists_what_the_role_may_open() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-index").await;
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings", 200).await;
    for href in [
        "/app/settings/profile",
        "/app/settings/two-factor",
        "/app/settings/sessions",
    ] {
        assert!(page.text.contains(&format!("href=\"{href}\"")), "{href}");
    }
    assert!(page.text.contains("aria-current=\"page\">Settings</a>"));
    // An API key has no account of its own: the settings are a person's.
    let r = app
        .browser(Method::GET, "/app/settings")
        .key(&ws.admin_key)
        .expect(403)
        .await;
    assert_page(&r);
    // Without a session: sign in first, then back here.
    let r = app
        .browser(Method::GET, "/app/settings/profile")
        .expect(303)
        .await;
    assert_eq!(
        r.header("location"),
        Some("/sign-in?next=/app/settings/profile")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_checks_the_current_one_and_the_policy_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-password").await;
    let here = app.console_login(&ws).await;
    let elsewhere = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = open(&app, &here, "/app/settings/profile", 200).await;
    assert!(page.text.contains(&ws.owner_email));
    assert!(page.text.contains("action=\"/app/settings/password\""));
    assert!(!page.text.contains("name=\"totp_code\""));
    let new = "copper violet lighthouse marmalade";
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        vec![
            ("current_password", current),
            ("new_password", new),
            ("new_password_again", again),
        ]
    };
    // Bad input: each answered on the page, nothing changed.
    let wrong = post_form(
        &app,
        &here,
        "/app/settings/password",
        &change("not my password at all", new, new),
        401,
    )
    .await;
    assert!(wrong.text.contains("role=\"alert\""), "{}", wrong.text);
    let mismatch = post_form(
        &app,
        &here,
        "/app/settings/password",
        &change(OWNER_PASSWORD, new, "copper violet lighthouse"),
        422,
    )
    .await;
    assert!(
        mismatch.text.contains("new_password_again"),
        "{}",
        mismatch.text
    );
    let weak = post_form(
        &app,
        &here,
        "/app/settings/password",
        &change(OWNER_PASSWORD, "password", "password"),
        422,
    )
    .await;
    assert!(weak.text.contains("new_password"), "{}", weak.text);
    app.browser(Method::POST, "/app/settings/password")
        .console(&here)
        .body(FORM, "current_password=x")
        .expect(422)
        .await;
    // Without the CSRF token: refused.
    let r = app
        .browser(Method::POST, "/app/settings/password")
        .cookie(&here)
        .body(FORM, form(&change(OWNER_PASSWORD, new, new)))
        .expect(403)
        .await;
    assert_page(&r);
    app.get("/api/v1/auth/sessions")
        .key(&elsewhere)
        .expect(200)
        .await;
    // The change: back to the profile, other sessions ended, this one kept.
    let done = post_form(
        &app,
        &here,
        "/app/settings/password",
        &change(OWNER_PASSWORD, new, new),
        303,
    )
    .await;
    assert_eq!(
        done.header("location"),
        Some("/app/settings/profile?done=password")
    );
    let page = open(&app, &here, "/app/settings/profile?done=password", 200).await;
    assert!(page.text.contains("Your password is changed"));
    app.get("/api/v1/auth/sessions")
        .key(&elsewhere)
        .expect(401)
        .await;
    app.post("/api/v1/auth/login")
        .json(&json!({"email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug}))
        .expect(401)
        .await;
    app.post("/api/v1/auth/login")
        .json(&json!({"email": ws.owner_email, "password": new, "workspace": ws.slug}))
        .expect(200)
        .await;
    // htmx is told where to go instead of following a redirect itself.
    let again = app
        .browser(Method::POST, "/app/settings/password")
        .console(&here)
        .header("hx-request", "true")
        .body(
            FORM,
            form(&change(
                new,
                "harbour quartz meadow sixteen",
                "harbour quartz meadow sixteen",
            )),
        )
        .expect(200)
        .await;
    assert_eq!(
        again.header("hx-redirect"),
        Some("/app/settings/profile?done=password")
    );
    let trail = app
        .get("/api/v1/audit?action=auth.password_changed")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(trail["data"].as_array().unwrap().len(), 2, "{trail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_factor_is_enrolled_confirmed_and_turned_off_through_the_pages() {
    let (app, clock) = TestApp::spawn_on_clock(Default::default(), 2_208_988_800_000).await;
    let ws = app.workspace("settings-2fa").await;
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings/two-factor", 200).await;
    assert!(
        page.text
            .contains("action=\"/app/settings/two-factor/enroll\"")
    );
    // A wrong password shows no QR code.
    let wrong = post_form(
        &app,
        &owner,
        "/app/settings/two-factor/enroll",
        &[("password", "a wrong password here")],
        401,
    )
    .await;
    assert!(!wrong.text.contains("data:image/svg+xml"));
    let scan = post_form(
        &app,
        &owner,
        "/app/settings/two-factor/enroll",
        &[("password", OWNER_PASSWORD)],
        200,
    )
    .await;
    // The QR code is an image (its SVG never inline in the page), the key is text.
    assert!(!scan.text.contains("<svg"), "{}", scan.text);
    let qr = between(&scan.text, "src=\"data:image/svg+xml;base64,", "\"");
    let svg = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, qr).unwrap();
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    let secret = between(&scan.text, "<code id=\"totp-secret\">", "</code>");
    // A wrong code: said so, still waiting.
    let bad = post_form(
        &app,
        &owner,
        "/app/settings/two-factor/confirm",
        &[("password", OWNER_PASSWORD), ("code", "000000")],
        422,
    )
    .await;
    assert!(bad.text.contains("Waiting for a code"), "{}", bad.text);
    let code = totp(&secret, &clock);
    let confirmed = post_form(
        &app,
        &owner,
        "/app/settings/two-factor/confirm",
        &[("password", OWNER_PASSWORD), ("code", &code)],
        200,
    )
    .await;
    let codes: Vec<String> = between(
        &confirmed.text,
        "<ul class=\"codes\" id=\"recovery-codes\">",
        "</ul>",
    )
    .split("<code>")
    .skip(1)
    .map(|c| c[..c.find("</code>").unwrap()].to_owned())
    .collect();
    assert_eq!(codes.len(), 10, "{}", confirmed.text);
    let on = open(&app, &owner, "/app/settings/two-factor", 200).await;
    assert!(on.text.contains("10 unused recovery codes"), "{}", on.text);
    assert!(
        !on.text.contains(&codes[0]),
        "recovery codes are shown once"
    );
    // Enrolling again while on: a conflict, said on the page.
    post_form(
        &app,
        &owner,
        "/app/settings/two-factor/enroll",
        &[("password", OWNER_PASSWORD)],
        409,
    )
    .await;
    // Signing in now needs the code.
    app.post("/api/v1/auth/login")
        .json(&json!({"email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug}))
        .expect(401)
        .await
        .problem("HF-AUTH-004");
    // The profile's password form now asks for the code too.
    let profile = open(&app, &owner, "/app/settings/profile", 200).await;
    assert!(profile.text.contains("name=\"totp_code\""));
    // Turning it off: the password and a code (a recovery code here).
    post_form(
        &app,
        &owner,
        "/app/settings/two-factor/disable",
        &[("password", OWNER_PASSWORD), ("code", "000000")],
        401,
    )
    .await;
    let off = post_form(
        &app,
        &owner,
        "/app/settings/two-factor/disable",
        &[("password", OWNER_PASSWORD), ("code", &codes[0])],
        303,
    )
    .await;
    assert_eq!(
        off.header("location"),
        Some("/app/settings/two-factor?done=off")
    );
    app.post("/api/v1/auth/login")
        .json(&json!({"email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug}))
        .expect(200)
        .await;
    let trail = app
        .get("/api/v1/audit")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let actions: Vec<&str> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"auth.2fa_enabled"), "{actions:?}");
    assert!(actions.contains(&"auth.2fa_disabled"), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sessions_page_lists_and_ends_sessions() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-sessions").await;
    let other_ws = app.workspace("settings-sessions-b").await;
    let here = app.console_login(&ws).await;
    let there = app.login(&ws).await;
    let there_token = there["access_token"].as_str().unwrap();
    let there_id = there["session_id"].as_str().unwrap();
    let page = open(&app, &here, "/app/settings/sessions", 200).await;
    assert!(page.text.contains("(this one)"));
    assert!(
        page.text
            .contains(&format!("/app/settings/sessions/{there_id}/revoke"))
    );
    assert!(page.text.contains(&format!(
        "/app/settings/sessions/{}/revoke",
        here.session_id
    )));
    // Another workspace's session, or no session at all: 404.
    let theirs = app.login(&other_ws).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .browser(
            Method::POST,
            &format!("/app/settings/sessions/{theirs}/revoke"),
        )
        .console(&here)
        .expect(404)
        .await;
    assert_page(&r);
    app.browser(Method::POST, "/app/settings/sessions/not-a-session/revoke")
        .console(&here)
        .expect(404)
        .await;
    // Without the token: refused.
    app.browser(
        Method::POST,
        &format!("/app/settings/sessions/{there_id}/revoke"),
    )
    .cookie(&here)
    .expect(403)
    .await;
    app.get("/api/v1/auth/sessions")
        .key(there_token)
        .expect(200)
        .await;
    let ended = app
        .browser(
            Method::POST,
            &format!("/app/settings/sessions/{there_id}/revoke"),
        )
        .console(&here)
        .expect(303)
        .await;
    assert_eq!(
        ended.header("location"),
        Some("/app/settings/sessions?done=ended")
    );
    app.get("/api/v1/auth/sessions")
        .key(there_token)
        .expect(401)
        .await;
    // The other workspace's session is untouched.
    // Ending the one in use signs out here.
    let out = app
        .browser(
            Method::POST,
            &format!("/app/settings/sessions/{}/revoke", here.session_id),
        )
        .console(&here)
        .expect(303)
        .await;
    assert_eq!(out.header("location"), Some("/sign-in"));
    assert!(out.set_cookies().iter().any(|c| c.contains("hf_session=;")));
    app.browser(Method::GET, "/app/settings/sessions")
        .cookie(&here)
        .expect(303)
        .await;
    // Everywhere: every session ends, this one too.
    let here = app.console_login(&ws).await;
    let again = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = app
        .browser(Method::POST, "/app/settings/sessions/revoke-all")
        .console(&here)
        .expect(303)
        .await;
    assert_eq!(out.header("location"), Some("/sign-in"));
    app.get("/api/v1/auth/sessions")
        .key(&again)
        .expect(401)
        .await;
    app.get("/api/v1/auth/sessions")
        .key(&theirs_token(&app, &other_ws).await)
        .expect(200)
        .await;
}

async fn theirs_token(app: &TestApp, ws: &Workspace) -> String {
    app.login(ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_step_up_form_reauthenticates_and_goes_back() {
    let (app, clock) = TestApp::spawn_on_clock(Default::default(), 2_208_988_800_000).await;
    let ws = app.workspace("settings-step-up").await;
    let console = app.console_login(&ws).await;
    // Before: a sensitive API call from this session is refused.
    let create_key = || {
        app.post("/api/v1/api-keys")
            .console(&console)
            .json(&json!({"name": "after step-up", "role": "viewer"}))
    };
    create_key().expect(403).await.problem("HF-AUTH-005");
    let page = open(
        &app,
        &console,
        "/app/step-up?back=/app/settings/sessions",
        200,
    )
    .await;
    assert!(
        page.text
            .contains("name=\"back\" value=\"/app/settings/sessions\"")
    );
    assert!(!page.text.contains("name=\"totp_code\""));
    // Only a console page is a place to go back to.
    let page = open(
        &app,
        &console,
        "/app/step-up?back=https://evil.example/",
        200,
    )
    .await;
    assert!(page.text.contains("name=\"back\" value=\"/app/settings\""));
    let wrong = post_form(
        &app,
        &console,
        "/app/step-up",
        &[
            ("password", "not the password"),
            ("back", "/app/settings/sessions"),
        ],
        401,
    )
    .await;
    assert!(wrong.text.contains("role=\"alert\""));
    create_key().expect(403).await;
    let done = post_form(
        &app,
        &console,
        "/app/step-up",
        &[
            ("password", OWNER_PASSWORD),
            ("back", "/app/settings/sessions"),
        ],
        303,
    )
    .await;
    assert_eq!(done.header("location"), Some("/app/settings/sessions"));
    create_key().expect(201).await;
    for back in [
        "//evil.example/app/",
        "/api/v1/contacts",
        "javascript:alert(1)",
    ] {
        let r = post_form(
            &app,
            &console,
            "/app/step-up",
            &[("password", OWNER_PASSWORD), ("back", back)],
            303,
        )
        .await;
        assert_eq!(r.header("location"), Some("/app/settings"), "back={back}");
    }
    // With an authenticator, the form asks for its code and needs it.
    let (secret, _, _) = crate::two_factor::enrol(&app, &clock, &ws).await;
    let page = open(&app, &console, "/app/step-up", 200).await;
    assert!(page.text.contains("name=\"totp_code\""));
    post_form(
        &app,
        &console,
        "/app/step-up",
        &[("password", OWNER_PASSWORD)],
        401,
    )
    .await;
    let code = crate::two_factor::code(&secret, &clock);
    step_up(&app, &console, Some(&code)).await;
    // Without the token: refused.
    app.browser(Method::POST, "/app/step-up")
        .cookie(&console)
        .body(FORM, form(&[("password", OWNER_PASSWORD)]))
        .expect(403)
        .await;
    // A member is a person too: the form is theirs.
    let member = member_console(
        &app,
        &ws,
        &format!("viewer@{}.example.com", ws.slug),
        "viewer",
    )
    .await;
    open(&app, &member, "/app/step-up", 200).await;
    let _ = totp;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_keys_page_makes_a_key_shown_once_and_revokes_keys_after_a_step_up() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-keys").await;
    let other = app.workspace("settings-keys-b").await;
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings/api-keys", 200).await;
    assert!(page.text.contains("test key"));
    assert!(
        !page.text.contains(&ws.admin_key),
        "a secret is never listed"
    );
    let create = [("name", "Zapier"), ("role", "viewer")];
    // Not stepped up: a page leading to the step-up form and back to this page; htmx is sent
    // there at once.
    let refused = app
        .browser(Method::POST, "/app/settings/api-keys")
        .console(&owner)
        .header("referer", &format!("{}/app/settings/api-keys", app.base))
        .body(FORM, form(&create))
        .expect(403)
        .await;
    assert_page(&refused);
    assert!(
        refused
            .text
            .contains("href=\"/app/step-up?back=%2Fapp%2Fsettings%2Fapi-keys\""),
        "{}",
        refused.text
    );
    let refused = app
        .browser(Method::POST, "/app/settings/api-keys")
        .console(&owner)
        .header("hx-request", "true")
        .header(
            "hx-current-url",
            &format!("{}/app/settings/api-keys", app.base),
        )
        .body(FORM, form(&create))
        .expect(403)
        .await;
    assert_eq!(
        refused.header("hx-redirect"),
        Some("/app/step-up?back=%2Fapp%2Fsettings%2Fapi-keys")
    );
    // A page refused for want of a step-up comes back to itself (with its query).
    step_up(&app, &owner, None).await;
    // Bad input: said on the page, nothing made.
    for (fields, status) in [
        (vec![("name", ""), ("role", "viewer")], 422),
        (vec![("name", "Portal"), ("role", "client")], 422),
        (vec![("name", "Nope"), ("role", "no-such-role")], 422),
        (
            vec![
                ("name", "Ghost"),
                ("role", "rol_00000000000000000000000000000001"),
            ],
            422,
        ),
    ] {
        let r = post_form(&app, &owner, "/app/settings/api-keys", &fields, status).await;
        assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    }
    let made = post_form(&app, &owner, "/app/settings/api-keys", &create, 201).await;
    let secret = between(
        &made.text,
        "<code class=\"secret\" id=\"new-api-key\">",
        "</code>",
    );
    assert!(secret.starts_with("hf_live_"), "{secret}");
    app.get("/api/v1/contacts").key(&secret).expect(200).await;
    app.post("/api/v1/contacts")
        .key(&secret)
        .json(&json!({"name": "By a viewer"}))
        .expect(403)
        .await;
    let again = open(&app, &owner, "/app/settings/api-keys", 200).await;
    assert!(again.text.contains("Zapier"));
    assert!(!again.text.contains(&secret), "the key is shown once");
    // Revoking: another workspace's key is not found; this one stops working.
    let keys = app
        .get("/api/v1/api-keys")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let zapier = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "Zapier")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app
        .get("/api/v1/api-keys")
        .key(&other.admin_key)
        .expect(200)
        .await
        .json["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post_form(
        &app,
        &owner,
        &format!("/app/settings/api-keys/{theirs}/revoke"),
        &[],
        404,
    )
    .await;
    app.get("/api/v1/contacts")
        .key(&other.admin_key)
        .expect(200)
        .await;
    app.browser(
        Method::POST,
        &format!("/app/settings/api-keys/{zapier}/revoke"),
    )
    .cookie(&owner)
    .expect(403)
    .await;
    let revoked = post_form(
        &app,
        &owner,
        &format!("/app/settings/api-keys/{zapier}/revoke"),
        &[],
        303,
    )
    .await;
    assert_eq!(
        revoked.header("location"),
        Some("/app/settings/api-keys?done=revoked")
    );
    app.get("/api/v1/contacts").key(&secret).expect(401).await;
    // A role without settings.security is refused the page; the index does not offer it.
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    open(&app, &support, "/app/settings/api-keys", 403).await;
    let index = open(&app, &support, "/app/settings", 200).await;
    assert!(!index.text.contains("/app/settings/api-keys"));
    let viewer_key = app
        .key(&ws.slug, holdfast_core::access::policy::BuiltinRole::Viewer)
        .await;
    let r = app
        .browser(Method::GET, "/app/settings/api-keys")
        .key(&viewer_key)
        .expect(403)
        .await;
    assert_page(&r);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_members_page_invites_changes_roles_and_removes_members() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-members").await;
    let other = app.workspace("settings-members-b").await;
    let owner = app.console_login(&ws).await;
    let email = format!("new.hire@{}.example.com", ws.slug);
    // Inviting needs a step-up, as the API.
    let r = post_form(
        &app,
        &owner,
        "/app/settings/invitations",
        &[("email", &email), ("role", "support")],
        403,
    )
    .await;
    assert!(r.text.contains("/app/step-up?back="));
    step_up(&app, &owner, None).await;
    let bad = post_form(
        &app,
        &owner,
        "/app/settings/invitations",
        &[("email", "not an address"), ("role", "support")],
        422,
    )
    .await;
    assert!(bad.text.contains("email"), "{}", bad.text);
    // What was typed stays in the form.
    assert!(bad.text.contains("value=\"not an address\""));
    let done = post_form(
        &app,
        &owner,
        "/app/settings/invitations",
        &[("email", &email), ("role", "support")],
        303,
    )
    .await;
    assert_eq!(
        done.header("location"),
        Some("/app/settings/members?done=invited")
    );
    let token = find_token(&app.outbox_mail(&email).await, "hfi");
    let page = open(&app, &owner, "/app/settings/members?done=invited", 200).await;
    assert!(page.text.contains(&email));
    assert!(page.text.contains("The invitation is on its way"));
    let invitation = app
        .get("/api/v1/invitations")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        page.text
            .contains(&format!("/app/settings/invitations/{invitation}/withdraw"))
    );
    post_form(
        &app,
        &owner,
        &format!("/app/settings/invitations/{invitation}/withdraw"),
        &[],
        303,
    )
    .await;
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": MEMBER_PASSWORD}))
        .expect(401)
        .await;
    // Someone who joined: listed, re-roled, removed.
    let email = format!("joiner@{}.example.com", ws.slug);
    let member = member_console(&app, &ws, &email, "support").await;
    let members = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let id = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The member (support: members.read, not members.manage) sees the list, not the forms.
    let theirs = open(&app, &member, "/app/settings/members", 200).await;
    assert!(theirs.text.contains(&ws.owner_email));
    assert!(!theirs.text.contains("/role\""));
    assert!(!theirs.text.contains("Invite someone"));
    post_form(
        &app,
        &member,
        &format!("/app/settings/members/{id}/role"),
        &[("role", "admin")],
        403,
    )
    .await;
    // Another workspace's member: 404, whatever the form says.
    let their_member = app
        .get("/api/v1/members")
        .key(&other.admin_key)
        .expect(200)
        .await
        .json["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post_form(
        &app,
        &owner,
        &format!("/app/settings/members/{their_member}/role"),
        &[("role", "viewer")],
        404,
    )
    .await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/members/{their_member}/remove"),
        &[],
        404,
    )
    .await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/members/{id}/role"),
        &[("role", "client")],
        422,
    )
    .await;
    let changed = post_form(
        &app,
        &owner,
        &format!("/app/settings/members/{id}/role"),
        &[("role", "viewer")],
        303,
    )
    .await;
    assert_eq!(
        changed.header("location"),
        Some("/app/settings/members?done=role")
    );
    let listed = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == email.as_str() && m["role"] == "viewer")
    );
    // The last owner stays an owner.
    let me = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == ws.owner_email.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = post_form(
        &app,
        &owner,
        &format!("/app/settings/members/{me}/role"),
        &[("role", "viewer")],
        409,
    )
    .await;
    assert!(last.text.contains("at least one owner"), "{}", last.text);
    let removed = post_form(
        &app,
        &owner,
        &format!("/app/settings/members/{id}/remove"),
        &[],
        303,
    )
    .await;
    assert_eq!(
        removed.header("location"),
        Some("/app/settings/members?done=removed")
    );
    app.browser(Method::GET, "/app/settings/profile")
        .cookie(&member)
        .expect(303)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_roles_page_makes_a_custom_role_that_hides_emails() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-roles").await;
    let other = app.workspace("settings-roles-b").await;
    let owner = app.console_login(&ws).await;
    crate::contact(&app, &ws, crate::ada()).await;
    let page = open(&app, &owner, "/app/settings/roles", 200).await;
    assert!(page.text.contains("technician"));
    assert!(
        page.text.contains("contacts.email: hidden"),
        "the technician's rule"
    );
    let new = open(&app, &owner, "/app/settings/roles/new", 200).await;
    assert!(new.text.contains("name=\"perm:contacts.read\""));
    assert!(!new.text.contains("name=\"perm:owners.manage\""));
    assert!(new.text.contains("name=\"field:contacts.email\""));
    let role = [
        ("name", "Front desk"),
        ("description", "Sees contacts, not their emails"),
        ("perm:contacts.read", "on"),
        ("perm:tickets.read", "on"),
        ("field:contacts.email", "hidden"),
        ("field:contacts.phone", "read"),
        ("field:contacts.name", ""),
    ];
    post_form(&app, &owner, "/app/settings/roles", &role, 403).await;
    step_up(&app, &owner, None).await;
    // Bad input: the form again with what was sent and what is wrong.
    for (fields, says) in [
        (vec![("name", ""), ("perm:contacts.read", "on")], "name"),
        (
            vec![("name", "owner"), ("perm:contacts.read", "on")],
            "built-in",
        ),
        (vec![("name", "Odd"), ("perm:made.up", "on")], "made.up"),
        (
            vec![("name", "Odd"), ("field:contacts.email", "sometimes")],
            "contacts.email",
        ),
    ] {
        let r = post_form(&app, &owner, "/app/settings/roles", &fields, 422).await;
        assert!(r.text.contains(says), "{says}: {}", r.text);
    }
    let kept = post_form(
        &app,
        &owner,
        "/app/settings/roles",
        &[("name", ""), ("perm:tickets.write", "on")],
        422,
    )
    .await;
    assert!(
        kept.text
            .contains("name=\"perm:tickets.write\" value=\"on\"")
    );
    assert!(
        kept.text.contains(
            "id=\"perm-tickets.write\" name=\"perm:tickets.write\" value=\"on\" aria-label"
        )
    );
    let made = post_form(&app, &owner, "/app/settings/roles", &role, 303).await;
    assert_eq!(
        made.header("location"),
        Some("/app/settings/roles?done=created")
    );
    let roles = app
        .get("/api/v1/roles")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let created = roles["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Front desk")
        .unwrap()
        .clone();
    assert_eq!(
        created["fields"],
        json!({"contacts.email": "hidden", "contacts.phone": "read"})
    );
    assert_eq!(
        created["permissions"],
        json!(["contacts.read", "tickets.read"])
    );
    let id = created["id"].as_str().unwrap().to_owned();
    // Its holder does not get emails.
    let key = app
        .post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .json(&json!({"name": "front desk", "role": id}))
        .expect(201)
        .await
        .json["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen = app.get("/api/v1/contacts").key(&key).expect(200).await.json;
    assert_eq!(seen["data"][0]["name"], "Ada Lovelace");
    assert!(seen["data"][0].get("email").is_none(), "{seen}");
    // The edit form shows the role as it is.
    let edit = open(&app, &owner, &format!("/app/settings/roles/{id}"), 200).await;
    assert!(edit.text.contains("value=\"Front desk\""));
    assert!(edit.text.contains("name=\"perm:contacts.read\" value=\"on\" aria-label=\"contacts.read: See contacts\" title=\"See contacts\" checked"));
    assert!(
        edit.text
            .contains("<option value=\"hidden\" selected>Hidden</option>")
    );
    // Emails visible again.
    let visible = [
        ("name", "Front desk"),
        ("description", "Sees contacts"),
        ("perm:contacts.read", "on"),
        ("perm:tickets.read", "on"),
        ("field:contacts.email", ""),
    ];
    let saved = post_form(
        &app,
        &owner,
        &format!("/app/settings/roles/{id}"),
        &visible,
        303,
    )
    .await;
    assert_eq!(
        saved.header("location"),
        Some("/app/settings/roles?done=saved")
    );
    let seen = app.get("/api/v1/contacts").key(&key).expect(200).await.json;
    assert_eq!(seen["data"][0]["email"], "ada@example.com");
    // Built-in roles cannot be edited; another workspace's role is not found.
    open(&app, &owner, "/app/settings/roles/technician", 403).await;
    post_form(
        &app,
        &owner,
        "/app/settings/roles/technician",
        &visible,
        403,
    )
    .await;
    let theirs = app
        .post("/api/v1/roles")
        .key(&other.admin_key)
        .json(&json!({"name": "Theirs", "permissions": ["contacts.read"]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    open(&app, &owner, &format!("/app/settings/roles/{theirs}"), 404).await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/roles/{theirs}"),
        &visible,
        404,
    )
    .await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/roles/{theirs}/delete"),
        &[],
        404,
    )
    .await;
    // Held by a key: not deleted, said why.
    let held = post_form(
        &app,
        &owner,
        &format!("/app/settings/roles/{id}/delete"),
        &[],
        409,
    )
    .await;
    assert!(held.text.contains("still hold this role"), "{}", held.text);
    // A role that may see members but not change security settings: the list, no editing.
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    let list = open(&app, &support, "/app/settings/roles", 200).await;
    assert!(!list.text.contains("/app/settings/roles/new"));
    open(&app, &support, "/app/settings/roles/new", 403).await;
    post_form(&app, &support, "/app/settings/roles", &role, 403).await;
    // Without the CSRF token: refused.
    app.browser(Method::POST, "/app/settings/roles")
        .cookie(&owner)
        .body(FORM, form(&role))
        .expect(403)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhooks_pages_add_change_rotate_and_redeliver_with_step_up() {
    use holdfast_testkit::receiver::Receiver;
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("settings-hooks").await;
    let other = app.workspace("settings-hooks-b").await;
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings/webhooks", 200).await;
    assert!(page.text.contains("No endpoints yet"));
    assert!(page.text.contains("name=\"event:contact.created\""));
    let url = format!("{}/holdfast", receiver.base);
    let add = [
        ("url", url.as_str()),
        ("description", "dispatch <board>"),
        ("event:contact.created", "on"),
        ("role", ""),
        ("enabled", "true"),
    ];
    post_form(&app, &owner, "/app/settings/webhooks", &add, 403).await;
    step_up(&app, &owner, None).await;
    // Bad input: the form again, with what was sent.
    for (fields, says) in [
        (
            vec![
                ("url", "ftp://example.com/x"),
                ("event:contact.created", "on"),
            ],
            "url",
        ),
        (vec![("url", url.as_str())], "event_types"),
        (
            vec![("url", url.as_str()), ("event:no.such", "on")],
            "no.such",
        ),
        (
            vec![
                ("url", url.as_str()),
                ("event:contact.created", "on"),
                ("role", "client"),
            ],
            "role",
        ),
    ] {
        let r = post_form(&app, &owner, "/app/settings/webhooks", &fields, 422).await;
        assert!(r.text.contains(says), "{says}: {}", r.text);
    }
    let made = post_form(&app, &owner, "/app/settings/webhooks", &add, 201).await;
    let secret = between(
        &made.text,
        "<code class=\"secret\" id=\"webhook-secret\">",
        "</code>",
    );
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(made.text.contains("dispatch &#60;board&#62;"));
    let listed = app
        .get("/api/v1/webhooks")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let id = listed["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed["data"][0]["role"], "owner");
    // A contact created: delivered, and the log says so.
    crate::contact(&app, &ws, crate::ada()).await;
    receiver
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    let mut logged = String::new();
    for _ in 0..100 {
        logged = open(&app, &owner, &format!("/app/settings/webhooks/{id}"), 200)
            .await
            .text;
        if logged.contains("HTTP 204") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(logged.contains("HTTP 204"), "{logged}");
    assert!(logged.contains("<code>contact.created</code>"));
    assert!(!logged.contains(&secret), "the secret is shown once");
    assert!(
        !logged.contains("ada@example.com"),
        "the log shows no payloads"
    );
    let message_id = between(&logged, "/messages/", "/redeliver");
    // Send it again.
    let again = post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}/messages/{message_id}/redeliver"),
        &[],
        303,
    )
    .await;
    assert_eq!(
        again.header("location"),
        Some(format!("/app/settings/webhooks/{id}?done=queued").as_str())
    );
    receiver
        .wait_for(2, std::time::Duration::from_secs(20))
        .await;
    // Rotation: bad overlap, then a new secret shown once, then a second overlap refused.
    post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}/rotate-secret"),
        &[("overlap_seconds", "abc")],
        422,
    )
    .await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}/rotate-secret"),
        &[("overlap_seconds", "9999999")],
        422,
    )
    .await;
    let rotated = post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}/rotate-secret"),
        &[("overlap_seconds", "86400")],
        200,
    )
    .await;
    let fresh = between(
        &rotated.text,
        "<code class=\"secret\" id=\"webhook-secret\">",
        "</code>",
    );
    assert!(fresh.starts_with("whsec_") && fresh != secret);
    assert!(
        rotated
            .text
            .contains("deliveries are signed with the old secret too")
    );
    let overlapping = post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}/rotate-secret"),
        &[("overlap_seconds", "3600")],
        409,
    )
    .await;
    assert!(
        overlapping.text.contains("still in its overlap"),
        "{}",
        overlapping.text
    );
    post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}/rotate-secret"),
        &[("overlap_seconds", "0")],
        200,
    )
    .await;
    // Change: disabled, another description; redelivery is then refused, said on the page.
    let change = [
        ("url", url.as_str()),
        ("description", "paused"),
        ("event:contact.created", "on"),
        ("event:contact.updated", "on"),
        ("role", ""),
    ];
    let saved = post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}"),
        &change,
        303,
    )
    .await;
    assert_eq!(
        saved.header("location"),
        Some(format!("/app/settings/webhooks/{id}?done=saved").as_str())
    );
    let read = app
        .get(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(read["enabled"], false);
    assert_eq!(read["description"], "paused");
    assert_eq!(
        read["event_types"],
        json!(["contact.created", "contact.updated"])
    );
    assert_eq!(read["previous_secret_expires_at"], json!(null));
    let refused = post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}/messages/{message_id}/redeliver"),
        &[],
        409,
    )
    .await;
    assert!(refused.text.contains("disabled"), "{}", refused.text);
    // Another workspace's endpoint: 404 for each page and action.
    let theirs = app
        .post("/api/v1/webhooks")
        .key(&other.admin_key)
        .json(&json!({"url": "https://hooks.example.com/b", "event_types": ["contact.created"]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    open(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{theirs}"),
        404,
    )
    .await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{theirs}"),
        &change,
        404,
    )
    .await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{theirs}/rotate-secret"),
        &[("overlap_seconds", "0")],
        404,
    )
    .await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{theirs}/delete"),
        &[],
        404,
    )
    .await;
    // A role without webhooks.manage is refused; with the automation module off, the pages
    // are not there.
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    open(&app, &support, "/app/settings/webhooks", 403).await;
    // Delete.
    let deleted = post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{id}/delete"),
        &[],
        303,
    )
    .await;
    assert_eq!(
        deleted.header("location"),
        Some("/app/settings/webhooks?done=deleted")
    );
    app.get(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm", "helpdesk"]}))
        .expect(200)
        .await;
    open(&app, &owner, "/app/settings/webhooks", 404).await;
    let index = open(&app, &owner, "/app/settings", 200).await;
    assert!(!index.text.contains("/app/settings/webhooks"));
    let trail = app
        .get("/api/v1/audit?action=webhook.secret_rotated")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(trail["data"].as_array().unwrap().len(), 2, "{trail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_security_and_modules_pages_change_the_workspace_after_a_step_up() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-security").await;
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings/security", 200).await;
    assert!(page.text.contains("each member’s choice"), "{}", page.text);
    let policy = [("console_idle_minutes", "30"), ("console_max_hours", "12")];
    post_form(&app, &owner, "/app/settings/security", &policy, 403).await;
    step_up(&app, &owner, None).await;
    for (fields, says) in [
        (
            vec![("console_idle_minutes", "abc"), ("console_max_hours", "12")],
            "console_idle_minutes",
        ),
        (
            vec![("console_idle_minutes", "2"), ("console_max_hours", "12")],
            "console_idle_minutes",
        ),
        (
            vec![
                ("console_idle_minutes", "30"),
                ("console_max_hours", "9999"),
            ],
            "console_max_hours",
        ),
    ] {
        let r = post_form(&app, &owner, "/app/settings/security", &fields, 422).await;
        assert!(r.text.contains(says), "{says}: {}", r.text);
    }
    let kept = post_form(
        &app,
        &owner,
        "/app/settings/security",
        &[("console_idle_minutes", "2"), ("console_max_hours", "12")],
        422,
    )
    .await;
    assert!(
        kept.text.contains(
            "name=\"console_idle_minutes\" type=\"text\" inputmode=\"numeric\" value=\"2\""
        )
    );
    let saved = post_form(&app, &owner, "/app/settings/security", &policy, 303).await;
    assert_eq!(
        saved.header("location"),
        Some("/app/settings/security?done=saved")
    );
    let workspace = app
        .get("/api/v1/workspace")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(workspace["console_idle_minutes"], 30);
    assert_eq!(workspace["console_max_hours"], 12);
    assert_eq!(workspace["require_2fa"], false);
    // Modules: an unknown one is refused; turning the help desk off hides its pages.
    let modules = open(&app, &owner, "/app/settings/modules", 200).await;
    assert!(
        modules
            .text
            .contains("name=\"module:helpdesk\" value=\"on\" checked")
    );
    post_form(
        &app,
        &owner,
        "/app/settings/modules",
        &[("module:crm", "on"), ("module:teleport", "on")],
        422,
    )
    .await;
    let saved = post_form(
        &app,
        &owner,
        "/app/settings/modules",
        &[("module:crm", "on"), ("module:automation", "on")],
        303,
    )
    .await;
    assert_eq!(
        saved.header("location"),
        Some("/app/settings/modules?done=saved")
    );
    open(&app, &owner, "/app/inbox", 404).await;
    // A member who may see but not change: no form to save, and the action refused.
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    let theirs = open(&app, &support, "/app/settings/modules", 200).await;
    assert!(!theirs.text.contains("Save the modules"));
    post_form(
        &app,
        &support,
        "/app/settings/modules",
        &[("module:crm", "on")],
        403,
    )
    .await;
    let theirs = open(&app, &support, "/app/settings/security", 200).await;
    assert!(!theirs.text.contains("Save the policy"));
    post_form(&app, &support, "/app/settings/security", &policy, 403).await;
    // Two-factor for everyone: the owner, not enrolled, may then only enrol.
    let saved = post_form(
        &app,
        &owner,
        "/app/settings/security",
        &[
            ("require_2fa", "true"),
            ("console_idle_minutes", "30"),
            ("console_max_hours", "12"),
        ],
        303,
    )
    .await;
    assert_eq!(
        saved.header("location"),
        Some("/app/settings/security?done=saved")
    );
    open(&app, &owner, "/app/settings/security", 403).await;
    open(&app, &owner, "/app/settings/two-factor", 200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_privacy_and_retention_pages_set_the_rules_and_preview_what_goes() {
    let (app, clock) = TestApp::spawn_on_clock(Default::default(), 2_208_988_800_000).await;
    let ws = app.workspace("settings-privacy").await;
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings/privacy", 200).await;
    assert!(page.text.contains("value=\"ccpa\" checked"));
    let gdpr = [("mode", "gdpr"), ("double_opt_in:email", "on")];
    post_form(&app, &owner, "/app/settings/privacy", &gdpr, 403).await;
    step_up(&app, &owner, None).await;
    post_form(
        &app,
        &owner,
        "/app/settings/privacy",
        &[("mode", "strict")],
        422,
    )
    .await;
    let sms = post_form(
        &app,
        &owner,
        "/app/settings/privacy",
        &[("mode", "gdpr"), ("double_opt_in:sms", "on")],
        422,
    )
    .await;
    assert!(sms.text.contains("only email"), "{}", sms.text);
    post_form(&app, &owner, "/app/settings/privacy", &gdpr, 303).await;
    let settings = app
        .get("/api/v1/settings/privacy")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(
        settings,
        json!({"mode": "gdpr", "double_opt_in": ["email"]})
    );
    // Retention: a closed ticket older than the period is previewed, then goes.
    let ticket = crate::ticket_id(
        &app,
        &ws,
        json!({"subject": "Old", "contact": {"email": "old@example.com"}, "message": "Hi"}),
    )
    .await;
    app.patch(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .json(&json!({"status": "closed"}))
        .expect(200)
        .await;
    clock.advance(40 * 24 * 3600 * 1000);
    // Forty days on, the session is long over: a new one.
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings/retention", 200).await;
    assert!(
        page.text.contains("<dt>Closed tickets</dt><dd>0</dd>"),
        "{}",
        page.text
    );
    // A new session has not stepped up.
    post_form(
        &app,
        &owner,
        "/app/settings/retention",
        &[("closed_tickets_days", "30")],
        403,
    )
    .await;
    step_up(&app, &owner, None).await;
    for days in ["abc", "3"] {
        let r = post_form(
            &app,
            &owner,
            "/app/settings/retention",
            &[("closed_tickets_days", days)],
            422,
        )
        .await;
        assert!(r.text.contains("closed_tickets_days"), "{}", r.text);
        assert!(r.text.contains(&format!("value=\"{days}\"")));
    }
    post_form(
        &app,
        &owner,
        "/app/settings/retention",
        &[("closed_tickets_days", "30"), ("messages_days", "")],
        303,
    )
    .await;
    let page = open(&app, &owner, "/app/settings/retention", 200).await;
    assert!(
        page.text.contains("<dt>Closed tickets</dt><dd>1</dd>"),
        "{}",
        page.text
    );
    assert!(page.text.contains(&format!("/app/tickets/{ticket}")));
    let ran = post_form(&app, &owner, "/app/settings/retention/run", &[], 303).await;
    assert_eq!(
        ran.header("location"),
        Some("/app/settings/retention?done=ran")
    );
    app.get(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    // Roles: support sees contacts but may not change the privacy mode nor see retention.
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    let theirs = open(&app, &support, "/app/settings/privacy", 200).await;
    assert!(theirs.text.contains("value=\"gdpr\" checked disabled"));
    post_form(&app, &support, "/app/settings/privacy", &gdpr, 403).await;
    open(&app, &support, "/app/settings/retention", 403).await;
    // The CRM off: the privacy page is not there; retention (not in a module) stays.
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["helpdesk"]}))
        .expect(200)
        .await;
    open(&app, &owner, "/app/settings/privacy", 404).await;
    open(&app, &owner, "/app/settings/retention", 200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbound_and_widget_pages_keep_secrets_and_show_the_snippet_as_text() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-widget").await;
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings/inbound-hooks", 200).await;
    assert!(
        page.text
            .contains(&format!("/hooks/stripe/{}</code>", ws.slug))
    );
    assert!(page.text.contains("not set: deliveries are refused"));
    let secret = [("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
    post_form(
        &app,
        &owner,
        "/app/settings/inbound-hooks/stripe",
        &secret,
        403,
    )
    .await;
    step_up(&app, &owner, None).await;
    let bad = post_form(
        &app,
        &owner,
        "/app/settings/inbound-hooks/stripe",
        &[("secret", "no")],
        422,
    )
    .await;
    assert!(bad.text.contains("stripe: "), "{}", bad.text);
    post_form(
        &app,
        &owner,
        "/app/settings/inbound-hooks/teleport",
        &secret,
        404,
    )
    .await;
    post_form(
        &app,
        &owner,
        "/app/settings/inbound-hooks/stripe",
        &secret,
        303,
    )
    .await;
    let page = open(&app, &owner, "/app/settings/inbound-hooks?done=set", 200).await;
    assert!(!page.text.contains("whsec_MfKQ"), "a secret is never shown");
    let hooks = app
        .get("/api/v1/inbound-hooks")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        hooks
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["provider"] == "stripe" && h["configured"] == true)
    );
    post_form(
        &app,
        &owner,
        "/app/settings/inbound-hooks/stripe/remove",
        &[],
        303,
    )
    .await;
    post_form(
        &app,
        &owner,
        "/app/settings/inbound-hooks/stripe/remove",
        &[],
        404,
    )
    .await;
    // The widget: the snippet is text on the page, never markup.
    let page = open(&app, &owner, "/app/settings/widget", 200).await;
    assert!(
        page.text
            .contains("<pre class=\"snippet\" id=\"embed-snippet\">&#60;script src="),
        "{}",
        page.text
    );
    assert!(
        !page.text.contains("<script src=\"http"),
        "the snippet ran as markup"
    );
    let before = app
        .get("/api/v1/widget")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let bad = post_form(
        &app,
        &owner,
        "/app/settings/widget",
        &[
            ("enabled", "true"),
            (
                "allowed_origins",
                "https://shop.example.com\njavascript:alert(1)",
            ),
        ],
        422,
    )
    .await;
    assert!(bad.text.contains("allowed_origins"), "{}", bad.text);
    assert!(
        bad.text.contains("javascript:alert(1)</textarea>"),
        "what was sent stays"
    );
    post_form(
        &app,
        &owner,
        "/app/settings/widget",
        &[
            ("enabled", "true"),
            (
                "allowed_origins",
                "https://shop.example.com\n\nhttps://www.example.com ",
            ),
        ],
        303,
    )
    .await;
    let after = app
        .get("/api/v1/widget")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(after["enabled"], true);
    assert_eq!(
        after["allowed_origins"],
        json!(["https://shop.example.com", "https://www.example.com"])
    );
    post_form(
        &app,
        &owner,
        "/app/settings/widget/rotate-key",
        &[("revoke_visitors", "true")],
        303,
    )
    .await;
    let rotated = app
        .get("/api/v1/widget")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_ne!(rotated["key"], before["key"]);
    let made = post_form(
        &app,
        &owner,
        "/app/settings/widget/identity-secret/rotate",
        &[],
        200,
    )
    .await;
    let identity = between(
        &made.text,
        "<code class=\"secret\" id=\"identity-secret\">",
        "</code>",
    );
    assert!(identity.starts_with("wis_"), "{identity}");
    let shown = post_form(
        &app,
        &owner,
        "/app/settings/widget/identity-secret/reveal",
        &[],
        200,
    )
    .await;
    assert!(shown.text.contains(&identity));
    let page = open(&app, &owner, "/app/settings/widget", 200).await;
    assert!(!page.text.contains(&identity), "shown only when asked");
    let trail = app
        .get("/api/v1/audit?action=widget.identity_secret_revealed")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(trail["data"].as_array().unwrap().len(), 1);
    // A role without settings.security: neither page.
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    open(&app, &support, "/app/settings/widget", 403).await;
    open(&app, &support, "/app/settings/inbound-hooks", 403).await;
    post_form(
        &app,
        &support,
        "/app/settings/widget/identity-secret/reveal",
        &[],
        403,
    )
    .await;
    // Modules off: their pages are not there.
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm"]}))
        .expect(200)
        .await;
    open(&app, &owner, "/app/settings/widget", 404).await;
    open(&app, &owner, "/app/settings/inbound-hooks", 404).await;
}

/// The workspace's audit entries with `action`, their summaries read as JSON.
async fn audited(app: &TestApp, ws: &Workspace, action: &str) -> Vec<serde_json::Value> {
    let trail = app
        .get(&format!("/api/v1/audit?action={action}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e["summary"].as_str().unwrap()).unwrap())
        .collect()
}

async fn workspace_name(app: &TestApp, ws: &Workspace) -> String {
    app.get("/api/v1/workspace")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_workspace_page_renames_the_workspace_after_a_step_up() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-workspace").await;
    let before = workspace_name(&app, &ws).await;
    let owner = app.console_login(&ws).await;
    let index = open(&app, &owner, "/app/settings", 200).await;
    assert!(index.text.contains("href=\"/app/settings/workspace\""));
    let page = open(&app, &owner, "/app/settings/workspace", 200).await;
    assert!(page.text.contains(&before), "{}", page.text);
    assert!(page.text.contains(&format!("<code>{}</code>", ws.slug)));
    assert!(page.text.contains("action=\"/app/settings/workspace\""));
    // Renaming needs a recent password, as PATCH /api/v1/workspace does.
    let refused = post_form(
        &app,
        &owner,
        "/app/settings/workspace",
        &[("name", "Harbour & Co")],
        403,
    )
    .await;
    assert!(
        refused.text.contains("Confirm and continue"),
        "{}",
        refused.text
    );
    step_up(&app, &owner, None).await;
    // Bad input: said on the page with what was sent, nothing renamed.
    let long = "x".repeat(101);
    for (name, says) in [
        ("", "name: must not be empty"),
        ("   ", "name: must not be empty"),
        (long.as_str(), "name: "),
        ("tab\there", "control characters"),
    ] {
        let r = post_form(
            &app,
            &owner,
            "/app/settings/workspace",
            &[("name", name)],
            422,
        )
        .await;
        assert!(r.text.contains("role=\"alert\""), "{}", r.text);
        assert!(r.text.contains(says), "{says}: {}", r.text);
    }
    let kept = post_form(
        &app,
        &owner,
        "/app/settings/workspace",
        &[("name", &long)],
        422,
    )
    .await;
    assert!(kept.text.contains(&format!("value=\"{long}\"")));
    assert_eq!(workspace_name(&app, &ws).await, before);
    assert!(audited(&app, &ws, "workspace.renamed").await.is_empty());
    // The rename: saved, shown in every page's frame, audited with before and after.
    let saved = post_form(
        &app,
        &owner,
        "/app/settings/workspace",
        &[("name", "  Harbour & Co  ")],
        303,
    )
    .await;
    assert_eq!(
        saved.header("location"),
        Some("/app/settings/workspace?done=saved")
    );
    assert_eq!(workspace_name(&app, &ws).await, "Harbour & Co");
    let page = open(&app, &owner, "/app/settings/workspace?done=saved", 200).await;
    assert!(page.text.contains("Saved."));
    assert!(page.text.contains("Harbour &#38; Co"), "{}", page.text);
    assert_eq!(
        audited(&app, &ws, "workspace.renamed").await,
        vec![json!({"before": before, "after": "Harbour & Co"})]
    );
    // A member who may see but not rename (no workspace.manage): no form, the action refused.
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    let theirs = open(&app, &support, "/app/settings/workspace", 200).await;
    assert!(theirs.text.contains("Harbour &#38; Co"));
    assert!(!theirs.text.contains("Save the name"));
    let r = post_form(
        &app,
        &support,
        "/app/settings/workspace",
        &[("name", "Taken over")],
        403,
    )
    .await;
    assert!(r.text.contains("lacks the permission"), "{}", r.text);
    // Without the CSRF token: refused.
    app.browser(Method::POST, "/app/settings/workspace")
        .cookie(&owner)
        .body(FORM, form(&[("name", "No token")]))
        .expect(403)
        .await;
    assert_eq!(workspace_name(&app, &ws).await, "Harbour & Co");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_ones_account_asks_the_email_and_password_and_spares_the_last_owner() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-delete").await;
    let owner = app.console_login(&ws).await;
    let page = open(&app, &owner, "/app/settings/profile", 200).await;
    assert!(
        page.text
            .contains("action=\"/app/settings/account/delete\"")
    );
    assert!(page.text.contains("Delete my account"));
    // The only owner: refused on the page (the API's 409), nothing deleted.
    let last = post_form(
        &app,
        &owner,
        "/app/settings/account/delete",
        &[
            ("confirm_email", &ws.owner_email),
            ("password", OWNER_PASSWORD),
        ],
        409,
    )
    .await;
    assert!(last.text.contains("role=\"alert\""), "{}", last.text);
    assert!(last.text.contains("only owner of"), "{}", last.text);
    open(&app, &owner, "/app/settings/profile", 200).await;
    let email = format!("leaver@{}.example.com", ws.slug);
    let leaver = member_console(&app, &ws, &email, "support").await;
    let delete = "/app/settings/account/delete";
    // Bad input, each on the page and nothing deleted: the email not typed, another email, the
    // wrong password; a step-up done before does not stand in for the password.
    step_up_as(&app, &leaver, MEMBER_PASSWORD).await;
    for (pairs, status, says) in [
        (
            vec![("password", MEMBER_PASSWORD)],
            422,
            "confirm_email: type your account",
        ),
        (
            vec![
                ("confirm_email", ws.owner_email.as_str()),
                ("password", MEMBER_PASSWORD),
            ],
            422,
            "confirm_email",
        ),
        (
            vec![
                ("confirm_email", email.as_str()),
                ("password", "not it at all"),
            ],
            401,
            "role=\"alert\"",
        ),
        (
            vec![("confirm_email", email.as_str())],
            401,
            "role=\"alert\"",
        ),
    ] {
        let r = post_form(&app, &leaver, delete, &pairs, status).await;
        assert!(r.text.contains(says), "{says}: {}", r.text);
        assert!(r.text.contains("action=\"/app/settings/account/delete\""));
    }
    open(&app, &leaver, "/app/settings/profile", 200).await;
    assert!(
        audited(&app, &ws, "member.account_deleted")
            .await
            .is_empty()
    );
    // Without the CSRF token, and with an API key (no account of its own): refused.
    app.browser(Method::POST, delete)
        .cookie(&leaver)
        .body(
            FORM,
            form(&[("confirm_email", &email), ("password", MEMBER_PASSWORD)]),
        )
        .expect(403)
        .await;
    app.browser(Method::POST, delete)
        .key(&ws.admin_key)
        .body(
            FORM,
            form(&[("confirm_email", &email), ("password", MEMBER_PASSWORD)]),
        )
        .expect(403)
        .await;
    // Deleted: the cookies cleared, on to the sign-in page with a notice; the old session is
    // gone and the account signs in no more.
    let upper = email.to_uppercase();
    let done = post_form(
        &app,
        &leaver,
        delete,
        &[("confirm_email", &upper), ("password", MEMBER_PASSWORD)],
        303,
    )
    .await;
    assert_eq!(
        done.header("location"),
        Some("/sign-in?done=account_deleted")
    );
    let cleared = done.set_cookies();
    assert!(
        cleared
            .iter()
            .any(|c| c.contains("hf_session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    let gone = app
        .browser(Method::GET, "/app/settings/profile")
        .cookie(&leaver)
        .expect(303)
        .await;
    assert_eq!(
        gone.header("location"),
        Some("/sign-in?next=/app/settings/profile")
    );
    let notice = app
        .browser(Method::GET, "/sign-in?done=account_deleted")
        .expect(200)
        .await;
    assert!(
        notice.text.contains("Your account is deleted"),
        "{}",
        notice.text
    );
    app.post("/api/v1/auth/login")
        .json(&json!({"email": email, "password": MEMBER_PASSWORD, "workspace": ws.slug}))
        .expect(401)
        .await;
    assert_eq!(
        audited(&app, &ws, "member.account_deleted").await,
        vec![json!({"workspaces": 1})]
    );
}

/// Marks a member's console session as stepped up with their own password.
async fn step_up_as(app: &TestApp, console: &Console, password: &str) {
    post_form(
        app,
        console,
        "/app/step-up",
        &[("password", password), ("back", "/app/settings")],
        303,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_page_shows_a_failing_endpoint_and_recovers_its_messages() {
    use holdfast_testkit::receiver::Receiver;
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("settings-recover").await;
    let other = app.workspace("settings-recover-b").await;
    let owner = app.console_login(&ws).await;
    let (id, _) = crate::webhook_endpoint(
        &app,
        &ws,
        json!({"url": format!("{}/in", receiver.base), "event_types": ["contact.created"]}),
    )
    .await;
    crate::contact(&app, &ws, crate::ada()).await;
    let first = receiver
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    let webhook_id = first[0].header("webhook-id").unwrap().to_owned();
    // The worker records the delivery after the receiver answered: wait for that, so it does
    // not overwrite the state set below.
    crate::privacy::wait_until("the delivery is recorded", async || {
        crate::privacy::pending_jobs(&app, &ws).await == 0
    })
    .await;
    // As if every attempt had failed for 30 hours: disabled, its message held.
    let now = holdfast_core::clock::Clock::now_ms(&holdfast_core::clock::SystemClock);
    {
        let mut tx = app.workspace_tx(&ws).await;
        sqlx::query(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'failing', \
             consecutive_failures = 40, failing_since = $3 WHERE workspace_id = $1 AND id = $2",
        )
        .bind(&ws.id)
        .bind(&id)
        .bind(now - 30 * 60 * 60 * 1000)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE webhook_messages SET status = 'held' WHERE workspace_id = $1 AND endpoint_id = $2",
        )
        .bind(&ws.id)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let here = format!("/app/settings/webhooks/{id}");
    let recover = format!("{here}/recover");
    let page = open(&app, &owner, &here, 200).await;
    assert!(
        page.text
            .contains("<dd id=\"webhook-state\">disabled after failing</dd>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("id=\"webhook-failing-since\""));
    assert!(page.text.contains("<dd>40</dd>"));
    assert!(!page.text.contains(&format!("action=\"{recover}\"")));
    assert!(page.text.contains("The endpoint is disabled"));
    // Disabled: the recovery is refused on the page, as the API refuses it.
    let refused = post_form(&app, &owner, &recover, &[("hours", "72")], 409).await;
    assert!(refused.text.contains("role=\"alert\""), "{}", refused.text);
    assert!(refused.text.contains("disabled"), "{}", refused.text);
    // Enabled again (over the API), which ends the streak: the form offers the last day.
    app.patch(&format!("/api/v1/webhooks/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"enabled": true}))
        .expect(200)
        .await;
    let page = open(&app, &owner, &here, 200).await;
    assert!(
        page.text.contains(&format!("action=\"{recover}\"")),
        "{}",
        page.text
    );
    assert!(page.text.contains("<option value=\"24\" selected>"));
    assert!(!page.text.contains("id=\"webhook-failing-since\""));
    // Enabled but failing for 30 hours: the form reaches back past the streak's start.
    {
        let mut tx = app.workspace_tx(&ws).await;
        sqlx::query(
            "UPDATE webhook_endpoints SET consecutive_failures = 7, failing_since = $3 \
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(&ws.id)
        .bind(&id)
        .bind(now - 30 * 60 * 60 * 1000)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let page = open(&app, &owner, &here, 200).await;
    assert!(
        page.text
            .contains("<dd id=\"webhook-state\">enabled, failing</dd>")
    );
    assert!(page.text.contains("id=\"webhook-failing-since\""));
    assert!(
        page.text.contains("<option value=\"72\" selected>"),
        "{}",
        page.text
    );
    // Bad input: said on the page, nothing queued.
    for (pairs, says) in [
        (vec![("hours", "abc")], "hours: must be a whole number"),
        (vec![("hours", "0")], "hours: must be a whole number"),
        (vec![], "hours: must be a whole number"),
        (vec![("hours", "721")], "since: is more than 30 days ago"),
    ] {
        let r = post_form(&app, &owner, &recover, &pairs, 422).await;
        assert!(r.text.contains("role=\"alert\""), "{}", r.text);
        assert!(r.text.contains(says), "{says}: {}", r.text);
    }
    assert!(
        audited(&app, &ws, "webhook.recovery_requested")
            .await
            .is_empty()
    );
    // A role without webhooks.manage: refused, nothing queued.
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    open(&app, &support, &here, 403).await;
    post_form(&app, &support, &recover, &[("hours", "72")], 403).await;
    // Another workspace's endpoint: 404.
    let (theirs, _) = crate::webhook_endpoint(
        &app,
        &other,
        json!({"url": "https://hooks.example.com/b", "event_types": ["contact.created"]}),
    )
    .await;
    post_form(
        &app,
        &owner,
        &format!("/app/settings/webhooks/{theirs}/recover"),
        &[("hours", "72")],
        404,
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.requests().len(), 1);
    // The recovery: the held message queued and sent again with its webhook-id, audited. No
    // step-up: it only sends again what the endpoint was signed for, as the API's.
    let done = post_form(&app, &owner, &recover, &[("hours", "72")], 200).await;
    assert!(
        done.text.contains("1 failed or held message since"),
        "{}",
        done.text
    );
    let again = receiver
        .wait_for(2, std::time::Duration::from_secs(20))
        .await;
    assert_eq!(again[1].header("webhook-id"), Some(webhook_id.as_str()));
    let trail = audited(&app, &ws, "webhook.recovery_requested").await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0]["queued"], 1);
    assert_eq!(trail[0]["more"], false);
    // Nothing left: a second recovery says so.
    let none = post_form(&app, &owner, &recover, &[("hours", "1")], 200).await;
    assert!(none.text.contains("Nothing to send again"), "{}", none.text);
}

/// A Standard Webhooks signature (`v1,` and the HMAC-SHA256 of `id.timestamp.body` under the
/// secret's bytes), as a provider's library makes it.
fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("v1,{signature}")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbound_events_page_lists_filters_and_pages_what_providers_sent() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-inbound-events").await;
    let owner = app.console_login(&ws).await;
    app.call(Method::PUT, "/api/v1/inbound-hooks/standard")
        .key(&ws.admin_key)
        .json(&json!({"secret": SECRET}))
        .expect(200)
        .await;
    let page = open(&app, &owner, "/app/settings/inbound-events", 200).await;
    assert!(page.text.contains("No events yet."), "{}", page.text);
    // 51 signed deliveries: one more than a page.
    let timestamp = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    for i in 0..51 {
        let id = format!("msg_{i:03}");
        let body = format!(r#"{{"type":"invoice.paid","data":{{"id":"in_{i:03}","note":"<b>"}}}}"#);
        app.post(&format!("/hooks/standard/{}", ws.slug))
            .header("webhook-id", &id)
            .header("webhook-timestamp", &timestamp.to_string())
            .header(
                "webhook-signature",
                &standard_signature(SECRET, &id, timestamp, &body),
            )
            .body("application/json", body)
            .expect(200)
            .await;
    }
    // The inbound hooks page leads here.
    let hooks = open(&app, &owner, "/app/settings/inbound-hooks", 200).await;
    assert!(hooks.text.contains("href=\"/app/settings/inbound-events\""));
    let first = open(&app, &owner, "/app/settings/inbound-events", 200).await;
    assert_eq!(first.text.matches("<tr id=\"event-ibe_").count(), 50);
    assert!(first.text.contains("msg_050"), "newest first");
    assert!(!first.text.contains("msg_000"));
    assert!(first.text.contains("<code>invoice.paid</code>"));
    assert!(first.text.contains("verified, "));
    // The payload, escaped.
    assert!(first.text.contains("&#60;b&#62;"), "{}", first.text);
    assert!(!first.text.contains("\"<b>\""));
    let older = between(&first.text, "<p class=\"pager\"><a href=\"", "\"").replace("&#38;", "&");
    assert!(
        older.starts_with("/app/settings/inbound-events?cursor="),
        "{older}"
    );
    let second = open(&app, &owner, &older, 200).await;
    assert_eq!(second.text.matches("<tr id=\"event-ibe_").count(), 1);
    assert!(second.text.contains("msg_000"));
    assert!(!second.text.contains("class=\"pager\""));
    // The provider filter: another provider has none; its pages keep the filter.
    let stripe = open(
        &app,
        &owner,
        "/app/settings/inbound-events?provider=stripe",
        200,
    )
    .await;
    assert!(stripe.text.contains("No events from stripe yet."));
    assert!(stripe.text.contains("<option value=\"stripe\" selected>"));
    let standard = open(
        &app,
        &owner,
        "/app/settings/inbound-events?provider=standard",
        200,
    )
    .await;
    assert_eq!(standard.text.matches("<tr id=\"event-ibe_").count(), 50);
    let older = between(&standard.text, "<p class=\"pager\"><a href=\"", "\"");
    assert!(older.contains("provider=standard"), "{older}");
    // Bad input: a provider Holdfast does not know, a cursor it did not issue.
    for (path, says) in [
        (
            "/app/settings/inbound-events?provider=carrier-pigeon",
            "provider: is not a provider",
        ),
        (
            "/app/settings/inbound-events?cursor=%21%21",
            "cursor: is not a cursor",
        ),
    ] {
        let r = open(&app, &owner, path, 422).await;
        assert!(r.text.contains("role=\"alert\""), "{}", r.text);
        assert!(r.text.contains(says), "{says}: {}", r.text);
    }
    // As the API: automation.manage reads them (a manager, who cannot see the secrets page);
    // support cannot.
    let manager = member_console(
        &app,
        &ws,
        &format!("manager@{}.example.com", ws.slug),
        "manager",
    )
    .await;
    let theirs = open(&app, &manager, "/app/settings/inbound-events", 200).await;
    assert_eq!(theirs.text.matches("<tr id=\"event-ibe_").count(), 50);
    open(&app, &manager, "/app/settings/inbound-hooks", 403).await;
    let support = member_console(
        &app,
        &ws,
        &format!("support@{}.example.com", ws.slug),
        "support",
    )
    .await;
    let r = open(&app, &support, "/app/settings/inbound-events", 403).await;
    assert!(r.text.contains("lacks the permission"), "{}", r.text);
    let index = open(&app, &support, "/app/settings", 200).await;
    assert!(!index.text.contains("/app/settings/inbound-events"));
    // With the automation module off, the page is not there.
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm", "helpdesk"]}))
        .expect(200)
        .await;
    open(&app, &owner, "/app/settings/inbound-events", 404).await;
}
