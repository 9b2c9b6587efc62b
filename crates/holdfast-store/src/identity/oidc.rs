//! OpenID Connect sign-in, part of the authentication layer: started flows (spent once) and
//! the links between accounts and provider identities. These run before any workspace is
//! known, hence `unscoped_`; a `Tenant` comes only from a membership found here.

use crate::db::Db;
use crate::error::{Classify, StoreError};
use crate::identity::LoginCandidate;

/// A sign-in started at `/auth/oidc/start`, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Flow {
    pub workspace_slug: String,
    pub invitation_hash: Option<String>,
    pub verifier_sealed: String,
    pub binding_hash: String,
}

pub struct NewFlow<'a> {
    pub id: &'a str,
    pub workspace_slug: &'a str,
    pub invitation_hash: Option<&'a str>,
    pub verifier_sealed: &'a str,
    pub binding_hash: &'a str,
    pub expires_at: i64,
}

/// Records a started sign-in; also forgets flows that expired more than a day ago.
pub async fn unscoped_start_flow(
    db: &Db,
    flow: NewFlow<'_>,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO oidc_flows (id, workspace_slug, invitation_hash, verifier_sealed, binding_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(flow.id)
    .bind(flow.workspace_slug)
    .bind(flow.invitation_hash)
    .bind(flow.verifier_sealed)
    .bind(flow.binding_hash)
    .bind(now_ms)
    .bind(flow.expires_at)
    .execute(&db.pool)
    .await
    .classify()?;
    sqlx::query("DELETE FROM oidc_flows WHERE expires_at < $1")
        .bind(now_ms - 24 * 3600 * 1000)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Spends a flow for the browser that started it (its binding cookie's digest): the first such
/// callback gets it; a replay, a late callback or another browser gets `None`.
pub async fn unscoped_spend_flow(
    db: &Db,
    id: &str,
    binding_hash: &str,
    now_ms: i64,
) -> Result<Option<Flow>, StoreError> {
    Ok(sqlx::query_as(
        "UPDATE oidc_flows SET used_at = $1 WHERE id = $2 AND binding_hash = $3 \
         AND used_at IS NULL AND expires_at > $1 \
         RETURNING workspace_slug, invitation_hash, verifier_sealed, binding_hash",
    )
    .bind(now_ms)
    .bind(id)
    .bind(binding_hash)
    .fetch_optional(&db.pool)
    .await?)
}

/// The account linked to a provider identity, marking the link used.
pub async fn unscoped_linked_user(
    db: &Db,
    issuer: &str,
    subject: &str,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE user_identities SET last_used_at = $1 WHERE issuer = $2 AND subject = $3 RETURNING user_id",
    )
    .bind(now_ms)
    .bind(issuer)
    .bind(subject)
    .fetch_optional(&db.pool)
    .await?)
}

/// Links a provider identity to an account (after its verified email matched the account's).
pub async fn unscoped_link(
    db: &Db,
    issuer: &str,
    subject: &str,
    user_id: &str,
    email: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO user_identities (issuer, subject, user_id, email, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .bind(email)
    .bind(now_ms)
    .execute(&db.pool)
    .await
    .classify()?;
    Ok(())
}

/// The user's membership of the workspace `slug`, as a sign-in candidate.
pub async fn unscoped_member_candidate(
    db: &Db,
    user_id: &str,
    slug: &str,
) -> Result<Option<LoginCandidate>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT u.id AS user_id, u.password_hash, w.id AS workspace_id, m.role FROM users u \
         JOIN memberships m ON m.user_id = u.id JOIN workspaces w ON w.id = m.workspace_id \
         WHERE u.id = $1 AND w.slug = $2",
    )
    .bind(user_id)
    .bind(slug)
    .fetch_optional(&db.pool)
    .await?)
}

/// An account's email address.
pub async fn unscoped_user_email(db: &Db, user_id: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?)
}

/// A sign-in the provider proved, waiting for the account's own confirmation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub user_id: String,
    pub workspace_slug: String,
    pub invitation_hash: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub email: String,
    pub needs_link: i64,
}

pub async fn unscoped_start_pending(
    db: &Db,
    token_hash: &str,
    pending: &Pending,
    now_ms: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sso_pending (token_hash, user_id, workspace_slug, invitation_hash, issuer, \
         subject, email, needs_link, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(token_hash)
    .bind(pending.user_id.as_str())
    .bind(pending.workspace_slug.as_str())
    .bind(pending.invitation_hash.as_deref())
    .bind(pending.issuer.as_str())
    .bind(pending.subject.as_str())
    .bind(pending.email.as_str())
    .bind(pending.needs_link)
    .bind(now_ms)
    .bind(expires_at)
    .execute(&db.pool)
    .await
    .classify()?;
    Ok(())
}

/// The pending sign-in behind a token, while unused and unexpired.
pub async fn unscoped_pending(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<Pending>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT user_id, workspace_slug, invitation_hash, issuer, subject, email, needs_link \
         FROM sso_pending WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?)
}

/// Spends a pending sign-in; `false` when it was spent (or expired) meanwhile.
pub async fn unscoped_spend_pending(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE sso_pending SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now_ms)
    .bind(token_hash)
    .execute(&db.pool)
    .await?
    .rows_affected()
        == 1)
}
