//! The audit page over HTTP: the trail newest first with the API's filters and keyset paging,
//! values escaped, the chain's verification (intact, and broken after tampering), and the
//! refusals (no session, a role without audit.read, bad filters).

use crate::pages::{assert_page, between, sign_in};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{Method, TestApp};

fn rows(text: &str) -> usize {
    text.matches("<tr>\n      <td>").count()
}

/// Today as a UTC day, `YYYY-MM-DD`, and the days either side.
fn days() -> (String, String, String) {
    let now = time::OffsetDateTime::now_utc().date();
    let show = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    (
        show(now.previous_day().unwrap()),
        show(now),
        show(now.next_day().unwrap()),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_page_shows_the_trail_filtered_paged_and_escaped() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("audit-page").await;
    let console = sign_in(&app, &ws).await;
    // A name that tries to break out of the page, and enough entries for two pages.
    crate::make_key(
        &app,
        &ws.admin_key,
        "<img src=x onerror=alert(1)>",
        "viewer",
    )
    .await;
    for _ in 0..52 {
        app.key(&ws.slug, BuiltinRole::Viewer).await;
    }
    let first = app
        .browser(Method::GET, "/app/audit")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&first);
    assert!(first.text.contains("aria-current=\"page\">Audit</a>"));
    assert_eq!(rows(&first.text), 50, "{}", first.text);
    assert!(first.text.contains("hx-get=\"/app/audit/chain\""));
    assert!(!first.text.contains("<img src=x"), "unescaped summary");
    let older = between(&first.text, "<p class=\"pager\"><a href=\"", "\"").replace("&#38;", "&");
    let rest = app
        .browser(Method::GET, &older)
        .cookie(&console)
        .expect(200)
        .await;
    // 1 workspace.created + 1 admin key + 1 sign-in + 1 named key + 52 keys = 56.
    assert_eq!(rows(&rest.text), 6, "{}", rest.text);
    assert!(rest.text.contains(">workspace.created</a>"));
    assert!(!rest.text.contains("class=\"pager\""));

    // Filters: the action, the actor (the owner's sign-in), the entity, the days.
    let sign_ins = app
        .browser(Method::GET, "/app/audit?action=auth.sign_in")
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rows(&sign_ins.text), 1);
    assert!(sign_ins.text.contains("&quot;method&quot;") || sign_ins.text.contains("method"));
    let owner = between(&sign_ins.text, "user <a href=\"/app/audit?actor=", "\"");
    assert!(owner.starts_with("usr_"), "{owner}");
    let by_owner = app
        .browser(Method::GET, &format!("/app/audit?actor={owner}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rows(&by_owner.text), 1);
    let workspace = app
        .browser(
            Method::GET,
            &format!("/app/audit?entity_type=workspace&entity_id={}", ws.id),
        )
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rows(&workspace.text), 1);
    let (yesterday, today, tomorrow) = days();
    let within = app
        .browser(
            Method::GET,
            &format!("/app/audit?action=auth.sign_in&from={yesterday}&to={today}"),
        )
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rows(&within.text), 1);
    let later = app
        .browser(Method::GET, &format!("/app/audit?from={tomorrow}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rows(&later.text), 0);
    assert!(later.text.contains("No entries match"));
    let earlier = app
        .browser(Method::GET, &format!("/app/audit?to={yesterday}"))
        .cookie(&console)
        .expect(200)
        .await;
    assert_eq!(rows(&earlier.text), 0);

    // Bad filters: a page naming them.
    let long = "a".repeat(201);
    for (query, field) in [
        ("from=2026-13-01".to_owned(), "from"),
        ("to=yesterday".to_owned(), "to"),
        (format!("action={long}"), "action"),
        ("cursor=%%%".to_owned(), "cursor"),
        ("cursor=bm90LWEtbnVtYmVy".to_owned(), "cursor"),
    ] {
        let r = app
            .browser(Method::GET, &format!("/app/audit?{query}"))
            .cookie(&console)
            .expect(422)
            .await;
        assert_page(&r);
        assert!(r.text.contains(field), "{query}: {}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chain_is_shown_intact_and_then_broken_after_tampering() {
    // A database of its own: tampering switches off the trail's append-only guard.
    let (app, _clock) = TestApp::spawn_first_run(1_900_000_000_000).await;
    let ws = app.workspace("audit-chain").await;
    let console = sign_in(&app, &ws).await;
    let page = app
        .browser(Method::GET, "/app/audit/chain")
        .cookie(&console)
        .expect(200)
        .await;
    assert_page(&page);
    assert!(
        page.text
            .contains("The chain is intact: 3 entries, each linked"),
        "{}",
        page.text
    );
    let fragment = app
        .browser(Method::GET, "/app/audit/chain")
        .cookie(&console)
        .header("hx-request", "true")
        .expect(200)
        .await;
    assert!(
        fragment.text.starts_with("<section id=\"chain\""),
        "{}",
        fragment.text
    );

    let mut tx = app.workspace_tx(&ws).await;
    if app.db.backend() == holdfast_store::Backend::Sqlite {
        sqlx::query("DROP TRIGGER audit_events_no_update")
            .execute(&mut *tx)
            .await
            .unwrap();
    } else {
        sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE audit_events SET summary = '{}' WHERE workspace_id = $1 AND seq = 2")
        .bind(&ws.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    if app.db.backend() != holdfast_store::Backend::Sqlite {
        sqlx::query("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let broken = app
        .browser(Method::GET, "/app/audit/chain")
        .cookie(&console)
        .expect(200)
        .await;
    assert!(
        broken.text.contains("The chain is broken at entry 2"),
        "{}",
        broken.text
    );
    assert!(broken.text.contains("edited"), "{}", broken.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_pages_refuse_strangers_and_roles_without_audit_read() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("audit-refusals").await;
    for path in ["/app/audit", "/app/audit/chain"] {
        let r = app.browser(Method::GET, path).expect(303).await;
        assert_eq!(
            r.header("location"),
            Some(format!("/sign-in?next={path}").as_str())
        );
        let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
        let r = app
            .browser(Method::GET, path)
            .key(&viewer)
            .expect(403)
            .await;
        assert_page(&r);
        let manager = app.key(&ws.slug, BuiltinRole::Manager).await;
        app.browser(Method::GET, path)
            .key(&manager)
            .expect(200)
            .await;
    }
    // A role without audit.read does not see the link either.
    let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
    let inbox = app
        .browser(Method::GET, "/app/inbox")
        .key(&viewer)
        .expect(200)
        .await;
    assert!(!inbox.text.contains("href=\"/app/audit\""));
}
