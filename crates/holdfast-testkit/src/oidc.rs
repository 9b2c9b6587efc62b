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
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Url;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// How long a start may take before the `LISTENING` line.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for another process's `npm ci`, and when its lock counts as abandoned.
const INSTALL_WAIT: Duration = Duration::from_secs(180);
/// Timeout of every HTTP request the harness makes.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// The most redirects and form posts one sign-in may take.
const MAX_HOPS: usize = 20;
/// The most provider output kept for error messages.
const LOG_CAP: usize = 256 * 1024;
/// The largest HTTP response the harness reads.
const RESPONSE_CAP: usize = 4 * 1024 * 1024;

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
            "`{tool} --version` failed ({}): the OIDC test provider needs Node.js 20.18+ and npm \
             on PATH\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!(
            "cannot run `{tool}` ({e}): the OIDC test provider needs Node.js 20.18+ and npm on \
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
        for attempt in 0..10 {
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
                Err(e) if e.contains("EADDRINUSE") => last_error = e,
                Err(e) => panic!("OIDC test provider did not restart: {e}"),
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
        get_json(&url).await
    }

    /// The provider's public keys, fetched from the `jwks_uri` discovery names.
    pub async fn jwks_json(&self) -> Value {
        let discovery = self.discovery().await;
        let Some(jwks_uri) = discovery["jwks_uri"].as_str() else {
            panic!("OIDC test provider: discovery has no jwks_uri: {discovery}");
        };
        get_json(jwks_uri).await
    }

    /// The per-kind request counters (not counting this request itself).
    pub async fn stats(&self) -> Stats {
        let v = get_json(&format!("{}/__stats", self.issuer())).await;
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
        let mut jar = CookieJar::default();
        let mut url = Url::parse(authorize_url)
            .map_err(|e| format!("bad authorize URL {authorize_url}: {e}"))?;
        let mut post: Option<Vec<(String, String)>> = None;
        let mut submitted = false;

        for _ in 0..MAX_HOPS {
            if url.origin() != origin {
                return Ok(url.to_string());
            }
            let mut headers = Vec::new();
            if let Some(cookies) = jar.header_for(&url) {
                headers.push(("Cookie", cookies));
            }
            let response = match post.take() {
                Some(fields) => {
                    let body = Body::form(&fields);
                    http_request("POST", &url, &headers, Some(body)).await?
                }
                None => http_request("GET", &url, &headers, None).await?,
            };
            for value in response.all("set-cookie") {
                jar.store(&url, value);
            }
            let status = response.status;
            if (300..400).contains(&status) {
                let Some(location) = response.header("location") else {
                    return Err(format!("HTTP {status} from {url} without a Location"));
                };
                url = url
                    .join(location)
                    .map_err(|e| format!("bad Location {location:?} from {url}: {e}"))?;
                continue;
            }
            let body = response.text();
            if status != 200 {
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
            let action = url
                .join(&form.action)
                .map_err(|e| format!("bad form action {:?} at {url}: {e}", form.action))?;
            submitted = true;
            url = action;
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

        let pkce = Pkce::generate();
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
                ("code_challenge", pkce.challenge.as_str()),
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

        let token_url = Url::parse(&token_endpoint)
            .unwrap_or_else(|e| panic!("bad token endpoint {token_endpoint}: {e}"));
        // RFC 6749 §2.3.1: each half form-encoded before Basic's base64.
        let credentials = format!(
            "{}:{}",
            form_urlencode(&client.client_id),
            form_urlencode(&client.client_secret)
        );
        let authorization = format!("Basic {}", STANDARD.encode(credentials));
        let form = Body::form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", pkce.verifier.as_str()),
        ]);
        let response = http_request(
            "POST",
            &token_url,
            &[("Authorization", authorization)],
            Some(form),
        )
        .await
        .unwrap_or_else(|e| panic!("OIDC test provider: token request failed: {e}"));
        let body = response.json().unwrap_or_else(|e| {
            panic!(
                "OIDC test provider: token response (HTTP {}): {e}",
                response.status
            )
        });
        assert_eq!(response.status, 200, "token endpoint answered {body}");
        body["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("token response has no id_token: {body}"))
            .to_owned()
    }
}

/// Starts the node process and waits for its `LISTENING <port>` line.
async fn launch(
    port: u16,
    clients: &[ClientSpec],
    alg: SigningAlg,
) -> Result<(Child, u16, Arc<Mutex<String>>), String> {
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

async fn get_json(url: &str) -> Value {
    let parsed = Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
    let response = http_request("GET", &parsed, &[], None)
        .await
        .unwrap_or_else(|e| panic!("OIDC test provider: GET {url} failed: {e}"));
    assert_eq!(
        response.status,
        200,
        "OIDC test provider: GET {url}: {}",
        response.text()
    );
    response
        .json()
        .unwrap_or_else(|e| panic!("OIDC test provider: GET {url}: {e}"))
}

/// A request body and its media type.
struct Body {
    content_type: &'static str,
    bytes: Vec<u8>,
}

impl Body {
    fn form<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> Body {
        let encoded = fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    form_urlencode(k.as_ref()),
                    form_urlencode(v.as_ref())
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        Body {
            content_type: "application/x-www-form-urlencoded",
            bytes: encoded.into_bytes(),
        }
    }
}

struct HttpResponse {
    status: u16,
    /// Names lower-cased, in the order received.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.all(name).next()
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("not JSON ({e}): {}", page_text(&self.text())))
    }
}

