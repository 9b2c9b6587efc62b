//! Sign-in links (`portal_links`): made when their mail is sent (so the token never waits in
//! the queue in clear, and its 24 hours start then), stored as the token's SHA-256, opened by
//! the confirmation page ([`unscoped_link_target`]) and spent by its form
//! (`super::auth::sign_in`).

use crate::db::Db;
use crate::error::{Classify, StoreError};
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::ids::{ContactId, WorkspaceId};

/// Records a sign-in link (its token's digest) for the contact.
pub async fn create(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    token_hash: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO portal_links (token_hash, workspace_id, contact_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(ws)
    .bind(contact.as_str())
    .bind(now_ms)
    .bind(expires_at)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

/// The workspace and contact of a sign-in link by its token's digest, while it is unspent and
/// unexpired: what the confirmation page shows before anything is spent.
pub async fn unscoped_link_target(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<(Tenant, ContactId)>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT workspace_id, contact_id FROM portal_links \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(ws, contact)| {
        (
            Tenant::new(WorkspaceId::from_trusted(ws)),
            ContactId::from_trusted(contact),
        )
    }))
}

/// How many sign-in mails were queued for the contact since `since` (the per-address limit).
pub async fn queued_since(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    since: i64,
) -> Result<i64, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM outreach_log WHERE workspace_id = $1 AND contact_id = $2 \
         AND purpose = 'sign_in' AND stage = 'queue' AND decision = 'allowed' AND created_at > $3",
    )
    .bind(ws)
    .bind(contact.as_str())
    .bind(since)
    .fetch_one(tx.conn())
    .await?)
}

/// Spends every unspent sign-in link and password reset link of the contact (their address
/// changed: a link mailed to the old one must not sign anyone in nor set their password; or
/// staff took their access away: giving it back must not revive a link mailed before).
pub async fn spend_all(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for spend in [
        "UPDATE portal_links SET used_at = $3 WHERE workspace_id = $1 AND contact_id = $2 \
         AND used_at IS NULL",
        "UPDATE portal_password_resets SET used_at = $3 WHERE workspace_id = $1 \
         AND contact_id = $2 AND used_at IS NULL",
    ] {
        sqlx::query(spend)
            .bind(&ws)
            .bind(contact.as_str())
            .bind(now_ms)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}
