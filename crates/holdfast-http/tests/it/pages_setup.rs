//! The first run over HTTP: while no workspace exists, a setup link's page makes the first
//! workspace and its owner (the checks of `holdfast admin create-workspace`), signs the owner
//! in and lands on the inbox. Bad input changes nothing; a page of another site is refused; a
//! spent, expired, superseded or unknown link, and any link once a workspace exists, meet one
//! 404 page. The printed link itself is tested in `tests/cli.rs`; the browser flow in
//! `console_ops_browser.rs`.

use crate::pages::{FORM, assert_page, form};
use holdfast_store::ops::setup::{unscoped_any_workspace, unscoped_issue_setup_link};
use holdfast_testkit::{Method, Resp, TestApp};

const START: i64 = 1_900_000_000_000;
const PASSWORD: &str = "lantern orchard quietly bicycle";

/// A new setup link, issued at `now`.
async fn link_at(app: &TestApp, now: i64) -> String {
    let token = unscoped_issue_setup_link(&app.db, now).await.unwrap();
    format!("/setup/{}", token.expose())
}

fn fields<'a>(slug: &'a str, password: &'a str, again: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "Acme <Cleaning>"),
        ("slug", slug),
        ("email", "Owner@Acme.example.com"),
        ("password", password),
        ("password_again", again),
    ]
}

