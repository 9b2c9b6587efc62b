//! `Idempotency-Key` records: the response of a create, replayed for a retry of the same
//! request, kept for 24 hours. Written in the same transaction as the create it describes.

use crate::error::{Classify, StoreError};
use crate::tenant::TenantTx;

pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, sqlx::FromRow)]
pub struct Stored {
    pub request_hash: String,
    pub response_status: i64,
    pub response_body: String,
}

pub async fn find(
    tx: &mut TenantTx<'_>,
    key: &str,
    now_ms: i64,
) -> Result<Option<Stored>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys \
         WHERE workspace_id = $1 AND idem_key = $2 AND created_at > $3",
    )
    .bind(ws)
    .bind(key)
    .bind(now_ms - RETENTION_MS)
    .fetch_optional(tx.conn())
    .await?)
}

pub async fn save(
    tx: &mut TenantTx<'_>,
    key: &str,
    request_hash: &str,
    status: u16,
    body: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("DELETE FROM idempotency_keys WHERE workspace_id = $1 AND idem_key = $2 AND created_at <= $3")
        .bind(ws.as_str())
        .bind(key)
        .bind(now_ms - RETENTION_MS)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO idempotency_keys (workspace_id, idem_key, request_hash, response_status, response_body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ws)
    .bind(key)
    .bind(request_hash)
    .bind(i64::from(status))
    .bind(body)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}
