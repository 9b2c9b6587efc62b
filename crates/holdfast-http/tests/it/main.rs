//! Holdfast's HTTP scenario suite. Runs unchanged on SQLite (default) and on PostgreSQL
//! (`HOLDFAST_TEST_DATABASE_URL=postgres://…`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account;
mod api_keys;
mod audit;
mod auth;
mod backups;
mod billing;
mod consent;
mod console;
mod console_browser;
mod console_crm_browser;
mod console_invoicing_browser;
mod console_jobs_browser;
mod console_ops_browser;
mod console_settings_browser;
mod contacts;
mod crm;
mod deletion;
mod docs;
mod edge;
mod events;
mod field_scenario;
mod field_sweep;
mod fields;
mod guard_sweep;
mod hooks;
mod import_chunks;
mod invoices;
mod isolation;
mod job_files;
mod jobs;
mod keys;
mod layers;
mod limits;
mod logging;
mod members;
mod module_sweep;
mod oidc;
mod operator;
mod ops;
mod pages;
mod pages_api_docs;
mod pages_attack;
mod pages_audit;
mod pages_crm;
mod pages_invite;
mod pages_invoicing;
mod pages_jobs;
mod pages_reset;
mod pages_settings;
mod pages_setup;
mod pages_sso;
mod pages_workspaces;
mod payments;
mod portal;
mod portal_api;
mod portal_attack;
mod portal_billing;
mod portal_brand;
mod portal_browser;
mod portal_password;
mod portal_privacy;
mod portal_tickets;
mod privacy;
mod proxies;
mod public_links;
mod reset;
mod rls;
mod roles;
mod settings;
mod shutdown;
mod step_up_sweep;
mod ticket_search;
mod tickets;
mod tickets_desk;
mod two_factor;
mod webhook_recovery;
mod webhooks;
mod widget;
mod widget_browser;

use holdfast_core::clock::ManualClock;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{Method, TestApp, Workspace, find_token};
use serde_json::{Value, json};

/// Creates a contact and returns its id.
pub async fn contact(app: &TestApp, ws: &Workspace, body: Value) -> String {
    app.post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&body)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A customer's browser signed in to the client portal: the portal cookie (`name=value`) and
/// the page's CSRF token.
pub struct PortalCustomer {
    pub cookie: String,
    pub csrf: String,
}

/// Asks for a client portal sign-in link for `email` and returns the path it opens (from the
/// mail in the local outbox).
pub async fn portal_link(app: &TestApp, ws: &Workspace, email: &str) -> String {
    let before = mails_to(app, email).await.len();
    app.post("/api/portal/v1/auth/magic-link")
        .json(&json!({"workspace": ws.slug, "email": email}))
        .expect(202)
        .await;
    let mail = new_mail_to(app, email, before).await;
    let token = find_token(&mail, "hfml");
    let path = format!("/portal/{}/sign-in/{token}", ws.slug);
    assert!(mail.contains(&path), "{mail}");
    path
}

/// A customer's API client signed in to the client portal: its access token (`typ = portal`)
/// and refresh token.
pub struct PortalTokens {
    pub access: String,
    pub refresh: String,
}