async fn submit(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> Resp {
    app.browser(Method::POST, path)
        .header("origin", &app.base)
        .body(FORM, form(pairs))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_setup_link_makes_the_first_workspace_and_signs_its_owner_in() {
    let (app, _clock) = TestApp::spawn_first_run(START).await;
    let path = link_at(&app, START).await;
    let page = app.browser(Method::GET, &path).expect(200).await;
    assert_page(&page);
    assert!(
        page.text
            .contains(&format!("<form method=\"post\" action=\"{path}\">")),
        "{}",
        page.text
    );

    // Bad input: the form again, saying what is wrong, and nothing made.
    for (pairs, needle) in [
        (
            fields("acme", "short", "short"),
            "Password: must be at least 15",
        ),
        (
            fields("No Slug", PASSWORD, PASSWORD),
            "Workspace slug: must be",
        ),
        (
            fields("acme", PASSWORD, "another passphrase here"),
            "Password again",
        ),
    ] {
        let r = submit(&app, &path, &pairs).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert_page(&r);
        assert!(r.text.contains(needle), "{needle}: {}", r.text);
        // What was typed stays, escaped; the password does not come back.
        assert!(
            r.text.contains("value=\"Acme &#60;Cleaning&#62;\""),
            "{}",
            r.text
        );
        assert!(!r.text.contains(PASSWORD));
        assert!(r.set_cookies().is_empty());
    }
    let missing = submit(&app, &path, &[("name", "Acme")]).await;
    assert_eq!(missing.status, 422);
    assert_page(&missing);
    let not_a_form = app
        .browser(Method::POST, &path)
        .header("origin", &app.base)
        .json(&serde_json::json!({"name": "Acme"}))
        .expect(415)
        .await;
    assert_page(&not_a_form);
    // A page of another site cannot make the workspace, even with the link.
    let cross = app
        .browser(Method::POST, &path)
        .header("origin", "https://evil.example")
        .body(FORM, form(&fields("acme", PASSWORD, PASSWORD)))
        .expect(403)
        .await;
    assert_page(&cross);
    assert!(!unscoped_any_workspace(&app.db).await.unwrap());

    // The form filled right: the workspace, its owner signed in, the inbox.
    let done = submit(&app, &path, &fields("acme", PASSWORD, PASSWORD)).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.header("location"), Some("/"));
    let session = done
        .set_cookies()
        .into_iter()
        .find(|c| c.contains("hf_session="))
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .expect("a session cookie");
    let inbox = app
        .browser(Method::GET, "/app/inbox")
        .header("cookie", &session)
        .expect(200)
        .await;
    assert!(
        inbox
            .text
            .contains("owner@acme.example.com · Acme &#60;Cleaning&#62;"),
        "{}",
        inbox.text
    );
    // The link is spent: the page and the form are one 404.
    let again = app.browser(Method::GET, &path).expect(404).await;
    assert_page(&again);
    let twice = submit(&app, &path, &fields("acme-two", PASSWORD, PASSWORD)).await;
    assert_eq!(twice.status, 404);
    assert_eq!(twice.text, again.text);

    // The owner signs in with the password chosen, and the trail tells how it all began.
    let tokens = app
        .post("/api/v1/auth/login")
        .json(&serde_json::json!({"email": "owner@acme.example.com", "password": PASSWORD, "workspace": "acme"}))
        .expect(200)
        .await
        .json;
    let bearer = tokens["access_token"].as_str().unwrap();
    let trail = app
        .get("/api/v1/audit?limit=10")
        .header("authorization", &format!("Bearer {bearer}"))
        .expect(200)
        .await
        .json;
    let entries = trail["data"].as_array().unwrap();
    let created = entries
        .iter()
        .find(|e| e["action"] == "workspace.created")
        .unwrap();
    assert_eq!(created["actor_id"], "setup-link");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "auth.sign_in"
                && e["summary"].to_string().contains("setup_link"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn spent_expired_superseded_and_unknown_links_meet_one_404() {
    let (app, clock) = TestApp::spawn_first_run(START).await;
    let first = link_at(&app, START).await;
    let second = link_at(&app, START).await;
    // A new link voids the older one.
    let superseded = app.browser(Method::GET, &first).expect(404).await;
    assert_page(&superseded);
    let unknown = app
        .browser(
            Method::GET,
            "/setup/hfw_0000000000000000000000000000000000000000000",
        )
        .expect(404)
        .await;
    let malformed = app
        .browser(Method::GET, "/setup/not-a-token")
        .expect(404)
        .await;
    let reset_token_kind = app
        .browser(
            Method::GET,
            "/setup/hfp_0000000000000000000000000000000000000000000",
        )
        .expect(404)
        .await;
    app.browser(Method::GET, &second).expect(200).await;
    clock.advance(60 * 60 * 1000);
    let expired = app.browser(Method::GET, &second).expect(404).await;
    let expired_post = submit(&app, &second, &fields("acme", PASSWORD, PASSWORD)).await;
    assert_eq!(expired_post.status, 404);
    for other in [
        &unknown,
        &malformed,
        &reset_token_kind,
        &expired,
        &expired_post,
    ] {
        assert_eq!(other.text, superseded.text, "one page for every case");
    }
    assert!(!unscoped_any_workspace(&app.db).await.unwrap());

    // Once a workspace exists (made from the command line), no link opens anything.
    let third = link_at(&app, START + 60 * 60 * 1000).await;
    app.browser(Method::GET, &third).expect(200).await;
    app.workspace("made-by-cli").await;
    let after = app.browser(Method::GET, &third).expect(404).await;
    assert_eq!(after.text, superseded.text);
    let after_post = submit(&app, &third, &fields("second", PASSWORD, PASSWORD)).await;
    assert_eq!(after_post.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_used_twice_at_once_makes_one_workspace() {
    let (app, _clock) = TestApp::spawn_first_run(START).await;
    let path = link_at(&app, START).await;
    let one = fields("first", PASSWORD, PASSWORD);
    let two = fields("second", PASSWORD, PASSWORD);
    let (a, b) = tokio::join!(submit(&app, &path, &one), submit(&app, &path, &two));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 404], "{} / {}", a.text, b.text);
    let slugs = holdfast_store::ops::admin::unscoped_workspace_slugs(&app.db)
        .await
        .unwrap();
    assert_eq!(slugs.len(), 1, "{slugs:?}");
}
