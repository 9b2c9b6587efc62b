//! Portal passwords (`portal_passwords`, 0060): a customer may choose one beside the sign-in
//! link. Only its Argon2id hash is kept, read by the portal's own sign-in and never shown to
//! staff. Reset links (`portal_password_resets`) are made when their mail is sent (their 2
//! hours start then), kept as the token's SHA-256, looked up before a workspace is known
//! ([`unscoped_reset_target`]) and spent once ([`spend_reset`]).

use crate::db::Db;
use crate::error::{Classify, StoreError};
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::ids::{ContactId, WorkspaceId};

/// The contact's password hash, when they chose a password.
pub async fn hash_of(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT password_hash FROM portal_passwords WHERE workspace_id = $1 AND contact_id = $2",
    )
    .bind(ws)
    .bind(contact.as_str())
    .fetch_optional(tx.conn())
    .await?)
}

/// Sets (or replaces) the contact's password hash.
pub async fn set(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    password_hash: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO portal_passwords (workspace_id, contact_id, password_hash, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, contact_id) \
         DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
    )
    .bind(ws)
    .bind(contact.as_str())
    .bind(password_hash)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

/// Records a reset link (its token's digest) for the contact.
pub async fn create_reset(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    token_hash: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO portal_password_resets (token_hash, workspace_id, contact_id, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5)",
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

/// The workspace and contact of a reset link by its token's digest, while it is unspent and
/// unexpired (looking spends nothing).
pub async fn unscoped_reset_target(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<(Tenant, ContactId)>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT workspace_id, contact_id FROM portal_password_resets \
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

/// Spends a reset link of the contact; `false` when it was spent or expired meanwhile.
pub async fn spend_reset(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    token_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let spent = sqlx::query(
        "UPDATE portal_password_resets SET used_at = $4 WHERE token_hash = $1 \
         AND workspace_id = $2 AND contact_id = $3 AND used_at IS NULL AND expires_at > $4",
    )
    .bind(token_hash)
    .bind(ws)
    .bind(contact.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(spent == 1)
}
