//! Backups through the binary, on SQLite or on PostgreSQL (`HOLDFAST_TEST_DATABASE_URL`): the
//! restore drill (data seeded through the API, a backup taken while writes go on, restored
//! into a fresh target, a second server started on it and read back) and each refusal (wrong
//! identity, a flipped byte, a non-empty target, no recipient) with nothing half-written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The backups' recipients are age's X25519 keys (see holdfast_app::backup).
#![allow(deprecated)]

mod common;

use age::secrecy::ExposeSecret;
use common::{holdfast_keyless as holdfast, listening_address};
use holdfast_store::Db;
use holdfast_store::ops::backup::{Snapshot, unscoped_postgres_counts};
use holdfast_testkit::{TestApp, Workspace, fresh_schema, postgres_url};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A new age key pair: the identity file's path (0600, in `dir`) and the `age1…` recipient.
fn keypair(dir: &Path, name: &str) -> (PathBuf, String) {
    let identity = age::x25519::Identity::generate();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "# created by the backup test\n{}\n",
            identity.to_string().expose_secret()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (path, identity.to_public().to_string())
}

/// `holdfast` on `app`'s database and data dir.
fn on_app(app: &TestApp) -> Command {
    let mut cmd = holdfast(&app.config.data_dir);
    cmd.env("HOLDFAST_DATABASE_URL", &app.config.database_url);
    cmd
}

/// `holdfast` on a restore target: its data dir and, on PostgreSQL, its database.
fn on_target(data_dir: &Path, database_url: Option<&str>) -> Command {
    let mut cmd = holdfast(data_dir);
    match database_url {
        Some(url) => cmd.env("HOLDFAST_DATABASE_URL", url),
        None => cmd.env_remove("HOLDFAST_DATABASE_URL"),
    };
    cmd
}

async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.stdin(Stdio::null()).output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one backup file in `dir`.
fn backup_in(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files[0].clone();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("holdfast-") && name.ends_with(".tar.zst.age"),
        "{name}"
    );
    file
}

