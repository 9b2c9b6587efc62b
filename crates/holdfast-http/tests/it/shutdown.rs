//! Graceful shutdown: once asked to stop, the server accepts no new work but finishes the
//! requests it has already begun.

use holdfast_core::clock::SystemClock;
use holdfast_http::AppState;
use holdfast_testkit::TestApp;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_drains_a_request_already_in_flight() {
    let fixture = TestApp::spawn().await;
    let ws = fixture.workspace("drain").await;
    let state = AppState::new(
        fixture.db.clone(),
        fixture.config.clone(),
        Arc::new(SystemClock),
        &fixture.master_key(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(holdfast_http::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let body = br#"{"name": "Arrived during shutdown"}"#;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/contacts HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        ws.admin_key,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !server.is_finished(),
        "the server waits for the request in flight"
    );

    stream.write_all(&body[10..]).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let listed = fixture
        .get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        listed.json["data"][0]["name"], "Arrived during shutdown",
        "the drained write was committed"
    );
}
