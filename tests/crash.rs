//! The durable job queue survives a crash: `holdfast serve` is killed with SIGKILL while
//! contacts are being created (each one a committed webhook fan-out job) and deliveries are in
//! flight, then started again. Every contact the API acknowledged (201) must reach the webhook
//! receiver at least once; jobs cut off mid-run are taken over when their lease ends.
//! A second process, `holdfast worker`, claims from the same queue the whole time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use holdfast_testkit::receiver::Receiver;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

/// The binary with the settings this test needs on top of the shared clean environment.
fn holdfast(data_dir: &Path) -> Command {
    let mut cmd = common::holdfast(data_dir);
    cmd.env("HOLDFAST_OUTBOUND_ALLOW", "127.0.0.1")
        .env("HOLDFAST_JOB_LEASE_SECONDS", "3")
        .env("HOLDFAST_PUBLIC_RATE_LIMIT_PER_MINUTE", "1000000")
        .env("HOLDFAST_API_RATE_LIMIT_PER_MINUTE", "1000000");
    cmd
}

/// Starts `holdfast serve` and returns it with its address.
fn serve(dir: &Path) -> (Child, String) {
    let (child, addr) = common::start_serving(
        holdfast(dir)
            .env("HOLDFAST_BIND", "127.0.0.1:0")
            .arg("serve"),
    );
    (child, format!("http://{addr}"))
}

fn cli(dir: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = holdfast(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates contacts from `clients` concurrent clients until `stop`, recording the ids the API
/// acknowledged with 201. Requests cut off by the crash are simply not acknowledged.
async fn produce(
    base: String,
    key: String,
    clients: usize,
    run_for: Duration,
    acknowledged: Arc<Mutex<Vec<String>>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let until = Instant::now() + run_for;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, base, key, acknowledged) = (
            http.clone(),
            base.clone(),
            key.clone(),
            acknowledged.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < until {
                n += 1;
                let sent = http
                    .post(format!("{base}/api/v1/contacts"))
                    .bearer_auth(&key)
                    .json(&serde_json::json!({"name": format!("Customer {client}-{n}")}))
                    .send()
                    .await;
                let Ok(response) = sent else { continue };
                if response.status().as_u16() != 201 {
                    continue;
                }
                if let Ok(body) = response.json::<serde_json::Value>().await {
                    let id = body["id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().push(id);
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_loses_no_acknowledged_job() {
    holdfast_app::outbound::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    // Slow answers keep deliveries in flight when the kill comes.
    receiver.delay(Duration::from_millis(30));
    let slug = format!("crash-{}", std::process::id());
    cli(
        dir.path(),
        &[
            "admin",
            "create-workspace",
            "--name",
            "Crash Test",
            "--slug",
            &slug,
            "--owner-email",
            &format!("owner@{slug}.example.com"),
            "--password-stdin",
        ],
        "correct horse battery staple\n",
    );
    let key = cli(
        dir.path(),
        &[
            "admin",
            "create-api-key",
            "--workspace",
            &slug,
            "--role",
            "admin",
            "--name",
            "crash",
            "--json",
        ],
        "",
    );
    let key: serde_json::Value = serde_json::from_str(&key).unwrap();
    let key = key["secret"].as_str().unwrap().to_owned();

    let (mut server, base) = serve(dir.path());
    let mut worker = holdfast(dir.path())
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"url": format!("{}/crash", receiver.base), "event_types": ["contact.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let producing = tokio::spawn(produce(
        base.clone(),
        key.clone(),
        4,
        Duration::from_millis(2500),
        acknowledged.clone(),
    ));
    // Let jobs pile up and deliveries start, then kill the server mid-flight.
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let acked = acknowledged.lock().unwrap().len();
        if (acked >= 60 && !receiver.requests().is_empty())
            || started.elapsed() > Duration::from_secs(20)
        {
            break;
        }
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    worker.kill().unwrap();
    worker.wait().unwrap();
    let before_restart = acknowledged.lock().unwrap().len();
    let delivered_at_kill = receiver.requests().len();
    producing.await.unwrap();

    // Start again (new address); more work arrives while the backlog drains.
    let (mut server, base) = serve(dir.path());
    let mut worker = holdfast(dir.path())
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    produce(
        base.clone(),
        key.clone(),
        2,
        Duration::from_millis(500),
        acknowledged.clone(),
    )
    .await;
    let expected: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    assert!(
        before_restart > 0 && delivered_at_kill < before_restart,
        "the kill must come while work is pending ({delivered_at_kill} delivered of {before_restart})"
    );

    let deadline = Instant::now() + Duration::from_secs(90);
    let delivered = loop {
        let delivered: HashSet<String> = receiver
            .requests()
            .iter()
            .map(|r| r.json()["data"]["id"].as_str().unwrap().to_owned())
            .collect();
        if expected.is_subset(&delivered) || Instant::now() > deadline {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let missing: Vec<&String> = expected.difference(&delivered).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged contacts never reached the receiver, e.g. {:?}",
        missing.len(),
        expected.len(),
        missing.iter().take(3).collect::<Vec<_>>()
    );
    // Each delivery carries one message id per contact: duplicates (at-least-once) reuse it.
    let mut ids_per_contact = std::collections::HashMap::<String, HashSet<String>>::new();
    for r in receiver.requests() {
        let contact = r.json()["data"]["id"].as_str().unwrap().to_owned();
        ids_per_contact
            .entry(contact)
            .or_default()
            .insert(r.header("webhook-id").unwrap().to_owned());
    }
    assert!(ids_per_contact.values().all(|ids| ids.len() == 1));
    eprintln!(
        "crash test: {} acknowledged ({} before the kill, {} delivered at the kill), {} requests received",
        expected.len(),
        before_restart,
        delivered_at_kill,
        receiver.requests().len()
    );
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let _ = server.wait();
    let _ = worker.wait();
}