/// A Mailgun inbound-route delivery (multipart form) with one attachment, signed with `key`.
fn mailgun_mail(key: &str, n: usize, file: &[u8]) -> (String, Vec<u8>) {
    use hmac::{Hmac, Mac};
    let token = format!("drill-token-{n:04}-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{timestamp}{token}").as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let boundary = "----holdfast-drill-boundary";
    let mut body = Vec::new();
    let from = format!("customer{n}@example.com");
    let subject = format!("Boiler quote {n}");
    let message_id = format!("<drill-{n}@mail.example.com>");
    for (name, value) in [
        ("timestamp", timestamp.as_str()),
        ("token", token.as_str()),
        ("signature", signature.as_str()),
        ("sender", from.as_str()),
        ("from", from.as_str()),
        ("recipient", "support@inbound.example.com"),
        ("subject", subject.as_str()),
        ("Message-Id", message_id.as_str()),
        ("body-plain", "Hello, the quote is attached."),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"quote-{n}.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Contacts, tickets by mail with attachments (each attachment's bytes by subject), and the
/// audit entries those writes leave.
async fn seed(app: &TestApp, ws: &Workspace) -> BTreeMap<String, Vec<u8>> {
    for i in 0..15 {
        app.post("/api/v1/contacts")
            .key(&ws.admin_key)
            .json(
                &json!({"email": format!("person{i}@example.com"), "name": format!("Person {i}")}),
            )
            .expect(201)
            .await;
    }
    let key = "key-drill-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    app.call(
        holdfast_testkit::Method::PUT,
        "/api/v1/inbound-hooks/mailgun",
    )
    .key(&ws.admin_key)
    .json(&json!({"secret": key}))
    .expect(200)
    .await;
    let mut files = BTreeMap::new();
    for n in 0..3 {
        let file: Vec<u8> = format!("%PDF-1.4 quote {n} ")
            .bytes()
            .chain((0..2000u32).map(|i| (i * 7 + n as u32) as u8))
            .collect();
        let (content_type, body) = mailgun_mail(key, n, &file);
        app.post(&format!("/hooks/mailgun/{}", ws.slug))
            .body(&content_type, body)
            .expect(200)
            .await;
        files.insert(format!("Boiler quote {n}"), file);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = app
            .get("/api/v1/tickets?limit=100")
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json;
        let with_files = listed["data"].as_array().unwrap().len();
        if with_files >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mail did not become tickets: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    files
}

/// Rows per table of a restored target, every workspace's.
async fn target_counts(data_dir: &Path, database_url: Option<&str>) -> BTreeMap<String, u64> {
    match database_url {
        None => {
            let snapshot = Snapshot::open(&data_dir.join("holdfast.db")).await.unwrap();
            let counts = snapshot.counts().await.unwrap();
            snapshot.close().await;
            counts
        }
        Some(url) => {
            let db = Db::connect(url, 2).await.unwrap();
            let counts = unscoped_postgres_counts(&db).await.unwrap();
            db.close().await;
            counts
        }
    }
}

/// A fresh restore target: a data dir that does not exist yet and, on PostgreSQL, an empty
/// schema.
async fn fresh_target(root: &Path, name: &str) -> (PathBuf, Option<String>) {
    let url = match postgres_url() {
        Some(url) => Some(fresh_schema(&url).await),
        None => None,
    };
    (root.join(name), url)
}

use http1::get;

mod http1 {
    //! A tiny blocking HTTP/1.1 GET (the restored server is a separate process).
    use std::io::{Read, Write};

    pub fn get(addr: &str, path: &str, key: &str) -> (u16, Vec<u8>) {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = unchunk(&body);
        }
        (status, body)
    }

    fn unchunk(mut data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&data[..line_end])
                    .split(';')
                    .next()
                    .unwrap()
                    .trim(),
                16,
            )
            .unwrap();
            if size == 0 {
                return out;
            }
            let start = line_end + 2;
            out.extend_from_slice(&data[start..start + size]);
            data = &data[start + size + 2..];
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_drill_backs_up_during_writes_and_a_second_server_serves_the_restored_data() {
    let app = TestApp::spawn_alone().await;
    let ws = app.workspace("drill").await;
    let files = seed(&app, &ws).await;
    let keys = tempfile::tempdir().unwrap();
    let (identity, recipient) = keypair(keys.path(), "backup.key");
    let (_, second_recipient) = keypair(keys.path(), "second.key");

    // Writes go on while the backup is taken.
    let writing = Arc::new(AtomicBool::new(true));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (writing, written) = (writing.clone(), written.clone());
        let (base, key) = (app.base.clone(), ws.admin_key.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut i = 0;
            while writing.load(Ordering::SeqCst) {
                let r = client
                    .post(format!("{base}/api/v1/contacts"))
                    .bearer_auth(&key)
                    .json(&json!({"email": format!("during{i}@example.com")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                written.fetch_add(1, Ordering::SeqCst);
                i += 1;
                // 20 a second, inside the key's rate limit (30 a second).
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    while written.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let before = written.load(Ordering::SeqCst);
    let mut create = on_app(&app);
    create
        .args(["backup", "create", "--json", "--to"])
        .arg(out_dir.path())
        .args([
            "--backup-recipient",
            &recipient,
            "--backup-recipient",
            &second_recipient,
        ]);
    let created = output(create).await;
    assert!(created.status.success(), "{}", text(&created.stderr));
    let during = written.load(Ordering::SeqCst);
    writing.store(false, Ordering::SeqCst);
    writer.await.unwrap();
    assert!(
        during > before,
        "writes went on during the backup ({before} before, {during} after)"
    );
    let report: Value = serde_json::from_slice(&created.stdout).unwrap();
    let file = backup_in(out_dir.path());
    assert_eq!(report["file"], file.to_string_lossy().as_ref());
    let manifest = &report["manifest"];
    let manifest_counts: BTreeMap<String, u64> = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_owned(),
                t["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        manifest_counts["contacts"] >= 15 + 3 + 3,
        "{manifest_counts:?}"
    );
    assert!(manifest_counts["audit_events"] > 0, "{manifest_counts:?}");
    assert_eq!(
        manifest_counts["ticket_attachments"], 3,
        "{manifest_counts:?}"
    );
    assert_eq!(
        manifest_counts["attachment_blobs"], 3,
        "{manifest_counts:?}"
    );
    let attachment_parts = manifest["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["path"].as_str().unwrap().starts_with("attachments/"))
        .count();
    assert_eq!(attachment_parts, 3);
    // Not readable without the identity: nothing of the data shows in the file.
    let sealed = std::fs::read(&file).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
    assert!(!sealed.windows(9).any(|w| w == b"person14@"));

    // The real age CLI opens it with the identity, and the archive lists the manifest first.
    let listing = Command::new("sh")
        .arg("-c")
        .arg("age -d -i \"$1\" \"$2\" | zstd -dc | tar -tf -")
        .args(["sh"])
        .arg(&identity)
        .arg(&file)
        .output()
        .expect("the age CLI (Debian package age) and zstd");
    assert!(listing.status.success(), "{}", text(&listing.stderr));
    let listed = text(&listing.stdout);
    assert_eq!(listed.lines().next(), Some("manifest.json"), "{listed}");
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.starts_with("attachments/"))
            .count(),
        3
    );

    // verify: hashes, the snapshot, its rows and the audit chain.
    let mut verify = on_app(&app);
    verify
        .args(["backup", "verify", "--json", "--identity"])
        .arg(&identity)
        .arg(&file);
    let verified = output(verify).await;
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    let verdict: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verdict["intact"], true);
    assert_eq!(verdict["workspaces"], 1);
    assert_eq!(&verdict["manifest"], manifest);

    // Restore into a fresh target, with the instance's master key put back beside it.
    let root = tempfile::tempdir().unwrap();
    let (data_dir, url) = fresh_target(root.path(), "restored").await;
    let mut restore = on_target(&data_dir, url.as_deref());
    restore
        .args(["backup", "restore", "--identity"])
        .arg(&identity)
        .arg(&file);
    let restored = output(restore).await;
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    assert!(
        text(&restored.stdout).contains("master key is not in a backup"),
        "{}",
        text(&restored.stdout)
    );
    assert_eq!(
        target_counts(&data_dir, url.as_deref()).await,
        manifest_counts
    );
    std::fs::write(
        data_dir.join("master.key"),
        format!("{}\n", app.master_key_hex()),
    )
    .unwrap();
    std::fs::set_permissions(
        data_dir.join("master.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    // The restored chain verifies with the ordinary command.
    let mut audit = on_target(&data_dir, url.as_deref());
    audit.args(["audit", "verify"]);
    let audited = output(audit).await;
    assert!(audited.status.success(), "{}", text(&audited.stderr));
    assert!(
        text(&audited.stdout).contains("chain intact"),
        "{}",
        text(&audited.stdout)
    );

    // A second server on the restored target serves the data.
    let mut serve = on_target(&data_dir, url.as_deref());
    let mut child = serve
        .env("HOLDFAST_BIND", "127.0.0.1:0")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = listening_address(&lines.next().unwrap().unwrap());
    let served = tokio::task::spawn_blocking({
        let key = ws.admin_key.clone();
        move || {
            let contacts = get(&addr, "/api/v1/contacts?limit=100", &key);
            let tickets = get(&addr, "/api/v1/tickets?limit=100", &key);
            (addr, key, contacts, tickets)
        }
    })
    .await
    .unwrap();
    let (addr, key, (status, body), (t_status, t_body)) = served;
    assert_eq!(status, 200, "{}", text(&body));
    let contacts: Value = serde_json::from_slice(&body).unwrap();
    let emails: Vec<&str> = contacts["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["email"].as_str())
        .collect();
    assert!(emails.contains(&"person14@example.com"), "{emails:?}");
    assert_eq!(t_status, 200, "{}", text(&t_body));
    let tickets: Value = serde_json::from_slice(&t_body).unwrap();
    assert_eq!(tickets["data"].as_array().unwrap().len(), 3, "{tickets}");
    for ticket in tickets["data"].as_array().unwrap() {
        let id = ticket["id"].as_str().unwrap().to_owned();
        let subject = ticket["subject"].as_str().unwrap().to_owned();
        let (addr, key) = (addr.clone(), key.clone());
        let (thread, download) = tokio::task::spawn_blocking(move || {
            let (_, thread) = get(&addr, &format!("/api/v1/tickets/{id}"), &key);
            let thread: Value = serde_json::from_slice(&thread).unwrap();
            let attachment = thread["attachments"][0]["id"].as_str().unwrap().to_owned();
            let download = get(
                &addr,
                &format!("/api/v1/tickets/{id}/attachments/{attachment}"),
                &key,
            );
            (thread, download)
        })
        .await
        .unwrap();
        assert_eq!(download.0, 200, "{thread}");
        assert_eq!(download.1, files[&subject], "the attachment of {subject}");
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_clearly_and_nothing_is_half_written() {
    let app = TestApp::spawn_alone().await;
    let ws = app.workspace("refusals").await;
    app.post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"email": "kept@example.com"}))
        .expect(201)
        .await;
    let keys = tempfile::tempdir().unwrap();
    let (identity, recipient) = keypair(keys.path(), "backup.key");
    let (stranger, _) = keypair(keys.path(), "stranger.key");
    let out_dir = tempfile::tempdir().unwrap();

    // No recipient, or one that is not an age key: refused, no file written.
    let mut none = on_app(&app);
    none.args(["backup", "create", "--to"]).arg(out_dir.path());
    let refused = output(none).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("no backup recipient"),
        "{}",
        text(&refused.stderr)
    );
    let mut wrong = on_app(&app);
    wrong
        .args([
            "backup",
            "create",
            "--backup-recipient",
            "age1notakey",
            "--to",
        ])
        .arg(out_dir.path());
    let refused = output(wrong).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("is not an age X25519 public key"),
        "{}",
        text(&refused.stderr)
    );
    if postgres_url().is_none() {
        let nowhere = tempfile::tempdir().unwrap();
        let mut missing = on_target(&nowhere.path().join("typo"), None);
        missing
            .args(["backup", "create", "--backup-recipient", &recipient, "--to"])
            .arg(out_dir.path());
        let refused = output(missing).await;
        assert!(!refused.status.success());
        assert!(
            text(&refused.stderr).contains("no database at"),
            "{}",
            text(&refused.stderr)
        );
        assert!(
            !nowhere.path().join("typo").exists(),
            "no empty database made"
        );
    }
    assert_eq!(std::fs::read_dir(out_dir.path()).unwrap().count(), 0);

    let mut create = on_app(&app);
    create
        .args(["backup", "create", "--backup-recipient", &recipient, "--to"])
        .arg(out_dir.path());
    let created = output(create).await;
    assert!(created.status.success(), "{}", text(&created.stderr));
    let file = backup_in(out_dir.path());
    let root = tempfile::tempdir().unwrap();

    // The wrong identity opens nothing; the target stays untouched.
    let (target, url) = fresh_target(root.path(), "wrong-identity").await;
    for command in ["verify", "restore"] {
        let mut cmd = on_target(&target, url.as_deref());
        cmd.args(["backup", command, "--identity"])
            .arg(&stranger)
            .arg(&file);
        let refused = output(cmd).await;
        assert!(!refused.status.success(), "{command}");
        assert!(
            text(&refused.stderr).contains("does not open")
                && text(&refused.stderr).contains("other recipients"),
            "{command}: {}",
            text(&refused.stderr)
        );
    }
    assert!(!target.exists(), "nothing written for a wrong identity");

    // One flipped byte: the file is damaged, and a restore writes nothing.
    let tampered = keys.path().join("tampered.tar.zst.age");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&tampered, &bytes).unwrap();
    for command in ["verify", "restore"] {
        let mut cmd = on_target(&target, url.as_deref());
        cmd.args(["backup", command, "--identity"])
            .arg(&identity)
            .arg(&tampered);
        let refused = output(cmd).await;
        assert!(!refused.status.success(), "{command}");
        assert!(
            text(&refused.stderr).contains("damaged or was altered"),
            "{command}: {}",
            text(&refused.stderr)
        );
    }
    assert!(!target.exists(), "nothing written for a damaged file");
    if let Some(url) = &url {
        assert!(
            target_counts(&target, Some(url)).await.is_empty(),
            "the target database got no tables"
        );
    }
    let leftovers: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        leftovers.is_empty(),
        "no staging folder left: {leftovers:?}"
    );

    // A non-empty data dir is refused, and so (on PostgreSQL) is a database holding data.
    let (busy, _) = fresh_target(root.path(), "busy").await;
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let mut cmd = on_target(&busy, url.as_deref());
    cmd.args(["backup", "restore", "--identity"])
        .arg(&identity)
        .arg(&file);
    let refused = output(cmd).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("is not empty")
            && text(&refused.stderr).contains("notes.txt"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);
    if postgres_url().is_some() {
        let (empty_dir, _) = fresh_target(root.path(), "into-live").await;
        let mut cmd = on_target(&empty_dir, Some(&app.config.database_url));
        cmd.args(["backup", "restore", "--identity"])
            .arg(&identity)
            .arg(&file);
        let refused = output(cmd).await;
        assert!(!refused.status.success());
        assert!(
            text(&refused.stderr).contains("not empty"),
            "{}",
            text(&refused.stderr)
        );
        assert!(!empty_dir.exists());
    } else {
        let (existing, _) = fresh_target(root.path(), "has-db").await;
        std::fs::create_dir_all(&existing).unwrap();
        std::fs::copy(
            app.config.data_dir.join("holdfast.db"),
            existing.join("holdfast.db"),
        )
        .unwrap();
        let mut cmd = on_target(&existing, None);
        cmd.args(["backup", "restore", "--identity"])
            .arg(&identity)
            .arg(&file);
        let refused = output(cmd).await;
        assert!(!refused.status.success());
        assert!(
            text(&refused.stderr).contains("not empty"),
            "{}",
            text(&refused.stderr)
        );
    }
    // The source still has its data.
    app.get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
}
