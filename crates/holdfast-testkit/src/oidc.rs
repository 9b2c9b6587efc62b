//! A real OpenID Connect provider for tests: `tests/oidc-provider/provider.mjs`, built on the
//! npm package `oidc-provider`, run by Node.js on `127.0.0.1`, and a browser stand-in that
//! signs in on its pages.
//!
//! The provider accepts any login name as the user's email address (the password is ignored);
//! `unverified:<email>` signs in with `email_verified = false`. The subject is
//! `sub-` + the first 16 hex digits of SHA-256(email), the same across restarts. Each start
//! generates a fresh signing key, so [`Provider::restart`] is a key rotation with a new `kid`.
//! PKCE (S256) is required for every authorization request, the nonce is echoed into the ID
//! token, and `email`/`email_verified` are in the ID token itself.
//!
//! Needs `node` and `npm` on `PATH`; [`ensure_installed`] runs `npm ci` once when the
//! provider's `node_modules` is missing or stale. Test-only: setup failures panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::LOCATION;
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// How long a start may take before the `LISTENING` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Node takes a core for a moment to start the provider: a test binary starting a dozen at once
/// on a small machine would time them out, so at most two start at a time.
static LAUNCHES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
/// How long to wait for another process's `npm ci`, and when its lock counts as abandoned.
const INSTALL_WAIT: Duration = Duration::from_secs(180);
/// Timeout of every HTTP request the harness makes.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// The most redirects and form posts one sign-in may take.
const MAX_HOPS: usize = 20;
/// The most provider output kept for error messages.
const LOG_CAP: usize = 256 * 1024;

/// Where `provider.mjs`, `package.json` and `node_modules` live.
pub fn provider_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider");
    dir.canonicalize().unwrap_or(dir)
}

static INSTALL: Mutex<()> = Mutex::new(());

/// Installs the provider's npm dependencies (`npm ci --no-audit --no-fund`) unless they are
/// already there at the pinned version. Safe to call from many threads and test processes at
/// once: one installs while the others wait, for up to three minutes.
pub fn ensure_installed() -> Result<(), String> {
    let dir = provider_dir();
    let _in_process = INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if is_installed(&dir)? {
        return Ok(());
    }
    check_tool("node")?;
    check_tool("npm")?;

    let lock = install_lock_path(&dir);
    let deadline = Instant::now() + INSTALL_WAIT;
    loop {
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut file) => {
                let _ = writeln!(file, "{}", std::process::id());
                let _release = RemoveOnDrop(lock.clone());
                // Someone may have finished installing between our check and the lock.
                if is_installed(&dir)? {
                    return Ok(());
                }
                return run_npm_ci(&dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let age = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok());
                if age.is_some_and(|a| a > INSTALL_WAIT) {
                    // Left behind by a process that died while installing.
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "gave up waiting for another `npm ci` in {} (lock file {})",
                        dir.display(),
                        lock.display()
                    ));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => {
                return Err(format!(
                    "cannot create the install lock {}: {e}",
                    lock.display()
                ));
            }
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One lock per checkout, outside the directory `npm ci` wipes.
fn install_lock_path(dir: &Path) -> PathBuf {
    let digest = Sha256::digest(dir.to_string_lossy().as_bytes());
    let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("holdfast-oidc-provider-npm-{tag}.lock"))
}

/// The dependencies are installed when npm finished (it writes its hidden lockfile last) and
/// the installed `oidc-provider` is the version `package.json` pins.
fn is_installed(dir: &Path) -> Result<bool, String> {
    let manifest = dir.join("package.json");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let pinned: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", manifest.display()))?;
    let Some(wanted) = pinned["dependencies"]["oidc-provider"].as_str() else {
        return Err(format!(
            "{} does not depend on oidc-provider",
            manifest.display()
        ));
    };
    if !dir.join("node_modules/.package-lock.json").is_file() {
        return Ok(false);
    }
    let installed = std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned));
    Ok(installed.as_deref() == Some(wanted))
}

fn check_tool(tool: &str) -> Result<(), String> {
    match std::process::Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`{tool} --version` failed ({}): the OIDC test provider needs Node.js 18+ and npm \
             on PATH\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!(
            "cannot run `{tool}` ({e}): the OIDC test provider needs Node.js 18+ and npm on \
             PATH (e.g. `apt-get install nodejs npm`)"
        )),
    }
}

