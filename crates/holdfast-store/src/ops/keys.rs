//! The database side of key generations (`holdfast_core::ops::keys`): the `master_keys` and
//! `token_keys` tables, and re-sealing every sealed column in batches for a master key
//! rotation. [`SEALED_COLUMNS`] names every column that holds a sealed value; a test of the
//! schema keeps it complete (every column whose name ends in `_sealed`).

use crate::db::Db;
use crate::error::StoreError;
use crate::tenant::Tenant;
use holdfast_core::ids::WorkspaceId;
use holdfast_core::ops::keys::{MasterState, TokenGeneration};

/// A master key generation as stored.
#[derive(Debug, Clone)]
pub struct MasterRow {
    pub generation: u32,
    pub check_value: String,
    pub state: MasterState,
    /// This key sealed under the previous generation, while a rotation to it runs.
    pub key_under_previous: Option<String>,
    /// The previous generation's key sealed under this one, while a rotation to it runs.
    pub previous_under_key: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct MasterDbRow {
    generation: i64,
    check_value: String,
    state: String,
    key_under_previous: Option<String>,
    previous_under_key: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

/// Every master key generation, oldest first.
pub async fn master_keys(db: &Db) -> Result<Vec<MasterRow>, StoreError> {
    let rows: Vec<MasterDbRow> = sqlx::query_as(
        "SELECT generation, check_value, state, key_under_previous, previous_under_key, \
         created_at, finished_at FROM master_keys ORDER BY generation",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(MasterRow {
                generation: u32::try_from(r.generation)
                    .map_err(|_| StoreError::Setup("master_keys.generation".into()))?,
                state: MasterState::parse(&r.state)
                    .ok_or_else(|| StoreError::Setup("master_keys.state".into()))?,
                check_value: r.check_value,
                key_under_previous: r.key_under_previous,
                previous_under_key: r.previous_under_key,
                created_at: r.created_at,
                finished_at: r.finished_at,
            })
        })
        .collect()
}

/// Records `check_value` as master key generation 1 when no generation is recorded yet (the
/// first start, or the first after upgrading to a Holdfast that records them).
pub async fn adopt_first_master(db: &Db, check_value: &str, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO master_keys (generation, check_value, state, created_at) \
         SELECT 1, $1, 'active', $2 WHERE NOT EXISTS (SELECT 1 FROM master_keys) \
         ON CONFLICT DO NOTHING",
    )
    .bind(check_value)
    .bind(now_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A generation to rotate to.
pub struct NewMaster<'a> {
    pub generation: u32,
    pub check_value: &'a str,
    pub key_under_previous: &'a str,
    pub previous_under_key: &'a str,
}

/// Starts a rotation from generation `from` (which must be the active one) to `new`: `from`
/// turns draining, `new` active. False when `from` is no longer active (another rotation).
pub async fn begin_master_rotation(
    db: &Db,
    from: u32,
    new: &NewMaster<'_>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.system_write().await?;
    let moved = sqlx::query(
        "UPDATE master_keys SET state = 'draining' WHERE generation = $1 AND state = 'active'",
    )
    .bind(i64::from(from))
    .execute(&mut *tx.tx)
    .await?
    .rows_affected();
    if moved != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO master_keys (generation, check_value, state, key_under_previous, \
         previous_under_key, created_at) VALUES ($1, $2, 'active', $3, $4, $5)",
    )
    .bind(i64::from(new.generation))
    .bind(new.check_value)
    .bind(new.key_under_previous)
    .bind(new.previous_under_key)
    .bind(now_ms)
    .execute(&mut *tx.tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Ends the rotation from `from` to `to`: `from` is retired and the two wraps are wiped, so
/// the old key opens nothing any more.
pub async fn finish_master_rotation(
    db: &Db,
    from: u32,
    to: u32,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = db.system_write().await?;
    sqlx::query(
        "UPDATE master_keys SET state = 'retired', finished_at = $2 \
         WHERE generation = $1 AND state = 'draining'",
    )
    .bind(i64::from(from))
    .bind(now_ms)
    .execute(&mut *tx.tx)
    .await?;
    sqlx::query(
        "UPDATE master_keys SET key_under_previous = NULL, previous_under_key = NULL, \
         finished_at = $2 WHERE generation = $1",
    )
    .bind(i64::from(to))
    .bind(now_ms)
    .execute(&mut *tx.tx)
    .await?;
    tx.commit().await
}

/// A token-key generation as stored.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub generation: TokenGeneration,
    /// The four keys sealed under the master key; `None` once retired.
    pub keys_sealed: Option<String>,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct TokenDbRow {
    generation: i64,
    keys_sealed: Option<String>,
    created_at: i64,
    verify_until: Option<i64>,
    retired_at: Option<i64>,
}

/// Every token-key generation, oldest first.
pub async fn token_keys(db: &Db) -> Result<Vec<TokenRow>, StoreError> {
    let rows: Vec<TokenDbRow> = sqlx::query_as(
        "SELECT generation, keys_sealed, created_at, verify_until, retired_at \
         FROM token_keys ORDER BY generation",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(TokenRow {
                generation: TokenGeneration {
                    generation: u32::try_from(r.generation)
                        .map_err(|_| StoreError::Setup("token_keys.generation".into()))?,
                    verify_until: r.verify_until,
                    retired: r.retired_at.is_some(),
                },
                keys_sealed: r.keys_sealed,
                created_at: r.created_at,
            })
        })
        .collect()
}

/// Records the first token-key generation when none is recorded yet.
pub async fn adopt_first_token_keys(
    db: &Db,
    keys_sealed: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO token_keys (generation, keys_sealed, created_at) \
         SELECT 1, $1, $2 WHERE NOT EXISTS (SELECT 1 FROM token_keys) ON CONFLICT DO NOTHING",
    )
    .bind(keys_sealed)
    .bind(now_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Adds token-key generation `generation` (which signs from now on); the generations that
/// signed until now verify until `overlap_until`. False when `generation` exists already.
pub async fn add_token_generation(
    db: &Db,
    generation: u32,
    keys_sealed: &str,
    overlap_until: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.system_write().await?;
    let added = sqlx::query(
        "INSERT INTO token_keys (generation, keys_sealed, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(i64::from(generation))
    .bind(keys_sealed)
    .bind(now_ms)
    .execute(&mut *tx.tx)
    .await?
    .rows_affected();
    if added != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE token_keys SET verify_until = $1 \
         WHERE generation <> $2 AND retired_at IS NULL AND (verify_until IS NULL OR verify_until > $1)",
    )
    .bind(overlap_until)
    .bind(i64::from(generation))
    .execute(&mut *tx.tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Retires every token-key generation whose overlap has ended (its keys are wiped); returns
/// how many.
pub async fn retire_expired_token_keys(db: &Db, now_ms: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE token_keys SET keys_sealed = NULL, retired_at = $1 \
         WHERE retired_at IS NULL AND verify_until IS NOT NULL AND verify_until <= $1",
    )
    .bind(now_ms)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// Ends token-key generation `generation` now (it verifies no more; retired at once).
pub async fn end_token_generation(db: &Db, generation: u32, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE token_keys SET verify_until = $2 WHERE generation = $1 AND retired_at IS NULL",
    )
    .bind(i64::from(generation))
    .bind(now_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// After a master key rotation, clears old copies of re-sealed values from the database's
/// free space: SQLite rebuilds its file (`VACUUM`) and empties its write-ahead log;
/// PostgreSQL rewrites the tables that hold sealed values (`VACUUM FULL`). The database's own
/// backups and archived WAL still hold them (README, Rotating keys).
pub async fn scrub_after_rotation(db: &Db) -> Result<(), StoreError> {
    match db.backend() {
        crate::db::Backend::Sqlite => {
            let _gate = db.write_gate.clone().acquire_owned().await.ok();
            let mut conn = db.pool.acquire().await?;
            sqlx::query("VACUUM").execute(&mut *conn).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *conn)
                .await?;
        }
        crate::db::Backend::Postgres => {
            let mut sql = crate::sql::Sql::of(&["VACUUM FULL master_keys"]);
            let mut tables: Vec<&'static str> = SEALED_COLUMNS.iter().map(|c| c.table).collect();
            tables.dedup();
            for table in tables {
                sql.push(", ").push(table);
            }
            sqlx::query(sql).execute(&db.pool).await?;
        }
    }
    Ok(())
}

/// Whose rows a sealed column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// Instance-wide rows (accounts, sign-in flows, keys).
    Instance,
    /// A workspace's rows, read and written in its tenant transaction.
    Workspace,
}

/// A column that holds sealed values, with the statements that re-seal it in batches. `select`
/// binds the generation prefix to skip (`$1`, like `v2:%`), the key after which to continue
/// (`$2`) and the batch size (`$3`), plus the workspace id (`$4`) for [`Holder::Workspace`];
/// it yields the row's key and sealed value. `update` binds the new value (`$1`), the key
/// (`$2`) and the value read (`$3`), plus the workspace id (`$4`), so a value changed meanwhile
/// is left alone.
#[derive(Debug)]
pub struct SealedColumn {
    /// `table.column`, which also names its sealing context in the application.
    pub name: &'static str,
    pub table: &'static str,
    pub holder: Holder,
    select: &'static str,
    update: &'static str,
}

/// Every column that holds sealed values.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        name: "user_totp.secret_sealed",
        table: "user_totp",
        holder: Holder::Instance,
        select: "SELECT user_id AS k, secret_sealed AS v FROM user_totp \
                 WHERE secret_sealed NOT LIKE $1 AND user_id > $2 ORDER BY user_id LIMIT $3",
        update: "UPDATE user_totp SET secret_sealed = $1 WHERE user_id = $2 AND secret_sealed = $3",
    },
    SealedColumn {
        name: "oidc_flows.verifier_sealed",
        table: "oidc_flows",
        holder: Holder::Instance,
        select: "SELECT id AS k, verifier_sealed AS v FROM oidc_flows \
                 WHERE verifier_sealed NOT LIKE $1 AND id > $2 ORDER BY id LIMIT $3",
        update: "UPDATE oidc_flows SET verifier_sealed = $1 WHERE id = $2 AND verifier_sealed = $3",
    },
    SealedColumn {
        name: "token_keys.keys_sealed",
        table: "token_keys",
        holder: Holder::Instance,
        select: "SELECT CAST(generation AS TEXT) AS k, keys_sealed AS v FROM token_keys \
                 WHERE keys_sealed NOT LIKE $1 AND CAST(generation AS TEXT) > $2 \
                 ORDER BY CAST(generation AS TEXT) LIMIT $3",
        update: "UPDATE token_keys SET keys_sealed = $1 \
                 WHERE CAST(generation AS TEXT) = $2 AND keys_sealed = $3",
    },
    SealedColumn {
        name: "webhook_endpoints.secret_sealed",
        table: "webhook_endpoints",
        holder: Holder::Workspace,
        select: "SELECT id AS k, secret_sealed AS v FROM webhook_endpoints \
                 WHERE secret_sealed NOT LIKE $1 AND id > $2 AND workspace_id = $4 \
                 ORDER BY id LIMIT $3",
        update: "UPDATE webhook_endpoints SET secret_sealed = $1 \
                 WHERE id = $2 AND secret_sealed = $3 AND workspace_id = $4",
    },
    SealedColumn {
        name: "webhook_endpoints.previous_secret_sealed",
        table: "webhook_endpoints",
        holder: Holder::Workspace,
        select: "SELECT id AS k, previous_secret_sealed AS v FROM webhook_endpoints \
                 WHERE previous_secret_sealed NOT LIKE $1 AND id > $2 AND workspace_id = $4 \
                 ORDER BY id LIMIT $3",
        update: "UPDATE webhook_endpoints SET previous_secret_sealed = $1 \
                 WHERE id = $2 AND previous_secret_sealed = $3 AND workspace_id = $4",
    },
    SealedColumn {
        name: "inbound_secrets.secret_sealed",
        table: "inbound_secrets",
        holder: Holder::Workspace,
        select: "SELECT provider AS k, secret_sealed AS v FROM inbound_secrets \
                 WHERE secret_sealed NOT LIKE $1 AND provider > $2 AND workspace_id = $4 \
                 ORDER BY provider LIMIT $3",
        update: "UPDATE inbound_secrets SET secret_sealed = $1 \
                 WHERE provider = $2 AND secret_sealed = $3 AND workspace_id = $4",
    },
    SealedColumn {
        name: "payment_accounts.secret_sealed",
        table: "payment_accounts",
        holder: Holder::Workspace,
        select: "SELECT provider AS k, secret_sealed AS v FROM payment_accounts \
                 WHERE secret_sealed NOT LIKE $1 AND provider > $2 AND workspace_id = $4 \
                 ORDER BY provider LIMIT $3",
        update: "UPDATE payment_accounts SET secret_sealed = $1 \
                 WHERE provider = $2 AND secret_sealed = $3 AND workspace_id = $4",
    },
    SealedColumn {
        name: "widget_settings.identity_secret_sealed",
        table: "widget_settings",
        holder: Holder::Workspace,
        select: "SELECT workspace_id AS k, identity_secret_sealed AS v FROM widget_settings \
                 WHERE identity_secret_sealed NOT LIKE $1 AND workspace_id > $2 \
                 AND workspace_id = $4 ORDER BY workspace_id LIMIT $3",
        update: "UPDATE widget_settings SET identity_secret_sealed = $1 \
                 WHERE workspace_id = $2 AND identity_secret_sealed = $3 AND workspace_id = $4",
    },
];

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Rows read (not yet under the target generation).
    pub read: u64,
    /// Rows re-sealed.
    pub resealed: u64,
    /// Rows whose value no key held opens (left as they are).
    pub unreadable: u64,
    /// The last key read: the next batch continues after it; `None` when the column is done.
    pub next_after: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    k: String,
    v: String,
}

