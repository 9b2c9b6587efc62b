//! The console's settings in a real headless Chromium (`tests/browser/console_settings.mjs`,
//! playwright-core driving the system's `/usr/bin/chromium`): signing in, enrolling an
//! authenticator through the two-factor page (its code computed from the key the page shows),
//! rotating a webhook secret after the step-up form, making a role that hides emails and an
//! API key of it that then sees no emails; the widget's embed snippet shown as text; axe-core
//! on every settings page, no dialog and no Content-Security-Policy report. Skipped with a note when Chromium, Node.js or the npm
//! packages are missing, except under `CI=true`.

use crate::widget_browser::{browser_dir, missing};
use holdfast_testkit::{OWNER_PASSWORD, TestApp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn a_person_enrols_two_factor_rotates_a_secret_and_hides_emails_in_chromium() {
    if let Some(why) = missing() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the console settings browser test cannot run under CI=true: {why}");
        }
        eprintln!("SKIPPED console settings browser test: {why}");
        return;
    }
    let app = TestApp::spawn().await;
    let ws = app.workspace("settings-browser").await;
    crate::contact(&app, &ws, crate::ada()).await;
    let created = app
        .post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": "https://hooks.example.com/dispatch", "event_types": ["contact.created"]}))
        .expect(201)
        .await
        .json;
    let endpoint = created["id"].as_str().unwrap().to_owned();
    let first_secret = created["secret"].as_str().unwrap().to_owned();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../screenshots");
    let out = tokio::task::spawn_blocking({
        let base = app.base.clone();
        let (slug, email, endpoint) = (ws.slug.clone(), ws.owner_email.clone(), endpoint.clone());
        move || {
            Command::new("node")
                .current_dir(browser_dir())
                .arg("console_settings.mjs")
                .env("HF_BASE", base)
                .env("HF_WORKSPACE", slug)
                .env("HF_EMAIL", email)
                .env("HF_PASSWORD", OWNER_PASSWORD)
                .env("HF_ENDPOINT", endpoint)
                .env("HF_SCREENSHOTS", shots)
                .env("HF_TIMEOUT_MS", "30000")
                .output()
                .expect("cannot start node console_settings.mjs")
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
                "console_settings.mjs printed no result: {text}\n{}",
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
        "settings",
        "profile",
        "sessions",
        "two-factor",
        "two-factor-scan",
        "recovery-codes",
        "webhooks",
        "webhook",
        "step-up",
        "roles",
        "role-form",
        "api-keys",
        "members",
        "inbound-hooks",
        "widget",
        "privacy",
        "retention",
        "modules",
        "security",
    ] {
        assert_eq!(
            result["axe"][page],
            json!([]),
            "accessibility problems on {page}: {result:#}"
        );
    }
    assert_eq!(result["qr_shown"], true, "{result:#}");
    assert_eq!(result["svg_inline"], false, "{result:#}");
    assert_eq!(result["recovery_codes"], 10, "{result:#}");
    assert_eq!(
        result["step_up_asked"],
        format!("/app/settings/webhooks/{endpoint}"),
        "{result:#}"
    );
    let rotated = result["rotated_secret"].as_str().unwrap_or_default();
    assert!(
        rotated.starts_with("whsec_") && rotated != first_secret,
        "{result:#}"
    );
    assert_eq!(result["role_listed"], true, "{result:#}");
    assert_eq!(result["snippet_as_text"], true, "{result:#}");
    assert_eq!(result["contacts_seen"], 1, "{result:#}");
    assert_eq!(result["emails_hidden"], true, "{result:#}");
    // What the browser did is what the workspace now holds.
    app.post("/api/v1/auth/login")
        .json(&json!({"email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug}))
        .expect(401)
        .await
        .problem("HF-AUTH-004");
    let trail = app
        .get("/api/v1/audit?action=webhook.secret_rotated")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(trail["data"].as_array().unwrap().len(), 1, "{trail}");
    let roles = app
        .get("/api/v1/roles")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let role = roles["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Front desk")
        .expect("the role made in the browser");
    assert_eq!(role["fields"], json!({"contacts.email": "hidden"}));
}