fn run_npm_ci(dir: &Path) -> Result<(), String> {
    let started = Instant::now();
    let out = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `npm ci` in {}: {e}", dir.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`npm ci --no-audit --no-fund` in {} failed ({}):\n{}\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if !is_installed(dir)? {
        return Err(format!(
            "`npm ci` in {} succeeded but node_modules/oidc-provider is still missing or not \
             the pinned version",
            dir.display()
        ));
    }
    tracing::info!(
        "installed the OIDC test provider's npm packages in {:?}",
        started.elapsed()
    );
    Ok(())
}

/// A client registered at the provider: confidential, `client_secret_basic`, code flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl ClientSpec {
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> ClientSpec {
        ClientSpec {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
        }
    }
}

/// The algorithm, and so the key type, the provider signs ID tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlg {
    /// A fresh 2048-bit RSA key.
    #[default]
    Rs256,
    /// A fresh P-256 key.
    Es256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
        }
    }
}

/// Requests the provider has served since it (re)started, by kind. `authorize` counts only the
/// authorization endpoint itself, not the resumes after the login form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub discovery: u64,
    pub jwks: u64,
    pub token: u64,
    pub authorize: u64,
}

/// A running provider process; killed when dropped.
pub struct Provider {
    child: Child,
    port: u16,
    clients: Vec<ClientSpec>,
    alg: SigningAlg,
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl Provider {
    /// Starts a provider on a free port, signing with RS256.
    pub async fn start(clients: Vec<ClientSpec>) -> Provider {
        Provider::start_with(0, clients, SigningAlg::Rs256).await
    }

    /// Starts a provider on the given port (0: any free port), signing with RS256.
    pub async fn start_on(port: u16, clients: Vec<ClientSpec>) -> Provider {
        Provider::start_with(port, clients, SigningAlg::Rs256).await
    }

    /// Starts a provider on the given port (0: any free port) with the given algorithm.
    pub async fn start_with(port: u16, clients: Vec<ClientSpec>, alg: SigningAlg) -> Provider {
        match tokio::task::spawn_blocking(ensure_installed).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("OIDC test provider: {e}"),
            Err(e) => panic!("OIDC test provider: the install task failed: {e}"),
        }
        match launch(port, &clients, alg).await {
            Ok((child, port, log)) => Provider {
                child,
                port,
                clients,
                alg,
                log,
                http: http_client(false),
            },
            Err(e) => panic!("OIDC test provider did not start: {e}"),
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn clients(&self) -> &[ClientSpec] {
        &self.clients
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// Everything the provider wrote to stderr (and any stray stdout) so far.
    pub fn output(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Kills the provider and starts it again on the same port with the same clients: a new
    /// signing key (new `kid`), no sessions, codes or tokens, and zeroed stats.
    pub async fn restart(&mut self) {
        let _ = self.child.kill().await;
        let mut last_error = String::new();
        for attempt in 0..5 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            match launch(self.port, &self.clients, self.alg).await {
                Ok((child, port, log)) => {
                    self.child = child;
                    self.port = port;
                    self.log = log;
                    return;
                }
                // The old process may still hold the port, or a loaded machine may be slow to
                // start Node: try again, and report the last reason if every attempt fails.
                Err(e) => last_error = e,
            }
        }
        panic!(
            "OIDC test provider did not restart on port {}: {last_error}",
            self.port
        );
    }

    /// The discovery document (`/.well-known/openid-configuration`).
    pub async fn discovery(&self) -> Value {
        let url = format!("{}/.well-known/openid-configuration", self.issuer());
        self.get_json(&url).await
    }

    /// The provider's public keys, fetched from the `jwks_uri` discovery names.
    pub async fn jwks_json(&self) -> Value {
        let discovery = self.discovery().await;
        let Some(jwks_uri) = discovery["jwks_uri"].as_str() else {
            panic!("OIDC test provider: discovery has no jwks_uri: {discovery}");
        };
        self.get_json(jwks_uri).await
    }

    /// The per-kind request counters (not counting this request itself).
    pub async fn stats(&self) -> Stats {
        let v = self.get_json(&format!("{}/__stats", self.issuer())).await;
        let n = |k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("OIDC test provider: /__stats lacks {k}: {v}"))
        };
        Stats {
            discovery: n("discovery"),
            jwks: n("jwks"),
            token: n("token"),
            authorize: n("authorize"),
        }
    }

    /// Acts as the user's browser, with its own fresh cookie jar: opens `authorize_url`,
    /// follows redirects while they stay on the provider, fills in the sign-in form with
    /// `login` (and any password) and posts it, and follows redirects again until one leads
    /// off the provider. Returns that URL: the client's redirect URI with `code` and `state`
    /// (and `iss`), or with `error`. An error page at the provider, or a login form shown
    /// twice, is an `Err` with what the page said.
    pub async fn sign_in(&self, authorize_url: &str, login: &str) -> Result<String, String> {
        let origin = Url::parse(&self.issuer())
            .map_err(|e| format!("bad issuer: {e}"))?
            .origin();
        let browser = http_client(true);
        let mut url = Url::parse(authorize_url)
            .map_err(|e| format!("bad authorize URL {authorize_url}: {e}"))?;
        let mut post: Option<Vec<(String, String)>> = None;
        let mut submitted = false;

        for _ in 0..MAX_HOPS {
            if url.origin() != origin {
                return Ok(url.to_string());
            }
            let request = match post.take() {
                Some(fields) => browser.post(url.clone()).form(&fields),
                None => browser.get(url.clone()),
            };
            let response = request.send().await.map_err(describe)?;
            let status = response.status();
            if status.is_redirection() {
                let Some(location) = response.headers().get(LOCATION) else {
                    return Err(format!("HTTP {status} from {url} without a Location"));
                };
                let location = location.to_str().unwrap_or_default();
                url = url
                    .join(location)
                    .map_err(|e| format!("bad Location {location:?} from {url}: {e}"))?;
                continue;
            }
            let body = response.text().await.map_err(describe)?;
            if status != StatusCode::OK {
                return Err(format!("HTTP {status} at {url}: {}", page_text(&body)));
            }
            let Some(form) = parse_form(&body) else {
                return Err(format!("no form at {url}: {}", page_text(&body)));
            };
            if submitted {
                return Err(format!(
                    "the sign-in form came back after submitting it, at {url}: {}",
                    page_text(&body)
                ));
            }
            let mut fields = form.fields;
            set_field(&mut fields, "login", login);
            set_field(&mut fields, "password", "correct horse battery staple");
            url = url
                .join(&form.action)
                .map_err(|e| format!("bad form action {:?} at {url}: {e}", form.action))?;
            submitted = true;
            if form.method_post {
                post = Some(fields);
            } else {
                url.query_pairs_mut().clear().extend_pairs(&fields);
            }
        }
        Err(format!(
            "sign-in took more than {MAX_HOPS} hops; last at {url}"
        ))
    }

    /// Runs a whole authorization code flow as `client` itself (PKCE S256, `state`, the given
    /// `nonce`, scope `openid email`, the client's first redirect URI), signing in as `login`,
    /// and returns the raw ID token from the token endpoint.
    pub async fn id_token_for(&self, client: &ClientSpec, login: &str, nonce: &str) -> String {
        let discovery = self.discovery().await;
        let endpoint = |name: &str| {
            discovery[name]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("OIDC test provider: discovery lacks {name}"))
        };
        let authorization_endpoint = endpoint("authorization_endpoint");
        let token_endpoint = endpoint("token_endpoint");
        let Some(redirect_uri) = client.redirect_uris.first() else {
            panic!("client {} has no redirect URI", client.client_id);
        };

        let verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = random_token();
        let authorize_url = Url::parse_with_params(
            &authorization_endpoint,
            [
                ("response_type", "code"),
                ("client_id", client.client_id.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("scope", "openid email"),
                ("state", state.as_str()),
                ("nonce", nonce),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap_or_else(|e| panic!("bad authorization endpoint {authorization_endpoint}: {e}"));

        let back = self
            .sign_in(authorize_url.as_str(), login)
            .await
            .unwrap_or_else(|e| panic!("OIDC test provider: sign-in as {login} failed: {e}"));
        let back = Url::parse(&back).unwrap_or_else(|e| panic!("bad redirect {back}: {e}"));
        let param = |name: &str| {
            back.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if let Some(error) = param("error") {
            panic!(
                "OIDC test provider refused the authorization: {error}: {}",
                param("error_description").unwrap_or_default()
            );
        }
        assert_eq!(
            param("state").as_deref(),
            Some(state.as_str()),
            "state round trip"
        );
        let code = param("code").unwrap_or_else(|| panic!("no code in {back}"));

        // RFC 6749 §2.3.1: each half form-encoded before Basic's base64.
        let request = self
            .http
            .post(&token_endpoint)
            .basic_auth(
                form_urlencode(&client.client_id),
                Some(form_urlencode(&client.client_secret)),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ]);
        let (status, body) = json_response(request)
            .await
            .unwrap_or_else(|e| panic!("OIDC test provider: token request failed: {e}"));
        assert_eq!(status, StatusCode::OK, "token endpoint answered {body}");
        body["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("token response has no id_token: {body}"))
            .to_owned()
    }

    async fn get_json(&self, url: &str) -> Value {
        let (status, body) = json_response(self.http.get(url))
            .await
            .unwrap_or_else(|e| panic!("OIDC test provider: GET {url} failed: {e}"));
        assert_eq!(
            status,
            StatusCode::OK,
            "OIDC test provider: GET {url}: {body}"
        );
        body
    }
}

/// Starts the node process and waits for its `LISTENING <port>` line.
async fn launch(
    port: u16,
    clients: &[ClientSpec],
    alg: SigningAlg,
) -> Result<(Child, u16, Arc<Mutex<String>>), String> {
    let _turn = LAUNCHES
        .acquire()
        .await
        .map_err(|_| "the launch semaphore is closed".to_owned())?;
    let dir = provider_dir();
    let clients_json = Value::Array(
        clients
            .iter()
            .map(|c| {
                json!({
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "redirect_uris": c.redirect_uris,
                })
            })
            .collect(),
    );
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("HF_OIDC_CLIENTS", clients_json.to_string())
        .env("HF_OIDC_ALG", alg.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run `node provider.mjs` in {} ({e}); is Node.js installed?",
                dir.display()
            )
        })?;

    let log = Arc::new(Mutex::new(String::new()));
    let stderr_task = child.stderr.take().map(|mut stderr| {
        let log = log.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                append_log(&log, &String::from_utf8_lossy(&buf[..n]));
            }
        })
    });
    let Some(stdout) = child.stdout.take() else {
        return Err("the provider's stdout was not captured".into());
    };
    let mut lines = BufReader::new(stdout).lines();

    let waited = tokio::time::timeout(START_TIMEOUT, async {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => match line.strip_prefix("LISTENING ") {
                    Some(p) => {
                        return p
                            .trim()
                            .parse::<u16>()
                            .map_err(|e| format!("{line:?}: {e}"));
                    }
                    None => append_log(&log, &format!("stdout: {line}\n")),
                },
                Ok(None) => return Err("the provider exited before listening".to_owned()),
                Err(e) => return Err(format!("reading the provider's stdout: {e}")),
            }
        }
    })
    .await;

    let failure = match waited {
        Ok(Ok(bound)) => {
            drain_stdout(lines, log.clone());
            return Ok((child, bound, log));
        }
        Ok(Err(e)) => e,
        Err(_) => format!("no LISTENING line within {START_TIMEOUT:?}"),
    };
    let _ = child.kill().await;
    finish_reading(stderr_task).await;
    let output = log
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    Err(format!("{failure}; provider stderr:\n{output}"))
}

