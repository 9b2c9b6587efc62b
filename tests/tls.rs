//! HTTPS from the binary itself, driven as an operator would: certificate files served over h2
//! and http/1.1 with TLS 1.2 and 1.3 only and HSTS, the plain listener's 308, reloading on
//! SIGHUP and on file change (a bad file keeps the old certificate), a bad key stopping the
//! start, an outside scanner (sslyze), and a real ACME flow against pebble (issue and renew).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::holdfast;

// ---- certificates ------------------------------------------------------------------------

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A leaf for `names` valid for `days`: (certificate PEM, key PEM).
    fn leaf(&self, names: &[&str], days: i64) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(days);
        params
            .distinguished_name
            .push(DnType::CommonName, "holdfast test");
        // What strict verifiers (sslyze's) ask of a server certificate.
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Replaces a file in one step (a reader never sees half of it).
fn replace(path: &Path, content: &str) {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, content).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

fn der_of(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

// ---- the server --------------------------------------------------------------------------

struct Server {
    child: Child,
    /// host:port of the HTTPS listener.
    addr: String,
    /// host:port of the redirect listener, when asked for.
    redirect: Option<String>,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// `holdfast serve` with `args`, waiting for its banner (and the redirect line when
/// `--redirect-http` is among them).
fn serve(data_dir: &Path, args: &[&str]) -> Server {
    let log = data_dir.join(format!("serve-{}.log", rand_suffix()));
    let bind = if args.contains(&"--bind") {
        &[][..]
    } else {
        &["--bind", "127.0.0.1:0"][..]
    };
    let mut child = holdfast(data_dir)
        .env("HOLDFAST_LOG_LEVEL", "info")
        .arg("serve")
        .args(bind)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next().unwrap().unwrap();
    assert!(banner.contains("listening on https://"), "{banner}");
    let addr = common::listening_address(&banner);
    let mut redirect = None;
    if args.contains(&"--redirect-http") {
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Redirecting plain HTTP on http://") {
                redirect = Some(rest.split(' ').next().unwrap().to_owned());
                break;
            }
        }
    }
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr,
        redirect,
        log,
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Waits for the server to exit and returns its exit code and log.
fn start_failure(data_dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = holdfast(data_dir)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---- clients -----------------------------------------------------------------------------

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn client_config(
    roots_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// What one completed handshake settled on.
struct Handshake {
    version: rustls::ProtocolVersion,
    suite: String,
    alpn: Option<Vec<u8>>,
    leaf: Vec<u8>,
    chain_len: usize,
}

/// A TLS handshake with `config`, as `name`, to `addr`; with `request`, also an HTTP/1.1
/// request whose whole answer is returned.
fn handshake(
    addr: &str,
    name: &str,
    config: rustls::ClientConfig,
    request: Option<&str>,
) -> Result<(Handshake, String), String> {
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), server_name).unwrap();
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    let peer = conn.peer_certificates().unwrap_or_default();
    let done = Handshake {
        version: conn.protocol_version().unwrap(),
        suite: format!("{:?}", conn.negotiated_cipher_suite().unwrap().suite()),
        alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        leaf: peer
            .first()
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default(),
        chain_len: peer.len(),
    };
    let mut answer = String::new();
    if let Some(request) = request {
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        tls.write_all(request.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        let _ = tls.read_to_end(&mut bytes);
        answer = String::from_utf8_lossy(&bytes).into_owned();
    }
    Ok((done, answer))
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

fn both_versions() -> Vec<&'static rustls::SupportedProtocolVersion> {
    vec![&rustls::version::TLS13, &rustls::version::TLS12]
}

/// The leaf certificate served to a client that trusts `roots_pem`.
fn served_leaf(addr: &str, roots_pem: &str) -> Vec<u8> {
    handshake(
        addr,
        "localhost",
        client_config(roots_pem, &both_versions(), &[b"http/1.1"]),
        None,
    )
    .unwrap()
    .0
    .leaf
}

/// A ClientHello that offers only `version` (no supported_versions extension) and the CBC
/// suites such clients had: what a TLS 1.0 or 1.1 client sends.
fn legacy_client_hello(version: [u8; 2]) -> Vec<u8> {
    let u16b = |n: usize| (n as u16).to_be_bytes();
    let mut body = Vec::new();
    body.extend(version);
    body.extend([7u8; 32]);
    body.push(0);
    let suites: [u16; 5] = [0xc013, 0xc014, 0x002f, 0x0035, 0x000a];
    body.extend(u16b(suites.len() * 2));
    for s in suites {
        body.extend(s.to_be_bytes());
    }
    body.extend([1, 0]);
    let name = b"localhost";
    let mut list = vec![0u8];
    list.extend(u16b(name.len()));
    list.extend(name);
    let mut sni = Vec::new();
    sni.extend(u16b(list.len()));
    sni.extend(&list);
    let mut extensions = vec![0u8, 0];
    extensions.extend(u16b(sni.len()));
    extensions.extend(&sni);
    body.extend(u16b(extensions.len()));
    body.extend(&extensions);
    let mut handshake = vec![1u8];
    handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(u16b(handshake.len()));
    record.extend(&handshake);
    record
}

/// The server's first bytes after a legacy ClientHello.
fn answer_to_legacy_hello(addr: &str, version: [u8; 2]) -> Vec<u8> {
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.write_all(&legacy_client_hello(version)).unwrap();
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer);
    answer
}

fn https_client(roots_pem: &str, addr: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(client_config(roots_pem, &both_versions(), &[b"http/1.1"]))
        .resolve("localhost", addr.parse().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then_some(v.trim())
        })
}

