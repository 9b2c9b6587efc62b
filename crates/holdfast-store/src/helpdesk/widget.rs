//! The website chat widget: each workspace's settings and public key, visitor tokens (stored
//! as SHA-256 only) and verified identities. One cross-tenant accessor,
//! [`unscoped_widget_target`], for the public routes that know only the key.
//! Threat note: docs/design/widget.md.

use crate::db::Db;
use crate::error::{Classify, StoreError};
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::access::modules::ModuleSet;
use holdfast_core::clock::Millis;
use holdfast_core::ids::{ContactId, WorkspaceId};

/// What the widget's public routes need to know about the workspace behind a key.
#[derive(Clone)]
pub struct WidgetTarget {
    pub tenant: Tenant,
    pub enabled: bool,
    pub allowed_origins: Vec<String>,
    pub identity_secret_sealed: Option<String>,
    pub modules: ModuleSet,
}

/// The workspace behind a public widget key, its settings and modules. Only the widget guard
/// calls this; `None` when no workspace has this key (the caller answers unknown, disabled
/// and module-off alike).
pub async fn unscoped_widget_target(
    db: &Db,
    key: &str,
) -> Result<Option<WidgetTarget>, StoreError> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT w.id, w.modules FROM widget_keys k JOIN workspaces w ON w.id = k.workspace_id \
         WHERE k.public_key = $1",
    )
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    let Some((ws, modules)) = found else {
        return Ok(None);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(ws));
    let mut tx = db.read(&tenant).await?;
    let row = settings(&mut tx).await?;
    tx.commit().await?;
    Ok(row.map(|row| WidgetTarget {
        tenant,
        enabled: row.enabled,
        allowed_origins: row.allowed_origins,
        identity_secret_sealed: row.identity_secret_sealed,
        modules: ModuleSet::from_json(&modules),
    }))
}

/// A workspace's widget settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRow {
    pub public_key: String,
    pub enabled: bool,
    pub allowed_origins: Vec<String>,
    pub identity_secret_sealed: Option<String>,
    pub updated_at: Millis,
}

pub async fn settings(tx: &mut TenantTx<'_>) -> Result<Option<SettingsRow>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<(String, i64, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT k.public_key, s.enabled, s.allowed_origins, s.identity_secret_sealed, s.updated_at \
         FROM widget_settings s JOIN widget_keys k ON k.workspace_id = s.workspace_id \
         WHERE s.workspace_id = $1",
    )
    .bind(ws)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(
        |(public_key, enabled, origins, sealed, updated_at)| SettingsRow {
            public_key,
            enabled: enabled != 0,
            allowed_origins: serde_json::from_str(&origins).unwrap_or_default(),
            identity_secret_sealed: sealed,
            updated_at,
        },
    ))
}

/// The settings, created (enabled, no allowed origins, the given new key) when the workspace
/// has none yet.
pub async fn ensure_settings(
    tx: &mut TenantTx<'_>,
    new_key: &str,
    now_ms: Millis,
) -> Result<SettingsRow, StoreError> {
    if let Some(row) = settings(tx).await? {
        return Ok(row);
    }
    let ws = tx.ws().to_owned();
    // Two first readers at once: the settings row decides who creates; the other (which
    // waited for it on PostgreSQL) inserts nothing and reads the winner's.
    let created = sqlx::query(
        "INSERT INTO widget_settings (workspace_id, enabled, allowed_origins, identity_secret_sealed, created_at, updated_at) \
         VALUES ($1, 1, '[]', NULL, $2, $2) ON CONFLICT (workspace_id) DO NOTHING",
    )
    .bind(&ws)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    if created.rows_affected() == 1 {
        sqlx::query("INSERT INTO widget_keys (public_key, workspace_id) VALUES ($1, $2)")
            .bind(new_key)
            .bind(&ws)
            .execute(tx.conn())
            .await
            .classify()?;
    }
    settings(tx).await?.ok_or(StoreError::Setup(
        "widget settings vanished after insert".into(),
    ))
}

