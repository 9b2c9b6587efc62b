//! Operations endpoints and the OpenAPI document.

use holdfast_http::route_table;
use holdfast_testkit::TestApp;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_security_txt() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").expect(200).await.json["status"], "ok");
    // Its documented shape, always: the warnings list is there, empty when all is well.
    let ready = app.get("/readyz").expect(200).await.json;
    assert_eq!(
        ready,
        serde_json::json!({"status": "ready", "warnings": []})
    );
    let txt = app.get("/.well-known/security.txt").expect(200).await;
    assert!(
        txt.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        txt.text.contains("Contact: mailto:security@localhost"),
        "{}",
        txt.text
    );
    let expires = txt
        .text
        .lines()
        .find_map(|l| l.strip_prefix("Expires: "))
        .unwrap();
    assert!(
        expires.ends_with('Z') && expires.len() == 20,
        "RFC 3339 UTC: {expires}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("metrics").await;
    let id = crate::contact(&app, &ws, serde_json::json!({"name": "M"})).await;
    app.get(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    app.get("/api/v1/contacts/ct_00000000000000000000000000000000")
        .key(&ws.admin_key)
        .expect(404)
        .await;
    let m = app.get("/metrics").expect(200).await.text;
    assert!(m.contains(r#"holdfast_http_requests_total{method="GET",route="/api/v1/contacts/{id}",status="200"} 1"#), "{m}");
    assert!(
        m.contains(r#"route="/api/v1/contacts/{id}",status="404"} 1"#),
        "{m}"
    );
    assert!(!m.contains(&id), "raw ids never become labels");
    assert!(m.contains(
        "holdfast_http_request_duration_seconds_bucket{route=\"/api/v1/contacts\",le=\"+Inf\"}"
    ));
    assert!(m.contains("holdfast_db_pool_connections{state=\"idle\"}"));
    assert!(m.contains("holdfast_db_pool_max_connections 16"));
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_documents_every_route_in_the_table() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/v1/openapi.json").expect(200).await.json;
    assert_eq!(doc["openapi"], "3.1.0");
    for spec in route_table().specs() {
        let op = &doc["paths"][spec.path][spec.method.as_str().to_lowercase()];
        if spec.doc.page {
            // Console pages are HTML for people, not part of the API.
            assert!(
                op.is_null(),
                "{} {} is a page, yet documented",
                spec.method,
                spec.path
            );
            continue;
        }
        assert!(
            op.is_object(),
            "{} {} missing from the OpenAPI document",
            spec.method,
            spec.path
        );
        assert!(op["responses"].is_object() && op["summary"].is_string());
        // Public routes, signature-guarded receivers and the website widget's routes (locked
        // to the workspace's origins) need no credential.
        let public = spec.guard.is_public()
            || spec.guard == holdfast_http::Guard::Signed
            || spec.guard == holdfast_http::Guard::Billing
            || matches!(spec.guard, holdfast_http::Guard::Widget { .. });
        assert_eq!(
            op["security"].as_array().unwrap().is_empty(),
            public,
            "{} security",
            spec.path
        );
    }
    // Every $ref resolves to a component schema.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
    let contact_in: &Value = &schemas["ContactIn"];
    assert_eq!(
        contact_in["additionalProperties"], false,
        "unknown fields are documented as refused"
    );
}

const METRICS_TOKEN: &str = "metrics-token-4f0c2d9e8b7a6f5e4d3c2b1a09f8e7d6";

#[tokio::test(flavor = "multi_thread")]
async fn metrics_behind_a_token_answer_only_the_right_bearer() {
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        metrics_token: Some(METRICS_TOKEN.into()),
        ..Default::default()
    })
    .await;
    let none = app.get("/metrics").expect(401).await;
    none.problem("HF-AUTH-001");
    assert!(none.header("www-authenticate").is_some());
    for wrong in [
        format!("Bearer {METRICS_TOKEN}x"),
        format!("Bearer {}", &METRICS_TOKEN[..METRICS_TOKEN.len() - 1]),
        "Bearer ".to_owned(),
        format!("Basic {METRICS_TOKEN}"),
        METRICS_TOKEN.to_owned(),
    ] {
        let r = app
            .get("/metrics")
            .header("authorization", &wrong)
            .expect(401)
            .await;
        assert!(!r.text.contains("holdfast_http_requests_total"), "{wrong}");
    }
    let ok = app
        .get("/metrics")
        .header("authorization", &format!("Bearer {METRICS_TOKEN}"))
        .expect(200)
        .await;
    assert!(
        ok.text.contains("holdfast_http_requests_total"),
        "{}",
        ok.text
    );
    // The scheme name is case-insensitive (RFC 7235), as on every other route.
    app.get("/metrics")
        .header("authorization", &format!("bearer {METRICS_TOKEN}"))
        .expect(200)
        .await;
    // Unset (the default), the endpoint stays open as before.
    TestApp::spawn().await.get("/metrics").expect(200).await;
}

#[test]
fn a_short_metrics_token_is_refused_at_start() {
    let e = holdfast_core::ops::config::Config::resolve([holdfast_core::ops::config::Layer {
        metrics_token: Some("short".into()),
        ..Default::default()
    }])
    .unwrap_err();
    assert!(e.to_string().contains("HOLDFAST_METRICS_TOKEN"), "{e}");
}
