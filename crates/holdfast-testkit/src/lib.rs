//! Holdfast's test kit: boots the whole application on `127.0.0.1:0` with a temporary SQLite
//! database, or PostgreSQL when `HOLDFAST_TEST_DATABASE_URL` is set, and hands back a client
//! whose calls state the status they expect. Test-only: panics on setup failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod oidc;
pub mod payments;
pub mod python;
pub mod receiver;
mod smtp;
pub mod sse;
pub use smtp::{SmtpMessage, SmtpSink, mail_header};

use holdfast_core::access::policy::{BuiltinRole, Role};
use holdfast_core::clock::{ManualClock, SharedClock, SystemClock};
use holdfast_core::ops::config::{Config, Layer};
use holdfast_core::redact::RedactingMakeWriter;
use holdfast_http::AppState;
use holdfast_store::{Db, ops::admin};
use serde_json::Value;
use std::sync::{Arc, Mutex, OnceLock};

pub use reqwest::Method;

/// The database URL tests run against, if PostgreSQL was asked for.
pub fn postgres_url() -> Option<String> {
    std::env::var("HOLDFAST_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The master key of every server on the shared PostgreSQL test database (one deployment, as
/// many instances and test binaries as run): the database records which key its secrets are
/// sealed under and refuses another. A database of its own (SQLite, a fresh schema) gets a
/// random key instead.
pub const SHARED_TEST_MASTER_KEY_HEX: &str =
    "686f6c64666173742073686172656420746573742064617461626173652021ab";

fn shared_test_master_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&SHARED_TEST_MASTER_KEY_HEX[2 * i..2 * i + 2], 16).unwrap();
    }
    key
}

/// Every log line the test process wrote, after redaction.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_log_capture() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let writer = RedactingMakeWriter(move || BufferWriter(sink.clone()));
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .try_init();
        buffer
    });
}

pub fn captured_logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap()).into_owned())
        .unwrap_or_default()
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub config: Arc<Config>,
    pub http: reqwest::Client,
    /// Like a browser's address bar for console pages: a redirect is an answer to check (a
    /// page sends a stranger to sign-in), never followed.
    browser: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Stops the job worker (running unless the layer set `worker: Some(false)`).
    worker_stop: Option<tokio::sync::oneshot::Sender<()>>,
    worker_workspaces: Arc<std::sync::Mutex<Vec<String>>>,
    state: AppState,
    master_key: [u8; 32],
    _dir: Option<tempfile::TempDir>,
}

/// A workspace with an admin key and an owner who can sign in, made through the same admin
/// path operators use.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub slug: String,
    pub id: String,
    pub admin_key: String,
    pub owner_email: String,
}

/// Every test owner's password.
pub const OWNER_PASSWORD: &str = "testkit owner passphrase violin tram";

/// Argon2id of `OWNER_PASSWORD`, computed once per test process.
fn owner_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| holdfast_core::identity::password::hash(OWNER_PASSWORD).unwrap())
}

/// The first opaque token of kind `prefix` (`hfp`, `hfi` …) in a message: prefix, `_`, 43 characters.
pub fn find_token(text: &str, prefix: &str) -> String {
    let start = text
        .find(&format!("{prefix}_"))
        .unwrap_or_else(|| panic!("no {prefix}_ token in: {text}"));
    text[start..start + prefix.len() + 1 + 43].to_owned()
}

/// Decodes RFC 4648 base32 (an authenticator's secret, as enrolment shows it).
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in text.chars() {
        value = (value << 5) | ALPHABET.find(c).unwrap() as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((value >> bits) & 0xff) as u8);
        }
    }
    out
}

/// A port free on 127.0.0.1 a moment ago (for a peer that must know it before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Whether `url` is the shared PostgreSQL test database itself (not a fresh schema of it).
fn database_url_is_shared(url: &str) -> bool {
    postgres_url().is_some_and(|shared| shared == url)
}

/// A PostgreSQL URL like `url` whose connections work in a new, empty schema of that database
/// (for a test that needs an instance with no workspace while others share the database). The
/// schema stays until the test database is dropped.
pub async fn fresh_schema(url: &str) -> String {
    sqlx::any::install_default_drivers();
    let schema = format!("hf_alone_{:08x}", rand_u32());
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}options=-csearch_path%3D{schema}")
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand_u32())
}

