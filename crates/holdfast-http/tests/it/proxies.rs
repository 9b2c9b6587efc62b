//! Client addresses behind a reverse proxy (`trusted_proxies`): a trusted proxy's forwarding
//! headers give every client its own budget and put the client's address in the audit trail
//! and the session list; the same headers from anyone else change nothing.

use crate::login_body;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{OWNER_PASSWORD, TestApp, Workspace};
use serde_json::{Value, json};
use std::time::Duration;

/// One sign-in a minute after a burst of 10 per client address.
fn layer(trusted: &[&str]) -> Layer {
    Layer {
        auth_rate_limit_per_minute: Some(1),
        hsts: Some(true),
        trusted_proxies: Some(trusted.iter().map(|t| t.to_string()).collect()),
        ..Layer::default()
    }
}

/// Signs the owner in with one extra header; returns the access token.
async fn sign_in_with(app: &TestApp, ws: &Workspace, header: (&str, &str)) -> String {
    app.post("/api/v1/auth/login")
        .header(header.0, header.1)
        .json(&login_body(&ws.owner_email, OWNER_PASSWORD, &ws.slug))
        .expect(200)
        .await
        .json["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The address the session list records for the caller's own session.
async fn session_ip(app: &TestApp, access: &str) -> String {
    let listed = app
        .get("/api/v1/auth/sessions")
        .key(access)
        .expect(200)
        .await
        .json;
    let current: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["current"] == true)
        .collect();
    current[0]["ip"].as_str().unwrap_or_default().to_owned()
}

/// The addresses of the audit entries with this action, newest first; failed sign-ins are
/// recorded after the answer, so this waits a little for them.
async fn audit_ips(app: &TestApp, ws: &Workspace, action: &str, at_least: usize) -> Vec<String> {
    for _ in 0..50 {
        let list = app
            .get(&format!("/api/v1/audit?action={action}"))
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["ip"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>();
        if list.len() >= at_least {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {at_least} audit entries {action}");
}

/// Spends the sign-in budget of whatever address the server sees, with failed sign-ins of
/// unknown accounts, each with `header`; returns the statuses.
async fn failed_sign_ins(app: &TestApp, n: usize, header: impl Fn(usize) -> String) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..n {
        let body = login_body(&format!("visitor{i}@example.com"), "x", "nowhere");
        statuses.push(
            app.post("/api/v1/auth/login")
                .header("x-forwarded-for", &header(i))
                .json(&body)
                .send()
                .await
                .status,
        );
    }
    statuses
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget_and_is_recorded() {
    let app = TestApp::spawn_with(layer(&["127.0.0.1/32"])).await;
    let ws = app.workspace("proxied").await;

    // Client A: a wrong password (recorded), then unknown accounts until its budget is spent.
    app.post("/api/v1/auth/login")
        .header("x-forwarded-for", "203.0.113.10")
        .json(&login_body(&ws.owner_email, "not the password", &ws.slug))
        .expect(401)
        .await;
    let statuses = failed_sign_ins(&app, 10, |_| "203.0.113.10".to_owned()).await;
    assert!(statuses[..9].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[9], 429, "client A's budget is spent: {statuses:?}");

    // Client B, through the same proxy, still has its own budget.
    let access = sign_in_with(&app, &ws, ("x-forwarded-for", "198.51.100.20")).await;
    assert_eq!(session_ip(&app, &access).await, "198.51.100.20");
    let signed_in = audit_ips(&app, &ws, "auth.sign_in", 1).await;
    assert_eq!(signed_in[0], "198.51.100.20");
    let failed = audit_ips(&app, &ws, "auth.sign_in_failed", 1).await;
    assert_eq!(failed[0], "203.0.113.10");

    // The left part of X-Forwarded-For is the client's own claim; the proxy's append counts.
    let access = sign_in_with(
        &app,
        &ws,
        ("x-forwarded-for", "10.9.9.9, 198.51.100.21, 127.0.0.1"),
    )
    .await;
    assert_eq!(session_ip(&app, &access).await, "198.51.100.21");
    // RFC 7239, with a quoted IPv6 address and port.
    let access = sign_in_with(&app, &ws, ("forwarded", "for=\"[2001:db8::7]:4711\"")).await;
    assert_eq!(session_ip(&app, &access).await, "2001:db8::7");
    // A header the trusted proxy sent that cannot be read: the proxy itself is the client.
    let access = sign_in_with(&app, &ws, ("x-forwarded-for", "not-an-address")).await;
    assert_eq!(session_ip(&app, &access).await, "127.0.0.1");

    // X-Forwarded-Proto from the trusted proxy: HSTS only where the client used https.
    let plain = app
        .get("/healthz")
        .header("x-forwarded-proto", "http")
        .expect(200)
        .await;
    assert_eq!(plain.header("strict-transport-security"), None);
    let tls = app
        .get("/healthz")
        .header("x-forwarded-proto", "https")
        .expect(200)
        .await;
    assert!(tls.header("strict-transport-security").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_proxy_that_writes_x_forwarded_for_the_clients_own_forwarded_header_chooses_nothing()
 {
    // nginx, HAProxy, Traefik and Caddy write X-Forwarded-For and pass a client's `Forwarded`
    // header through untouched: the client must not pick its address with it.
    let app = TestApp::spawn_with(layer(&["127.0.0.1/32"])).await;
    let ws = app.workspace("proxied-spoof").await;

    let access = app
        .post("/api/v1/auth/login")
        .header("x-forwarded-for", "198.51.100.41")
        .header("forwarded", "for=192.0.2.99")
        .json(&login_body(&ws.owner_email, OWNER_PASSWORD, &ws.slug))
        .expect(200)
        .await
        .json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(session_ip(&app, &access).await, "192.0.2.99");
    let signed_in = audit_ips(&app, &ws, "auth.sign_in", 1).await;
    assert_ne!(signed_in[0], "192.0.2.99");

    // One attacker (the proxy appends its real address) with a new made-up `Forwarded` on
    // every attempt: still one budget.
    let mut statuses = Vec::new();
    for i in 0..10 {
        let body = login_body(&format!("guess{i}@example.com"), "x", "nowhere");
        statuses.push(
            app.post("/api/v1/auth/login")
                .header("x-forwarded-for", "203.0.113.40")
                .header("forwarded", &format!("for=192.0.2.{}", i + 1))
                .json(&body)
                .send()
                .await
                .status,
        );
    }
    assert!(statuses[..9].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(
        statuses[9], 429,
        "the attacker's budget is spent: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_trusted_proxies_a_spoofed_forwarding_header_changes_nothing() {
    let app = TestApp::spawn_with(layer(&[])).await;
    let ws = app.workspace("unproxied").await;

    let access = sign_in_with(&app, &ws, ("x-forwarded-for", "198.51.100.30")).await;
    assert_eq!(session_ip(&app, &access).await, "127.0.0.1");
    let access = sign_in_with(&app, &ws, ("forwarded", "for=198.51.100.31")).await;
    assert_eq!(session_ip(&app, &access).await, "127.0.0.1");
    let signed_in = audit_ips(&app, &ws, "auth.sign_in", 2).await;
    assert!(
        signed_in.iter().all(|ip| ip == "127.0.0.1"),
        "{signed_in:?}"
    );

    // A new made-up address on every attempt: still one budget, the peer's.
    let statuses = failed_sign_ins(&app, 9, |i| format!("203.0.113.{}", i + 1)).await;
    assert!(statuses[..8].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[8], 429, "{statuses:?}");

    // HSTS as configured: a client's X-Forwarded-Proto is not believed either.
    let plain = app
        .get("/healthz")
        .header("x-forwarded-proto", "http")
        .expect(200)
        .await;
    assert!(plain.header("strict-transport-security").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_widget_limits_each_forwarded_client_and_only_behind_a_trusted_proxy() {
    use crate::widget::{enable, form_token, layer as widget_layer, submit};
    for trusted in [true, false] {
        let app = TestApp::spawn_with(Layer {
            widget_rate_limit_per_ip: Some(2),
            trusted_proxies: Some(if trusted {
                vec!["127.0.0.1/32".to_owned()]
            } else {
                Vec::new()
            }),
            ..widget_layer()
        })
        .await;
        let ws = app.workspace("proxied-widget").await;
        let key = enable(&app, &ws, &["https://shop.example.com"]).await;
        let token = form_token(&app, &key).await;
        let body = json!({"message": "hello", "form_token": token});
        for _ in 0..2 {
            submit(&app, &key, &body)
                .header("x-forwarded-for", "203.0.113.50")
                .expect(201)
                .await;
        }
        submit(&app, &key, &body)
            .header("x-forwarded-for", "203.0.113.50")
            .expect(429)
            .await;
        // Another visitor: its own budget behind the proxy; a made-up header otherwise.
        let other = submit(&app, &key, &body)
            .header("x-forwarded-for", "198.51.100.60")
            .send()
            .await;
        assert_eq!(
            other.status,
            if trusted { 201 } else { 429 },
            "{}",
            other.text
        );
    }
}

/// The class of mistake behind one shared budget: code reading the TCP peer itself. Only the
/// edge may (it decides the client address once); everything else reads `ClientAddr`.
#[test]
fn only_the_edge_reads_the_tcp_peer() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src.clone()];
    let mut readers = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("ConnectInfo") {
                    readers.push(path.strip_prefix(&src).unwrap().display().to_string());
                }
            }
        }
    }
    readers.sort();
    assert_eq!(
        readers,
        ["edge.rs"],
        "only the edge may read ConnectInfo; use crate::extract::client_addr / ClientInfo"
    );
}
