//! The general API budget per credential, and limits shared through Redis by several instances.

use holdfast_core::access::policy::BuiltinRole;
use holdfast_core::clock::SystemClock;
use holdfast_core::ops::config::Layer;
use holdfast_http::AppState;
use holdfast_testkit::TestApp;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn each_credential_has_its_own_api_budget() {
    let app = TestApp::spawn_with(Layer {
        api_rate_limit_per_minute: Some(60),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("budget").await;
    let other_key = app.key(&ws.slug, BuiltinRole::Viewer).await;
    for n in 0..10 {
        assert_eq!(
            app.get("/api/v1/contacts")
                .key(&ws.admin_key)
                .send()
                .await
                .status,
            200,
            "request {n} of the burst"
        );
    }
    let r = app
        .get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(429)
        .await;
    r.problem("HF-RATE-001");
    assert!(r.header("retry-after").is_some());
    app.get("/api/v1/contacts")
        .key(&other_key)
        .expect(200)
        .await;
    let user = app.login(&ws).await;
    app.get("/api/v1/contacts")
        .key(user["access_token"].as_str().unwrap())
        .expect(200)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_sharing_redis_share_one_budget() {
    let Ok(redis_url) = std::env::var("HOLDFAST_TEST_REDIS_URL") else {
        eprintln!("Redis test skipped: set HOLDFAST_TEST_REDIS_URL (CI does)");
        return;
    };
    let layer = Layer {
        api_rate_limit_per_minute: Some(60),
        redis_url: Some(redis_url),
        ..Layer::default()
    };
    let first = TestApp::spawn_with(layer).await;
    let ws = first.workspace("shared").await;

    // A second instance over the same database and the same Redis.
    let state = AppState::new(
        first.db.clone(),
        first.config.clone(),
        Arc::new(SystemClock),
        &first.master_key(),
    )
    .await
    .unwrap()
    .connect_services()
    .await
    .unwrap();
    assert!(state.limits_are_shared());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(holdfast_http::serve(
        listener,
        state,
        std::future::pending(),
    ));

    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for n in 0..12 {
        let base = if n % 2 == 0 {
            first.base.as_str()
        } else {
            second.as_str()
        };
        let r = http
            .get(format!("{base}/api/v1/contacts"))
            .bearer_auth(&ws.admin_key)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[200; 10], "{statuses:?}");
    assert_eq!(
        &statuses[10..],
        &[429, 429],
        "the burst of 10 is shared, not 10 per instance: {statuses:?}"
    );
}
