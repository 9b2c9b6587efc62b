//! The audit trail of one workspace: appended in the same transaction as the action it records,
//! hash-chained (see `holdfast_core::ops::audit`), never updated or deleted (the database refuses).

use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::TenantTx;
use holdfast_core::ops::audit::{AuditEntry, GENESIS};

/// What happened, and who did it from where. Never put a secret in `summary`.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub actor_type: &'static str,
    pub actor_id: String,
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub summary: serde_json::Value,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

const COLUMNS: &str = "workspace_id, seq, id, at, actor_type, actor_id, action, entity_type, entity_id, \
         summary, ip, user_agent, request_id, prev_hash, hash";

/// Appends an entry to this workspace's chain; returns its sequence number. The head row is
/// locked (PostgreSQL) or the write gate held (SQLite) until the caller commits, so concurrent
/// appends queue instead of forking the chain.
pub async fn append(
    tx: &mut TenantTx<'_>,
    event: &NewEvent,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let ws = tx.ws().to_owned();
    // One statement creates the head on first use, locks it (the no-op update takes the row
    // lock on PostgreSQL; SQLite writers already hold the write gate) and reads it.
    let (seq, prev_hash): (i64, String) = sqlx::query_as(
        "INSERT INTO audit_heads (workspace_id, seq, hash) VALUES ($1, 0, $2) \
         ON CONFLICT (workspace_id) DO UPDATE SET seq = audit_heads.seq \
         RETURNING seq, hash",
    )
    .bind(ws.as_str())
    .bind(GENESIS)
    .fetch_one(tx.conn())
    .await?;
    let mut entry = AuditEntry {
        workspace_id: ws.clone(),
        seq: seq + 1,
        id: holdfast_core::ids::AuditEventId::generate(now_ms).to_string(),
        at: now_ms,
        actor_type: event.actor_type.to_owned(),
        actor_id: event.actor_id.clone(),
        action: event.action.to_owned(),
        entity_type: event.entity_type.to_owned(),
        entity_id: event.entity_id.clone(),
        summary: event.summary.to_string(),
        ip: event.ip.clone(),
        user_agent: event.user_agent.clone(),
        request_id: event.request_id.clone(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    sqlx::query(Sql::of(&[
        "INSERT INTO audit_events (",
        COLUMNS,
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    ]))
    .bind(entry.workspace_id.as_str())
    .bind(entry.seq)
    .bind(entry.id.as_str())
    .bind(entry.at)
    .bind(entry.actor_type.as_str())
    .bind(entry.actor_id.as_str())
    .bind(entry.action.as_str())
    .bind(entry.entity_type.as_str())
    .bind(entry.entity_id.as_str())
    .bind(entry.summary.as_str())
    .bind(entry.ip.as_str())
    .bind(entry.user_agent.as_str())
    .bind(entry.request_id.as_str())
    .bind(entry.prev_hash.as_str())
    .bind(entry.hash.as_str())
    .execute(tx.conn())
    .await
    .classify()?;
    sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2 WHERE workspace_id = $3")
        .bind(entry.seq)
        .bind(entry.hash.as_str())
        .bind(ws.as_str())
        .execute(tx.conn())
        .await?;
    Ok(entry.seq)
}

#[derive(sqlx::FromRow)]
struct Row {
    workspace_id: String,
    seq: i64,
    id: String,
    at: i64,
    actor_type: String,
    actor_id: String,
    action: String,
    entity_type: String,
    entity_id: String,
    summary: String,
    ip: String,
    user_agent: String,
    request_id: String,
    prev_hash: String,
    hash: String,
}

impl From<Row> for AuditEntry {
    fn from(r: Row) -> AuditEntry {
        AuditEntry {
            workspace_id: r.workspace_id,
            seq: r.seq,
            id: r.id,
            at: r.at,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            action: r.action,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            summary: r.summary,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Filters of the audit listing; empty strings and the extreme times mean "any".
#[derive(Debug, Clone)]
pub struct Filter {
    pub actor_id: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Entries before this sequence number (the cursor); `i64::MAX` for the newest.
    pub before_seq: i64,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            actor_id: String::new(),
            action: String::new(),
            entity_type: String::new(),
            entity_id: String::new(),
            from_ms: 0,
            to_ms: i64::MAX,
            before_seq: i64::MAX,
        }
    }
}

/// Newest first, at most `limit`.
pub async fn list(
    tx: &mut TenantTx<'_>,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM audit_events WHERE workspace_id = $1 \
         AND ($2 = '' OR actor_id = $2) AND ($3 = '' OR action = $3) \
         AND ($4 = '' OR entity_type = $4) AND ($5 = '' OR entity_id = $5) \
         AND at >= $6 AND at <= $7 AND seq < $8 ORDER BY seq DESC LIMIT $9",
    ]))
    .bind(ws)
    .bind(filter.actor_id.as_str())
    .bind(filter.action.as_str())
    .bind(filter.entity_type.as_str())
    .bind(filter.entity_id.as_str())
    .bind(filter.from_ms)
    .bind(filter.to_ms)
    .bind(filter.before_seq)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

/// The whole chain in order, for export and verification.
pub async fn chain(tx: &mut TenantTx<'_>) -> Result<Vec<AuditEntry>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM audit_events WHERE workspace_id = $1 ORDER BY seq",
    ]))
    .bind(ws)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

/// The chain's recorded head (sequence and hash of the newest entry), to detect a cut-off tail.
pub async fn head(tx: &mut TenantTx<'_>) -> Result<Option<(i64, String)>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(
        sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE workspace_id = $1")
            .bind(ws)
            .fetch_optional(tx.conn())
            .await?,
    )
}
