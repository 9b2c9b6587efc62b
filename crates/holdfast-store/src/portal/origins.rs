//! The origins whose pages may call a workspace's portal API from a browser (`portal_origins`,
//! 0059): set by staff with the portal's settings, read by the CORS answer. A directory table,
//! because a browser's preflight names no workspace: [`unscoped_listed`] asks whether any
//! workspace lists an origin, [`listed`] whether the signed-in customer's does.

use crate::db::Db;
use crate::error::StoreError;
use crate::tenant::TenantTx;

/// The workspace's origins, sorted.
pub async fn of_workspace(tx: &mut TenantTx<'_>) -> Result<Vec<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT origin FROM portal_origins WHERE workspace_id = $1 ORDER BY origin",
    )
    .bind(ws)
    .fetch_all(tx.conn())
    .await?)
}

/// Puts `origins` (normalised, each once) in place of the workspace's list.
pub async fn replace(tx: &mut TenantTx<'_>, origins: &[String]) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("DELETE FROM portal_origins WHERE workspace_id = $1")
        .bind(&ws)
        .execute(tx.conn())
        .await?;
    for origin in origins {
        sqlx::query("INSERT INTO portal_origins (origin, workspace_id) VALUES ($1, $2)")
            .bind(origin)
            .bind(&ws)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Whether the transaction's workspace lists `origin`.
pub async fn listed(tx: &mut TenantTx<'_>, origin: &str) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM portal_origins WHERE origin = $1 AND workspace_id = $2",
    )
    .bind(origin)
    .bind(ws)
    .fetch_one(tx.conn())
    .await?;
    Ok(found > 0)
}

/// Whether any workspace lists `origin`: what a preflight (which names no workspace) and an
/// answer to a request without a portal credential go by. Says nothing of which workspace.
pub async fn unscoped_listed(db: &Db, origin: &str) -> Result<bool, StoreError> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT workspace_id FROM portal_origins WHERE origin = $1 LIMIT 1")
            .bind(origin)
            .fetch_optional(&db.pool)
            .await?;
    Ok(found.is_some())
}
