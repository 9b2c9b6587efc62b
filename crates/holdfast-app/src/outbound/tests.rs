//! Real servers on 127.0.0.1:0; every request the guard should stop is counted as a hit if it
//! gets through.

use super::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap as AxumHeaders, Method as AxumMethod, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use holdfast_core::netguard::Allowlist;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// `/` says hello; `/echo` answers "METHOD body"; `/headers` lists the request's header names;
/// `/r/{code}?to=URL` redirects; `/loop` redirects to itself; `/big` sends 100 KiB; `/slow`
/// answers after five seconds; `/json` sends a small document.
async fn handle(
    State(hits): State<Arc<AtomicUsize>>,
    method: AxumMethod,
    uri: Uri,
    headers: AxumHeaders,
    body: Bytes,
) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let path = uri.path();
    let query = uri.query().unwrap_or_default();
    if let Some(code) = path.strip_prefix("/r/") {
        let to = query.strip_prefix("to=").unwrap_or_default();
        let status = StatusCode::from_u16(code.parse().unwrap()).unwrap();
        return (status, [("location", to.to_owned())]).into_response();
    }
    match path {
        "/" => "hello".into_response(),
        "/echo" => format!("{method} {}", String::from_utf8_lossy(&body)).into_response(),
        "/headers" => {
            let mut names: Vec<_> = headers.keys().map(|n| n.as_str().to_owned()).collect();
            names.sort();
            names.join(",").into_response()
        }
        "/loop" => (StatusCode::TEMPORARY_REDIRECT, [("location", "/loop")]).into_response(),
        "/big" => vec![b'x'; 100 * 1024].into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late".into_response()
        }
        "/json" => ([("content-type", "application/json")], r#"{"answer":42}"#).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn server() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&hits));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server { port, hits }
}

fn client(allow: &[&str], limits: Limits) -> SafeClient {
    let entries: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
    SafeClient::new(Arc::new(Allowlist::parse(&entries).unwrap()), limits)
}

fn loopback_client() -> SafeClient {
    client(&["127.0.0.1/32"], Limits::default())
}

fn class_of(result: Result<impl std::fmt::Debug, OutboundError>) -> Blocked {
    match result {
        Err(OutboundError::Blocked { class, .. }) => class,
        other => panic!("expected Blocked, got {other:?}"),
    }
}

#[test]
fn the_client_builds_with_the_single_crypto_provider() {
    // Building configures rustls; with two providers compiled in this would fail.
    assert!(
        SafeClient::new(Arc::default(), Limits::default())
            .http
            .is_some()
    );
}

#[tokio::test]
async fn internal_addresses_are_refused_by_default_and_nothing_reaches_the_server() {
    let s = server().await;
    let p = s.port;
    let guarded = client(&[], Limits::default());
    for (url, expected) in [
        (format!("http://127.0.0.1:{p}/"), Blocked::Loopback),
        ("http://10.0.0.1/".to_owned(), Blocked::Private),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            Blocked::CloudMetadata,
        ),
        (format!("http://[::1]:{p}/"), Blocked::Loopback),
        // Decimal and hex-with-short-form spellings of 127.0.0.1.
        (format!("http://2130706433:{p}/"), Blocked::Loopback),
        (format!("http://0x7f.1:{p}/"), Blocked::Loopback),
        // A name: refused only after resolution, which proves the post-DNS check.
        (format!("http://localhost:{p}/"), Blocked::Loopback),
        (format!("http://[::ffff:127.0.0.1]:{p}/"), Blocked::Loopback),
        (format!("https://127.0.0.1:{p}/"), Blocked::Loopback),
    ] {
        let sent = guarded.send(OutboundRequest::get(&url)).await;
        assert_eq!(class_of(sent), expected, "send {url}");
        let checked = guarded.check_url(&url).await;
        assert_eq!(class_of(checked), expected, "check_url {url}");
    }
    assert_eq!(s.hits(), 0);
}

