//! The first-run, account, audit and API-documentation pages in a real headless Chromium
//! (`tests/browser/console_ops.mjs`): a newcomer opens the setup link, makes the workspace and
//! lands signed in on the inbox, finds their sign-in in the audit trail (the chain verified),
//! reads the API documentation; then a forgotten password is reset through the mailed link and
//! an invitation accepted; and single sign-on through a real OpenID provider, confirmed on
//! `/sign-in/confirm`. axe-core on every page (no serious or critical violations), no
//! dialog, no Content-Security-Policy report. Skipped with a note when Chromium, Node.js or the
//! npm packages are missing, except under `CI=true`.

use crate::console_browser::skip_or_fail;
use crate::widget_browser::browser_dir;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_store::ops::setup::unscoped_issue_setup_link;
use holdfast_testkit::{TestApp, find_token};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const PASSWORD: &str = "lantern orchard quietly bicycle";
const NEW_PASSWORD: &str = "copper meadow drifting anchor";

/// Runs `console_ops.mjs` with `vars`; returns its result.
async fn run(app: &TestApp, vars: Vec<(&'static str, String)>) -> Value {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../screenshots");
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(browser_dir())
            .arg("console_ops.mjs")
            .env("HF_BASE", base)
            .env("HF_SCREENSHOTS", shots)
            .env("HF_TIMEOUT_MS", "30000")
            .envs(vars)
            .output()
            .expect("cannot start node console_ops.mjs")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "console_ops.mjs printed no result: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

fn assert_clean(result: &Value, pages: &[&str]) {
    assert_eq!(result["ok"], true, "{result:#}");
    assert_eq!(result["dialogs"], json!([]), "a script ran: {result:#}");
    assert_eq!(
        result["csp"],
        json!([]),
        "the policy was violated: {result:#}"
    );
    for page in pages {
        assert_eq!(
            result["axe"][page],
            json!([]),
            "accessibility problems on {page}: {result:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_sets_up_holdfast_and_a_team_member_resets_and_joins_in_chromium() {
    if skip_or_fail("console ops browser test") {
        return;
    }
    let now = {
        use holdfast_core::clock::Clock;
        holdfast_core::clock::SystemClock.now_ms()
    };
    let (app, _clock) = TestApp::spawn_first_run(now).await;
    let token = unscoped_issue_setup_link(&app.db, now).await.unwrap();
    let (slug, email) = ("acme", "owner@acme.example.com");
    let name = "Acme <img src=x onerror=alert(1)> Cleaning";
    let first = run(
        &app,
        vec![
            ("HF_PHASE", "first-run".into()),
            ("HF_SETUP", format!("/setup/{}", token.expose())),
            ("HF_WORKSPACE_NAME", name.into()),
            ("HF_SLUG", slug.into()),
            ("HF_EMAIL", email.into()),
            ("HF_PASSWORD", PASSWORD.into()),
        ],
    )
    .await;
    assert_clean(&first, &["setup", "audit", "api-docs", "api-docs-tag"]);
    assert_eq!(first["workspace_shown_as_text"], true, "{first:#}");
    assert_eq!(first["chain_intact"], true, "{first:#}");
    assert_eq!(first["audit_shows_sign_in"], true, "{first:#}");
    assert_eq!(first["audit_shows_creation"], true, "{first:#}");
    assert_eq!(first["filtered_rows"], 1, "{first:#}");
    assert_eq!(first["docs_show_audit"], true, "{first:#}");

    // The team: a reset link for the owner, an invitation for a new member.
    let admin = app.key(slug, BuiltinRole::Admin).await;
    app.post("/api/v1/auth/forgot-password")
        .json(&json!({"email": email}))
        .expect(202)
        .await;
    let reset = find_token(&app.outbox_mail(email).await, "hfp");
    let invitee = "new.hire@acme.example.com";
    app.post("/api/v1/invitations")
        .key(&admin)
        .json(&json!({"email": invitee, "role": "support"}))
        .expect(201)
        .await;
    let invitation = find_token(&app.outbox_mail(invitee).await, "hfi");
    let second = run(
        &app,
        vec![
            ("HF_PHASE", "accounts".into()),
            ("HF_SLUG", slug.into()),
            ("HF_EMAIL", email.into()),
            ("HF_RESET", format!("/reset/{reset}")),
            ("HF_NEW_PASSWORD", NEW_PASSWORD.into()),
            ("HF_INVITE", format!("/invite/{invitation}")),
            ("HF_INVITEE", invitee.into()),
            ("HF_INVITEE_PASSWORD", PASSWORD.into()),
        ],
    )
    .await;
    assert_clean(&second, &["forgot", "reset", "invite"]);
    assert_eq!(second["invitee_signed_in"], true, "{second:#}");
    assert_eq!(
        crate::sign_in_status(&app, email, NEW_PASSWORD, slug).await,
        200
    );
    assert_eq!(
        crate::sign_in_status(&app, invitee, PASSWORD, slug).await,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn single_sign_on_goes_to_the_provider_and_is_confirmed_on_its_page_in_chromium() {
    if skip_or_fail("console single sign-on browser test") {
        return;
    }
    let t = crate::oidc::sso().await;
    let result = run(
        &t.app,
        vec![
            ("HF_PHASE", "sso".into()),
            ("HF_SLUG", t.ws.slug.clone()),
            ("HF_EMAIL", t.ws.owner_email.clone()),
            ("HF_PASSWORD", holdfast_testkit::OWNER_PASSWORD.into()),
            ("HF_ISSUER", t.issuer()),
        ],
    )
    .await;
    assert_clean(&result, &["sign-in-sso", "confirm"]);
    assert_eq!(t.linked_identities(&t.ws.owner_email).await, 1);
}
