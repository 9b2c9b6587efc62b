//! A contact's portal sessions: listed for staff (and the customer), ended by staff, by the
//! customer signing out, all at once when staff take access away or the address changes, and
//! workspace-wide when the portal closes ([`close`]).

use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::ids::{ContactId, PortalSessionId};

/// One session as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PortalSession {
    pub id: String,
    pub contact_id: String,
    /// `browser` or `api`.
    pub kind: String,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// The contact's live sessions, newest first.
pub async fn of_contact(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    now_ms: i64,
) -> Result<Vec<PortalSession>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as(
        "SELECT id, contact_id, kind, user_agent, created_at, last_seen_at, expires_at \
         FROM portal_sessions WHERE workspace_id = $1 AND contact_id = $2 \
         AND revoked_at IS NULL AND expires_at > $3 AND last_seen_at + $4 > $3 ORDER BY id DESC",
    )
    .bind(ws)
    .bind(contact.as_str())
    .bind(now_ms)
    .bind(holdfast_core::portal::SESSION_IDLE_MS)
    .fetch_all(tx.conn())
    .await?)
}

/// Ends one of the contact's sessions (its cookie opens nothing from now on); `false` when the
/// contact has no such live session.
pub async fn end(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    session: &PortalSessionId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let ended = sqlx::query(
        "UPDATE portal_sessions SET revoked_at = $4 WHERE workspace_id = $1 AND contact_id = $2 \
         AND id = $3 AND revoked_at IS NULL",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .bind(session.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM portal_session_cookies WHERE workspace_id = $1 AND session_id = $2")
        .bind(&ws)
        .bind(session.as_str())
        .execute(tx.conn())
        .await?;
    Ok(ended == 1)
}

/// Ends every session of the contact; how many were live.
pub async fn end_all(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let ws = tx.ws().to_owned();
    let ended = sqlx::query(
        "UPDATE portal_sessions SET revoked_at = $3 WHERE workspace_id = $1 AND contact_id = $2 \
         AND revoked_at IS NULL",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?
    .rows_affected();
    sqlx::query(
        "DELETE FROM portal_session_cookies WHERE workspace_id = $1 AND session_id IN \
         (SELECT id FROM portal_sessions WHERE workspace_id = $1 AND contact_id = $2)",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .execute(tx.conn())
    .await?;
    Ok(ended)
}

/// Ends every session of the contact but `keep` (a password set or changed); how many.
pub async fn end_others(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    keep: &PortalSessionId,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "DELETE FROM portal_session_cookies WHERE workspace_id = $1 AND session_id <> $3 \
         AND session_id IN (SELECT id FROM portal_sessions WHERE workspace_id = $1 \
         AND contact_id = $2)",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .bind(keep.as_str())
    .execute(tx.conn())
    .await?;
    Ok(sqlx::query(
        "UPDATE portal_sessions SET revoked_at = $4 WHERE workspace_id = $1 AND contact_id = $2 \
         AND id <> $3 AND revoked_at IS NULL",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .bind(keep.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?
    .rows_affected())
}

/// Whose sessions [`close`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Every contact's: the portal closed (its module turned off, the workspace suspended).
    Everyone,
    /// Those who follow the workspace's default (staff never chose for them): the default
    /// turned off.
    DefaultFollowers,
}

/// Ends the live portal sessions of `who` in the workspace and spends their unspent sign-in
/// and password reset links, so that opening the portal again later does not bring them back; how many sessions
/// ended.
pub async fn close(tx: &mut TenantTx<'_>, who: Closing, now_ms: i64) -> Result<u64, StoreError> {
    let ws = tx.ws().to_owned();
    let (sessions, links, resets) = match who {
        Closing::Everyone => (
            "UPDATE portal_sessions SET revoked_at = $2 WHERE workspace_id = $1 \
             AND revoked_at IS NULL",
            "UPDATE portal_links SET used_at = $2 WHERE workspace_id = $1 AND used_at IS NULL",
            "UPDATE portal_password_resets SET used_at = $2 WHERE workspace_id = $1 \
             AND used_at IS NULL",
        ),
        Closing::DefaultFollowers => (
            "UPDATE portal_sessions SET revoked_at = $2 WHERE workspace_id = $1 \
             AND revoked_at IS NULL AND contact_id NOT IN \
             (SELECT contact_id FROM portal_access WHERE workspace_id = $1)",
            "UPDATE portal_links SET used_at = $2 WHERE workspace_id = $1 AND used_at IS NULL \
             AND contact_id NOT IN (SELECT contact_id FROM portal_access WHERE workspace_id = $1)",
            "UPDATE portal_password_resets SET used_at = $2 WHERE workspace_id = $1 \
             AND used_at IS NULL AND contact_id NOT IN \
             (SELECT contact_id FROM portal_access WHERE workspace_id = $1)",
        ),
    };
    let ended = sqlx::query(sessions)
        .bind(&ws)
        .bind(now_ms)
        .execute(tx.conn())
        .await?
        .rows_affected();
    for spend in [links, resets] {
        sqlx::query(spend)
            .bind(&ws)
            .bind(now_ms)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query(
        "DELETE FROM portal_session_cookies WHERE workspace_id = $1 AND session_id IN \
         (SELECT id FROM portal_sessions WHERE workspace_id = $1 AND revoked_at IS NOT NULL)",
    )
    .bind(&ws)
    .execute(tx.conn())
    .await?;
    Ok(ended)
}