#[tokio::test]
async fn an_allowed_address_is_reached() {
    let s = server().await;
    let c = loopback_client();
    c.check_url(&s.url("/")).await.unwrap();
    let r = c.send(OutboundRequest::get(s.url("/"))).await.unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    assert!(!r.truncated);
    assert_eq!(r.final_url, s.url("/"));
    assert!(r.header("Content-Length").is_some());
    // A name that resolves to an allowed address (and to ::1, which is dropped) works too.
    let by_name = format!("http://localhost:{}/", s.port);
    let r = c.send(OutboundRequest::get(by_name)).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(s.hits(), 2);
}

#[tokio::test]
async fn redirects_to_refused_addresses_are_blocked() {
    let s = server().await;
    let c = loopback_client();
    for (to, expected) in [
        (format!("http://127.0.0.2:{}/", s.port), Blocked::Loopback),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            Blocked::CloudMetadata,
        ),
        ("http://10.0.0.1/".to_owned(), Blocked::Private),
        (format!("http://[::1]:{}/", s.port), Blocked::Loopback),
    ] {
        for code in [302, 307] {
            let url = s.url(&format!("/r/{code}?to={to}"));
            let sent = c.send(OutboundRequest::post(url, b"x".to_vec())).await;
            assert_eq!(class_of(sent), expected, "{code} to {to}");
        }
    }
    // Only the redirecting requests arrived.
    assert_eq!(s.hits(), 8);
}

#[tokio::test]
async fn a_307_keeps_method_and_body_and_a_303_becomes_a_get() {
    let s = server().await;
    let c = loopback_client();
    let to = s.url("/echo");
    for (code, expected) in [
        (307, "POST payload"),
        (308, "POST payload"),
        (303, "GET "),
        (301, "GET "),
    ] {
        let url = s.url(&format!("/r/{code}?to={to}"));
        let r = c
            .send(OutboundRequest::post(url, b"payload".to_vec()))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(String::from_utf8_lossy(&r.body), expected, "{code}");
        assert_eq!(r.final_url, to);
    }
    // Relative locations resolve against the current URL.
    let r = c
        .send(OutboundRequest {
            method: Method::PUT,
            ..OutboundRequest::post(s.url("/r/307?to=/echo"), b"p".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&r.body), "PUT p");
}

#[tokio::test]
async fn keeping_the_method_follows_only_307_and_308() {
    let s = server().await;
    let c = client(
        &["127.0.0.1"],
        Limits {
            keep_method: true,
            ..Limits::default()
        },
    );
    let to = s.url("/echo");
    for code in [301_u16, 302, 303] {
        let url = s.url(&format!("/r/{code}?to={to}"));
        let r = c
            .send(OutboundRequest::post(url, b"payload".to_vec()))
            .await
            .unwrap();
        assert_eq!(r.status, code, "a {code} is the answer, not followed");
    }
    let url = s.url(&format!("/r/308?to={to}"));
    let r = c
        .send(OutboundRequest::post(url, b"payload".to_vec()))
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&r.body), "POST payload");
}

#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let s = server().await;
    let c = loopback_client();
    let same = s.url("/r/307?to=/headers");
    let other = s.url(&format!("/r/307?to=http://localhost:{}/headers", s.port));
    let request = |url: String| {
        OutboundRequest::get(url)
            .header("Authorization", "Bearer secret")
            .header("X-Trace", "1")
    };
    let r = c.send(request(same)).await.unwrap();
    let names = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        names.contains("authorization") && names.contains("x-trace"),
        "{names}"
    );
    let r = c.send(request(other)).await.unwrap();
    let names = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        !names.contains("authorization") && names.contains("x-trace"),
        "{names}"
    );
}

