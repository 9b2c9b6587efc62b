//! A webhook receiver for tests: a real HTTP server on `127.0.0.1` that records every request
//! (method, path, headers, body) and answers with a status the test can change. It can go
//! down (its port closed, so connections are refused) and come back up on the same address.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Captured {
    pub path: String,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Captured>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    location: Arc<Mutex<Option<String>>>,
}

pub struct Receiver {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    addr: SocketAddr,
    shared: Shared,
    server: Mutex<Option<Server>>,
}

/// The running server: stopped gracefully, which also closes idle kept-alive connections, so
/// a client's pooled connection cannot reach a receiver that is down.
struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

fn serve(listener: tokio::net::TcpListener, shared: Shared) -> Server {
    let app = axum::Router::new().fallback(record).with_state(shared);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Server { stop, task }
}

async fn record(
    State(s): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let delay = s.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let captured = Captured {
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    s.seen.lock().unwrap().push(captured);
    let status = StatusCode::from_u16(s.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
    match s.location.lock().unwrap().clone() {
        Some(location) => (status, [("location", location)]).into_response(),
        None => (status, "received").into_response(),
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Shared {
            seen: Arc::default(),
            status: Arc::new(AtomicU16::new(204)),
            delay_ms: Arc::default(),
            location: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = serve(listener, shared.clone());
        Receiver {
            base: format!("http://{addr}"),
            addr,
            shared,
            server: Mutex::new(Some(server)),
        }
    }

    /// Closes the port: from now on connections are refused (an outage). Waits until every
    /// open connection is closed.
    pub async fn down(&self) {
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            let _ = server.stop.send(());
            let mut task = server.task;
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    /// Listens again on the same address (after [`Receiver::down`]).
    pub async fn up(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot listen on {} again: {e}",
                        self.addr
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let server = serve(listener, self.shared.clone());
        *self.server.lock().unwrap() = Some(server);
    }

    /// The status every following request is answered with.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Answers every following request with `status` and `Location: location`.
    pub fn redirect(&self, status: u16, location: &str) {
        *self.shared.location.lock().unwrap() = Some(location.to_owned());
        self.answer(status);
    }

    /// Delays every following answer.
    pub fn delay(&self, delay: Duration) {
        self.shared.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Captured> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.requests();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} webhook request(s) within {timeout:?}, got {}",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.task.abort();
        }
    }
}