pub async fn update_settings(
    tx: &mut TenantTx<'_>,
    enabled: bool,
    allowed_origins: &[String],
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE widget_settings SET enabled = $2, allowed_origins = $3, updated_at = $4 WHERE workspace_id = $1",
    )
    .bind(ws)
    .bind(i64::from(enabled))
    .bind(serde_json::to_string(allowed_origins).unwrap_or_else(|_| "[]".into()))
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Replaces the public key: the old one stops resolving with this commit.
pub async fn rotate_key(
    tx: &mut TenantTx<'_>,
    new_key: &str,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("UPDATE widget_keys SET public_key = $2 WHERE workspace_id = $1")
        .bind(&ws)
        .bind(new_key)
        .execute(tx.conn())
        .await
        .classify()?;
    sqlx::query("UPDATE widget_settings SET updated_at = $2 WHERE workspace_id = $1")
        .bind(&ws)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Stores the identity secret, sealed by the caller.
pub async fn set_identity_secret(
    tx: &mut TenantTx<'_>,
    sealed: &str,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE widget_settings SET identity_secret_sealed = $2, updated_at = $3 WHERE workspace_id = $1",
    )
    .bind(ws)
    .bind(sealed)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A contact for a widget conversation: never found by email. The given email is kept on the
/// new contact only while no other contact of the workspace has it; otherwise the contact has
/// none (the address is unverified and must not merge into someone else's history).
pub async fn create_contact(
    tx: &mut TenantTx<'_>,
    name: Option<&str>,
    email: Option<&str>,
    now_ms: Millis,
) -> Result<String, StoreError> {
    let ws = tx.ws().to_owned();
    let id = ContactId::generate(now_ms);
    let insert = |email: Option<&str>| {
        sqlx::query(
            "INSERT INTO contacts (workspace_id, id, name, email, phone, company, tags, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, NULL, '[\"widget\"]', $5, $5) ON CONFLICT DO NOTHING",
        )
        .bind(ws.clone())
        .bind(id.to_string())
        .bind(name.map(str::to_owned))
        .bind(email.map(str::to_owned))
        .bind(now_ms)
    };
    let done = insert(email).execute(tx.conn()).await?;
    if done.rows_affected() == 0 {
        // The email belongs to another contact: keep this one without it.
        insert(None).execute(tx.conn()).await.classify()?;
    }
    Ok(id.to_string())
}

/// Remembers a visitor token (its SHA-256) for a ticket and its contact.
pub async fn add_visitor(
    tx: &mut TenantTx<'_>,
    token_hash: &str,
    ticket_id: &str,
    contact_id: &str,
    claimed_email: Option<&str>,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO widget_visitors (token_hash, workspace_id, ticket_id, contact_id, claimed_email, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(token_hash)
    .bind(ws)
    .bind(ticket_id)
    .bind(contact_id)
    .bind(claimed_email)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A live visitor token's conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub ticket_id: String,
    pub contact_id: String,
    pub last_used_at: Millis,
}

/// The conversation a visitor token opens in this workspace, if the token was used at or
/// after `used_since` (older ones have expired: idle too long).
pub async fn visitor(
    tx: &mut TenantTx<'_>,
    token_hash: &str,
    used_since: Millis,
) -> Result<Option<Visitor>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT ticket_id, contact_id, last_used_at FROM widget_visitors \
         WHERE workspace_id = $1 AND token_hash = $2 AND last_used_at >= $3",
    )
    .bind(ws)
    .bind(token_hash)
    .bind(used_since)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|(ticket_id, contact_id, last_used_at)| Visitor {
        ticket_id,
        contact_id,
        last_used_at,
    }))
}

/// Starts a visitor token's idle period again.
pub async fn touch_visitor(
    tx: &mut TenantTx<'_>,
    token_hash: &str,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE widget_visitors SET last_used_at = $3 WHERE workspace_id = $1 AND token_hash = $2 \
         AND last_used_at <> $4",
    )
    .bind(ws)
    .bind(token_hash)
    .bind(now_ms)
    // A revocation that committed after this request read the token stands.
    .bind(REVOKED)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Ends every visitor token of the workspace (a key rotation that revokes them); returns how
/// many had not been revoked before. The rows stay, their last use set to [`REVOKED`] so no
/// idle limit accepts them: they carry the address a visitor typed, which erasure follows to
/// the widget contacts made for that person (`privacy::erase_contact`) and the export lists.
pub async fn revoke_visitors(tx: &mut TenantTx<'_>) -> Result<u64, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE widget_visitors SET last_used_at = $2 WHERE workspace_id = $1 AND last_used_at <> $2",
    )
    .bind(ws)
    .bind(REVOKED)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}

/// The last use of a revoked visitor token: older than any idle limit can reach.
pub const REVOKED: Millis = i64::MIN;

/// The contact a verified site user id was first seen as.
pub async fn identity_contact(
    tx: &mut TenantTx<'_>,
    user_id: &str,
) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    let found = sqlx::query_scalar(
        "SELECT contact_id FROM widget_identities WHERE workspace_id = $1 AND user_id = $2",
    )
    .bind(ws)
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(found)
}

/// Links `user_id` to `contact_id` and returns the linked contact. When another transaction
/// linked the user first (two first messages at once), its contact stands: `contact_id`, made
/// by the caller for this link in the same transaction and not yet named by any ticket, is
/// deleted and the other returned.
pub async fn link_identity(
    tx: &mut TenantTx<'_>,
    user_id: &str,
    contact_id: &str,
    now_ms: Millis,
) -> Result<String, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "INSERT INTO widget_identities (workspace_id, user_id, contact_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, user_id) DO NOTHING",
    )
    .bind(&ws)
    .bind(user_id)
    .bind(contact_id)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        return Ok(contact_id.to_owned());
    }
    sqlx::query("DELETE FROM contacts WHERE workspace_id = $1 AND id = $2")
        .bind(&ws)
        .bind(contact_id)
        .execute(tx.conn())
        .await?;
    identity_contact(tx, user_id)
        .await?
        .ok_or_else(|| StoreError::Setup("a widget identity vanished while linking".into()))
}