/// Asks for a sign-in link for `email` (a contact of `ws` with portal access) and spends it,
/// as an API client does, into portal tokens.
pub async fn portal_api_tokens(app: &TestApp, ws: &Workspace, email: &str) -> PortalTokens {
    let link = portal_link(app, ws, email).await;
    let tokens = app
        .post("/api/portal/v1/auth/token")
        .json(&json!({"link": link}))
        .expect(200)
        .await
        .json;
    PortalTokens {
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// Every mail to `email` in the local outbox, newest first.
pub async fn mails_to(app: &TestApp, email: &str) -> Vec<String> {
    holdfast_store::ops::mail_outbox::unscoped_list(&app.db, Some(email), 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body_text)
        .collect()
}

/// Waits (up to 10 s) for a mail to `email` beyond the `before` already there; the newest.
pub async fn new_mail_to(app: &TestApp, email: &str, before: usize) -> String {
    for _ in 0..400 {
        let mails = mails_to(app, email).await;
        if mails.len() > before {
            return mails[0].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no new mail to {email} in the outbox");
}

/// Opens a portal sign-in link's page, confirms it, and returns the signed-in browser.
pub async fn portal_confirm(app: &TestApp, path: &str) -> PortalCustomer {
    let page = app.browser(Method::GET, path).expect(200).await;
    assert!(
        page.text.contains(&format!("action=\"{path}\"")),
        "{}",
        page.text
    );
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-robots-tag"), Some("noindex"));
    let signed_in = app.browser(Method::POST, path).expect(303).await;
    let cookie = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-hf_portal=hfps_"))
        .unwrap_or_else(|| panic!("no portal cookie: {:?}", signed_in.headers));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Secure"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let home = signed_in.header("location").unwrap().to_owned();
    let page = app
        .browser(Method::GET, &home)
        .header("cookie", &cookie)
        .expect(200)
        .await;
    let csrf = page
        .text
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF token on the page: {}", page.text))
        .to_owned();
    PortalCustomer { cookie, csrf }
}

/// A new contact of `ws` with client portal access, signed in: their id and browser.
pub async fn portal_customer(
    app: &TestApp,
    ws: &Workspace,
    name: &str,
    email: &str,
) -> (String, PortalCustomer) {
    let id = contact(app, ws, json!({"name": name, "email": email})).await;
    app.call(Method::PUT, &format!("/api/v1/contacts/{id}/portal"))
        .key(&ws.admin_key)
        .json(&json!({"access": true}))
        .expect(200)
        .await;
    let path = portal_link(app, ws, email).await;
    (id, portal_confirm(app, &path).await)
}

pub fn ada() -> Value {
    json!({"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958", "company": "Analytical", "tags": ["VIP"]})
}

/// Opens a ticket through the API; returns the created ticket.
pub async fn ticket(app: &TestApp, ws: &Workspace, body: Value) -> Value {
    app.post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&body)
        .expect(201)
        .await
        .json
}

/// Opens a ticket through the API; returns its id.
pub async fn ticket_id(app: &TestApp, ws: &Workspace, body: Value) -> String {
    ticket(app, ws, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The first page of the workspace's tickets.
pub async fn ticket_list(app: &TestApp, ws: &Workspace) -> Vec<Value> {
    app.get("/api/v1/tickets")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// The ids of a list response's `data`, in order.
pub fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates a webhook endpoint; returns its id and signing secret.
pub async fn webhook_endpoint(app: &TestApp, ws: &Workspace, body: Value) -> (String, String) {
    let created = app
        .post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&body)
        .expect(201)
        .await
        .json;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// Creates an API key with `credential`; returns the created key (its `secret` shown once).
pub async fn make_key(app: &TestApp, credential: &str, name: &str, role: &str) -> Value {
    app.post("/api/v1/api-keys")
        .key(credential)
        .json(&json!({"name": name, "role": role}))
        .expect(201)
        .await
        .json
}

/// An API key of `role` (built in or custom) made by the workspace's admin key: its secret and id.
pub async fn key_with_role(app: &TestApp, ws: &Workspace, role: &str) -> (String, String) {
    let created = make_key(app, &ws.admin_key, &format!("as {role}"), role).await;
    (
        created["secret"].as_str().unwrap().to_owned(),
        created["id"].as_str().unwrap().to_owned(),
    )
}

pub fn login_body(email: &str, password: &str, workspace: &str) -> Value {
    json!({"email": email, "password": password, "workspace": workspace})
}

/// The status a sign-in with these credentials gets.
pub async fn sign_in_status(app: &TestApp, email: &str, password: &str, slug: &str) -> u16 {
    app.post("/api/v1/auth/login")
        .json(&login_body(email, password, slug))
        .send()
        .await
        .status
}

/// Settings that keep the sign-in limit out of the way of tests that sign in many times.
pub fn generous_sign_in() -> Layer {
    Layer {
        auth_rate_limit_per_minute: Some(60_000),
        ..Layer::default()
    }
}

/// An app on a manual clock with `generous_sign_in`.
pub async fn manual_app() -> (TestApp, ManualClock) {
    TestApp::spawn_on_clock(generous_sign_in(), 1_800_000_000_000).await
}

/// The route table's method as the test client's.
pub fn method(m: &axum::http::Method) -> Method {
    Method::from_bytes(m.as_str().as_bytes()).unwrap()
}
