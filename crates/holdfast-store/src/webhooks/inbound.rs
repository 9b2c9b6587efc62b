//! Inbound provider webhooks: each workspace's signing secret per provider (sealed by the
//! caller), the verified events received (idempotent on the provider's event id), and the
//! replay memory of recently seen signatures.

use crate::db::Db;
use crate::error::StoreError;
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::access::modules::ModuleSet;
use holdfast_core::clock::Millis;
use holdfast_core::ids::{InboundEventId, WorkspaceId};
use holdfast_core::ops::queue::JobKind;
use holdfast_core::webhooks::inbound::{InboundEventOut, Provider};
use serde::Serialize;

/// Where a delivery to `/hooks/{provider}/{slug}` goes: the workspace and its sealed secret
/// for that provider, and its modules. Only the webhook-signature guard calls this, and it uses the tenant for
/// nothing but the signature check until the signature verifies. `None` when the workspace
/// does not exist or has no secret for the provider (the caller cannot tell which).
pub async fn unscoped_hook_target(
    db: &Db,
    slug: &str,
    provider: Provider,
) -> Result<Option<(Tenant, String, ModuleSet)>, StoreError> {
    let found: Option<(String, String)> =
        sqlx::query_as("SELECT id, modules FROM workspaces WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&db.pool)
            .await?;
    let Some((ws, modules)) = found else {
        return Ok(None);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(ws));
    // Opened even for a suspended workspace: the signature is checked first, so only the
    // provider itself learns of the suspension (an answer it retries, `http/src/signed.rs`).
    let mut tx = db.open_tenant_tx(&tenant, false).await?;
    let ws = tx.ws().to_owned();
    let sealed: Option<String> = sqlx::query_scalar(
        "SELECT secret_sealed FROM inbound_secrets WHERE workspace_id = $1 AND provider = $2",
    )
    .bind(ws)
    .bind(provider.slug())
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(sealed.map(|s| (tenant, s, ModuleSet::from_json(&modules))))
}

/// A provider's configuration as the API shows it (never the secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SecretRow {
    pub provider: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn secrets(tx: &mut TenantTx<'_>) -> Result<Vec<SecretRow>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows = sqlx::query_as(
        "SELECT provider, created_at, updated_at FROM inbound_secrets WHERE workspace_id = $1 ORDER BY provider",
    )
    .bind(ws)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Sets (or replaces) the workspace's secret for `provider`.
pub async fn set_secret(
    tx: &mut TenantTx<'_>,
    provider: Provider,
    sealed: &str,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO inbound_secrets (workspace_id, provider, secret_sealed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (workspace_id, provider) \
         DO UPDATE SET secret_sealed = excluded.secret_sealed, updated_at = excluded.updated_at",
    )
    .bind(ws)
    .bind(provider.slug())
    .bind(sealed)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn delete_secret(tx: &mut TenantTx<'_>, provider: Provider) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query("DELETE FROM inbound_secrets WHERE workspace_id = $1 AND provider = $2")
        .bind(ws)
        .bind(provider.slug())
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Remembers a verified delivery's replay key until `until`; false when it was already
/// remembered (and not yet expired): a replay.
pub async fn remember(
    tx: &mut TenantTx<'_>,
    replay_key: &str,
    until: Millis,
    now_ms: Millis,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    // An expired memory of the same key does not count.
    sqlx::query("DELETE FROM inbound_replay WHERE workspace_id = $1 AND replay_key = $2 AND expires_at < $3")
        .bind(&ws)
        .bind(replay_key)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    let done = sqlx::query(
        "INSERT INTO inbound_replay (workspace_id, replay_key, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (workspace_id, replay_key) DO NOTHING",
    )
    .bind(&ws)
    .bind(replay_key)
    .bind(until)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets replay keys whose window has passed (the worker's maintenance).
pub async fn unscoped_prune_replay(db: &Db, now_ms: Millis) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM inbound_replay WHERE expires_at < $1")
        .bind(now_ms)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// A verified delivery to store.
pub struct NewInbound<'a> {
    pub provider: Provider,
    /// The provider's event id, or a digest of the body when the scheme has none.
    pub event_key: &'a str,
    pub event_type: Option<&'a str>,
    pub content_type: &'a str,
    pub body: &'a str,
    /// `utf8` or `base64`.
    pub body_encoding: &'a str,
}

/// Stores the event and enqueues its handling, unless an event with the same key was stored
/// before (a provider's retry): then nothing is written and `None` is returned.
pub async fn record(
    tx: &mut TenantTx<'_>,
    event: &NewInbound<'_>,
    now_ms: Millis,
) -> Result<Option<InboundEventId>, StoreError> {
    let id = InboundEventId::generate(now_ms);
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "INSERT INTO inbound_events (workspace_id, id, provider, event_key, event_type, content_type, body, body_encoding, state, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $9, 'received', $8) ON CONFLICT (workspace_id, provider, event_key) DO NOTHING",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(event.provider.slug())
    .bind(event.event_key)
    .bind(event.event_type)
    .bind(event.content_type)
    .bind(event.body)
    .bind(now_ms)
    .bind(event.body_encoding)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let job = serde_json::json!({"event_id": id.as_str()});
    crate::ops::queue::enqueue(tx, JobKind::InboundHandle, &job, now_ms, now_ms).await?;
    Ok(Some(id))
}

/// A stored event's columns, in the order the queries select them.
type EventColumns = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

fn event_of(c: EventColumns) -> InboundEventOut {
    InboundEventOut {
        id: c.0,
        provider: c.1,
        event_key: c.2,
        event_type: c.3,
        content_type: c.4,
        body: c.5,
        body_encoding: c.6,
        state: c.7,
        received_at: c.8,
        handled_at: c.9,
        outcome: c.10,
    }
}

pub async fn get(
    tx: &mut TenantTx<'_>,
    id: &InboundEventId,
) -> Result<Option<InboundEventOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<EventColumns> = sqlx::query_as(
        "SELECT id, provider, event_key, event_type, content_type, body, body_encoding, state, received_at, handled_at, outcome \
         FROM inbound_events WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(event_of))
}

/// Received events newest first, before `before` when given, optionally of one provider.
pub async fn list(
    tx: &mut TenantTx<'_>,
    provider: Option<Provider>,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<InboundEventOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<EventColumns> = sqlx::query_as(
        "SELECT id, provider, event_key, event_type, content_type, body, body_encoding, state, received_at, handled_at, outcome \
         FROM inbound_events WHERE workspace_id = $1 AND ($2 = '' OR provider = $2) AND ($3 = '' OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind(ws)
    .bind(provider.map(Provider::slug).unwrap_or_default())
    .bind(before.unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(event_of).collect())
}

/// Marks an event handled.
pub async fn mark_handled(
    tx: &mut TenantTx<'_>,
    id: &InboundEventId,
    now_ms: Millis,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE inbound_events SET state = 'handled', handled_at = $3 WHERE workspace_id = $1 AND id = $2 AND state <> 'handled'",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks an event handled with what it came to (`outcome`): `state` is `handled`, or
/// `unmatched` for a payment no invoice of this workspace could take (the reason says why).
pub async fn mark_outcome(
    tx: &mut TenantTx<'_>,
    id: &InboundEventId,
    state: &'static str,
    outcome: &str,
    now_ms: Millis,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE inbound_events SET state = $3, outcome = $4, handled_at = $5 \
         WHERE workspace_id = $1 AND id = $2 AND state = 'received'",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(state)
    .bind(outcome)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
