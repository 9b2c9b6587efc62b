//! The worker's scheduled backup: once per day across instances, audited in the workspace's
//! trail, on /metrics, rotated, and reported by /readyz when older than 36 hours.
#![allow(deprecated)] // age's X25519 keys, as the backups use (see holdfast_app::backup)

use holdfast_core::ops::config::Layer;
use holdfast_testkit::TestApp;
use std::path::Path;
use std::time::{Duration, Instant};

const SECRET: &str = "a-scheduler-secret-of-forty-characters-xx";
const HOUR_MS: i64 = 3_600_000;

fn backups(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar.zst.age"))
        .collect();
    names.sort();
    names
}

async fn tick(app: &TestApp) {
    app.post("/internal/cron/tick")
        .header("x-holdfast-cron-secret", SECRET)
        .expect(200)
        .await;
}

/// Waits until `dir` holds a backup named for `day_prefix` (e.g. `holdfast-20261207T`) and no
/// write is in progress.
async fn wait_for_backup(dir: &Path, day_prefix: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let names = backups(dir);
        let partial = std::fs::read_dir(dir).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        });
        if !partial && names.iter().any(|n| n.starts_with(day_prefix)) {
            return names;
        }
        assert!(
            Instant::now() < deadline,
            "no backup for {day_prefix}: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn prefix(ms: i64) -> String {
    let stamp = holdfast_app::backup::file_name(ms);
    stamp[..18].to_owned()
}

async fn ready_warnings(app: &TestApp) -> Vec<String> {
    let ready = app.get("/readyz").expect(200).await.json;
    assert_eq!(ready["status"], "ready", "{ready}");
    ready["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_backup_runs_once_across_instances_is_audited_rotated_and_watched() {
    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    // Older backups already there: rotation keeps 2 days, then 1 week.
    let now = holdfast_core::clock::Clock::now_ms(&holdfast_core::clock::SystemClock);
    for days in 1..=20 {
        let name = holdfast_app::backup::file_name(now - days * 24 * HOUR_MS);
        std::fs::write(dir.path().join(name), b"old").unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), b"not a backup").unwrap();
    let layer = Layer {
        cron_secret: Some(SECRET.into()),
        worker: Some(false),
        backup_recipients: Some(vec![identity.to_public().to_string()]),
        backup_dir: Some(dir.path().to_path_buf()),
        backup_hour_utc: Some(0),
        backup_keep_daily: Some(2),
        backup_keep_weekly: Some(1),
        ..Layer::default()
    };
    // The first instance's clock is now; the second runs on the system clock: the same day.
    let (app, clock) = TestApp::spawn_alone_on_clock(layer, now).await;
    let ws = app.workspace("nightly").await;
    app.post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&serde_json::json!({"email": "kept@example.com"}))
        .expect(201)
        .await;
    let second = app.another_instance().await;
    assert!(
        ready_warnings(&app).await.is_empty(),
        "nothing scheduled yet"
    );

    // Both instances tick, twice: the day's backup is written once.
    tokio::join!(tick(&app), tick(&second));
    tokio::join!(tick(&app), tick(&second));
    let today = prefix(now);
    wait_for_backup(dir.path(), &today).await;
    // Rotation follows the write (and the audit): today, yesterday (2 days), then one older
    // week; the stranger's file stays.
    let deadline = Instant::now() + Duration::from_secs(30);
    while backups(dir.path()).len() != 3 {
        assert!(
            Instant::now() < deadline,
            "not rotated: {:?}",
            backups(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let names = backups(dir.path());
    assert_eq!(names.len(), 3, "{names:?}");
    let todays: Vec<&String> = names.iter().filter(|n| n.starts_with(&today)).collect();
    assert_eq!(todays.len(), 1, "one backup today: {names:?}");
    assert!(dir.path().join("notes.txt").exists());

    // The backup opens with the identity and holds the workspace's contact.
    let (manifest, checked) =
        holdfast_app::backup::verify(&dir.path().join(todays[0]), &[identity])
            .await
            .unwrap();
    assert_eq!(checked.workspaces, 1);
    assert!(manifest.counts()["contacts"] >= 1);

    // Audited in the workspace's trail, once.
    let audit = app
        .get("/api/v1/audit?action=backup.created")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let entries = audit["data"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor_type"], "system");
    assert_eq!(entries[0]["entity_id"], todays[0].as_str());

    // The instance that wrote it exports its figures; the other does not.
    let mut writers = 0;
    for instance in [&app, &second] {
        let metrics = instance.get("/metrics").expect(200).await.text;
        if metrics.contains("holdfast_backup_last_success_timestamp_seconds ") {
            writers += 1;
            assert!(
                metrics.contains("holdfast_backup_last_size_bytes "),
                "{metrics}"
            );
            assert!(metrics.contains("holdfast_backup_last_duration_seconds "));
        }
        assert!(
            metrics.contains("holdfast_backup_failures_total 0"),
            "{metrics}"
        );
    }
    assert_eq!(writers, 1);
    drop(second);

    // 37 hours later with no backup since, /readyz warns (still ready); the day's run clears it.
    clock.advance(37 * HOUR_MS);
    let warnings = ready_warnings(&app).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("backup: "), "{warnings:?}");
    tick(&app).await;
    wait_for_backup(dir.path(), &prefix(now + 37 * HOUR_MS)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready_warnings(&app).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the warning stayed after a backup"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_recipients_no_backup_is_scheduled_and_readyz_says_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let layer = Layer {
        cron_secret: Some(SECRET.into()),
        worker: Some(false),
        backup_dir: Some(dir.path().to_path_buf()),
        backup_hour_utc: Some(0),
        ..Layer::default()
    };
    let (app, clock) = TestApp::spawn_alone_on_clock(layer, 1_800_000_000_000).await;
    tick(&app).await;
    clock.advance(72 * HOUR_MS);
    tick(&app).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(backups(dir.path()).is_empty());
    assert!(ready_warnings(&app).await.is_empty());
}