/// One plain-HTTP/1.1 exchange on a fresh connection (`Connection: close`), redirects not
/// followed. The harness only ever talks to the provider on 127.0.0.1, so it needs no TLS,
/// and owes nothing to how the workspace configures reqwest's TLS backend; a fresh connection
/// per request also means nothing stale survives a restart.
async fn http_request(
    method: &str,
    url: &Url,
    headers: &[(&str, String)],
    body: Option<Body>,
) -> Result<HttpResponse, String> {
    if url.scheme() != "http" {
        return Err(format!("the harness speaks plain http only, not {url}"));
    }
    let host = url.host_str().ok_or_else(|| format!("no host in {url}"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\
         Accept: */*\r\nUser-Agent: holdfast-testkit\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = &body {
        head.push_str(&format!(
            "Content-Type: {}\r\nContent-Length: {}\r\n",
            body.content_type,
            body.bytes.len()
        ));
    }
    head.push_str("\r\n");

    let exchange = async {
        let mut stream = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| format!("writing to {url}: {e}"))?;
        if let Some(body) = &body {
            stream
                .write_all(&body.bytes)
                .await
                .map_err(|e| format!("writing to {url}: {e}"))?;
        }
        let mut raw = Vec::new();
        (&mut stream)
            .take(RESPONSE_CAP as u64 + 1)
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("reading from {url}: {e}"))?;
        if raw.len() > RESPONSE_CAP {
            return Err(format!(
                "the response from {url} exceeds {RESPONSE_CAP} bytes"
            ));
        }
        parse_response(&raw).map_err(|e| format!("bad response from {url}: {e}"))
    };
    tokio::time::timeout(HTTP_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{method} {url} timed out after {HTTP_TIMEOUT:?}"))?
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| "headers are not UTF-8")?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let chunked = find("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = find("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad Content-Length {length:?}"))?;
        rest.get(..length)
            .ok_or("body shorter than its Content-Length")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_line = std::str::from_utf8(&data[..line_end]).map_err(|_| "bad chunk size")?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_line:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(data.get(..size).ok_or("truncated chunk")?);
        data = data.get(size + 2..).ok_or("truncated chunk")?;
    }
}

/// A PKCE verifier and its S256 challenge.
struct Pkce {
    verifier: String,
    challenge: String,
}

impl Pkce {
    fn generate() -> Pkce {
        let verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
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

/// A cookie jar just good enough for one provider origin: honours `Path` and deletions, and
/// ignores `Domain`, `Secure` and `SameSite` (every request goes to the same origin).
#[derive(Default)]
struct CookieJar {
    cookies: Vec<StoredCookie>,
}

struct StoredCookie {
    name: String,
    value: String,
    path: String,
}

impl CookieJar {
    fn store(&mut self, request_url: &Url, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        let mut path = None;
        let mut expired = value.is_empty();
        for attr in parts {
            let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
            let (key, val) = (key.trim().to_ascii_lowercase(), val.trim());
            match key.as_str() {
                "path" if val.starts_with('/') => path = Some(val.to_owned()),
                "max-age" => expired |= val.parse::<i64>().is_ok_and(|s| s <= 0),
                "expires" => expired |= val.contains(" 1970 "),
                _ => {}
            }
        }
        let path = path.unwrap_or_else(|| default_cookie_path(request_url.path()));
        self.cookies.retain(|c| !(c.name == name && c.path == path));
        if !expired {
            self.cookies.push(StoredCookie { name, value, path });
        }
    }

    fn header_for(&self, url: &Url) -> Option<String> {
        let mut matching: Vec<&StoredCookie> = self
            .cookies
            .iter()
            .filter(|c| path_matches(url.path(), &c.path))
            .collect();
        if matching.is_empty() {
            return None;
        }
        // Longer paths first, as browsers send them.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        Some(
            matching
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// RFC 6265 §5.1.4: the directory of the request path.
fn default_cookie_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
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
    fn cookie_paths_and_deletion() {
        fn at(jar: &CookieJar, path: &str) -> Option<String> {
            jar.header_for(&Url::parse(&format!("http://127.0.0.1:1{path}")).unwrap())
        }
        let url = Url::parse("http://127.0.0.1:1/auth?x=1").unwrap();
        let mut jar = CookieJar::default();
        jar.store(
            &url,
            "_interaction=abc; path=/interaction/abc; samesite=lax; httponly",
        );
        jar.store(&url, "_session=s1; path=/; httponly");
        jar.store(&url, "other=o");
        assert_eq!(
            at(&jar, "/interaction/abc/login").as_deref(),
            Some("_interaction=abc; _session=s1; other=o")
        );
        assert_eq!(
            at(&jar, "/interaction/abcd").as_deref(),
            Some("_session=s1; other=o")
        );
        jar.store(
            &url,
            "_interaction=; path=/interaction/abc; expires=Thu, 01 Jan 1970 00:00:00 GMT",
        );
        assert_eq!(
            at(&jar, "/interaction/abc").as_deref(),
            Some("_session=s1; other=o")
        );
    }

    #[test]
    fn parses_plain_and_chunked_responses() {
        let plain = b"HTTP/1.1 303 See Other\r\nLocation: /x\r\nSet-Cookie: a=1\r\n\
                      set-cookie: b=2\r\nContent-Length: 2\r\n\r\nok";
        let r = parse_response(plain).unwrap();
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), Some("/x"));
        assert_eq!(r.all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(r.body, b"ok");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                        4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap().json().unwrap()["a"], 1);
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(form_urlencode("a b+c:d%"), "a+b%2Bc%3Ad%25");
        assert_eq!(form_urlencode("client-1_x.y"), "client-1_x.y");
    }
}
