//! The two migration trees must stay in lock-step: after migrating, SQLite and PostgreSQL have
//! the same tables with the same columns and nullability.

use holdfast_store::Db;
use std::collections::BTreeMap;

type Schema = BTreeMap<String, Vec<(String, bool)>>;

/// Full-text search is dialect-specific by design (docs/design/helpdesk.md): SQLite keeps an
/// FTS5 table (and its shadow and key tables) named `ticket_fts…`, PostgreSQL a word table
/// `ticket_fts_words` and generated `search_vector` columns. Everything else must match.
fn is_search_index(table: &str, column: &str) -> bool {
    table.starts_with("ticket_fts") || column == "search_vector"
}

async fn sqlite_schema() -> Schema {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/schema.db", dir.path().display()), 1)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT m.name, p.name, p.\"notnull\" FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
         AND p.hidden <> 1 ORDER BY m.name, p.cid",
    )
    .fetch_all(db.unscoped_pool())
    .await
    .unwrap();
    collect(rows.into_iter().map(|(t, c, nn)| (t, c, nn == 1)))
}

async fn postgres_schema(url: &str) -> Schema {
    let db = Db::connect(url, 1).await.unwrap();
    db.migrate().await.unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(db.unscoped_pool())
    .await
    .unwrap();
    collect(rows.into_iter().map(|(t, c, n)| (t, c, n == "NO")))
}

fn collect(rows: impl Iterator<Item = (String, String, bool)>) -> Schema {
    let mut schema = Schema::new();
    for (table, column, not_null) in rows {
        if is_search_index(&table, &column) {
            continue;
        }
        schema.entry(table).or_default().push((column, not_null));
    }
    schema
}

/// A master key rotation re-seals exactly the columns `SEALED_COLUMNS` names: every column that
/// holds sealed values ends in `_sealed` (the schema's convention), and each such column must
/// be named there, so a new secret column cannot be left behind under a retired key.
#[tokio::test]
async fn every_sealed_column_is_re_sealed_by_a_master_key_rotation() {
    use holdfast_store::ops::keys::SEALED_COLUMNS;
    let schema = sqlite_schema().await;
    let in_schema: std::collections::BTreeSet<String> = schema
        .iter()
        .flat_map(|(table, columns)| {
            columns
                .iter()
                .filter(|(column, _)| column.ends_with("_sealed"))
                .map(move |(column, _)| format!("{table}.{column}"))
        })
        .collect();
    let rotated: std::collections::BTreeSet<String> =
        SEALED_COLUMNS.iter().map(|c| c.name.to_owned()).collect();
    assert!(in_schema.len() >= 7, "{in_schema:?}");
    assert_eq!(
        in_schema, rotated,
        "a column holding sealed values is missing from (or named wrongly in) \
         holdfast_store::ops::keys::SEALED_COLUMNS"
    );
}

#[tokio::test]
async fn sqlite_and_postgres_migrate_to_the_same_schema() {
    let sqlite = sqlite_schema().await;
    assert!(
        sqlite.contains_key("contacts") && sqlite.contains_key("api_keys"),
        "{sqlite:?}"
    );
    let Ok(url) = std::env::var("HOLDFAST_TEST_DATABASE_URL") else {
        eprintln!("PostgreSQL half skipped: set HOLDFAST_TEST_DATABASE_URL (CI does)");
        return;
    };
    let postgres = postgres_schema(&url).await;
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres have drifted apart"
    );
}

#[tokio::test]
async fn migrations_are_idempotent_and_readiness_reports_current() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/idem.db", dir.path().display()), 2)
        .await
        .unwrap();
    assert!(
        db.readiness().await.is_err(),
        "an unmigrated database is not ready"
    );
    assert!(db.migrate().await.unwrap() >= 1);
    assert_eq!(
        db.migrate().await.unwrap(),
        0,
        "a second run applies nothing"
    );
    db.readiness().await.unwrap();
}

