//! A user's sessions in one workspace.

use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::identity::sessions::SessionOut;
use holdfast_core::ids::{SessionId, UserId};

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    user_agent: Option<String>,
    ip: Option<String>,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

/// Live sessions of `user`, newest first; `current` marks the one asking.
pub async fn list(
    tx: &mut TenantTx<'_>,
    user: &UserId,
    current: &SessionId,
    now_ms: i64,
) -> Result<Vec<SessionOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, user_agent, ip, created_at, last_seen_at, expires_at FROM sessions \
         WHERE workspace_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 \
         AND last_seen_at + idle_ms > $3 \
         ORDER BY id DESC",
    )
    .bind(ws)
    .bind(user.as_str())
    .bind(now_ms)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionOut {
            current: r.id == current.as_str(),
            id: r.id,
            kind: r.kind,
            user_agent: r.user_agent,
            ip: r.ip,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
        })
        .collect())
}

/// Ends one of `user`'s sessions; `false` when they have no such live session.
pub async fn revoke(
    tx: &mut TenantTx<'_>,
    user: &UserId,
    id: &SessionId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE workspace_id = $2 AND user_id = $3 AND id = $4 AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(ws)
    .bind(user.as_str())
    .bind(id.as_str())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of `user` in this workspace; returns how many.
pub async fn revoke_all(
    tx: &mut TenantTx<'_>,
    user: &UserId,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE workspace_id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(ws)
    .bind(user.as_str())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}

/// Ends every session of `user` in this workspace but `keep`; returns how many.
pub async fn revoke_all_but(
    tx: &mut TenantTx<'_>,
    user: &UserId,
    keep: &SessionId,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE workspace_id = $2 AND user_id = $3 AND id <> $4 AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(ws)
    .bind(user.as_str())
    .bind(keep.as_str())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}

/// Records that the session just re-confirmed its password (and second factor).
pub async fn mark_stepped_up(
    tx: &mut TenantTx<'_>,
    id: &SessionId,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("UPDATE sessions SET stepped_up_at = $1 WHERE workspace_id = $2 AND id = $3")
        .bind(now_ms)
        .bind(ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok(())
}