#[tokio::test]
async fn redirect_loops_stop_at_max_redirects() {
    let s = server().await;
    let c = loopback_client();
    let e = c
        .send(OutboundRequest::get(s.url("/loop")))
        .await
        .unwrap_err();
    assert!(
        matches!(e, OutboundError::TooManyRedirects { max: 3, .. }),
        "{e:?}"
    );
    assert_eq!(s.hits(), 4);
    let none = client(
        &["127.0.0.1"],
        Limits {
            max_redirects: 0,
            ..Limits::default()
        },
    );
    let e = none.send(OutboundRequest::get(s.url("/loop"))).await;
    assert!(matches!(e, Err(OutboundError::TooManyRedirects { .. })));
}

#[tokio::test]
async fn an_oversized_body_is_cut_at_the_cap() {
    let s = server().await;
    let c = client(
        &["127.0.0.1"],
        Limits {
            max_response_bytes: 1024,
            ..Limits::default()
        },
    );
    let r = c.send(OutboundRequest::get(s.url("/big"))).await.unwrap();
    assert_eq!(r.body.len(), 1024);
    assert!(r.truncated);
    let e = c.get_json::<serde_json::Value>(&s.url("/big")).await;
    assert!(matches!(e, Err(OutboundError::TooLarge { max: 1024, .. })));
}

#[tokio::test]
async fn a_slow_server_hits_the_total_timeout() {
    let s = server().await;
    let c = client(
        &["127.0.0.1"],
        Limits {
            total_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
    );
    let started = std::time::Instant::now();
    let e = c
        .send(OutboundRequest::get(s.url("/slow")))
        .await
        .unwrap_err();
    assert!(matches!(e, OutboundError::Timeout { .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn only_http_urls_without_credentials_are_valid() {
    let c = loopback_client();
    for url in [
        "ftp://example.com/file",
        "http://user:pass@example.com/",
        "http://user:hunter2@127.0.0.1/",
        "http://user@example.com/",
        "file:///etc/passwd",
        "not a url",
        "/relative",
    ] {
        let sent = c.send(OutboundRequest::get(url)).await;
        assert!(matches!(sent, Err(OutboundError::InvalidUrl(_))), "{url}");
        let checked = c.check_url(url).await.unwrap_err();
        assert!(matches!(checked, OutboundError::InvalidUrl(_)), "{url}");
        assert!(!checked.to_string().contains("hunter2"), "{checked}");
    }
}

#[tokio::test]
async fn errors_and_debug_output_keep_paths_queries_and_header_values_out() {
    let c = client(&[], Limits::default());
    let url = "http://10.0.0.1:8080/hooks/T0SECRETPATH?token=s3cr3t&sig=abc";
    let e = c.check_url(url).await.unwrap_err();
    let shown = e.to_string();
    assert_eq!(
        shown,
        "10.0.0.1:8080 is not allowed: it is a private-network address, and outbound requests go only to public addresses"
    );
    let request = OutboundRequest::post(url, b"body-secret".to_vec())
        .header("Authorization", "Bearer hdr-secret");
    let e = c.send(request.clone()).await.unwrap_err();
    let debug = format!("{e:?} {e} {request:?}");
    for secret in ["s3cr3t", "SECRETPATH", "hdr-secret", "body-secret"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[tokio::test]
async fn json_comes_from_a_2xx_answer_only() {
    let s = server().await;
    let c = loopback_client();
    let v: serde_json::Value = c.get_json(&s.url("/json")).await.unwrap();
    assert_eq!(v["answer"], 42);
    let e = c.get_json::<serde_json::Value>(&s.url("/missing")).await;
    assert!(matches!(e, Err(OutboundError::Status { status: 404, .. })));
    let e = c.get_json::<serde_json::Value>(&s.url("/")).await;
    assert!(matches!(e, Err(OutboundError::BadJson { .. })));
}

#[tokio::test]
async fn invalid_header_names_are_refused_before_sending() {
    let s = server().await;
    let c = loopback_client();
    let e = c
        .send(OutboundRequest::get(s.url("/")).header("bad header", "v"))
        .await;
    assert!(matches!(e, Err(OutboundError::InvalidRequest(_))));
    assert_eq!(s.hits(), 0);
}
