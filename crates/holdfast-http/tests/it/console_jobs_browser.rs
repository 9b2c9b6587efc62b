//! The console's field-service pages in a real headless Chromium (`tests/browser/console_jobs.mjs`,
//! playwright-core driving the system's `/usr/bin/chromium`): a technician on a phone-sized
//! screen opens the day's job from their board, taps "On my way", ticks the checklist, records
//! a material, leaves a note for the customer (a hostile one, shown as text) and uploads a
//! photo; the dispatcher sees the board with a double booking marked and books a job through
//! the form; the customer's public page is checked too. axe-core on every page (no serious or
//! critical violations), no dialog and no Content-Security-Policy report. Skipped with a note
//! when Chromium, Node.js or the npm packages are missing, except under `CI=true`.

use crate::jobs::{PASSWORD, member};
use crate::widget_browser::{browser_dir, missing};
use crate::{ada, contact};
use base64::Engine;
use holdfast_testkit::{OWNER_PASSWORD, TestApp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// A 1×1 PNG, as a phone's camera would send a (much larger) photo.
pub(crate) const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

#[tokio::test(flavor = "multi_thread")]
async fn a_technician_works_a_job_on_a_phone_and_the_dispatcher_books_one_in_chromium() {
    if let Some(why) = missing() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the jobs console browser test cannot run under CI=true: {why}");
        }
        eprintln!("SKIPPED the jobs console browser test: {why}");
        return;
    }
    let app = TestApp::spawn_with(crate::generous_sign_in()).await;
    let ws = app.workspace("console-jobs-browser").await;
    let customer = contact(&app, &ws, ada()).await;
    let (tess, _) = member(&app, &ws, "tess", "technician").await;
    let (tom, _) = member(&app, &ws, "tom", "technician").await;
    let day = "2026-07-01";
    let book = |body: Value| {
        let app = &app;
        let key = ws.admin_key.clone();
        async move {
            app.post("/api/v1/jobs")
                .key(&key)
                .json(&body)
                .expect(201)
                .await
                .json["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let job = book(json!({"contact_id": customer, "title": "Boiler service",
        "window": {"start": format!("{day}T09:00"), "end": format!("{day}T11:00")},
        "technician_ids": [tess],
        "checklist": [{"text": "Shut off water"}, {"text": "Replace valve"}]}))
    .await;
    app.post(&format!("/api/v1/jobs/{job}/status"))
        .key(&ws.admin_key)
        .json(&json!({"status": "scheduled"}))
        .expect(200)
        .await;
    for (start, end) in [("10:00", "12:00"), ("11:00", "13:00")] {
        book(
            json!({"contact_id": customer, "title": format!("Tom's {start}"),
            "window": {"start": format!("{day}T{start}"), "end": format!("{day}T{end}")},
            "technician_ids": [tom]}),
        )
        .await;
    }
    let link = app
        .post(&format!("/api/v1/jobs/{job}/public-link"))
        .key(&ws.admin_key)
        .expect(201)
        .await;
    let url = link.json["url"].as_str().unwrap();
    let public = format!("/p/jobs/{}", url.split_once("/p/jobs/").unwrap().1);
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../screenshots");
    let photo = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    std::fs::write(
        photo.path(),
        base64::engine::general_purpose::STANDARD
            .decode(PNG)
            .unwrap(),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking({
        let base = app.base.clone();
        let slug = ws.slug.clone();
        let owner = ws.owner_email.clone();
        let photo = photo.path().to_owned();
        move || {
            Command::new("node")
                .current_dir(browser_dir())
                .arg("console_jobs.mjs")
                .env("HF_BASE", base)
                .env("HF_WORKSPACE", &slug)
                .env("HF_TECH_EMAIL", format!("tess@{slug}.example.com"))
                .env("HF_OWNER_EMAIL", owner)
                .env("HF_PASSWORD", PASSWORD)
                .env("HF_OWNER_PASSWORD", OWNER_PASSWORD)
                .env("HF_DAY", day)
                .env("HF_JOB", "Boiler service")
                .env("HF_CONTACT_EMAIL", "ada@example.com")
                .env("HF_PUBLIC", public)
                .env("HF_PHOTO", photo)
                .env("HF_SCREENSHOTS", shots)
                .env("HF_TIMEOUT_MS", "30000")
                .output()
                .expect("cannot start node console_jobs.mjs")
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let result: Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "console_jobs.mjs printed no result: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert_eq!(result["ok"], true, "{result:#}");
    assert_eq!(result["dialogs"], json!([]), "a script ran: {result:#}");
    assert_eq!(
        result["csp"],
        json!([]),
        "the policy was violated: {result:#}"
    );
    for page in [
        "tech-board",
        "job",
        "job-worked",
        "board",
        "book",
        "public-job",
    ] {
        assert_eq!(
            result["axe"][page],
            json!([]),
            "accessibility problems on {page}: {result:#}"
        );
    }
    assert_eq!(result["tech_heading"], "My jobs", "{result:#}");
    assert_eq!(result["status_after_tap"], "On the way", "{result:#}");
    assert_eq!(result["ticked"], 1, "{result:#}");
    assert_eq!(result["note_as_text"], true, "{result:#}");
    assert_eq!(result["photo_loaded"], true, "{result:#}");
    assert_eq!(result["overlap_marked"], 2, "{result:#}");
    assert_eq!(
        result["booked_title"], "Annual gas safety check",
        "{result:#}"
    );
    assert_eq!(result["public_status"], "On the way", "{result:#}");
    // What the phone did is what the API sees.
    let stored = app
        .get(&format!("/api/v1/jobs/{job}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(stored["status"], "en_route", "{stored:#}");
    assert_eq!(stored["checklist"][0]["done"], true, "{stored:#}");
    assert_eq!(stored["line_items"][0]["quantity"], "2.5", "{stored:#}");
    let files = app
        .get(&format!("/api/v1/jobs/{job}/files"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(files["data"].as_array().map(Vec::len), Some(1), "{files:#}");
}