/// (days left, expiry) from the metrics page.
async fn certificate_metrics(client: &reqwest::Client, port: &str) -> (f64, i64) {
    let text = client
        .get(format!("https://localhost:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
            .to_owned()
    };
    (
        value("holdfast_tls_certificate_days_left").parse().unwrap(),
        value("holdfast_tls_certificate_expiry_timestamp_seconds")
            .parse()
            .unwrap(),
    )
}

fn write_pair(dir: &Path, (cert, key): &(String, String)) -> (PathBuf, PathBuf) {
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    replace(&cert_path, cert);
    replace(&key_path, key);
    (cert_path, key_path)
}

// ---- certificate files -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn certificate_files_serve_https_with_modern_tls_only_hsts_and_a_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Holdfast test CA");
    let pair = ca.leaf(&["localhost", "127.0.0.1"], 30);
    let (cert, key) = write_pair(dir.path(), &pair);
    let server = serve(
        dir.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--redirect-http",
            "127.0.0.1:0",
        ],
    );
    let port = server.addr.rsplit(':').next().unwrap().to_owned();

    // reqwest, trusting only the test CA: HTTPS answers, with HSTS on by default.
    let client = https_client(&ca.pem(), &server.addr);
    let r = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    // A client that trusts another CA refuses the certificate.
    let stranger = https_client(&Ca::new("another CA").pem(), &server.addr);
    assert!(
        stranger
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
            .is_err()
    );
    let (days, _) = certificate_metrics(&client, &port).await;
    assert!((29.0..=30.01).contains(&days), "days left: {days}");

    // ALPN: h2 preferred, http/1.1 when that is all the client speaks.
    let (h2, _) = handshake(
        &server.addr,
        "localhost",
        client_config(&ca.pem(), &both_versions(), &[b"h2", b"http/1.1"]),
        None,
    )
    .unwrap();
    assert_eq!(h2.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(h2.version, rustls::ProtocolVersion::TLSv1_3);
    assert_eq!(h2.leaf, der_of(&pair.0));
    let (h1, answer) = handshake(
        &server.addr,
        "localhost",
        client_config(&ca.pem(), &both_versions(), &[b"http/1.1"]),
        Some(&get("/healthz")),
    )
    .unwrap();
    assert_eq!(h1.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(header(&answer, "strict-transport-security").is_some());

    // TLS 1.2 still works, with an AEAD suite.
    let (tls12, _) = handshake(
        &server.addr,
        "localhost",
        client_config(&ca.pem(), &[&rustls::version::TLS12], &[b"http/1.1"]),
        None,
    )
    .unwrap();
    assert_eq!(tls12.version, rustls::ProtocolVersion::TLSv1_2);
    assert!(
        tls12.suite.contains("GCM") || tls12.suite.contains("CHACHA20"),
        "{}",
        tls12.suite
    );

    // TLS 1.0 and 1.1 clients get a fatal protocol_version alert and nothing else.
    for version in [[3, 1], [3, 2]] {
        let answer = answer_to_legacy_hello(&server.addr, version);
        assert_eq!(
            answer.get(..1),
            Some(&[0x15][..]),
            "TLS {version:?}: an alert, not a ServerHello: {answer:02x?}"
        );
        // fatal; protocol_version or handshake_failure
        assert_eq!(answer.get(5), Some(&2), "{answer:02x?}");
        assert!(matches!(answer.get(6), Some(70 | 40)), "{answer:02x?}");
        assert_eq!(answer.len(), 7, "one alert, then the connection closes");
    }

    // The plain listener: 308 to the same host, path and query on the HTTPS port; no HSTS.
    // reqwest's plain client still builds its TLS side, on the process's provider.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = server.redirect.clone().unwrap();
    let r = plain
        .get(format!("http://{redirect}/app/inbox?view=mine&page=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    let redirect_host = redirect.rsplit_once(':').unwrap().0;
    assert_eq!(
        r.headers()["location"],
        format!("https://{redirect_host}:{port}/app/inbox?view=mine&page=2")
    );
    assert!(r.headers().get("strict-transport-security").is_none());
    let r = plain
        .post(format!("http://{redirect}/api/v1/contacts"))
        .header("host", "ops.example.com")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308, "every method, nothing served");
    assert_eq!(
        r.headers()["location"],
        format!("https://ops.example.com:{port}/api/v1/contacts")
    );
    let r = plain
        .get(format!("http://{redirect}/"))
        .header("host", "evil.example/path")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // The HTTPS port does not speak plain HTTP.
    assert!(
        plain
            .get(format!("http://{}/healthz", server.addr))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hsts_preload_is_added_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Holdfast test CA");
    let (cert, key) = write_pair(dir.path(), &ca.leaf(&["localhost"], 30));
    let server = serve(
        dir.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--hsts-preload",
        ],
    );
    let port = server.addr.rsplit(':').next().unwrap();
    let r = https_client(&ca.pem(), &server.addr)
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains; preload"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_certificate_is_reloaded_on_change_and_on_sighup_and_a_bad_file_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Holdfast test CA");
    let first = ca.leaf(&["localhost"], 30);
    let (cert, key) = write_pair(dir.path(), &first);
    let server = serve(
        dir.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    let client = https_client(&ca.pem(), &server.addr);
    assert_eq!(served_leaf(&server.addr, &ca.pem()), der_of(&first.0));

    let wait_for = |want: &[u8], within: Duration| {
        let deadline = Instant::now() + within;
        loop {
            let leaf = served_leaf(&server.addr, &ca.pem());
            if leaf == want {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    // 1. The files change: the new certificate is served within a few polls.
    let second = ca.leaf(&["localhost"], 60);
    write_pair(dir.path(), &second);
    assert!(
        wait_for(&der_of(&second.0), Duration::from_secs(10)),
        "a changed file is picked up"
    );
    let (days, _) = certificate_metrics(&client, &port).await;
    assert!((59.0..=60.01).contains(&days), "days left: {days}");

    // 2. New files with the old modification times: polling cannot see them, SIGHUP does.
    let stamps = [&cert, &key].map(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    let third = ca.leaf(&["localhost"], 90);
    write_pair(dir.path(), &third);
    for (path, stamp) in [&cert, &key].into_iter().zip(stamps) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(stamp)
            .unwrap();
    }
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        served_leaf(&server.addr, &ca.pem()),
        der_of(&second.0),
        "unchanged stamps: no reload without a signal"
    );
    server.hangup();
    assert!(
        wait_for(&der_of(&third.0), Duration::from_secs(5)),
        "SIGHUP reloads"
    );

    // 3. A broken key, then a key that belongs to another certificate: the third certificate
    //    stays, and the log says why.
    replace(
        &key,
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    );
    server.hangup();
    std::thread::sleep(Duration::from_secs(1));
    let other = ca.leaf(&["localhost"], 10);
    replace(&key, &other.1);
    server.hangup();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(served_leaf(&server.addr, &ca.pem()), der_of(&third.0));
    let r = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "still serving");
    let log = server.log();
    assert!(
        log.contains("TLS certificate not reloaded") && log.contains("does not fit"),
        "{log}"
    );
    assert!(log.contains("no usable private key"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn console_cookies_over_https_are_secure_and_host_prefixed() {
    let dir = tempfile::tempdir().unwrap();
    // Unique, for a PostgreSQL database shared by every run.
    let slug = format!("tls-{}", rand_suffix() % 1_000_000_000_000);
    let email = format!("owner@{slug}.example.com");
    let mut create = holdfast(dir.path())
        .args([
            "admin",
            "create-workspace",
            "--name",
            "Acme Cleaning",
            "--slug",
            &slug,
            "--owner-email",
            &email,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();
    assert!(create.wait().unwrap().success());
    let ca = Ca::new("Holdfast test CA");
    let (cert, key) = write_pair(dir.path(), &ca.leaf(&["localhost"], 30));
    // Not loopback: plain HTTP there would lose `Secure` and the prefix; TLS keeps them.
    let server = serve(
        dir.path(),
        &[
            "--bind",
            "0.0.0.0:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let port = server.addr.rsplit(':').next().unwrap();
    let r = https_client(&ca.pem(), &format!("127.0.0.1:{port}"))
        .post(format!("https://localhost:{port}/sign-in"))
        .header("origin", format!("https://localhost:{port}"))
        .form(&[
            ("email", email.as_str()),
            ("password", "correct horse battery staple"),
            ("workspace", slug.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookies: Vec<&str> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-hf_"), "{cookie}");
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(
            cookie.contains("; Path=/") && !cookie.contains("Domain="),
            "{cookie}"
        );
    }
}

#[test]
fn a_bad_certificate_or_key_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Holdfast test CA");
    let (cert, key) = write_pair(dir.path(), &ca.leaf(&["localhost"], 30));
    let other_key = dir.path().join("other.pem");
    std::fs::write(&other_key, ca.leaf(&["localhost"], 30).1).unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not PEM\n").unwrap();
    let missing = dir.path().join("missing.pem");
    for (cert, key, needle) in [
        (&cert, &garbage, "no usable private key"),
        (&cert, &other_key, "does not fit"),
        (&garbage, &key, "no CERTIFICATE block"),
        (&cert, &missing, "cannot read"),
    ] {
        let (code, err) = start_failure(
            dir.path(),
            &[
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
        );
        assert_eq!(code, Some(1), "{err}");
        let line = err
            .lines()
            .find(|l| l.starts_with("holdfast: "))
            .unwrap_or_else(|| panic!("no error line: {err}"));
        assert!(line.contains("cannot serve TLS"), "{line}");
        assert!(line.contains(needle), "{needle}: {line}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Settings that do not go together are refused before anything starts.
    for (args, needle) in [
        (vec!["--tls-cert", "c.pem"], "HOLDFAST_TLS_KEY"),
        (
            vec!["--redirect-http", "127.0.0.1:0"],
            "HOLDFAST_REDIRECT_HTTP",
        ),
        (
            vec![
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
                "--acme-domain",
                "ops.example.com",
            ],
            "HOLDFAST_ACME_DOMAIN",
        ),
        (
            vec!["--acme-domain", "*.example.com"],
            "HOLDFAST_ACME_DOMAIN",
        ),
        (
            vec![
                "--acme-domain",
                "ops.example.com",
                "--acme-directory",
                "http://acme.example/dir",
            ],
            "HOLDFAST_ACME_DIRECTORY",
        ),
        (vec!["--hsts-preload"], "HOLDFAST_HSTS_PRELOAD"),
    ] {
        let (code, err) = start_failure(dir.path(), &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

// ---- outside tools -----------------------------------------------------------------------

/// Under CI a missing tool fails the test; elsewhere the test says so and skips.
fn unavailable(what: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what}; CI requires it");
    }
    println!("SKIPPED: {what}");
}

const SSLYZE: &str = "6.3.1";

#[tokio::test(flavor = "multi_thread")]
async fn an_outside_scanner_finds_no_old_protocol_and_no_weak_suite() {
    if let Err(e) = holdfast_testkit::python::ensure_package("sslyze", SSLYZE) {
        return unavailable(&format!("sslyze {SSLYZE} cannot be installed: {e}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Holdfast test CA");
    let (cert, key) = write_pair(dir.path(), &ca.leaf(&["localhost"], 30));
    let server = serve(
        dir.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let port = server.addr.rsplit(':').next().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let commands = sslyze(dir.path(), "localhost", port, &ca_file);
    let accepted = |command: &str| -> Vec<String> {
        let result = &commands[command];
        assert_eq!(result["status"], "COMPLETED", "{command}: {result}");
        result["result"]["accepted_cipher_suites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["cipher_suite"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for old in [
        "ssl_2_0_cipher_suites",
        "ssl_3_0_cipher_suites",
        "tls_1_0_cipher_suites",
        "tls_1_1_cipher_suites",
    ] {
        assert_eq!(accepted(old), Vec::<String>::new(), "{old} accepted");
    }
    let tls12 = accepted("tls_1_2_cipher_suites");
    let tls13 = accepted("tls_1_3_cipher_suites");
    assert!(
        !tls12.is_empty() && !tls13.is_empty(),
        "{tls12:?} {tls13:?}"
    );
    for suite in tls12.iter().chain(&tls13) {
        let weak = ["CBC", "RC4", "3DES", "DES", "NULL", "EXPORT", "MD5", "anon"];
        assert!(
            !weak.iter().any(|w| suite.contains(w)),
            "weak suite accepted: {suite}"
        );
        assert!(
            suite.starts_with("TLS_ECDHE_")
                || suite.starts_with("TLS_AES_")
                || suite.starts_with("TLS_CHACHA20_"),
            "not forward-secret AEAD: {suite}"
        );
    }
    println!("sslyze accepted TLS 1.2: {tls12:?}; TLS 1.3: {tls13:?}");
    assert!(
        chain_valid(&commands, &ca_file),
        "{}",
        validation(&commands)
    );
    let hsts = &commands["http_headers"]["result"]["strict_transport_security_header"];
    assert_eq!(hsts["max_age"], 63072000, "{hsts}");
    assert_eq!(hsts["include_subdomains"], true, "{hsts}");
}

/// sslyze's scan of `name:port` (connecting to 127.0.0.1), trusting `ca_file`: every
/// protocol version's suites, the certificate, the HTTP headers. The per-command results.
fn sslyze(dir: &Path, name: &str, port: &str, ca_file: &Path) -> serde_json::Value {
    let report = dir.join(format!("sslyze-{}.json", rand_suffix()));
    let out = Command::new(holdfast_testkit::python::venv_bin().join("sslyze"))
        .args([
            "--sslv2",
            "--sslv3",
            "--tlsv1",
            "--tlsv1_1",
            "--tlsv1_2",
            "--tlsv1_3",
            "--http_headers",
            "--certinfo",
            "--certinfo_ca_file",
        ])
        .arg(ca_file)
        .arg(format!("--json_out={}", report.display()))
        .arg(format!("{name}:{port}{{127.0.0.1}}"))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    println!("{printed}");
    assert!(out.status.success(), "{printed}");
    let text = std::fs::read_to_string(&report).unwrap();
    let json: serde_json::Value = serde_json::from_str(&without_huge_numbers(&text)).unwrap();
    let scan = &json["server_scan_results"][0];
    assert_eq!(scan["scan_status"], "COMPLETED", "{scan}");
    scan["scan_result"].clone()
}

/// sslyze writes an RSA modulus as a JSON integer of 600 digits, beyond what serde_json reads;
/// such numbers (unused here) become 0.
fn without_huge_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        out.push_str(if digits.len() > 300 { "0" } else { &digits });
        digits.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// sslyze's verdict per trust store, for a failure message.
fn validation(commands: &serde_json::Value) -> String {
    commands["certificate_info"]["result"]["certificate_deployments"][0]["path_validation_results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|v| format!("{}: {}\n", v["trust_store"]["name"], v["validation_error"]))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether sslyze validated the served chain against `ca_file` (it also tries its own stores).
fn chain_valid(commands: &serde_json::Value, ca_file: &Path) -> bool {
    let ca_file = ca_file.to_string_lossy();
    commands["certificate_info"]["result"]["certificate_deployments"][0]["path_validation_results"]
        .as_array()
        .is_some_and(|results| {
            results.iter().any(|v| {
                v["was_validation_successful"] == true
                    && v["trust_store"]["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with(ca_file.as_ref()))
            })
        })
}

// ---- ACME against pebble ------------------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acme_against_pebble_issues_serves_and_renews_a_certificate() {
    let (Ok(pebble), Ok(dns)) = (which("pebble"), which("pebble-challtestsrv")) else {
        return unavailable("pebble is not installed (apt-get install pebble)");
    };
    let dir = tempfile::tempdir().unwrap();
    // Pebble's own HTTPS certificate, from a CA Holdfast is told to trust for the directory.
    let ca = Ca::new("pebble directory test CA");
    let (pebble_cert, pebble_key) = ca.leaf(&["localhost", "127.0.0.1"], 30);
    std::fs::write(dir.path().join("pebble-cert.pem"), &pebble_cert).unwrap();
    std::fs::write(dir.path().join("pebble-key.pem"), &pebble_key).unwrap();
    std::fs::write(dir.path().join("directory-ca.pem"), ca.pem()).unwrap();
    let (acme_port, management_port, dns_port, dns_management, tls_port) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    // Certificates valid for 60 s: rustls-acme renews after two thirds of that.
    let config = serde_json::json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{acme_port}"),
        "managementListenAddress": format!("127.0.0.1:{management_port}"),
        "certificate": dir.path().join("pebble-cert.pem"),
        "privateKey": dir.path().join("pebble-key.pem"),
        "httpPort": 5002,
        "tlsPort": tls_port,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
        "certificateValidityPeriod": 60
    }});
    std::fs::write(dir.path().join("pebble.json"), config.to_string()).unwrap();
    // Every name resolves to 127.0.0.1, so validation reaches Holdfast's TLS port.
    let _dns = Killed(
        Command::new(dns)
            .args([
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                &format!("127.0.0.1:{dns_port}"),
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &format!("127.0.0.1:{dns_management}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pebble_log = dir.path().join("pebble.log");
    let _pebble = Killed(
        Command::new(pebble)
            .args(["-config"])
            .arg(dir.path().join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(std::fs::File::create(&pebble_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(acme_port, "pebble");
    wait_for_port(management_port, "pebble's management interface");

    let domain = "holdfast.pebble.test";
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut child = holdfast(&data)
        .env("HOLDFAST_LOG_LEVEL", "info")
        .args(["serve", "--bind", &format!("127.0.0.1:{tls_port}")])
        .args(["--acme-domain", domain])
        .args(["--acme-contact", "mailto:ops@pebble.test"])
        .args([
            "--acme-directory",
            &format!("https://localhost:{acme_port}/dir"),
        ])
        .arg("--acme-directory-ca")
        .arg(dir.path().join("directory-ca.pem"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next().unwrap().unwrap();
    std::thread::spawn(move || for _ in lines {});
    let server = Killed(child);
    assert!(banner.contains("listening on https://"), "{banner}");
    let addr = format!("127.0.0.1:{tls_port}");

    // Pebble's root (new at every start), from its management interface.
    let management = reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&ca.pem(), &both_versions(), &[b"http/1.1"]))
        .build()
        .unwrap();
    let root = management
        .get(format!("https://localhost:{management_port}/roots/0"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(root.contains("BEGIN CERTIFICATE"), "{root}");

    let log = || {
        format!(
            "serve log:\n{}\npebble log:\n{}",
            std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default(),
            std::fs::read_to_string(&pebble_log).unwrap_or_default()
        )
    };
    let issued = |after: Option<&[u8]>, within: Duration| -> Handshake {
        let deadline = Instant::now() + within;
        loop {
            let attempt = handshake(
                &addr,
                domain,
                client_config(&root, &both_versions(), &[b"h2", b"http/1.1"]),
                None,
            );
            if let Ok((done, _)) = attempt
                && after.is_none_or(|old| old != done.leaf.as_slice())
            {
                return done;
            }
            if Instant::now() > deadline {
                panic!("no (new) certificate from pebble in time\n{}", log());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    // Issued: the chain validates against pebble's root alone, for the ACME name.
    let first = issued(None, Duration::from_secs(60));
    assert_eq!(first.alpn.as_deref(), Some(&b"h2"[..]));
    assert!(first.chain_len >= 2, "leaf and intermediate");
    let (_, parsed) = x509_parser::parse_x509_certificate(&first.leaf).unwrap();
    let lifetime =
        parsed.validity().not_after.timestamp() - parsed.validity().not_before.timestamp();
    assert!(
        lifetime <= 61,
        "pebble's short-lived certificate: {lifetime} s"
    );

    // The account and the certificate are cached in the data dir, readable by the owner only.
    let cache = data.join("acme");
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&cache), 0o700);
    let listing = || -> Vec<String> {
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    // The certificate is stored just after it is first served.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !listing().iter().any(|f| f.starts_with("certificate-")) {
        assert!(Instant::now() < deadline, "{:?}", listing());
        std::thread::sleep(Duration::from_millis(100));
    }
    let names = listing();
    assert!(names.iter().any(|f| f.starts_with("account-")), "{names:?}");
    let files: Vec<PathBuf> = names.iter().map(|n| cache.join(n)).collect();
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }

    // The metric says how little is left.
    let https = reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&root, &both_versions(), &[b"http/1.1"]))
        .resolve(domain, addr.parse().unwrap())
        .build()
        .unwrap();
    let metrics = https
        .get(format!("https://{domain}:{tls_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let days: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("holdfast_tls_certificate_days_left "))
        .unwrap_or_else(|| panic!("no days-left metric:\n{metrics}"))
        .parse()
        .unwrap();
    assert!((0.0..0.002).contains(&days), "{days}");

    // A reload request (SIGHUP, `systemctl reload`) leaves the ACME server running.
    assert!(
        Command::new("kill")
            .args(["-HUP", &server.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );

    // The outside scanner agrees: the chain is valid for pebble's root.
    if holdfast_testkit::python::ensure_package("sslyze", SSLYZE).is_ok() {
        let root_file = dir.path().join("pebble-root.pem");
        std::fs::write(&root_file, &root).unwrap();
        let commands = sslyze(dir.path(), domain, &tls_port.to_string(), &root_file);
        assert!(
            chain_valid(&commands, &root_file),
            "{}",
            validation(&commands)
        );
        assert_eq!(
            commands["tls_1_1_cipher_suites"]["result"]["accepted_cipher_suites"],
            serde_json::json!([])
        );
    } else {
        unavailable("sslyze cannot be installed");
    }

    // Renewed: a new certificate is served before the first one expires.
    let renewed = issued(Some(&first.leaf), Duration::from_secs(60));
    let (_, parsed_new) = x509_parser::parse_x509_certificate(&renewed.leaf).unwrap();
    assert!(parsed_new.validity().not_after.timestamp() > parsed.validity().not_after.timestamp());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        now <= parsed.validity().not_after.timestamp(),
        "renewed before the first certificate ran out"
    );
    drop(server);
}

fn which(command: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(command))
        .find(|p| p.is_file())
        .ok_or(())
}