/// Every workspace as a tenant, suspended ones included: a master key rotation re-seals all
/// of them.
pub async fn unscoped_all_workspaces(db: &Db) -> Result<Vec<Tenant>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM workspaces ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    Ok(ids
        .into_iter()
        .map(|id| Tenant::new(WorkspaceId::from_trusted(id)))
        .collect())
}

/// Re-seals up to `limit` values of `column` (of `tenant`'s rows for a workspace column) that
/// are not under generation `target`, after key `after`, in one transaction: `reseal` gives a
/// value's new sealed text from its key and current text, or `None` when it cannot be opened.
/// A suspended workspace is re-sealed too (the operator's rotation reaches every workspace).
pub async fn unscoped_reseal_batch(
    db: &Db,
    column: &SealedColumn,
    tenant: Option<&Tenant>,
    target: u32,
    after: &str,
    limit: u32,
    reseal: impl Fn(&str, &str) -> Option<String>,
) -> Result<Batch, StoreError> {
    let skip = format!("v{target}:%");
    let workspace = match (column.holder, tenant) {
        (Holder::Instance, _) => None,
        (Holder::Workspace, Some(tenant)) => Some(tenant.workspace_id().as_str().to_owned()),
        (Holder::Workspace, None) => {
            return Err(StoreError::Setup(format!(
                "{} is a workspace's column: name the workspace",
                column.name
            )));
        }
    };
    match (&workspace, tenant) {
        (Some(ws), Some(tenant)) => {
            let mut tx = db.open_tenant_tx(tenant, true).await?;
            let batch =
                reseal_rows(tx.conn(), column, &skip, after, limit, Some(ws), reseal).await?;
            tx.commit().await?;
            Ok(batch)
        }
        _ => {
            let mut tx = db.system_write().await?;
            let batch = reseal_rows(&mut tx.tx, column, &skip, after, limit, None, reseal).await?;
            tx.commit().await?;
            Ok(batch)
        }
    }
}

