//! Invitations of one workspace: single-use tokens, valid 7 days, stored as SHA-256.

use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::access::members::InvitationOut;
use holdfast_core::access::policy::Role;
use holdfast_core::ids::InvitationId;
use holdfast_core::secret::Secret;
use holdfast_core::token::generate_opaque;

pub const PREFIX: &str = "hfi";
pub const TTL_MS: i64 = 7 * 24 * 3600 * 1000;

pub async fn create(
    tx: &mut TenantTx<'_>,
    email: &str,
    role: &Role,
    now_ms: i64,
) -> Result<(InvitationOut, Secret<String>), StoreError> {
    let ws = tx.ws().to_owned();
    let id = InvitationId::generate(now_ms);
    let (token, hash) = generate_opaque(PREFIX);
    sqlx::query(
        "INSERT INTO invitations (workspace_id, id, email, role, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(email)
    .bind(role.as_str())
    .bind(hash)
    .bind(now_ms)
    .bind(now_ms + TTL_MS)
    .execute(tx.conn())
    .await?;
    let out = InvitationOut {
        id: id.to_string(),
        email: email.to_owned(),
        role: role.as_str().to_owned(),
        created_at: now_ms,
        expires_at: now_ms + TTL_MS,
    };
    Ok((out, token))
}

/// Pending invitations (not accepted, revoked or expired), newest first.
pub async fn list(tx: &mut TenantTx<'_>, now_ms: i64) -> Result<Vec<InvitationOut>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as::<_, (String, String, String, i64, i64)>(
        "SELECT id, email, role, created_at, expires_at FROM invitations WHERE workspace_id = $1 \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 ORDER BY id DESC",
    )
    .bind(ws)
    .bind(now_ms)
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|(id, email, role, created_at, expires_at)| InvitationOut {
        id,
        email,
        role,
        created_at,
        expires_at,
    })
    .collect())
}

pub async fn revoke(
    tx: &mut TenantTx<'_>,
    id: &InvitationId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(ws)
    .bind(id.as_str())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