fn rand_u32() -> u32 {
    rand::random()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Layer::default()).await
    }

    /// Boots with extra settings layered over the test defaults.
    pub async fn spawn_with(layer: Layer) -> TestApp {
        Self::spawn_custom(layer, Arc::new(SystemClock), |router| router).await
    }

    /// Boots with a clock and a way to add synthetic routes (for edge tests).
    pub async fn spawn_custom(
        layer: Layer,
        clock: SharedClock,
        extra: impl FnOnce(axum::Router<AppState>) -> axum::Router<AppState>,
    ) -> TestApp {
        Self::spawn_on(postgres_url(), layer, clock, extra).await
    }

    /// Boots on a database of its own where no workspace exists (a first run), on a
    /// `ManualClock` that starts at `start_ms`: SQLite's is always its own; on PostgreSQL, a
    /// fresh schema of the test database ([`fresh_schema`]).
    pub async fn spawn_first_run(start_ms: i64) -> (TestApp, ManualClock) {
        let clock = ManualClock::new(start_ms);
        let url = match postgres_url() {
            Some(url) => Some(fresh_schema(&url).await),
            None => None,
        };
        let app = Self::spawn_on(url, Layer::default(), Arc::new(clock.clone()), |r| r).await;
        (app, clock)
    }

    async fn spawn_on(
        database_url: Option<String>,
        layer: Layer,
        clock: SharedClock,
        extra: impl FnOnce(axum::Router<AppState>) -> axum::Router<AppState>,
    ) -> TestApp {
        install_log_capture();
        holdfast_app::outbound::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = Layer {
            data_dir: Some(dir.path().to_path_buf()),
            database_url,
            bind: Some(addr.to_string()),
            public_url: Some(format!("http://{addr}")),
            ..Layer::default()
        };
        let config = Config::resolve([base, layer]).unwrap();
        let db = Db::connect(&config.database_url, config.db_max_connections)
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let master_key: [u8; 32] = if database_url_is_shared(&config.database_url) {
            shared_test_master_key()
        } else {
            rand::random()
        };
        let mut app = Self::boot(listener, config, db, master_key, clock, extra).await;
        app._dir = Some(dir);
        app
    }

    /// Boots on a database of its own (SQLite's always is; on PostgreSQL, a fresh schema of
    /// the test database), on the system clock: for tests that read or restore the whole
    /// database, such as a backup's.
    pub async fn spawn_alone() -> TestApp {
        let url = match postgres_url() {
            Some(url) => Some(fresh_schema(&url).await),
            None => None,
        };
        Self::spawn_on(url, Layer::default(), Arc::new(SystemClock), |r| r).await
    }

    /// [`TestApp::spawn_alone`] with extra settings.
    pub async fn spawn_alone_with(layer: Layer) -> TestApp {
        let url = match postgres_url() {
            Some(url) => Some(fresh_schema(&url).await),
            None => None,
        };
        Self::spawn_on(url, layer, Arc::new(SystemClock), |r| r).await
    }

    /// [`TestApp::spawn_alone`] with extra settings, on a `ManualClock` that starts at
    /// `start_ms`.
    pub async fn spawn_alone_on_clock(layer: Layer, start_ms: i64) -> (TestApp, ManualClock) {
        let clock = ManualClock::new(start_ms);
        let url = match postgres_url() {
            Some(url) => Some(fresh_schema(&url).await),
            None => None,
        };
        let app = Self::spawn_on(url, layer, Arc::new(clock.clone()), |r| r).await;
        (app, clock)
    }

    /// The application behind the server (database, clock, keys), for calls a command would
    /// make in another process.
    pub fn app(&self) -> &holdfast_app::App {
        self.state.app()
    }

    /// The master key's bytes, for a second application built on this app's database.
    pub fn master_key(&self) -> [u8; 32] {
        self.master_key
    }

    /// The master key as `master.key` holds it (64 hex digits), for a second instance started
    /// on this app's data, such as a restored copy.
    pub fn master_key_hex(&self) -> String {
        self.master_key.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Boots with extra settings on a `ManualClock` that starts at `start_ms`, for tests that
    /// move time (expiry, lockouts, retries); returns the clock to move.
    pub async fn spawn_on_clock(layer: Layer, start_ms: i64) -> (TestApp, ManualClock) {
        let clock = ManualClock::new(start_ms);
        let app = Self::spawn_custom(layer, Arc::new(clock.clone()), |router| router).await;
        (app, clock)
    }

    /// A second server on this app's database, with the same master key and settings, as a
    /// second Holdfast process behind a load balancer would be: its own connection pool,
    /// address and job worker. The first app must outlive it (it owns the data directory).
    pub async fn another_instance(&self) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = (*self.config).clone();
        config.bind = addr;
        config.public_url = format!("http://{addr}");
        let db = Db::connect(&config.database_url, config.db_max_connections)
            .await
            .unwrap();
        let app = Self::boot(
            listener,
            config,
            db,
            self.master_key,
            Arc::new(SystemClock),
            |router| router,
        )
        .await;
        // Its worker serves the same workspaces.
        *app.worker_workspaces.lock().unwrap() = self.worker_workspaces.lock().unwrap().clone();
        app
    }

    async fn boot(
        listener: tokio::net::TcpListener,
        config: Config,
        db: Db,
        master_key: [u8; 32],
        clock: SharedClock,
        extra: impl FnOnce(axum::Router<AppState>) -> axum::Router<AppState>,
    ) -> TestApp {
        let addr = listener.local_addr().unwrap();
        let config = Arc::new(config);
        let state = AppState::new(db.clone(), config.clone(), clock, &master_key)
            .await
            .unwrap()
            .connect_services()
            .await
            .unwrap()
            .listen_for_notices()
            .await
            .unwrap();
        let (worker_tx, worker_rx) = tokio::sync::oneshot::channel::<()>();
        let worker_workspaces = Arc::new(std::sync::Mutex::new(Vec::new()));
        if config.worker {
            // Tests on PostgreSQL share one database: this app's worker takes only the jobs of
            // the workspaces this app made (their secrets are sealed with this app's key).
            let options = holdfast_app::worker::WorkerOptions {
                poll: std::time::Duration::from_millis(25),
                only_workspaces: Some(worker_workspaces.clone()),
                ..Default::default()
            };
            tokio::spawn(holdfast_app::worker::run(
                state.app().clone(),
                options,
                async move {
                    let _ = worker_rx.await;
                },
            ));
        }
        let router = holdfast_http::router(state.clone());
        let router = extra(axum::Router::new())
            .with_state(state.clone())
            .merge(router);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            holdfast_http::serve_router(listener, router, serving, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base: format!("http://{addr}"),
            db,
            config,
            http: reqwest::Client::new(),
            browser: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            shutdown: Some(tx),
            worker_stop: Some(worker_tx),
            worker_workspaces,
            state,
            master_key,
            _dir: None,
        }
    }

    /// Starts one more job worker on this app (as a second process would), stopped with
    /// the returned sender or when the test ends.
    pub fn extra_worker(&self) -> tokio::sync::oneshot::Sender<()> {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let options = holdfast_app::worker::WorkerOptions {
            poll: std::time::Duration::from_millis(25),
            only_workspaces: Some(self.worker_workspaces.clone()),
            ..Default::default()
        };
        tokio::spawn(holdfast_app::worker::run(
            self.state.app().clone(),
            options,
            async move {
                let _ = rx.await;
            },
        ));
        tx
    }

    /// Creates a workspace (owner with an Argon2id-hashed password) and an admin key.
    pub async fn workspace(&self, name: &str) -> Workspace {
        let slug = unique(name);
        let owner_email = format!("owner@{slug}.example.com");
        let created = admin::unscoped_create_workspace(
            &self.db,
            name,
            &slug,
            &owner_email,
            owner_hash(),
            now(),
        )
        .await
        .unwrap();
        if let Ok(mut ids) = self.worker_workspaces.lock() {
            ids.push(created.workspace_id.clone());
        }
        let key = self.key(&slug, BuiltinRole::Admin).await;
        Workspace {
            slug,
            id: created.workspace_id,
            admin_key: key,
            owner_email,
        }
    }

    /// Signs the workspace's owner in; returns the token response.
    pub async fn login(&self, ws: &Workspace) -> Value {
        self.post("/api/v1/auth/login")
            .json(&serde_json::json!({"email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug}))
            .expect(200)
            .await
            .json
    }

    /// Signs the workspace's owner in to the console (cookie session).
    pub async fn console_login(&self, ws: &Workspace) -> Console {
        let resp = self
            .post("/api/v1/auth/login")
            .json(&serde_json::json!({"email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug, "session": "cookie"}))
            .expect(200)
            .await;
        Console::from_login(&resp)
    }

    /// A new key of `role` in the workspace `slug`.
    pub async fn key(&self, slug: &str, role: BuiltinRole) -> String {
        admin::unscoped_create_api_key(&self.db, slug, "test key", &Role::builtin(role), now())
            .await
            .unwrap()
            .unwrap()
            .secret
    }

    /// Waits (up to 5 s) for mail to `to` in the local outbox (no SMTP relay configured) and
    /// returns the newest message's text.
    pub async fn outbox_mail(&self, to: &str) -> String {
        for _ in 0..200 {
            let mail = holdfast_store::ops::mail_outbox::unscoped_list(&self.db, Some(to), 1)
                .await
                .unwrap();
            if let Some(m) = mail.into_iter().next() {
                return m.body_text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no mail to {to} in the outbox");
    }

    /// A transaction on the raw pool inside `ws`'s row-level-security scope (on PostgreSQL it
    /// sets `app.workspace_id`, as the store's tenant scope does), for a test that reads or
    /// tries to change what is stored underneath the API.
    pub async fn workspace_tx(&self, ws: &Workspace) -> sqlx::Transaction<'static, sqlx::Any> {
        let mut tx = self.db.unscoped_pool().begin().await.unwrap();
        if postgres_url().is_some() {
            sqlx::query("SELECT set_config('app.workspace_id', $1, true)")
                .bind(&ws.id)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx
    }

    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            request: self.http.request(method, format!("{}{path}", self.base)),
        }
    }
    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }
    /// A call that does not follow redirects (console pages and their actions).
    pub fn browser(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            request: self.browser.request(method, format!("{}{path}", self.base)),
        }
    }
    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }
    pub fn patch(&self, path: &str) -> Call<'_> {
        self.call(Method::PATCH, path)
    }
    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::DELETE, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(tx) = self.worker_stop.take() {
            let _ = tx.send(());
        }
    }
}