/// Tickets stored before migration 0023 are searchable and have a timeline after it (and
/// after 0025, one search document per ticket, its rowid the ticket's key).
#[tokio::test]
async fn tickets_from_before_the_search_index_are_indexed_by_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/backfill.db", dir.path().display()), 1)
        .await
        .unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run_to(21, db.unscoped_pool())
        .await
        .unwrap();
    let pool = db.unscoped_pool();
    for sql in [
        "INSERT INTO workspaces (id, slug, name, created_at) VALUES ('ws_1', 'one', 'One', 0)",
        "INSERT INTO tickets (workspace_id, id, subject, status, priority, tags, channel, created_at, updated_at, last_message_at) \
         VALUES ('ws_1', 'tk_0123456789abcdef0123456789abcdef', 'Leaking tap', 'open', 'normal', '[]', 'email', 5, 5, 5)",
        "INSERT INTO ticket_messages (workspace_id, id, ticket_id, kind, author_type, body, created_at) \
         VALUES ('ws_1', 'tm_1', 'tk_0123456789abcdef0123456789abcdef', 'inbound', 'contact', 'Crème brûlée drips', 5)",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    db.migrate().await.unwrap();
    for word in [
        "\"leaking\"",
        "\"creme\"",
        "\"drip\"*",
        "\"leaking\" AND \"creme\"",
    ] {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT k.ticket_id FROM ticket_fts f JOIN ticket_fts_keys k ON k.fts_rowid = f.rowid \
             WHERE ticket_fts MATCH $1 AND k.workspace_id = 'ws_1'",
        )
        .bind(word)
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(found, ["tk_0123456789abcdef0123456789abcdef"], "{word}");
    }
    let timeline: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT seq, kind, actor_type FROM ticket_activity")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(timeline, [(1, "created".to_owned(), "system".to_owned())]);
    // The timeline is append-only.
    assert!(
        sqlx::query("UPDATE ticket_activity SET kind = 'x'")
            .execute(pool)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn messages_an_endpoint_disabled_before_recovery_existed_never_sent_are_held() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/held.db", dir.path().display()), 1)
        .await
        .unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run_to(29, db.unscoped_pool())
        .await
        .unwrap();
    let pool = db.unscoped_pool();
    for sql in [
        "INSERT INTO workspaces (id, slug, name, created_at) VALUES ('ws_1', 'one', 'One', 0)",
        "INSERT INTO webhook_endpoints (workspace_id, id, url, description, event_types, role, enabled, disabled_reason, \
         secret_sealed, consecutive_failures, created_at, updated_at) \
         VALUES ('ws_1', 'whe_off', 'https://a.example', '', '[]', 'admin', 0, 'failing', 's', 20, 0, 0), \
                ('ws_1', 'whe_on', 'https://b.example', '', '[]', 'admin', 1, NULL, 's', 3, 0, 0)",
        "INSERT INTO webhook_messages (workspace_id, id, endpoint_id, event_id, event_type, payload, status, attempts, created_at) \
         VALUES ('ws_1', 'msg_1', 'whe_off', 'evt_1', 'contact.created', '{}', 'failing', 1, 1), \
                ('ws_1', 'msg_2', 'whe_off', 'evt_2', 'contact.created', '{}', 'pending', 0, 2), \
                ('ws_1', 'msg_3', 'whe_off', 'evt_3', 'contact.created', '{}', 'delivered', 1, 3), \
                ('ws_1', 'msg_4', 'whe_on', 'evt_4', 'contact.created', '{}', 'failing', 1, 4)",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    db.migrate().await.unwrap();
    let statuses: Vec<(String, String)> =
        sqlx::query_as("SELECT id, status FROM webhook_messages ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let expected = [
        ("msg_1", "held"),
        ("msg_2", "held"),
        ("msg_3", "delivered"),
        ("msg_4", "failing"),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(statuses, expected);
}

/// A PostgreSQL backfill runs under the tables' forced row-level security (Holdfast refuses a
/// role that bypasses it) unless the migration lifts the policy: 0042's did not, so every
/// widget visitor token that existed before it kept `last_used_at = 0` and expired at once.
/// Migrates a fresh schema to 0041, stores a visitor, then migrates the rest.
#[tokio::test]
async fn widget_visitors_from_before_the_idle_limit_start_it_at_creation_on_postgres() {
    let Ok(url) = std::env::var("HOLDFAST_TEST_DATABASE_URL") else {
        eprintln!("skipped: set HOLDFAST_TEST_DATABASE_URL (CI does)");
        return;
    };
    let admin = Db::connect(&url, 1).await.unwrap();
    let schema = format!("hf_idle_{}", std::process::id());
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(admin.unscoped_pool())
            .await
            .unwrap();
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    let db = Db::connect(&format!("{url}{joiner}options=-csearch_path%3D{schema}"), 1)
        .await
        .unwrap();
    let pool = db.unscoped_pool();
    sqlx::migrate!("./migrations/postgres")
        .run_to(41, pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO workspaces (id, slug, name, created_at) VALUES ('ws_1', 'one', 'One', 0)",
    )
    .execute(pool)
    .await
    .unwrap();
    let in_workspace = |sql: &'static str| async move {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT set_config('app.workspace_id', 'ws_1', true)")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    };
    in_workspace(
        "INSERT INTO tickets (workspace_id, id, subject, status, priority, tags, channel, created_at, \
         updated_at, last_message_at) VALUES ('ws_1', 'tk_1', 'Hi', 'open', 'normal', '[]', 'widget', 1, 1, 1)",
    )
    .await;
    in_workspace(
        "INSERT INTO widget_visitors (token_hash, workspace_id, ticket_id, contact_id, created_at) \
         VALUES ('h1', 'ws_1', 'tk_1', 'ct_1', 1765000000000)",
    )
    .await;
    db.migrate().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.workspace_id', 'ws_1', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let last: i64 =
        sqlx::query_scalar("SELECT last_used_at FROM widget_visitors WHERE token_hash = 'h1'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(admin.unscoped_pool())
        .await
        .unwrap();
    assert_eq!(
        last, 1_765_000_000_000,
        "the token's idle period starts at its creation"
    );
}

/// Every pooled PostgreSQL connection runs with the JIT compiler off: Holdfast's statements
/// are short, and the JIT's compile time dwarfed a dispatch board's page (400 ms for a
/// statement that runs in 25 ms).
#[tokio::test]
async fn postgres_connections_run_without_the_jit_compiler() {
    let Ok(url) = std::env::var("HOLDFAST_TEST_DATABASE_URL") else {
        eprintln!("skipped: set HOLDFAST_TEST_DATABASE_URL (CI does)");
        return;
    };
    let db = Db::connect(&url, 2).await.unwrap();
    // Two connections at once, so both the first and a second connection are checked.
    let mut first = db.unscoped_pool().acquire().await.unwrap();
    let mut second = db.unscoped_pool().acquire().await.unwrap();
    for conn in [&mut first, &mut second] {
        let jit: String = sqlx::query_scalar("SELECT current_setting('jit')")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(jit, "off");
    }
}
