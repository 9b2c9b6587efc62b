//! The audit trail of one workspace: appended in the same transaction as the action it records,
//! hash-chained (see `holdfast_core::ops::audit`), never updated or deleted (the database refuses).

use crate::db::Backend;
use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::ops::audit::{AuditEntry, GENESIS, Sealer};

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

/// Appends an entry to this workspace's chain when the transaction commits; the entry goes in
/// with the action or not at all. Everything that does not depend on the entry's place in the
/// chain (its id, its canonical form, most of its hash) is done now; [`TenantTx::commit`]
/// then takes the chain's head, seals and writes the transaction's entries and commits, so
/// the head is held for as little as possible whatever the caller does after this call.
pub async fn append(
    tx: &mut TenantTx<'_>,
    event: &NewEvent,
    now_ms: i64,
) -> Result<(), StoreError> {
    let entry = AuditEntry {
        workspace_id: tx.ws().to_owned(),
        seq: 0,
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
        prev_hash: String::new(),
        hash: String::new(),
    };
    let sealer = Sealer::new(&entry);
    tx.pending_audit.push(Pending { entry, sealer });
    Ok(())
}

/// An entry waiting for its place in the chain.
pub(crate) struct Pending {
    entry: AuditEntry,
    sealer: Sealer,
}

/// Columns written per entry after `workspace_id` (which is `$1`).
const PER_ENTRY: usize = 14;

/// Writes the transaction's pending entries at the end of the chain, just before commit. The
/// head is locked first without being written (`FOR UPDATE` on PostgreSQL; SQLite writers hold
/// the write gate), created on a workspace's first entry; then each entry is sealed in memory,
/// and the entries and the new head go in together: one statement on PostgreSQL, the head
/// last. Concurrent appends in one workspace queue on the head row from here to commit.
pub(crate) async fn seal_pending(tx: &mut TenantTx<'_>) -> Result<(), StoreError> {
    let mut pending = std::mem::take(&mut tx.pending_audit);
    if pending.is_empty() {
        return Ok(());
    }
    let ws = tx.ws().to_owned();
    let locked: Option<(i64, String)> = sqlx::query_as(Sql::of(&[
        "SELECT seq, hash FROM audit_heads WHERE workspace_id = $1",
        Lock::ForUpdate.clause(tx.backend),
    ]))
    .bind(ws.as_str())
    .fetch_optional(tx.conn())
    .await?;
    let (mut seq, mut prev_hash) = match locked {
        Some(head) => head,
        // The workspace's first entry: create the head (a concurrent first append waits on
        // the new row, then finds it taken and reads it).
        None => {
            sqlx::query_as(
                "INSERT INTO audit_heads (workspace_id, seq, hash) VALUES ($1, 0, $2) \
                 ON CONFLICT (workspace_id) DO UPDATE SET seq = audit_heads.seq \
                 RETURNING seq, hash",
            )
            .bind(ws.as_str())
            .bind(GENESIS)
            .fetch_one(tx.conn())
            .await?
        }
    };
    for p in &mut pending {
        seq += 1;
        p.entry.seq = seq;
        p.entry.hash = p.sealer.seal(seq, &prev_hash);
        p.entry.prev_hash = std::mem::replace(&mut prev_hash, p.entry.hash.clone());
    }
    let mut sql = Sql::default();
    let first_entry = match tx.backend {
        // The entries and the head in one statement: one round trip fewer under the lock.
        Backend::Postgres => {
            sql.push("WITH appended AS (");
            4
        }
        Backend::Sqlite => 2,
    };
    sql.push("INSERT INTO audit_events (")
        .push(COLUMNS)
        .push(") VALUES ");
    for i in 0..pending.len() {
        sql.push(if i == 0 { "($1" } else { ", ($1" });
        for c in 0..PER_ENTRY {
            sql.push(", ").param(first_entry + i * PER_ENTRY + c);
        }
        sql.push(")");
    }
    let head_update = "UPDATE audit_heads SET seq = $2, hash = $3 WHERE workspace_id = $1";
    let mut query = sqlx::query(match tx.backend {
        Backend::Postgres => {
            sql.push(") ").push(head_update);
            sql
        }
        Backend::Sqlite => sql,
    })
    .bind(ws.as_str());
    if tx.backend == Backend::Postgres {
        query = query.bind(seq).bind(prev_hash.as_str());
    }
    for Pending { entry, .. } in &pending {
        query = query
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
            .bind(entry.hash.as_str());
    }
    query.execute(tx.conn()).await.classify()?;
    if tx.backend == Backend::Sqlite {
        sqlx::query(head_update)
            .bind(ws.as_str())
            .bind(seq)
            .bind(prev_hash.as_str())
            .execute(tx.conn())
            .await?;
    }
    Ok(())
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
