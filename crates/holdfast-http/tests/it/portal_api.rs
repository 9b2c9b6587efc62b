//! The client portal for API clients and other sites, on either database: a sign-in link spent
//! into an access token (`typ = portal`) and a rotating refresh token, the token opening the
//! customer's own records only and never a staff route (nor a staff token a portal route),
//! a reused refresh token ending its session, staff seeing and ending API sessions, signing
//! out, a suspended workspace's portal not being there, and the CORS answers a workspace's
//! listed origins get on the portal API and nowhere else.

use crate::{portal_api_tokens, portal_link};
use holdfast_store::ops::controls;
use holdfast_testkit::{Method, TestApp, Workspace};
use serde_json::{Value, json};

/// Addresses unique to this run: the PostgreSQL suite shares one mail outbox among all tests.
static DOMAIN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{}.example.com", holdfast_testkit::unique("papi")));

fn at(local: &str) -> String {
    format!("{local}@{}", *DOMAIN)
}

/// A contact of `ws` with portal access; their id.
async fn customer(app: &TestApp, ws: &Workspace, name: &str, email: &str) -> String {
    let id = crate::contact(app, ws, json!({"name": name, "email": email})).await;
    app.call(Method::PUT, &format!("/api/v1/contacts/{id}/portal"))
        .key(&ws.admin_key)
        .json(&json!({"access": true}))
        .expect(200)
        .await;
    id
}

