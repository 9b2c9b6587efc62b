//! The console in a real headless Chromium (`tests/browser/console.mjs`, playwright-core
//! driving the system's `/usr/bin/chromium`): sign in through the form, the inbox with a
//! hostile subject shown as text, a ticket opened elsewhere arriving without a reload, the keyboard (j, Enter, r, Tab, Enter) from the inbox to a
//! sent reply, axe-core on every page (no serious or critical violations), no dialog and no
//! Content-Security-Policy report. Screenshots go to `screenshots/` (gitignored). Skipped with
//! a note when Chromium, Node.js or the npm packages are missing, except under `CI=true`.

use crate::ticket_id;
use crate::widget_browser::{browser_dir, missing};
use holdfast_testkit::{OWNER_PASSWORD, TestApp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

pub(crate) fn skip_or_fail(what: &str) -> bool {
    if let Some(why) = missing() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the {what} cannot run under CI=true: {why}");
        }
        eprintln!("SKIPPED {what}: {why}");
        return true;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_signs_in_and_answers_a_ticket_with_the_keyboard_in_chromium() {
    if skip_or_fail("console browser test") {
        return;
    }
    let app = TestApp::spawn().await;
    let ws = app.workspace("console-browser").await;
    let hostile = "<script>alert(1)</script>";
    for (subject, email) in [
        (hostile, "mallory@example.com"),
        ("Boiler makes a noise", "ada@example.com"),
        ("Invoice copy", "bob@example.com"),
    ] {
        ticket_id(
            &app,
            &ws,
            json!({"subject": subject, "contact": {"email": email}, "message": format!("{subject} <img src=x onerror=alert(3)>")}),
        )
        .await;
    }
    let reply = "A technician comes tomorrow at nine.";
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../screenshots");
    let out = tokio::task::spawn_blocking({
        let base = app.base.clone();
        let (slug, email, key) = (
            ws.slug.clone(),
            ws.owner_email.clone(),
            ws.admin_key.clone(),
        );
        move || {
            Command::new("node")
                .current_dir(browser_dir())
                .arg("console.mjs")
                .env("HF_BASE", base)
                .env("HF_WORKSPACE", slug)
                .env("HF_EMAIL", email)
                .env("HF_PASSWORD", OWNER_PASSWORD)
                .env("HF_KEY", key)
                .env("HF_SUBJECT", "Boiler makes a noise")
                .env("HF_REPLY", reply)
                .env("HF_SCREENSHOTS", shots)
                .env("HF_TIMEOUT_MS", "30000")
                .output()
                .expect("cannot start node console.mjs")
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
                "console.mjs printed no result: {text}\n{}",
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
    assert_eq!(result["xss_shown_as_text"], true, "{result:#}");
    assert_eq!(result["live_without_reload"], true, "{result:#}");
    // The ticket worked is read; every other one still shows its unread marker.
    assert_eq!(result["worked_ticket_unread"], 0, "{result:#}");
    assert!(
        result["rows"].as_i64().unwrap_or_default() >= 3,
        "{result:#}"
    );
    assert_eq!(
        result["unread_rows"].as_i64(),
        result["rows"].as_i64().map(|n| n - 1),
        "{result:#}"
    );
    for page in ["sign-in", "inbox", "ticket"] {
        assert_eq!(
            result["axe"][page],
            json!([]),
            "accessibility problems on {page}: {result:#}"
        );
    }
    // Queued when the page read it, or already sent: the worker may be quicker than the page.
    let delivery = result["reply_delivery"].as_str().unwrap_or_default();
    assert!(
        delivery.contains("queued") || delivery.contains("sent"),
        "{result:#}"
    );
    let list = crate::ticket_list(&app, &ws).await;
    let boiler = list
        .iter()
        .find(|t| t["subject"] == "Boiler makes a noise")
        .unwrap();
    let thread = app
        .get(&format!(
            "/api/v1/tickets/{}",
            boiler["id"].as_str().unwrap()
        ))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(thread["messages"][1]["body"], reply, "{thread}");
    assert_eq!(thread["messages"][1]["kind"], "reply");
}

/// The console serves htmx from the binary; the copy must be the pinned npm package's file.
#[test]
fn the_vendored_htmx_is_the_pinned_package() {
    let package = browser_dir().join("node_modules/htmx.org/dist/htmx.min.js");
    if !package.is_file() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{} is missing under CI=true", package.display());
        }
        eprintln!(
            "SKIPPED the htmx copy check: {} is missing",
            package.display()
        );
        return;
    }
    let from_npm = std::fs::read_to_string(&package).unwrap();
    assert!(
        from_npm == holdfast_http::pages::ops::assets::HTMX,
        "crates/holdfast-http/assets/htmx.min.js differs from htmx.org in tests/browser/package.json"
    );
}
