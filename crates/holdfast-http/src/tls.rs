//! HTTPS served by Holdfast itself: the one rustls configuration (aws-lc-rs, TLS 1.2 and 1.3,
//! AEAD suites only, ALPN h2 and http/1.1), certificate files reloaded on SIGHUP or when they
//! change, the serving loop, and the plain listener that answers 308 to HTTPS. Certificates
//! from ACME are in `acme.rs`; both hand this module a certificate resolver. Threat note:
//! docs/design/tls.md.

use crate::edge::{PeerService, make_service};
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_server::accept::Accept;
use holdfast_app::metrics::Metrics;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// A client that has not finished its handshake by then is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the certificate files' modification times are compared.
pub const CERT_POLL: Duration = Duration::from_secs(2);

/// Makes aws-lc-rs the process's rustls provider, once, before any TLS is configured. A second
/// call (or a provider installed first by a library) is harmless: the one installed stays.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// aws-lc-rs with its default suites: TLS 1.3's three AEAD suites and TLS 1.2's ECDHE with
/// AES-GCM or ChaCha20-Poly1305. rustls has no CBC, RC4, 3DES, static-RSA or export suites at
/// all, so none can be switched on by accident.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server configuration for every TLS connection Holdfast accepts, over `resolver`'s
/// certificate: TLS 1.2 and 1.3 only (the builder refuses anything older), no client
/// certificates, ALPN h2 then http/1.1.
pub fn server_config(resolver: Arc<dyn ResolvesServerCert>) -> Result<Arc<ServerConfig>, String> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The expiry (unix seconds) of a DER certificate.
pub fn not_after(cert: &CertificateDer<'_>) -> Result<i64, String> {
    x509_parser::parse_x509_certificate(cert.as_ref())
        .map(|(_, parsed)| parsed.validity().not_after.timestamp())
        .map_err(|e| format!("the certificate cannot be parsed: {e}"))
}

/// A certificate chain and its key from PEM text, checked to belong together, with the leaf's
/// expiry. The errors say which file is wrong and how.
pub fn certified_key(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_path: &Path,
    key_path: &Path,
) -> Result<(CertifiedKey, i64), String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain ({e})", cert_path.display()))?;
    let Some(leaf) = chain.first() else {
        return Err(format!(
            "{}: no CERTIFICATE block in the file",
            cert_path.display()
        ));
    };
    let expires = not_after(leaf).map_err(|e| format!("{}: {e}", cert_path.display()))?;
    let unusable = |e: String| {
        format!(
            "{}: no usable private key (PEM: PKCS#8, PKCS#1 or SEC1; RSA, ECDSA or Ed25519): {e}",
            key_path.display()
        )
    };
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| unusable(e.to_string()))?;
    let signing_key = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| unusable(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok((certified, expires))
        }
        Err(e) => Err(format!(
            "{} does not fit {}: {e}",
            key_path.display(),
            cert_path.display()
        )),
    }
}

/// Certificate files, served through rustls' resolver hook so a reload swaps the certificate
/// under running listeners; connections already open keep theirs.
pub struct CertFiles {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Loaded>,
    metrics: Arc<Metrics>,
}

struct Loaded {
    certified: Arc<CertifiedKey>,
    /// The files' modification times when read: a change to either means read again.
    stamps: [Option<SystemTime>; 2],
}

