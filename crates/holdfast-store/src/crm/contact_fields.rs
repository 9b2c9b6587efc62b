//! Custom field definitions of a workspace's contacts.

use crate::db::Backend;
use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::TenantTx;
use holdfast_core::crm::contact_fields::{FieldDef, FieldDefOut, FieldType};

#[derive(sqlx::FromRow)]
struct Row {
    field_key: String,
    label: String,
    field_type: String,
    options: String,
    required: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for FieldDefOut {
    fn from(r: Row) -> Self {
        FieldDefOut {
            key: r.field_key,
            label: r.label,
            // Written only by `insert` from a `FieldType`; an unknown type (a newer version's)
            // reads as text, the type that accepts the most.
            field_type: FieldType::parse(&r.field_type).unwrap_or(FieldType::Text),
            options: serde_json::from_str(&r.options).unwrap_or_default(),
            required: r.required != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const SELECT: &str = "SELECT field_key, label, field_type, options, required, created_at, updated_at \
     FROM contact_fields WHERE workspace_id = $1";

/// Every definition of the workspace, by key.
pub async fn list(tx: &mut TenantTx<'_>) -> Result<Vec<FieldDefOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(Sql::of(&[SELECT, " ORDER BY field_key"]))
        .bind(ws)
        .fetch_all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(FieldDefOut::from).collect())
}

/// The definitions as validation uses them.
pub async fn defs(tx: &mut TenantTx<'_>) -> Result<Vec<FieldDef>, StoreError> {
    Ok(list(tx).await?.iter().map(FieldDef::from).collect())
}

pub async fn get(tx: &mut TenantTx<'_>, key: &str) -> Result<Option<FieldDefOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(Sql::of(&[SELECT, " AND field_key = $2"]))
        .bind(ws)
        .bind(key)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(FieldDefOut::from))
}

pub async fn count(tx: &mut TenantTx<'_>) -> Result<i64, StoreError> {
    let ws = tx.ws().to_owned();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contact_fields WHERE workspace_id = $1")
        .bind(ws)
        .fetch_one(tx.conn())
        .await?;
    Ok(n)
}

pub async fn insert(
    tx: &mut TenantTx<'_>,
    def: &FieldDef,
    now_ms: i64,
) -> Result<FieldDefOut, StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO contact_fields (workspace_id, field_key, label, field_type, options, required, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(ws)
    .bind(&def.key)
    .bind(&def.label)
    .bind(def.field_type.as_str())
    .bind(serde_json::to_string(&def.options).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(def.required))
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(FieldDefOut {
        key: def.key.clone(),
        label: def.label.clone(),
        field_type: def.field_type,
        options: def.options.clone(),
        required: def.required,
        created_at: now_ms,
        updated_at: now_ms,
    })
}

pub async fn update(
    tx: &mut TenantTx<'_>,
    def: &FieldDef,
    now_ms: i64,
) -> Result<Option<FieldDefOut>, StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE contact_fields SET label = $3, options = $4, required = $5, updated_at = $6 \
         WHERE workspace_id = $1 AND field_key = $2",
    )
    .bind(ws)
    .bind(&def.key)
    .bind(&def.label)
    .bind(serde_json::to_string(&def.options).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(def.required))
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    get(tx, &def.key).await
}

/// Deletes a definition and every contact's value of it (from the contacts' `custom` and the
/// search index); returns how many contacts had a value, or `None` when there is no such field.
pub async fn delete(
    tx: &mut TenantTx<'_>,
    key: &str,
    now_ms: i64,
) -> Result<Option<u64>, StoreError> {
    let ws = tx.ws().to_owned();
    // The JSON edit is the one dialect-specific statement: json_remove on SQLite, the jsonb
    // minus operator on PostgreSQL. The key is bound, never spliced.
    let (sql, path) = match tx.backend {
        Backend::Postgres => (
            "UPDATE contacts SET custom = (custom::jsonb - $3)::text, updated_at = $4 \
             WHERE workspace_id = $1 AND id IN (SELECT contact_id FROM contact_values \
             WHERE workspace_id = $1 AND field_key = $2)",
            key.to_owned(),
        ),
        Backend::Sqlite => (
            "UPDATE contacts SET custom = json_remove(custom, $3), updated_at = $4 \
             WHERE workspace_id = $1 AND id IN (SELECT contact_id FROM contact_values \
             WHERE workspace_id = $1 AND field_key = $2)",
            format!("$.\"{key}\""),
        ),
    };
    let touched = sqlx::query(sql)
        .bind(&ws)
        .bind(key)
        .bind(path)
        .bind(now_ms)
        .execute(tx.conn())
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM contact_values WHERE workspace_id = $1 AND field_key = $2")
        .bind(&ws)
        .bind(key)
        .execute(tx.conn())
        .await?;
    let done = sqlx::query("DELETE FROM contact_fields WHERE workspace_id = $1 AND field_key = $2")
        .bind(&ws)
        .bind(key)
        .execute(tx.conn())
        .await?;
    Ok((done.rows_affected() == 1).then_some(touched))
}