/// One batch's reads and compare-and-swap writes, in the caller's transaction.
async fn reseal_rows(
    conn: &mut sqlx::AnyConnection,
    column: &SealedColumn,
    skip: &str,
    after: &str,
    limit: u32,
    workspace: Option<&str>,
    reseal: impl Fn(&str, &str) -> Option<String>,
) -> Result<Batch, StoreError> {
    let mut select = sqlx::query_as::<_, SealedRow>(column.select)
        .bind(skip)
        .bind(after)
        .bind(i64::from(limit));
    if let Some(ws) = workspace {
        select = select.bind(ws);
    }
    let rows = select.fetch_all(&mut *conn).await?;
    let mut batch = Batch::default();
    for row in &rows {
        let Some(new) = reseal(&row.k, &row.v) else {
            batch.unreadable += 1;
            continue;
        };
        let mut update = sqlx::query(column.update)
            .bind(new)
            .bind(&row.k)
            .bind(&row.v);
        if let Some(ws) = workspace {
            update = update.bind(ws);
        }
        batch.resealed += update.execute(&mut *conn).await?.rows_affected();
    }
    batch.read = rows.len() as u64;
    batch.next_after = (rows.len() as u64 == u64::from(limit))
        .then(|| rows.last().map(|r| r.k.clone()))
        .flatten();
    Ok(batch)
}