async fn refresh(app: &TestApp, refresh_token: &str) -> holdfast_testkit::Resp {
    app.post("/api/portal/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_client_spends_a_link_into_tokens_that_open_only_its_customers_records() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-api").await;
    let ann = customer(&app, &ws, "Ann", &at("ann")).await;
    customer(&app, &ws, "Ben", &at("ben")).await;
    let bens = crate::ticket(
        &app,
        &ws,
        json!({"subject": "Ben's boiler", "contact": {"email": at("ben")}, "message": "Ben's words"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The whole link, as the mail shows it, is taken as well as its bare token.
    let path = portal_link(&app, &ws, &at("ann")).await;
    let link = format!("https://portal.example.net{path}");
    let tokens = app
        .post("/api/portal/v1/auth/token")
        .header("user-agent", "Ann's phone app")
        .json(&json!({"link": link}))
        .expect(200)
        .await
        .json;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(
        tokens["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("hfpr_")
    );
    // The token says what it is: `typ = portal`, the contact as its subject.
    let claims = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["typ"], "portal", "{claims}");
    assert_eq!(claims["sub"], ann.as_str(), "{claims}");

    // The link is spent: neither a second exchange nor its page opens anything.
    app.post("/api/portal/v1/auth/token")
        .json(&json!({"link": path}))
        .expect(401)
        .await
        .problem("HF-AUTH-002");
    app.browser(Method::GET, &path).expect(404).await;

    // A request opened with the token (no CSRF token: a bearer token is not ambient).
    let opened = app
        .post("/api/portal/v1/tickets")
        .key(&access)
        .json(&json!({"subject": "Ann's tap", "message": "It drips."}))
        .expect(201)
        .await
        .json;
    let own = opened["id"].as_str().unwrap().to_owned();
    let list = app
        .get("/api/portal/v1/tickets")
        .key(&access)
        .expect(200)
        .await;
    assert!(list.text.contains(&own), "{}", list.text);
    assert!(!list.text.contains(&bens), "{}", list.text);
    app.get(&format!("/api/portal/v1/tickets/{bens}"))
        .key(&access)
        .expect(404)
        .await;
    // Staff see the request as the customer's, opened through the portal.
    let staff_view = app
        .get(&format!("/api/v1/tickets/{own}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(staff_view["contact_id"], ann.as_str());

    // The realms stay apart: the portal token opens no staff route, a staff token no portal
    // route, and the portal's pages take its cookie only.
    app.get("/api/v1/contacts")
        .key(&access)
        .expect(401)
        .await
        .problem("HF-AUTH-002");
    let staff_token = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for staff in [staff_token.as_str(), ws.admin_key.as_str()] {
        let r = app
            .get("/api/portal/v1/tickets")
            .key(staff)
            .expect(401)
            .await;
        r.problem("HF-AUTH-002");
        assert!(r.text.contains("typ portal"), "{}", r.text);
    }
    let page = app
        .browser(Method::GET, &format!("/portal/{}/home", ws.slug))
        .key(&access)
        .expect(303)
        .await;
    assert_eq!(
        page.header("location"),
        Some(format!("/portal/{}", ws.slug).as_str())
    );

    // Staff see the API session beside browser ones, named by its kind.
    let portal = app
        .get(&format!("/api/v1/contacts/{ann}/portal"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let sessions = portal["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{portal}");
    assert_eq!(sessions[0]["kind"], "api");
    assert_eq!(sessions[0]["user_agent"], "Ann's phone app");
    assert_eq!(sessions[0]["id"], tokens["session_id"]);
    // The trail names the sign-in and its kind.
    let audit = app
        .get("/api/v1/audit?action=portal.signed_in")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    // (The summary is JSON text inside the answer's JSON.)
    assert!(audit.text.contains(r#"\"kind\":\"api\""#), "{}", audit.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-refresh").await;
    let cal = customer(&app, &ws, "Cal", &at("cal")).await;
    let first = portal_api_tokens(&app, &ws, &at("cal")).await;

    let second = refresh(&app, &first.refresh).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second_access = second.json["access_token"].as_str().unwrap().to_owned();
    let second_refresh = second.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh);
    app.get("/api/portal/v1/tickets")
        .key(&second_access)
        .expect(200)
        .await;

    // The first refresh token again: someone else holds it, so the session ends for both.
    let reused = refresh(&app, &first.refresh).await;
    assert_eq!(reused.status, 401, "{}", reused.text);
    assert!(reused.text.contains("already used"), "{}", reused.text);
    for access in [&first.access, &second_access] {
        app.get("/api/portal/v1/tickets")
            .key(access)
            .expect(401)
            .await;
    }
    refresh(&app, &second_refresh).await.problem("HF-AUTH-002");

    // A new session; staff end it, and its tokens open nothing more.
    let third = portal_api_tokens(&app, &ws, &at("cal")).await;
    let session = app
        .get(&format!("/api/v1/contacts/{cal}/portal"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/v1/contacts/{cal}/portal/sessions/{session}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get("/api/portal/v1/tickets")
        .key(&third.access)
        .expect(401)
        .await;
    assert_eq!(refresh(&app, &third.refresh).await.status, 401);

    // Access taken away: the next request and the next refresh are refused.
    let fourth = portal_api_tokens(&app, &ws, &at("cal")).await;
    app.call(Method::PUT, &format!("/api/v1/contacts/{cal}/portal"))
        .key(&ws.admin_key)
        .json(&json!({"access": false}))
        .expect(200)
        .await;
    app.get("/api/portal/v1/tickets")
        .key(&fourth.access)
        .expect(401)
        .await;
    assert_eq!(refresh(&app, &fourth.refresh).await.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_api_session_and_a_suspended_portal_is_not_there() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-api-out").await;
    customer(&app, &ws, "Dee", &at("dee")).await;
    let tokens = portal_api_tokens(&app, &ws, &at("dee")).await;
    app.post("/api/portal/v1/auth/sign-out")
        .key(&tokens.access)
        .expect(204)
        .await;
    app.get("/api/portal/v1/tickets")
        .key(&tokens.access)
        .expect(401)
        .await;
    assert_eq!(refresh(&app, &tokens.refresh).await.status, 401);
    let audit = app
        .get("/api/v1/audit?action=portal.signed_out")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(audit.text.contains("portal.signed_out"), "{}", audit.text);

    // Suspended: a live token and the portal's page are one 404; suspending ended the
    // browser's session, so its cookie names no workspace on the API any more.
    let live = portal_api_tokens(&app, &ws, &at("dee")).await;
    let (_, browser) = crate::portal_customer(&app, &ws, "Eve", &at("eve")).await;
    let now = holdfast_core::clock::Clock::now_ms(&holdfast_core::clock::SystemClock);
    controls::unscoped_suspend_workspace(&app.db, &ws.slug, "invoice unpaid", now)
        .await
        .unwrap();
    app.get("/api/portal/v1/tickets")
        .key(&live.access)
        .expect(404)
        .await;
    app.get("/api/portal/v1/tickets")
        .header("cookie", &browser.cookie)
        .expect(401)
        .await;
    app.browser(Method::GET, &format!("/portal/{}/home", ws.slug))
        .header("cookie", &browser.cookie)
        .expect(404)
        .await;
    assert_eq!(refresh(&app, &live.refresh).await.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_token_requests_get_clear_errors_and_spend_nothing() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("portal-api-bad").await;
    customer(&app, &ws, "Fay", &at("fay")).await;
    let path = portal_link(&app, &ws, &at("fay")).await;
    for body in [
        json!({}),
        json!({"link": 7}),
        json!({"link": "hfml_x", "extra": 1}),
    ] {
        app.post("/api/portal/v1/auth/token")
            .json(&body)
            .expect(422)
            .await
            .problem("HF-REQ-004");
    }
    for link in [
        "",
        "hfml_",
        "hfml_short",
        &format!("hfml_{}", "A".repeat(43)),
        &path.replace("hfml_", "hfps_"),
        "../../etc/passwd",
    ] {
        let r = app
            .post("/api/portal/v1/auth/token")
            .json(&json!({"link": link}))
            .expect(401)
            .await;
        assert!(r.text.contains("ask for a new one"), "{}", r.text);
    }
    for token in ["", "hfpr_", &format!("hfpr_{}", "A".repeat(43)), "hfps_x"] {
        refresh(&app, token).await.problem("HF-AUTH-002");
    }
    app.post("/api/portal/v1/auth/refresh")
        .json(&json!({"refresh": "x"}))
        .expect(422)
        .await;
    // None of that spent the link: it still signs in, once.
    app.post("/api/portal/v1/auth/token")
        .json(&json!({"link": path}))
        .expect(200)
        .await;
    // A browser session's cookie value is no refresh token, and the other way round.
    let (_, browser) = crate::portal_customer(&app, &ws, "Gus", &at("gus")).await;
    let cookie_value = browser.cookie.split_once('=').unwrap().1.to_owned();
    refresh(&app, &cookie_value).await.problem("HF-AUTH-002");
    let tokens = portal_api_tokens(&app, &ws, &at("gus")).await;
    app.get("/api/portal/v1/tickets")
        .header("cookie", &format!("__Host-hf_portal={}", tokens.refresh))
        .expect(401)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listed_origins_get_cors_answers_on_the_portal_api_only() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-cors").await;
    let other = app.workspace("portal-cors-other").await;
    let shop = format!("https://{}", *DOMAIN);

    // Bad origins are named one by one; nothing changes.
    let r = app
        .call(Method::PUT, "/api/v1/portal/settings")
        .key(&ws.admin_key)
        .json(&json!({"default_access": false,
                      "origins": [shop, "http://shop.example.com", "https://x.example.com/path", "*"]}))
        .expect(422)
        .await;
    for field in ["origins[1]", "origins[2]", "origins[3]"] {
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    assert!(!r.text.contains("origins[0]"), "{}", r.text);
    let settings = app
        .get("/api/v1/portal/settings")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(settings["origins"], json!([]));
    let too_many: Vec<String> = (0..21)
        .map(|i| format!("https://s{i}.example.com"))
        .collect();
    app.call(Method::PUT, "/api/v1/portal/settings")
        .key(&ws.admin_key)
        .json(&json!({"default_access": false, "origins": too_many}))
        .expect(422)
        .await;

    // Listed (normalised, each once), audited; leaving the list out keeps it.
    let set = app
        .call(Method::PUT, "/api/v1/portal/settings")
        .key(&ws.admin_key)
        .json(&json!({"default_access": false,
                      "origins": [format!("{}/", shop.to_uppercase().replace("HTTPS", "https")), shop, "http://localhost:3000"]}))
        .expect(200)
        .await
        .json;
    assert_eq!(set["origins"], json!(["http://localhost:3000", shop]));
    let kept = app
        .call(Method::PUT, "/api/v1/portal/settings")
        .key(&ws.admin_key)
        .json(&json!({"default_access": false}))
        .expect(200)
        .await
        .json;
    assert_eq!(kept["origins"], set["origins"]);
    let audit = app
        .get("/api/v1/audit?action=workspace.portal_origins_changed")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(audit.text.contains("localhost:3000"), "{}", audit.text);
    let support = app
        .key(
            &ws.slug,
            holdfast_core::access::policy::BuiltinRole::Support,
        )
        .await;
    app.call(Method::PUT, "/api/v1/portal/settings")
        .key(&support)
        .json(&json!({"default_access": false, "origins": []}))
        .expect(403)
        .await;

    // A preflight on the portal API: answered for a listed origin, refused for another.
    let preflight = |path: &str, origin: &str| {
        app.call(Method::OPTIONS, path)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
    };
    let ok = preflight("/api/portal/v1/tickets", &shop).send().await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some(shop.as_str())
    );
    assert!(
        ok.header("access-control-allow-headers")
            .is_some_and(|h| h.contains("authorization")),
        "{:?}",
        ok.headers
    );
    assert_eq!(ok.header("access-control-allow-credentials"), None);
    let refused = preflight("/api/portal/v1/tickets", "https://evil.example.org")
        .send()
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.header("access-control-allow-origin"), None);
    // Staff routes never answer a portal origin.
    for path in [
        "/api/v1/contacts",
        "/api/v1/auth/login",
        "/api/v1/portal/settings",
    ] {
        let r = preflight(path, &shop).send().await;
        assert_eq!(r.header("access-control-allow-origin"), None, "{path}");
    }
    let r = app
        .get("/api/v1/portal/settings")
        .key(&ws.admin_key)
        .header("origin", &shop)
        .expect(200)
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);

    // Signing in from the shop's page: the answers are readable there.
    customer(&app, &ws, "Hal", &at("hal")).await;
    let asked = app
        .post("/api/portal/v1/auth/magic-link")
        .header("origin", &shop)
        .json(&json!({"workspace": ws.slug, "email": at("hal")}))
        .expect(202)
        .await;
    assert_eq!(
        asked.header("access-control-allow-origin"),
        Some(shop.as_str())
    );
    let tokens = portal_api_tokens(&app, &ws, &at("hal")).await;
    let read = app
        .get("/api/portal/v1/tickets")
        .key(&tokens.access)
        .header("origin", &shop)
        .expect(200)
        .await;
    assert_eq!(
        read.header("access-control-allow-origin"),
        Some(shop.as_str())
    );
    assert_eq!(read.header("access-control-allow-credentials"), None);
    // An expired or refused token's 401 is readable too, so the page can refresh.
    let denied = app
        .get("/api/portal/v1/tickets")
        .key("not-a-token")
        .header("origin", &shop)
        .expect(401)
        .await;
    assert_eq!(
        denied.header("access-control-allow-origin"),
        Some(shop.as_str())
    );
    // An origin this workspace does not list reads nothing.
    let evil = app
        .get("/api/portal/v1/tickets")
        .key(&tokens.access)
        .header("origin", "https://evil.example.org")
        .expect(200)
        .await;
    assert_eq!(evil.header("access-control-allow-origin"), None);

    // Another workspace's customer, whose workspace does not list the shop: not readable there.
    customer(&app, &other, "Ivy", &at("ivy")).await;
    let other_tokens = portal_api_tokens(&app, &other, &at("ivy")).await;
    let theirs = app
        .get("/api/portal/v1/tickets")
        .key(&other_tokens.access)
        .header("origin", &shop)
        .expect(200)
        .await;
    assert_eq!(theirs.header("access-control-allow-origin"), None);

    // Emptied: the shop's preflight is refused again.
    app.call(Method::PUT, "/api/v1/portal/settings")
        .key(&ws.admin_key)
        .json(&json!({"default_access": false, "origins": []}))
        .expect(200)
        .await;
    assert_eq!(
        preflight("/api/portal/v1/tickets", &shop)
            .send()
            .await
            .status,
        403
    );
}
