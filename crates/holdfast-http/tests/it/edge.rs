//! The HTTP edge: security headers on every response, request ids, CORS, limits, timeouts,
//! panics and rate limits, all answered as problem+json.

use axum::routing::get;
use holdfast_core::clock::SystemClock;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{Method, Resp, TestApp};
use std::sync::Arc;
use std::time::Duration;

fn assert_security_headers(r: &Resp, label: &str) {
    for (name, expected) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        assert_eq!(r.header(name), Some(expected), "{label}: {name}");
    }
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{label}: csp {csp}"
    );
    assert!(
        r.header("permissions-policy")
            .is_some_and(|p| p.contains("camera=()")),
        "{label}"
    );
    assert!(r.header("x-request-id").is_some(), "{label}: request id");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_carries_security_headers_errors_included() {
    let app = TestApp::spawn_with(Layer {
        body_limit_bytes: Some(4096),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("headers").await;
    let responses = [
        ("200", app.get("/healthz").expect(200).await),
        (
            "201",
            app.post("/api/v1/contacts")
                .key(&ws.admin_key)
                .json(&serde_json::json!({"name": "H"}))
                .expect(201)
                .await,
        ),
        ("401", app.get("/api/v1/contacts").expect(401).await),
        ("404", app.get("/no/such/route").expect(404).await),
        (
            "405",
            app.call(Method::PUT, "/api/v1/contacts").expect(405).await,
        ),
        (
            "413",
            app.post("/api/v1/contacts")
                .key(&ws.admin_key)
                .body("application/json", vec![b' '; 8 * 1024])
                .expect(413)
                .await,
        ),
    ];
    for (label, r) in &responses {
        assert_security_headers(r, label);
        assert!(
            r.header("strict-transport-security").is_none(),
            "no HSTS over plain HTTP by default"
        );
    }
    responses[3].1.problem("HF-REQ-005");
    let r405 = &responses[4].1;
    r405.problem("HF-REQ-006");
    assert!(
        r405.header("allow")
            .is_some_and(|a| a.contains("GET") && a.contains("POST"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hsts_is_sent_when_configured() {
    let app = TestApp::spawn_with(Layer {
        hsts: Some(true),
        ..Layer::default()
    })
    .await;
    for r in [
        app.get("/healthz").expect(200).await,
        app.get("/nope").expect(404).await,
    ] {
        let hsts = r.header("strict-transport-security").unwrap();
        let max_age: u64 = hsts
            .split(';')
            .next()
            .unwrap()
            .trim()
            .trim_start_matches("max-age=")
            .parse()
            .unwrap();
        assert!(
            max_age >= 2 * 365 * 24 * 3600 && hsts.contains("includeSubDomains"),
            "{hsts}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_are_accepted_when_plain_and_replaced_otherwise() {
    let app = TestApp::spawn().await;
    let r = app
        .get("/api/v1/contacts")
        .header("x-request-id", "trace-123.abc")
        .expect(401)
        .await;
    assert_eq!(r.header("x-request-id"), Some("trace-123.abc"));
    assert_eq!(
        r.json["request_id"], "trace-123.abc",
        "the problem body names the request id"
    );
    let r = app
        .get("/healthz")
        .header("x-request-id", "bad id <script>")
        .expect(200)
        .await;
    let id = r.header("x-request-id").unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_denies_by_default_and_allows_configured_origins() {
    let app = TestApp::spawn().await;
    let r = app
        .get("/healthz")
        .header("origin", "https://evil.example")
        .expect(200)
        .await;
    assert!(r.header("access-control-allow-origin").is_none());

    let app = TestApp::spawn_with(Layer {
        cors_allowed_origins: Some(vec!["https://app.example.com".into()]),
        ..Layer::default()
    })
    .await;
    let ok = app
        .call(Method::OPTIONS, "/api/v1/contacts")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let denied = app
        .get("/healthz")
        .header("origin", "https://evil.example")
        .expect(200)
        .await;
    assert!(denied.header("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn panics_and_timeouts_become_problems_without_internals() {
    let app = TestApp::spawn_custom(
        Layer {
            request_timeout_ms: Some(300),
            ..Layer::default()
        },
        Arc::new(SystemClock),
        |router| {
            router
                .route(
                    "/test/panic",
                    get(|| async {
                        if true {
                            panic!("secret internal detail /etc/passwd")
                        } else {
                            ""
                        }
                    }),
                )
                .route(
                    "/test/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        "late"
                    }),
                )
        },
    )
    .await;
    let r = app.get("/test/panic").expect(500).await;
    r.problem("HF-SRV-001");
    assert!(
        !r.text.contains("secret internal") && !r.text.contains("passwd"),
        "{}",
        r.text
    );
    assert_security_headers(&r, "500");
    let r = app.get("/test/slow").expect(503).await;
    r.problem("HF-SRV-002");
    app.get("/healthz").expect(200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn public_routes_are_rate_limited_per_client() {
    let app = TestApp::spawn_with(Layer {
        public_rate_limit_per_minute: Some(20),
        ..Layer::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.get("/.well-known/security.txt").send().await);
    }
    assert_eq!(statuses[0].status, 200);
    let limited = statuses
        .iter()
        .find(|r| r.status == 429)
        .expect("a burst beyond the limit is refused");
    limited.problem("HF-RATE-001");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_security_headers(limited, "429");
    app.get("/healthz").expect(200).await;
}
