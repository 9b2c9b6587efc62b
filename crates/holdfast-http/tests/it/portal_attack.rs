//! An attacker's pass over the client portal's API sessions and billing contacts, on either
//! database: one sign-in link spent by a page and an API client at once opens one session; one
//! refresh token spent twice at once never yields two live sessions; the portal's other
//! credentials (a browser cookie's value, a refresh token) are not refresh tokens nor bearer
//! tokens; a billing mark does not come back when its contact returns to the company; a
//! password reset link dies with its contact's address (changed by the API or an import),
//! access and portal; a role that may change the portal's look only is not shown its settings
//! page.

use crate::{portal_api_tokens, portal_link};
use holdfast_testkit::{Method, TestApp, Workspace};
use serde_json::json;

/// Addresses unique to this run: the PostgreSQL suite shares one mail outbox among all tests.
static DOMAIN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{}.example.com", holdfast_testkit::unique("patk")));

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

/// The status a portal access token gets for `path`.
async fn sees(app: &TestApp, access: &str, path: &str) -> u16 {
    app.get(path).key(access).send().await.status
}

async fn refresh(app: &TestApp, refresh_token: &str) -> holdfast_testkit::Resp {
    app.post("/api/portal/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn one_link_spent_by_a_page_and_an_api_client_at_once_opens_one_session() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("portal-attack-link").await;
    customer(&app, &ws, "Lena", &at("lena")).await;
    for _ in 0..3 {
        let path = portal_link(&app, &ws, &at("lena")).await;
        let (page, api) = tokio::join!(
            app.browser(Method::POST, &path).send(),
            app.post("/api/portal/v1/auth/token")
                .json(&json!({"link": path}))
                .send()
        );
        let page_won = page.status == 303
            && page
                .set_cookies()
                .iter()
                .any(|c| c.starts_with("__Host-hf_portal=hfps_"));
        let api_won = api.status == 200;
        assert!(
            page_won ^ api_won,
            "exactly one of them spends the link: page {} {:?}, api {} {}",
            page.status,
            page.set_cookies(),
            api.status,
            api.text
        );
        if !api_won {
            assert_eq!(api.status, 401, "{}", api.text);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_refresh_token_spent_twice_at_once_leaves_no_live_session_behind() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("portal-attack-refresh").await;
    customer(&app, &ws, "Rita", &at("rita")).await;
    for _ in 0..3 {
        let tokens = portal_api_tokens(&app, &ws, &at("rita")).await;
        let (a, b) = tokio::join!(
            refresh(&app, &tokens.refresh),
            refresh(&app, &tokens.refresh)
        );
        let won: Vec<_> = [&a, &b].into_iter().filter(|r| r.status == 200).collect();
        assert!(
            won.len() <= 1,
            "both refreshes succeeded: {} / {}",
            a.text,
            b.text
        );
        assert!(
            [&a, &b].iter().any(|r| r.status == 401),
            "{} / {}",
            a.text,
            b.text
        );
        // The loser saw a reuse, so the session is over: the winner's tokens open nothing.
        for r in won {
            let access = r.json["access_token"].as_str().unwrap();
            app.get("/api/portal/v1/tickets")
                .key(access)
                .expect(401)
                .await;
            let next = r.json["refresh_token"].as_str().unwrap();
            assert_eq!(refresh(&app, next).await.status, 401);
        }
        app.get("/api/portal/v1/tickets")
            .key(&tokens.access)
            .expect(401)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cookie_is_no_refresh_token_and_a_refresh_token_no_bearer_token() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("portal-attack-kinds").await;
    let email = at("kim");
    let (_, browser) = crate::portal_customer(&app, &ws, "Kim", &email).await;
    let cookie = browser
        .cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-hf_portal=")
        .to_owned();
    assert!(cookie.starts_with("hfps_"), "{cookie}");
    // The cookie's value, as it is and dressed as a refresh token: refused, the session live.
    for fake in [cookie.clone(), cookie.replacen("hfps_", "hfpr_", 1)] {
        let r = refresh(&app, &fake).await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert!(r.json.get("access_token").is_none(), "{}", r.text);
    }
    let tokens = portal_api_tokens(&app, &ws, &email).await;
    // The refresh token and the cookie's value are not bearer tokens.
    for fake in [&tokens.refresh, &cookie] {
        app.get("/api/portal/v1/tickets")
            .key(fake)
            .expect(401)
            .await;
    }
    // The access token is not a refresh token, and none of these tries spent the real one.
    assert_eq!(refresh(&app, &tokens.access).await.status, 401);
    let r = refresh(&app, &tokens.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_billing_mark_does_not_come_back_when_its_contact_returns_to_the_company() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("portal-attack-billing").await;
    let company = |name: &'static str| {
        let app = &app;
        let key = ws.admin_key.clone();
        async move {
            app.post("/api/v1/companies")
                .key(&key)
                .json(&json!({"name": name}))
                .expect(201)
                .await
                .json["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let acme = company("Acme Ltd").await;
    let globex = company("Globex").await;
    let payer = customer(&app, &ws, "Pam", &at("pam")).await;
    let colleague = customer(&app, &ws, "Carl", &at("carl")).await;
    let move_to = |id: String, company: String| {
        let app = &app;
        let key = ws.admin_key.clone();
        async move {
            app.patch(&format!("/api/v1/contacts/{id}"))
                .key(&key)
                .json(&json!({"company_id": company}))
                .expect(200)
                .await;
        }
    };
    move_to(payer.clone(), acme.clone()).await;
    move_to(colleague.clone(), acme.clone()).await;
    let job = app
        .post("/api/v1/jobs")
        .key(&ws.admin_key)
        .json(
            &json!({"contact_id": colleague, "company_id": acme, "title": "Acme boiler",
                      "window": {"start": "2026-07-01T09:00", "end": "2026-07-01T11:30"}}),
        )
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        Method::PUT,
        &format!("/api/v1/contacts/{payer}/portal/billing"),
    )
    .key(&ws.admin_key)
    .json(&json!({"billing_contact": true}))
    .expect(200)
    .await;
    let tokens = portal_api_tokens(&app, &ws, &at("pam")).await;
    let path = format!("/api/portal/v1/jobs/{job}");
    assert_eq!(sees(&app, &tokens.access, &path).await, 200);
    // Moved to another company, then back: the mark went with the move.
    move_to(payer.clone(), globex.clone()).await;
    assert_eq!(sees(&app, &tokens.access, &path).await, 404);
    move_to(payer.clone(), acme.clone()).await;
    assert_eq!(
        sees(&app, &tokens.access, &path).await,
        404,
        "the old billing mark came back"
    );
    let portal = app
        .get(&format!("/api/v1/contacts/{payer}/portal"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        portal.json["billing_company_id"],
        json!(null),
        "{}",
        portal.text
    );
    // Staff marking them again opens the company's records again.
    app.call(
        Method::PUT,
        &format!("/api/v1/contacts/{payer}/portal/billing"),
    )
    .key(&ws.admin_key)
    .json(&json!({"billing_contact": true}))
    .expect(200)
    .await;
    assert_eq!(sees(&app, &tokens.access, &path).await, 200);
}

/// An origin's look-alikes (another case, a trailing slash, another port or scheme, `null`, a
/// suffix or a sub-domain) are not the listed origin: no preflight, no readable answer, and
/// never credentials.
#[tokio::test(flavor = "multi_thread")]
async fn look_alikes_of_a_listed_origin_read_nothing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-attack-cors").await;
    let shop = format!("https://shop.{}", *DOMAIN);
    app.call(Method::PUT, "/api/v1/portal/settings")
        .key(&ws.admin_key)
        .json(&json!({"default_access": false, "origins": [shop]}))
        .expect(200)
        .await;
    customer(&app, &ws, "Cora", &at("cora")).await;
    let tokens = portal_api_tokens(&app, &ws, &at("cora")).await;
    let look_alikes = [
        shop.to_uppercase().replace("HTTPS", "https"),
        format!("{shop}/"),
        format!("{shop}:8443"),
        shop.replace("https://", "http://"),
        "null".to_owned(),
        format!("{shop}.evil.example"),
        shop.replace("https://", "https://evil."),
    ];
    for origin in &look_alikes {
        let pre = app
            .call(Method::OPTIONS, "/api/portal/v1/tickets")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await;
        assert_eq!(pre.status, 403, "{origin}: {}", pre.text);
        assert_eq!(pre.header("access-control-allow-origin"), None, "{origin}");
        let read = app
            .get("/api/portal/v1/tickets")
            .key(&tokens.access)
            .header("origin", origin)
            .expect(200)
            .await;
        assert_eq!(read.header("access-control-allow-origin"), None, "{origin}");
    }
    // The listed origin itself: readable, never with credentials.
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
}

/// A role that may change the portal's look (`workspace.manage`) but not its security settings
/// (`settings.security`): a colour or a logo it gets refused is said without the settings page,
/// which lists the origins that may call the portal API and who may sign in by default.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_look_does_not_show_the_portal_settings_to_a_role_without_them() {
    const FORM: &str = "application/x-www-form-urlencoded";
    let app = TestApp::spawn().await;
    let ws = app.workspace("portal-attack-look").await;
    let partner = format!("https://{}", *DOMAIN);
    app.call(Method::PUT, "/api/v1/portal/settings")
        .key(&ws.admin_key)
        .json(&json!({"default_access": false, "origins": [partner]}))
        .expect(200)
        .await;
    let role = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "Look only", "permissions": ["workspace.manage"]}))
        .expect(201)
        .await
        .json;
    let (look, _) = crate::key_with_role(&app, &ws, role["id"].as_str().unwrap()).await;
    app.browser(Method::GET, "/app/settings/portal")
        .key(&look)
        .expect(403)
        .await;

    let bad = app
        .browser(Method::POST, "/app/settings/portal/colour")
        .key(&look)
        .body(FORM, "colour=tomato")
        .expect(422)
        .await;
    assert!(bad.text.contains("#rrggbb"), "{}", bad.text);
    assert!(!bad.text.contains(&partner), "{}", bad.text);
    let (form_type, body) = {
        let boundary = "XyZlook";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(b"just words");
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    };
    let refused = app
        .browser(Method::POST, "/app/settings/portal/logo")
        .key(&look)
        .body(&form_type, body)
        .expect(415)
        .await;
    assert!(
        refused.text.contains("PNG, JPEG or WebP"),
        "{}",
        refused.text
    );
    assert!(!refused.text.contains(&partner), "{}", refused.text);

    // The role still sets the colour, and a role with both still gets the page back.
    app.browser(Method::POST, "/app/settings/portal/colour")
        .key(&look)
        .body(FORM, "colour=%23123456")
        .expect(303)
        .await;
    let bad = app
        .browser(Method::POST, "/app/settings/portal/colour")
        .key(&ws.admin_key)
        .body(FORM, "colour=tomato")
        .expect(422)
        .await;
    assert!(bad.text.contains("Colour not saved"), "{}", bad.text);
}

/// Asks for a password reset link for `email` by API and returns its path from the mail.
async fn reset_link(app: &TestApp, ws: &Workspace, email: &str) -> String {
    let before = crate::mails_to(app, email).await.len();
    app.post("/api/portal/v1/auth/password-reset")
        .json(&json!({"workspace": ws.slug, "email": email}))
        .expect(202)
        .await;
    let mail = crate::new_mail_to(app, email, before).await;
    let token = holdfast_testkit::find_token(&mail, "hfpw");
    format!("/portal/{}/password-reset/{token}", ws.slug)
}

/// A password reset link dies with the sign-in links of its contact: when their address
/// changes (whoever held the old one must not choose their password and sign in with it), when
/// staff take their access away (giving it back revives nothing mailed before), and when the
/// portal closes (opening it again brings none back).
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_ends_with_the_address_the_access_and_the_portal_it_was_mailed_for() {
    const FORM: &str = "application/x-www-form-urlencoded";
    const PASSWORD: &str = "correct horse battery staple 99";
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("portal-attack-reset").await;
    // Each scenario: a fresh contact's reset link and sign-in link, the change, then both dead.
    let links_of = |name: &'static str| {
        let (app, ws) = (&app, &ws);
        async move {
            let email = at(name);
            let id = customer(app, ws, name, &email).await;
            let reset = reset_link(app, ws, &email).await;
            let sign_in = crate::portal_link(app, ws, &email).await;
            app.browser(Method::GET, &reset).expect(200).await;
            (id, email, reset, sign_in)
        }
    };
    let dead = |reset: String, sign_in: String| {
        let app = &app;
        async move {
            app.browser(Method::GET, &sign_in).expect(404).await;
            app.browser(Method::GET, &reset).expect(404).await;
            app.browser(Method::POST, &reset)
                .body(FORM, format!("password={}", PASSWORD.replace(' ', "+")))
                .expect(404)
                .await;
        }
    };

    // The address changes: the old mailbox's reset link sets no password.
    let (id, email, reset, sign_in) = links_of("ria").await;
    let moved = format!("new-{email}");
    app.patch(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"email": moved}))
        .expect(200)
        .await;
    dead(reset, sign_in).await;
    let r = app
        .post("/api/portal/v1/auth/password")
        .json(&json!({"workspace": ws.slug, "email": moved, "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(r.status, 401, "{}", r.text);

    // Access off, then on again.
    let (id, _, reset, sign_in) = links_of("rob").await;
    for access in [false, true] {
        app.call(Method::PUT, &format!("/api/v1/contacts/{id}/portal"))
            .key(&ws.admin_key)
            .json(&json!({"access": access}))
            .expect(200)
            .await;
    }
    dead(reset, sign_in).await;

    // The portal closed, then opened again.
    let (_, _, reset, sign_in) = links_of("rue").await;
    let mut modules: Vec<String> = app
        .get("/api/v1/modules")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["enabled"] == true)
        .map(|m| m["module"].as_str().unwrap().to_owned())
        .collect();
    modules.retain(|m| m != "client_portal");
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": modules}))
        .expect(200)
        .await;
    modules.push("client_portal".to_owned());
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": modules}))
        .expect(200)
        .await;
    dead(reset, sign_in).await;
}

/// A contact import that matches a contact by phone and brings another address changes the
/// address like any other change: whoever held the old one keeps no portal session, sign-in
/// link or reset link.
#[tokio::test(flavor = "multi_thread")]
async fn an_import_that_changes_an_address_ends_the_old_address_portal_sessions_and_links() {
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("portal-attack-import").await;
    let email = at("pia");
    let phone = "+44 20 7946 0321";
    let id = crate::contact(
        &app,
        &ws,
        json!({"name": "Pia", "email": email, "phone": phone}),
    )
    .await;
    app.call(Method::PUT, &format!("/api/v1/contacts/{id}/portal"))
        .key(&ws.admin_key)
        .json(&json!({"access": true}))
        .expect(200)
        .await;
    let browser = crate::portal_confirm(&app, &portal_link(&app, &ws, &email).await).await;
    let tokens = portal_api_tokens(&app, &ws, &email).await;
    let sign_in = portal_link(&app, &ws, &email).await;
    let reset = reset_link(&app, &ws, &email).await;

    let moved = at("pia-new");
    let csv = format!("name,email,phone\nPia,{moved},{phone}\n");
    let queued = app
        .post("/api/v1/contacts/imports")
        .key(&ws.admin_key)
        .body("text/csv", csv)
        .expect(202)
        .await;
    let import = queued.json["id"].as_str().unwrap().to_owned();
    let mut done = false;
    for _ in 0..400 {
        let r = app
            .get(&format!("/api/v1/contacts/imports/{import}"))
            .key(&ws.admin_key)
            .expect(200)
            .await;
        if r.json["status"] == "done" {
            assert_eq!(r.json["updated"], 1, "{}", r.text);
            done = true;
            break;
        }
        assert_ne!(r.json["status"], "failed", "{}", r.text);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(done, "the import did not finish");
    let contact = app
        .get(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(contact.json["email"], moved.as_str(), "{}", contact.text);

    app.get("/api/portal/v1/tickets")
        .key(&tokens.access)
        .expect(401)
        .await;
    assert_eq!(refresh(&app, &tokens.refresh).await.status, 401);
    let home = app
        .browser(Method::GET, &format!("/portal/{}/home", ws.slug))
        .header("cookie", &browser.cookie)
        .send()
        .await;
    assert_ne!(home.status, 200, "{}", home.text);
    app.browser(Method::GET, &sign_in).expect(404).await;
    app.browser(Method::GET, &reset).expect(404).await;
}