fn now() -> i64 {
    use holdfast_core::clock::Clock;
    SystemClock.now_ms()
}

/// A browser's console session: the cookies a sign-in set, and the CSRF token.
#[derive(Debug, Clone)]
pub struct Console {
    /// `name=value` of the session cookie, as a browser sends it back.
    pub session_cookie: String,
    pub csrf_token: String,
    pub session_id: String,
}

impl Console {
    pub fn from_login(resp: &Resp) -> Console {
        let session_cookie = resp
            .set_cookies()
            .into_iter()
            .find(|c| c.contains("hf_session="))
            .and_then(|c| c.split(';').next().map(str::to_owned))
            .unwrap_or_else(|| panic!("no session cookie set: {:?}", resp.headers));
        Console {
            session_cookie,
            csrf_token: resp.json["csrf_token"].as_str().unwrap().to_owned(),
            session_id: resp.json["session_id"].as_str().unwrap().to_owned(),
        }
    }

    /// The session cookie's value alone.
    pub fn cookie_value(&self) -> &str {
        self.session_cookie
            .split_once('=')
            .map(|(_, v)| v)
            .unwrap_or_default()
    }
}

pub struct Call<'a> {
    #[allow(dead_code)]
    app: &'a TestApp,
    request: reqwest::RequestBuilder,
}

