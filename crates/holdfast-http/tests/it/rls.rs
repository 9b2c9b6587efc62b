//! PostgreSQL's row-level security is the second wall: inside a transaction scoped to
//! workspace A, SQL that forgets its workspace predicate still sees and changes only A's rows.

use holdfast_store::{Backend, identity::auth};
use holdfast_testkit::{TestApp, postgres_url};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn rls_confines_sql_that_forgets_its_workspace_predicate() {
    if postgres_url().is_none() {
        eprintln!("PostgreSQL-only test: set HOLDFAST_TEST_DATABASE_URL (CI does)");
        return;
    }
    let app = TestApp::spawn().await;
    assert_eq!(app.db.backend(), Backend::Postgres);
    let a = app.workspace("rls-a").await;
    let b = app.workspace("rls-b").await;
    for (ws, n) in [(&a, 2), (&b, 3)] {
        for i in 0..n {
            crate::contact(&app, ws, json!({"name": format!("{} {i}", ws.slug)})).await;
        }
    }
    let presented = holdfast_core::token::parse_api_key(&a.admin_key).unwrap();
    let actor = auth::authenticate_api_key(&app.db, &presented, 0)
        .await
        .unwrap()
        .unwrap();

    let mut tx = app.db.write(&actor.tenant).await.unwrap();
    let conn = tx.unscoped_connection();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(visible, 2, "only A's rows are visible");
    let others: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts WHERE workspace_id = $1")
        .bind(&b.id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(others, 0, "asking for B by id finds nothing");
    let updated = sqlx::query("UPDATE contacts SET name = 'overwritten'")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        updated.rows_affected(),
        2,
        "an UPDATE without WHERE touches only A"
    );
    let deleted = sqlx::query("DELETE FROM contacts WHERE name LIKE $1")
        .bind(format!("{}%", b.slug))
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 0);
    let insert = sqlx::query("INSERT INTO contacts (workspace_id, id, name, tags, created_at, updated_at) VALUES ($1, 'ct_forged', 'x', '[]', 0, 0)")
        .bind(&b.id).execute(&mut *conn).await;
    assert!(
        insert.is_err(),
        "a row for B cannot be written from A's transaction"
    );
    drop(tx);

    // Outside any tenant transaction the policy shows nothing at all.
    let mut plain = app.db.unscoped_pool().begin().await.unwrap();
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts")
        .fetch_one(&mut *plain)
        .await
        .unwrap();
    assert_eq!(none, 0, "without app.workspace_id no tenant row is visible");
    drop(plain);

    let b_list = app
        .get("/api/v1/contacts")
        .key(&b.admin_key)
        .expect(200)
        .await;
    assert_eq!(b_list.json["data"].as_array().unwrap().len(), 3);
    assert!(!b_list.text.contains("overwritten"));
}

/// Every table that holds a workspace's rows (it has a `workspace_id` column) is under forced
/// row-level security, so a new table cannot forget the second wall; the directory tables
/// that are not (read before a workspace is known) are named here with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn every_table_with_a_workspace_id_is_under_forced_row_level_security() {
    if postgres_url().is_none() {
        eprintln!("PostgreSQL-only test: set HOLDFAST_TEST_DATABASE_URL (CI does)");
        return;
    }
    let app = TestApp::spawn().await;
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname = current_schema() \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                       AND a.attname = 'workspace_id' AND NOT a.attisdropped) \
         ORDER BY 1",
    )
    .fetch_all(app.db.unscoped_pool())
    .await
    .unwrap();
    assert!(
        rows.iter().any(|(name, _, _)| name == "ticket_reads"),
        "the sweep sees the tables: {rows:?}"
    );
    // Read before any workspace is known (a credential, a link or a key in the request finds
    // its workspace), or by the system's worker across workspaces.
    let directory = [
        ("api_keys", "an API key finds its workspace"),
        ("session_cookies", "a session cookie finds its workspace"),
        ("refresh_tokens", "a refresh token finds its workspace"),
        (
            "memberships",
            "sign-in and the workspace switcher list a person's workspaces",
        ),
        ("invitations", "an invitation link finds its workspace"),
        ("preference_links", "a preference link finds its workspace"),
        (
            "consent_confirmations",
            "a double opt-in link finds its workspace",
        ),
        (
            "data_download_links",
            "a data download link finds its workspace",
        ),
        ("widget_keys", "a widget key finds its workspace"),
        (
            "public_link_tokens",
            "a customer's public link finds its workspace",
        ),
        (
            "portal_links",
            "a client portal sign-in link finds its workspace and contact",
        ),
        (
            "portal_session_cookies",
            "a client portal session cookie finds its workspace and session",
        ),
        (
            "portal_password_resets",
            "a client portal password reset link finds its workspace and contact",
        ),
        (
            "portal_refresh_tokens",
            "a client portal refresh token finds its workspace and session",
        ),
        (
            "portal_origins",
            "a browser's preflight to the portal API names no workspace",
        ),
        (
            "billing_customers",
            "the operator's billing receiver finds a workspace by its Stripe customer",
        ),
        (
            "inbound_replay",
            "a provider's event id is checked before its workspace is",
        ),
        ("queue_jobs", "the worker claims jobs of every workspace"),
        (
            "mail_outbox",
            "the mail sender drains every workspace's mail",
        ),
    ];
    let unguarded: Vec<&str> = rows
        .iter()
        .filter(|(_, enabled, forced)| !(*enabled && *forced))
        .map(|(name, _, _)| name.as_str())
        .filter(|name| !directory.iter().any(|(d, _)| d == name))
        .collect();
    assert!(
        unguarded.is_empty(),
        "tables with workspace rows but without forced row-level security: {unguarded:?}"
    );
}
