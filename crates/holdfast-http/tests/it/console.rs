//! Console (browser) sessions: an opaque id in a `__Host-` HttpOnly cookie, stored hashed, with
//! idle and absolute timeouts and a CSRF token on every state-changing request.

use holdfast_core::token::sha256_hex;
use holdfast_testkit::{Console, OWNER_PASSWORD, TestApp};
use serde_json::json;

const HOUR_MS: i64 = 3600 * 1000;

async fn contact_count(app: &TestApp, console: &Console) -> usize {
    app.get("/api/v1/contacts")
        .cookie(console)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_sign_in_sets_host_only_http_only_cookies_and_stores_only_a_hash() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("console").await;
    let resp = app
        .post("/api/v1/auth/login")
        .json(&json!({"email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug, "session": "cookie"}))
        .expect(200)
        .await;
    assert!(
        resp.json.get("access_token").is_none() && resp.json.get("refresh_token").is_none(),
        "a console sign-in hands out no bearer token: {}",
        resp.text
    );
    let cookies = resp.set_cookies();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-hf_session="))
        .unwrap_or_else(|| panic!("no __Host- session cookie: {cookies:?}"));
    for attribute in [
        "; Path=/",
        "; HttpOnly",
        "; Secure",
        "; SameSite=Lax",
        "; Max-Age=604800",
    ] {
        assert!(
            session.contains(attribute),
            "{attribute} missing: {session}"
        );
    }
    assert!(!session.to_lowercase().contains("domain="), "{session}");
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("__Host-hf_csrf="))
        .expect("a readable CSRF cookie");
    assert!(
        !csrf.contains("HttpOnly"),
        "the console must read it: {csrf}"
    );

    let console = Console::from_login(&resp);
    assert!(csrf.starts_with(&format!("__Host-hf_csrf={};", console.csrf_token)));
    assert!(console.cookie_value().starts_with("hfs_"));
    let stored: String = sqlx::query_scalar(
        "SELECT token_hash FROM session_cookies WHERE workspace_id = $1 AND session_id = $2",
    )
    .bind(&ws.id)
    .bind(&console.session_id)
    .fetch_one(app.db.unscoped_pool())
    .await
    .unwrap();
    assert_ne!(stored, console.cookie_value(), "never the cookie itself");
    assert_eq!(stored, sha256_hex(console.cookie_value()));

    let sessions = app
        .get("/api/v1/auth/sessions")
        .cookie(&console)
        .expect(200)
        .await
        .json;
    let mine = &sessions["data"][0];
    assert_eq!(mine["kind"], "console");
    assert_eq!(mine["current"], true);
    assert_eq!(mine["id"], console.session_id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn state_changing_requests_need_the_sessions_csrf_token_and_a_same_site_origin() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("csrf").await;
    let console = app.console_login(&ws).await;
    let other = app.console_login(&ws).await;
    let body = json!({"name": "Forged"});

    let refused = [
        app.post("/api/v1/contacts").cookie(&console).json(&body),
        app.post("/api/v1/contacts")
            .cookie(&console)
            .header("x-csrf-token", "not-the-token")
            .json(&body),
        app.post("/api/v1/contacts")
            .cookie(&console)
            .header("x-csrf-token", &other.csrf_token)
            .json(&body),
        app.post("/api/v1/contacts")
            .console(&console)
            .header("origin", "https://attacker.example")
            .json(&body),
        app.post("/api/v1/contacts")
            .console(&console)
            .header("sec-fetch-site", "cross-site")
            .json(&body),
    ];
    for call in refused {
        let resp = call.expect(403).await;
        let problem = resp.problem("HF-AUTH-007");
        assert!(
            problem["detail"].as_str().unwrap().len() > 20,
            "says what to do: {problem}"
        );
    }
    assert_eq!(
        contact_count(&app, &console).await,
        0,
        "nothing was written"
    );
    // DELETE and PATCH are guarded the same way.
    app.delete(&format!("/api/v1/auth/sessions/{}", other.session_id))
        .cookie(&console)
        .expect(403)
        .await
        .problem("HF-AUTH-007");

    app.post("/api/v1/contacts")
        .console(&console)
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .json(&body)
        .expect(201)
        .await;
    assert_eq!(contact_count(&app, &console).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cross_site_page_cannot_sign_a_browser_in() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("logincsrf").await;
    let resp = app
        .post("/api/v1/auth/login")
        .header("origin", "https://attacker.example")
        .json(&json!({"email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug, "session": "cookie"}))
        .expect(403)
        .await;
    resp.problem("HF-AUTH-007");
    assert!(resp.set_cookies().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn console_sessions_end_when_idle_and_at_their_absolute_limit() {
    let (app, clock) = crate::manual_app().await;
    let ws = app.workspace("timeouts").await;

    let idle = app.console_login(&ws).await;
    clock.advance(8 * HOUR_MS + 1);
    app.get("/api/v1/contacts")
        .cookie(&idle)
        .expect(401)
        .await
        .problem("HF-AUTH-002");

    // Used every 7 hours, a session lives on until its 7-day absolute end.
    let busy = app.console_login(&ws).await;
    let mut elapsed = 0;
    while elapsed + 7 * HOUR_MS < 7 * 24 * HOUR_MS {
        clock.advance(7 * HOUR_MS);
        elapsed += 7 * HOUR_MS;
        app.get("/api/v1/contacts").cookie(&busy).expect(200).await;
    }
    clock.advance(7 * 24 * HOUR_MS - elapsed);
    app.get("/api/v1/contacts")
        .cookie(&busy)
        .expect(401)
        .await
        .problem("HF-AUTH-002");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_expires_the_cookies_and_ends_the_session() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("signout").await;
    let console = app.console_login(&ws).await;
    app.post("/api/v1/auth/logout")
        .cookie(&console)
        .expect(403)
        .await
        .problem("HF-AUTH-007");
    let out = app
        .post("/api/v1/auth/logout")
        .console(&console)
        .expect(204)
        .await;
    let cleared = out.set_cookies();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("__Host-hf_session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    app.get("/api/v1/contacts")
        .cookie(&console)
        .expect(401)
        .await
        .problem("HF-AUTH-002");
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_and_bearer_tokens_are_not_interchangeable() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("kinds").await;
    let console = app.console_login(&ws).await;
    let tokens = app.login(&ws).await;

    // The cookie's value is no bearer credential…
    app.get("/api/v1/contacts")
        .key(console.cookie_value())
        .expect(401)
        .await
        .problem("HF-AUTH-002");
    // …and neither an access token, a refresh token nor an API key works as a session cookie.
    for wrong in [
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        ws.admin_key.as_str(),
        "hfs_0000000000000000000000000000000000000000000",
    ] {
        app.get("/api/v1/contacts")
            .header("cookie", &format!("__Host-hf_session={wrong}"))
            .expect(401)
            .await
            .problem("HF-AUTH-002");
    }
    // A bearer credential, when sent, is what counts: a broken one is not rescued by a cookie.
    app.get("/api/v1/contacts")
        .cookie(&console)
        .key("hf_live_broken")
        .expect(401)
        .await;
    // API sessions and console sessions are listed with their kind.
    let list = app
        .get("/api/v1/auth/sessions")
        .cookie(&console)
        .expect(200)
        .await
        .json;
    let kinds: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"api") && kinds.contains(&"console"),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_workspace_sets_its_console_session_lifetimes_and_tightening_applies_at_once() {
    let (app, clock) = crate::manual_app().await;
    let ws = app.workspace("policy").await;
    let before = app.console_login(&ws).await;
    let policy = app
        .patch("/api/v1/settings/security")
        .key(&ws.admin_key)
        .json(&json!({"console_idle_minutes": 30, "console_max_hours": 2}))
        .expect(200)
        .await
        .json;
    assert_eq!(policy["console_idle_minutes"], 30);
    let strict = app.console_login(&ws).await;
    clock.advance(31 * 60 * 1000);
    app.get("/api/v1/contacts")
        .cookie(&strict)
        .expect(401)
        .await;
    app.get("/api/v1/contacts")
        .cookie(&before)
        .expect(401)
        .await; // a tightened policy applies to live sessions too

    let busy = app.console_login(&ws).await;
    for _ in 0..4 {
        clock.advance(29 * 60 * 1000);
        app.get("/api/v1/contacts").cookie(&busy).expect(200).await;
    }
    clock.advance(5 * 60 * 1000); // 121 minutes after sign-in, 5 idle
    app.get("/api/v1/contacts").cookie(&busy).expect(401).await; // past the 2-hour limit, however busy
}