impl Call<'_> {
    pub fn key(mut self, key: &str) -> Self {
        self.request = self.request.bearer_auth(key);
        self
    }
    /// Sends the console's session cookie, without a CSRF token.
    pub fn cookie(mut self, console: &Console) -> Self {
        self.request = self.request.header("cookie", &console.session_cookie);
        self
    }
    /// Sends as the console does: the session cookie and the CSRF token.
    pub fn console(self, console: &Console) -> Self {
        let token = console.csrf_token.clone();
        self.cookie(console).header("x-csrf-token", &token)
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }
    pub fn json(mut self, body: &Value) -> Self {
        self.request = self.request.json(body);
        self
    }
    pub fn body(mut self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        self.request = self.request.header("content-type", content_type).body(body);
        self
    }
    pub async fn send(self) -> Resp {
        let response = self.request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // A stream (the live event feed) stays open for minutes: its body is not awaited
        // here (read it with `sse::EventStream`); status and headers are what a call checks.
        let streaming = headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let text = if streaming {
            String::new()
        } else {
            response.text().await.unwrap()
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }
    /// Sends and asserts the status; on mismatch the panic shows the body and the server's
    /// log lines for that request (by its request id).
    pub async fn expect(self, status: u16) -> Resp {
        let resp = self.send().await;
        if resp.status != status {
            let request_id = resp
                .header("x-request-id")
                .map(str::to_owned)
                .or_else(|| resp.json["request_id"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let server_log: Vec<String> = if request_id.is_empty() {
                Vec::new()
            } else {
                captured_logs()
                    .lines()
                    .filter(|l| l.contains(&request_id))
                    .map(str::to_owned)
                    .collect()
            };
            panic!(
                "unexpected status {} (expected {status}); body: {}\nserver log for this request:\n{}",
                resp.status,
                resp.text,
                server_log.join("\n")
            );
        }
        resp
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Every `Set-Cookie` header, whole.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
    /// Asserts a problem+json body with this code and returns it.
    pub fn problem(&self, code: &str) -> &Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        assert_eq!(self.json["code"], code, "{}", self.text);
        assert_eq!(self.json["status"], self.status, "{}", self.text);
        for field in ["type", "title", "detail"] {
            assert!(
                self.json[field].is_string(),
                "problem lacks {field}: {}",
                self.text
            );
        }
        &self.json
    }
}
