//! `TenantTx`: a write is all or nothing, and a scope sees only its own workspace's rows (on
//! PostgreSQL also through row-level security, whatever the SQL says).

use crate::{TestDb, contact_id, fields_of, named, now};
use holdfast_core::crm::contacts::ContactFields;
use holdfast_store::crm::contacts::{self, Filter};
use holdfast_store::{Backend, Conflict, Lock, StoreError};

#[tokio::test]
async fn a_committed_write_is_seen_by_the_next_scope() {
    let t = TestDb::new().await;
    let (ws, _) = t.workspace("commit").await;
    let mut tx = t.db.write(&ws).await.unwrap();
    let made = contacts::insert(&mut tx, &named("Grace"), now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let read = t.read_contact(&ws, &made.id).await.unwrap();
    assert_eq!(read.name.as_deref(), Some("Grace"));
}

#[tokio::test]
async fn a_write_dropped_without_commit_leaves_nothing() {
    let t = TestDb::new().await;
    let (ws, _) = t.workspace("dropped").await;
    let kept = t.contact(&ws, &named("Kept")).await;
    let mut tx = t.db.write(&ws).await.unwrap();
    let made = contacts::insert(&mut tx, &named("Dropped"), now())
        .await
        .unwrap();
    let mut renamed = fields_of(&kept);
    renamed.name = Some("Renamed".to_owned());
    contacts::update(&mut tx, &contact_id(&kept.id), &renamed, now())
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    assert!(t.read_contact(&ws, &made.id).await.is_none());
    assert_eq!(
        t.read_contact(&ws, &kept.id).await.unwrap().name.as_deref(),
        Some("Kept"),
        "the update was rolled back with the insert"
    );
    // The write gate (SQLite) or the connection (PostgreSQL) was given back: writing works.
    t.contact(&ws, &named("After")).await;
}

/// A handler that meets an error returns it with `?`, dropping the transaction: what it wrote
/// before the error is gone too.
#[tokio::test]
async fn an_error_inside_a_write_rolls_back_what_came_before_it() {
    let t = TestDb::new().await;
    let (ws, _) = t.workspace("error").await;
    let email = |name: &str| ContactFields {
        name: Some(name.to_owned()),
        email: Some("same@example.com".to_owned()),
        ..ContactFields::default()
    };
    async fn two_inserts(
        t: &TestDb,
        ws: &holdfast_store::Tenant,
        first: &ContactFields,
        second: &ContactFields,
    ) -> Result<(), StoreError> {
        let mut tx = t.db.write(ws).await?;
        contacts::insert(&mut tx, first, now()).await?;
        contacts::insert(&mut tx, second, now()).await?;
        tx.commit().await
    }
    let err = two_inserts(&t, &ws, &email("First"), &email("Second"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unique {
                conflict: Conflict::ContactEmail
            }
        ),
        "{err:?}"
    );
    let mut tx = t.db.read(&ws).await.unwrap();
    let left = contacts::list(&mut tx, None, 10, &Filter::default())
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "nothing of the failed write is left: {left:?}"
    );
}

#[tokio::test]
async fn a_scope_for_one_workspace_cannot_reach_another_workspaces_rows() {
    let t = TestDb::new().await;
    let (a, _) = t.workspace("iso-a").await;
    let (b, _) = t.workspace("iso-b").await;
    let of_a = t.contact(&a, &named("Only A's")).await;
    let of_b = t.contact(&b, &named("Only B's")).await;

    let mut tx = t.db.write(&b).await.unwrap();
    for lock in [Lock::Read, Lock::ForUpdate] {
        assert!(
            contacts::get(&mut tx, &contact_id(&of_a.id), lock)
                .await
                .unwrap()
                .is_none(),
            "B's scope reads A's contact by id ({lock:?})"
        );
    }
    let listed = contacts::list(&mut tx, None, 100, &Filter::default())
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [of_b.id.as_str()]
    );
    let mut overwrite = fields_of(&of_a);
    overwrite.name = Some("Overwritten by B".to_owned());
    assert!(
        contacts::update(&mut tx, &contact_id(&of_a.id), &overwrite, now())
            .await
            .unwrap()
            .is_none(),
        "B's scope updated A's contact"
    );
    tx.commit().await.unwrap();
    assert_eq!(
        t.read_contact(&a, &of_a.id).await.unwrap().name.as_deref(),
        Some("Only A's")
    );
}

/// PostgreSQL: the scope's `app.workspace_id` lives only as long as its transaction (the pooled
/// connection does not carry it into the next use), and the row-level security policies refuse
/// another workspace's rows to SQL that forgets its workspace predicate.
#[tokio::test]
async fn postgres_scopes_the_workspace_setting_to_the_transaction_and_rls_refuses_other_rows() {
    if crate::postgres_url().is_none() {
        eprintln!("PostgreSQL-only test: set HOLDFAST_TEST_DATABASE_URL (CI does)");
        return;
    }
    let t = TestDb::new().await;
    assert_eq!(t.backend(), Backend::Postgres);
    let (a, _) = t.workspace("rls-a").await;
    let (b, _) = t.workspace("rls-b").await;
    let of_b = t.contact(&b, &named("B's")).await;
    // One connection, so every scope below runs on the same one in turn.
    let one = holdfast_store::Db::connect(&crate::postgres_url().unwrap(), 1)
        .await
        .unwrap();
    let setting = "SELECT coalesce(current_setting('app.workspace_id', true), '')";

    let mut tx = one.write(&a).await.unwrap();
    let conn = tx.unscoped_connection();
    let inside: String = sqlx::query_scalar(setting)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(inside, a.workspace_id().as_str());
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts WHERE id = $1")
        .bind(&of_b.id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(seen, 0, "A's transaction sees B's row");
    let changed = sqlx::query("UPDATE contacts SET name = 'x' WHERE id = $1")
        .bind(&of_b.id)
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        changed.rows_affected(),
        0,
        "A's transaction changed B's row"
    );
    tx.commit().await.unwrap();

    let after: String = sqlx::query_scalar(setting)
        .fetch_one(one.unscoped_pool())
        .await
        .unwrap();
    assert_eq!(after, "", "the setting outlived its transaction");

    let mut tx = one.write(&a).await.unwrap();
    let forged = sqlx::query(
        "INSERT INTO contacts (workspace_id, id, name, tags, created_at, updated_at) \
         VALUES ($1, $2, 'forged', '[]', 0, 0)",
    )
    .bind(b.workspace_id().as_str())
    .bind(holdfast_core::ids::ContactId::generate(now()).as_str())
    .execute(tx.unscoped_connection())
    .await;
    assert!(
        forged.is_err(),
        "A's transaction wrote a row for B: {forged:?}"
    );
    drop(tx);

    let mut tx = one.read(&b).await.unwrap();
    let inside_b: String = sqlx::query_scalar(setting)
        .fetch_one(tx.unscoped_connection())
        .await
        .unwrap();
    assert_eq!(inside_b, b.workspace_id().as_str());
    assert_eq!(
        contacts::get(&mut tx, &contact_id(&of_b.id), Lock::Read)
            .await
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some("B's")
    );
    drop(tx);
    one.close().await;
}