impl std::fmt::Debug for CertFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertFiles")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl CertFiles {
    /// Reads both files; an unreadable or mismatched pair stops the start with the reason.
    pub fn load(cert: &Path, key: &Path, metrics: Arc<Metrics>) -> Result<Arc<CertFiles>, String> {
        let loaded = Self::read(cert, key)?;
        metrics.tls_certificate(loaded.1);
        Ok(Arc::new(CertFiles {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(loaded.0),
            metrics,
        }))
    }

    fn read(cert: &Path, key: &Path) -> Result<(Loaded, i64), String> {
        let stamps = [modified(cert), modified(key)];
        let cert_pem =
            std::fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
        let key_pem =
            std::fs::read(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
        let (certified, expires) = certified_key(&cert_pem, &key_pem, cert, key)?;
        Ok((
            Loaded {
                certified: Arc::new(certified),
                stamps,
            },
            expires,
        ))
    }

    /// Whether either file's modification time differs from the one last read.
    pub fn changed(&self) -> bool {
        let now = [modified(&self.cert), modified(&self.key)];
        self.current.read().map_or(true, |c| c.stamps != now)
    }

    /// Reads the files again and serves the new certificate; a file that does not load leaves
    /// the old certificate in place, and the log says why (`reason` says what asked).
    pub fn reload(&self, reason: &str) -> Result<(), String> {
        match Self::read(&self.cert, &self.key) {
            Ok((loaded, expires)) => {
                if let Ok(mut current) = self.current.write() {
                    *current = loaded;
                }
                self.metrics.tls_certificate(expires);
                tracing::info!(reason, cert = %self.cert.display(), expires, "TLS certificate reloaded");
                Ok(())
            }
            Err(e) => {
                // Remember the stamps tried, so a broken file is reported once, not every poll.
                if let Ok(mut current) = self.current.write() {
                    current.stamps = [modified(&self.cert), modified(&self.key)];
                }
                tracing::error!(reason, error = %e, "TLS certificate not reloaded; still serving the previous one");
                Err(e)
            }
        }
    }

    /// Reloads on every message from `hangups` (SIGHUP) and whenever the files change, until
    /// the task is dropped.
    pub async fn watch(self: Arc<Self>, mut hangups: tokio::sync::mpsc::Receiver<()>) {
        let mut tick = tokio::time::interval(CERT_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                Some(()) = hangups.recv() => { let _ = self.reload("SIGHUP"); }
                _ = tick.tick() => {
                    if self.changed() {
                        let _ = self.reload("file changed");
                    }
                }
            }
        }
    }
}

impl ResolvesServerCert for CertFiles {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.certified.clone())
    }
}

/// An acceptor with a deadline on the TLS handshake (rustls-acme's acceptor has none).
#[derive(Clone)]
pub struct Deadline<A>(pub A);

impl<A, I, S> Accept<I, S> for Deadline<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(A::Stream, A::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let accepting = self.0.accept(stream, service);
        Box::pin(async move {
            tokio::time::timeout(HANDSHAKE_TIMEOUT, accepting)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
        })
    }
}

/// The acceptor for certificate files: rustls over `config`.
pub fn file_acceptor(config: Arc<ServerConfig>) -> axum_server::tls_rustls::RustlsAcceptor {
    axum_server::tls_rustls::RustlsAcceptor::new(
        axum_server::tls_rustls::RustlsConfig::from_config(config),
    )
    .handshake_timeout(HANDSHAKE_TIMEOUT)
}

