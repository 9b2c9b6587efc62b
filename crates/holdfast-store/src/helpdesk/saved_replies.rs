//! The help desk's saved (canned) replies.

use crate::error::{Classify, StoreError};
use crate::tenant::TenantTx;
use holdfast_core::clock::Millis;
use holdfast_core::helpdesk::saved_replies::{SavedReplyChange, SavedReplyOut};
use holdfast_core::ids::{ApiKeyId, SavedReplyId};

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    body: String,
    shortcut: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for SavedReplyOut {
    fn from(r: Row) -> Self {
        SavedReplyOut {
            id: r.id,
            name: r.name,
            body: r.body,
            shortcut: r.shortcut,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Oldest first, after `after` (an id) when given.
pub async fn list(
    tx: &mut TenantTx<'_>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<SavedReplyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, body, shortcut, created_at, updated_at FROM saved_replies \
         WHERE workspace_id = $1 AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3",
    )
    .bind(ws)
    .bind(after.unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(SavedReplyOut::from).collect())
}

pub async fn get(
    tx: &mut TenantTx<'_>,
    id: &SavedReplyId,
) -> Result<Option<SavedReplyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, body, shortcut, created_at, updated_at FROM saved_replies \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(SavedReplyOut::from))
}

/// Inserts a validated reply (`name` and `body` are set by `SavedReplyIn::validate`).
pub async fn create(
    tx: &mut TenantTx<'_>,
    new: &SavedReplyChange,
    now_ms: Millis,
) -> Result<SavedReplyOut, StoreError> {
    let id = SavedReplyId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO saved_replies (workspace_id, id, name, body, shortcut, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(new.name.as_deref().unwrap_or_default())
    .bind(new.body.as_deref().unwrap_or_default())
    .bind(new.shortcut.clone().flatten())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    get(tx, &id).await?.ok_or(StoreError::Setup(
        "saved reply vanished after insert".into(),
    ))
}

pub async fn update(
    tx: &mut TenantTx<'_>,
    id: &SavedReplyId,
    change: &SavedReplyChange,
    now_ms: Millis,
) -> Result<Option<SavedReplyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE saved_replies SET name = COALESCE($3, name), body = COALESCE($4, body), \
         shortcut = CASE WHEN $5 = 1 THEN $6 ELSE shortcut END, updated_at = $7 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(change.name.as_deref())
    .bind(change.body.as_deref())
    .bind(i64::from(change.shortcut.is_some()))
    .bind(change.shortcut.clone().flatten())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    get(tx, id).await
}

pub async fn delete(tx: &mut TenantTx<'_>, id: &SavedReplyId) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query("DELETE FROM saved_replies WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The name of one of the workspace's API keys (what `{{agent.name}}` shows for a key).
pub async fn api_key_name(
    tx: &mut TenantTx<'_>,
    id: &ApiKeyId,
) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    let name = sqlx::query_scalar("SELECT name FROM api_keys WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(name)
}
