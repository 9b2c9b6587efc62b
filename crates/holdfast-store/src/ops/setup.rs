//! First-run setup links: while no workspace exists, `holdfast serve` prints a one-time link
//! (`/setup/{token}`) whose page creates the first workspace and its owner
//! (`admin::unscoped_create_first_workspace` spends it); `holdfast admin setup-link` prints a new
//! one. A link is good for an hour, once; only its SHA-256 is stored, and issuing one voids the
//! others. Every function is `unscoped_`: a link precedes every workspace.

use crate::db::Db;
use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::secret::Secret;
use holdfast_core::token::generate_opaque;

/// The kind prefix of a setup link's token (`hfw_…`).
pub const SETUP_PREFIX: &str = "hfw";
/// A setup link is good for an hour.
pub const SETUP_TTL_MS: i64 = 60 * 60 * 1000;

/// Whether any workspace exists on this instance (then there is no first run). Unscoped: it
/// asks about the instance, and reads no workspace's data.
pub async fn unscoped_any_workspace(db: &Db) -> Result<bool, StoreError> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM workspaces LIMIT 1")
        .fetch_optional(&db.pool)
        .await?;
    Ok(found.is_some())
}

/// A new setup link's token (shown once), good for an hour; every older link stops working.
/// Unscoped: the link precedes every workspace.
pub async fn unscoped_issue_setup_link(db: &Db, now_ms: i64) -> Result<Secret<String>, StoreError> {
    let (token, hash) = generate_opaque(SETUP_PREFIX);
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM setup_links")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO setup_links (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
        .bind(hash)
        .bind(now_ms)
        .bind(now_ms + SETUP_TTL_MS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(token)
}

/// Whether the link with this digest still opens the setup page: unspent, unexpired, and no
/// workspace exists. Unscoped: the link precedes every workspace.
pub async fn unscoped_setup_link_open(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT token_hash FROM setup_links WHERE token_hash = $1 AND used_at IS NULL \
         AND expires_at > $2 AND NOT EXISTS (SELECT 1 FROM workspaces)",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    Ok(found.is_some())
}

/// Spends the link inside the transaction that makes the first workspace; `false` when it is
/// spent, expired, unknown, or a workspace exists already.
pub(crate) async fn spend(
    tx: &mut TenantTx<'_>,
    token_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let spent = sqlx::query(
        "UPDATE setup_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
         AND expires_at > $1 AND NOT EXISTS (SELECT 1 FROM workspaces)",
    )
    .bind(now_ms)
    .bind(token_hash)
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(spent == 1)
}