fn drain_stdout(mut lines: tokio::io::Lines<BufReader<ChildStdout>>, log: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            append_log(&log, &format!("stdout: {line}\n"));
        }
    });
}

async fn finish_reading(task: Option<JoinHandle<()>>) {
    if let Some(task) = task {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
}

fn append_log(log: &Mutex<String>, text: &str) {
    let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if log.len() < LOG_CAP {
        log.push_str(text);
    }
}

/// An HTTP client that follows no redirects, with a fresh cookie jar of its own if `cookies`.
/// It keeps no idle connections, so nothing stale survives a restart.
fn http_client(cookies: bool) -> reqwest::Client {
    holdfast_app::outbound::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .pool_max_idle_per_host(0)
        .timeout(HTTP_TIMEOUT)
        .user_agent("holdfast-testkit")
        .build()
        .unwrap_or_else(|e| panic!("OIDC test provider: cannot build an HTTP client: {e}"))
}

/// Sends `request` and reads the answer as JSON, whatever its status.
async fn json_response(request: reqwest::RequestBuilder) -> Result<(StatusCode, Value), String> {
    let response = request.send().await.map_err(describe)?;
    let status = response.status();
    let text = response.text().await.map_err(describe)?;
    let body = serde_json::from_str(&text)
        .map_err(|e| format!("HTTP {status}, not JSON ({e}): {}", page_text(&text)))?;
    Ok((status, body))
}

/// A reqwest error with its causes, which its `Display` leaves out.
fn describe(e: reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// 32 random bytes, base64url: 43 characters, fit for a PKCE verifier.
fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// `application/x-www-form-urlencoded`, as RFC 6749 §2.3.1 wants for Basic credentials.
fn form_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

/// The first `<form>` of a page: where it goes, how, and its named inputs with their values.
struct HtmlForm {
    action: String,
    method_post: bool,
    fields: Vec<(String, String)>,
}

fn parse_form(html: &str) -> Option<HtmlForm> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<form")?;
    let end = lower[start..]
        .find("</form")
        .map_or(html.len(), |i| start + i);
    let form_tag_end = start + lower[start..].find('>')?;
    let form_attrs = tag_attributes(&html[start + "<form".len()..form_tag_end]);
    let attr = |attrs: &[(String, String)], name: &str| {
        attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let action = attr(&form_attrs, "action").unwrap_or_default();
    let method_post = attr(&form_attrs, "method").is_some_and(|m| m.eq_ignore_ascii_case("post"));

    let mut fields = Vec::new();
    let mut at = form_tag_end;
    while let Some(i) = lower[at..end].find("<input") {
        let tag_start = at + i + "<input".len();
        let Some(close) = lower[tag_start..end].find('>') else {
            break;
        };
        let attrs = tag_attributes(&html[tag_start..tag_start + close]);
        at = tag_start + close;
        let kind = attr(&attrs, "type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if matches!(
            kind.as_str(),
            "submit" | "button" | "image" | "reset" | "file"
        ) {
            continue;
        }
        if let Some(name) = attr(&attrs, "name").filter(|n| !n.is_empty()) {
            fields.push((name, attr(&attrs, "value").unwrap_or_default()));
        }
    }
    Some(HtmlForm {
        action,
        method_post,
        fields,
    })
}

/// The attributes inside a start tag (after its name), names lower-cased, values unescaped.
fn tag_attributes(tag: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    let chars: Vec<char> = tag.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '/') {
            i += 1;
        }
        let name_start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '=' | '/') {
            i += 1;
        }
        let name: String = chars[name_start..i]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '=' {
            i += 1;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
                let quote = chars[i];
                i += 1;
                let value_start = i;
                while i < chars.len() && chars[i] != quote {
                    i += 1;
                }
                value = chars[value_start..i].iter().collect();
                i += 1;
            } else {
                let value_start = i;
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                value = chars[value_start..i].iter().collect();
            }
        }
        if !name.is_empty() {
            attrs.push((name, unescape_html(&value)));
        }
    }
    attrs
}

/// Unescapes the character references a template engine writes into attributes.
fn unescape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &after[..semi];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            ch.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A page's text without its tags, squeezed, for error messages.
fn page_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let squeezed = unescape_html(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    squeezed.chars().take(600).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_login_form() {
        let html = r#"<html><body><form method="post" action="/interaction/a&amp;b/login">
            <input type="hidden" name="csrf" value="x&#39;y">
            <input type=text name=login autofocus>
            <input type="password" name="password" value="">
            <input type="submit" name="go" value="Sign in">
            </form><input name="outside"></body></html>"#;
        let form = parse_form(html).unwrap();
        assert_eq!(form.action, "/interaction/a&b/login");
        assert!(form.method_post);
        let names: Vec<_> = form
            .fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(names, [("csrf", "x'y"), ("login", ""), ("password", "")]);
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(form_urlencode("a b+c:d%"), "a+b%2Bc%3Ad%25");
        assert_eq!(form_urlencode("client-1_x.y"), "client-1_x.y");
    }
}
