//! API keys of one workspace.

use crate::error::{Classify, StoreError};
use crate::tenant::TenantTx;
use holdfast_core::access::api_keys::{ApiKeyCreated, ApiKeyOut};
use holdfast_core::access::policy::Role;
use holdfast_core::ids::ApiKeyId;
use holdfast_core::token::{API_KEY_PREFIX, generate_api_key};

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    role: String,
    lookup: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    created_by: Option<String>,
}

impl From<Row> for ApiKeyOut {
    fn from(r: Row) -> Self {
        ApiKeyOut {
            id: r.id,
            name: r.name,
            role: r.role,
            prefix: format!("{API_KEY_PREFIX}{}", r.lookup),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
            created_by: r.created_by,
        }
    }
}

/// Creates a key; `created_by` is the user answerable for it: the user making it, or the maker
/// of the key making it (`None` on the command line).
pub async fn create(
    tx: &mut TenantTx<'_>,
    name: &str,
    role: &Role,
    created_by: Option<&str>,
    now_ms: i64,
) -> Result<ApiKeyCreated, StoreError> {
    let id = ApiKeyId::generate(now_ms);
    let key = generate_api_key();
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO api_keys (workspace_id, id, name, role, lookup, secret_hash, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(name)
    .bind(role.as_str())
    .bind(key.lookup.as_str())
    .bind(key.hash.as_str())
    .bind(now_ms)
    .bind(created_by)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(ApiKeyCreated {
        key: ApiKeyOut {
            id: id.to_string(),
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            prefix: format!("{API_KEY_PREFIX}{}", key.lookup),
            created_at: now_ms,
            last_used_at: None,
            revoked_at: None,
            created_by: created_by.map(str::to_owned),
        },
        secret: key.plaintext.expose().clone(),
    })
}

pub async fn list(tx: &mut TenantTx<'_>) -> Result<Vec<ApiKeyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, role, lookup, created_at, last_used_at, revoked_at, created_by FROM api_keys \
         WHERE workspace_id = $1 ORDER BY id",
    )
    .bind(ws)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(ApiKeyOut::from).collect())
}

/// Revokes a key; `false` when the workspace has no such active key.
pub async fn revoke(tx: &mut TenantTx<'_>, id: &ApiKeyId, now_ms: i64) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(ws)
    .bind(id.as_str())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The user answerable for a key: its `created_by` (`None` for a key made on the command line
/// or before keys recorded their maker).
pub async fn maker_of(tx: &mut TenantTx<'_>, id: &ApiKeyId) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    let maker: Option<Option<String>> =
        sqlx::query_scalar("SELECT created_by FROM api_keys WHERE workspace_id = $1 AND id = $2")
            .bind(ws)
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?;
    Ok(maker.flatten())
}

/// The ids of the live keys `user_id` made, oldest first.
pub async fn live_made_by(tx: &mut TenantTx<'_>, user_id: &str) -> Result<Vec<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT id FROM api_keys WHERE workspace_id = $1 AND created_by = $2 \
         AND revoked_at IS NULL ORDER BY id",
    )
    .bind(ws)
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?)
}

/// The live keys `user_id` made with their stored roles, oldest first.
pub async fn live_made_by_with_roles(
    tx: &mut TenantTx<'_>,
    user_id: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as(
        "SELECT id, role FROM api_keys WHERE workspace_id = $1 AND created_by = $2 \
         AND revoked_at IS NULL ORDER BY id",
    )
    .bind(ws)
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?)
}

/// Revokes every live key `user_id` made; returns their ids, oldest first.
pub async fn revoke_made_by(
    tx: &mut TenantTx<'_>,
    user_id: &str,
    now_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let ids = live_made_by(tx, user_id).await?;
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE workspace_id = $2 AND created_by = $3 \
         AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(ws)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(ids)
}

/// The stored role of a live key.
pub async fn role_of(tx: &mut TenantTx<'_>, id: &ApiKeyId) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT role FROM api_keys WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?)
}