/// Serves `router` behind the edge over TLS (through `acceptor`) until `shutdown`, then drains
/// in-flight requests; live event streams end at once. The TLS twin of `serve_router`.
pub async fn serve_tls<Acc>(
    listener: tokio::net::TcpListener,
    router: Router,
    state: AppState,
    acceptor: Acc,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    Acc: Accept<tokio::net::TcpStream, PeerService> + Clone + Send + Sync + 'static,
    Acc::Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    Acc::Service: axum_server::service::SendService<Request<hyper::body::Incoming>> + Send,
    Acc::Future: Send,
{
    let closing = state.closing.clone();
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let stop = tokio::spawn(async move {
        shutdown.await;
        closing.send_replace(true);
        // The server hears a graceful-shutdown call only while it waits for one, so repeat it
        // until the serving loop below returns and ends this task.
        loop {
            stopper.graceful_shutdown(None);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let result = axum_server::Server::<SocketAddr>::from_listener(listener)
        .acceptor(acceptor)
        .handle(handle)
        .serve(make_service(router, state))
        .await;
    stop.abort();
    result
}

/// Where the redirect listener sends people: `https://` + the request's host (its port
/// replaced by `https_port`, none for 443) + the same path and query.
#[derive(Debug, Clone)]
pub struct RedirectTarget {
    /// The HTTPS port people reach, when it is not 443.
    pub https_port: Option<u16>,
    /// The host used when a request names none (HTTP/1.0).
    pub default_host: String,
}

impl RedirectTarget {
    /// The port and host of an `https://` public URL (no port: 443); for another URL, the
    /// HTTPS listener's own port.
    pub fn for_public_url(public_url: &str, listening_port: u16) -> RedirectTarget {
        let authority = public_url
            .split_once("://")
            .map_or(public_url, |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        let default_host = host_name(authority).unwrap_or("localhost").to_owned();
        let explicit_port = if authority.ends_with(']') {
            None
        } else {
            authority
                .rsplit_once(':')
                .and_then(|(_, port)| port.parse::<u16>().ok())
        };
        let https_port = if public_url.starts_with("https://") {
            explicit_port
        } else {
            Some(listening_port)
        };
        RedirectTarget {
            https_port,
            default_host,
        }
    }
}

/// The redirect listener's only answer: 308 to the same host, path and query over HTTPS.
/// A Host that is not a plain name or address gets 400 instead of a redirect somewhere odd.
pub fn redirect_response(target: &RedirectTarget, request: &Request) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().host().map(str::to_owned))
        .unwrap_or_else(|| target.default_host.clone());
    let Some(name) = host_name(&host) else {
        return (StatusCode::BAD_REQUEST, "bad Host header\n").into_response();
    };
    let authority = match target.https_port {
        Some(port) if port != 443 => format!("{name}:{port}"),
        _ => name.to_owned(),
    };
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let path = if path.starts_with('/') {
        path
    } else {
        "/".to_owned()
    };
    match HeaderValue::from_str(&format!("https://{authority}{path}")) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad request target\n").into_response(),
    }
}

/// The host part of a Host header (its port dropped) when it is a DNS name, an IPv4 address
/// or a bracketed IPv6 address.
fn host_name(host: &str) -> Option<&str> {
    let name = if host.starts_with('[') {
        let end = host.find(']')?;
        let rest = &host[end + 1..];
        if !(rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        let inner = &host[1..end];
        inner.parse::<std::net::Ipv6Addr>().ok()?;
        &host[..=end]
    } else {
        let (name, port) = host.split_once(':').unwrap_or((host, ""));
        if !(port.is_empty() && !host.ends_with(':') || is_port(port)) {
            return None;
        }
        name
    };
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.');
    let ok = name.starts_with('[')
        || (!name.is_empty()
            && name.len() <= 253
            && name.bytes().all(plain)
            && !name.starts_with(['.', '-']));
    ok.then_some(name)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.parse::<u16>().is_ok()
}

/// The plain-HTTP listener: every request, whatever its method or path, answers 308 to HTTPS,
/// and nothing else is served (no edge, no HSTS: that header means nothing over plain HTTP).
pub async fn serve_redirect(
    listener: tokio::net::TcpListener,
    target: RedirectTarget,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let target = Arc::new(target);
    let router = Router::new().fallback(move |request: Request| {
        let target = target.clone();
        async move { redirect_response(&target, &request) }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_keep_their_name_and_lose_their_port() {
        assert_eq!(host_name("ops.example.com"), Some("ops.example.com"));
        assert_eq!(host_name("ops.example.com:80"), Some("ops.example.com"));
        assert_eq!(host_name("127.0.0.1:8080"), Some("127.0.0.1"));
        assert_eq!(host_name("[::1]:80"), Some("[::1]"));
        assert_eq!(host_name("[::1]"), Some("[::1]"));
        for bad in [
            "",
            "ops.example.com:",
            "ops.example.com:x",
            "ops.example.com:99999",
            "evil.example/path",
            "a b",
            "[::1",
            "[nope]",
            "user@host",
            ".example.com",
        ] {
            assert_eq!(host_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_redirect_keeps_host_path_and_query_and_names_the_https_port() {
        let request = |host: &str, uri: &str| {
            Request::builder()
                .uri(uri)
                .header(header::HOST, host)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let target = RedirectTarget {
            https_port: Some(8443),
            default_host: "ops.example.com".into(),
        };
        let r = redirect_response(&target, &request("ops.example.com:8080", "/a/b?c=d&e"));
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://ops.example.com:8443/a/b?c=d&e"
        );
        let at_443 = RedirectTarget {
            https_port: Some(443),
            ..target.clone()
        };
        let r = redirect_response(&at_443, &request("ops.example.com", "/"));
        assert_eq!(r.headers()[header::LOCATION], "https://ops.example.com/");
        let r = redirect_response(&target, &request("evil.example/x", "/"));
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}