/// How many values of `column` (in `tenant`'s rows for a workspace column) are not under
/// generation `target`: what a rotation has left to do.
pub async fn unscoped_count_not_under(
    db: &Db,
    column: &SealedColumn,
    tenant: Option<&Tenant>,
    target: u32,
) -> Result<u64, StoreError> {
    let mut total = 0;
    let mut after = String::new();
    // Counting reads the same batches the rotation would, without writing.
    loop {
        let batch =
            unscoped_reseal_batch(db, column, tenant, target, &after, 500, |_, _| None).await?;
        total += batch.read;
        match batch.next_after {
            Some(next) => after = next,
            None => return Ok(total),
        }
    }
}

/// Records an operator's key event (`keys.master_rotation_started`, `keys.master_rotated`,
/// `keys.tokens_rotated`) in every workspace's audit trail, suspended ones included: every
/// workspace's secrets or tokens changed keys. Returns how many trails it was written to.
pub async fn unscoped_audit_key_event(
    db: &Db,
    action: &'static str,
    summary: serde_json::Value,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut written = 0;
    for tenant in unscoped_all_workspaces(db).await? {
        let mut tx = db.open_tenant_tx(&tenant, true).await?;
        let event = crate::ops::admin::system_event(action, "instance", "keys", summary.clone());
        crate::ops::audit::append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        written += 1;
    }
    Ok(written)
}
