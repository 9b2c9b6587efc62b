//! The durable job queue (outbox). A job is inserted with [`enqueue`] inside the tenant
//! transaction that makes the change it follows from, so it exists exactly when the change
//! does. Workers claim due jobs with a lease ([`unscoped_claim`]): `FOR UPDATE SKIP LOCKED`
//! on PostgreSQL, so workers of several instances never take the same job; the write lock
//! (`BEGIN IMMEDIATE`) on SQLite. A job whose lease ends without an outcome (its worker died)
//! is claimable again, so every committed job runs to completion at least once.

use crate::db::{Backend, Db};
use crate::error::StoreError;
use crate::sql::Sql;
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::clock::Millis;
use holdfast_core::ids::{QueueJobId, WorkspaceId};
use holdfast_core::ops::queue::{JobKind, JobState, bounded_error};
use serde::Serialize;

/// Inserts a job for the transaction's workspace, due at `run_at` (use now for "at once").
pub async fn enqueue(
    tx: &mut TenantTx<'_>,
    kind: JobKind,
    payload: &serde_json::Value,
    now_ms: Millis,
    run_at: Millis,
) -> Result<QueueJobId, StoreError> {
    let id = QueueJobId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO queue_jobs (id, workspace_id, kind, payload, state, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7)",
    )
    .bind(id.as_str())
    .bind(ws)
    .bind(kind.as_str())
    .bind(payload.to_string())
    .bind(kind.max_attempts())
    .bind(run_at)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Inserts a job due now, in the same single statement only if the transaction's workspace
/// has an enabled webhook endpoint; returns whether it did. Domain events use it: a change
/// nobody listens to costs one statement and leaves no job.
pub async fn enqueue_if_webhooks(
    tx: &mut TenantTx<'_>,
    kind: JobKind,
    payload: &serde_json::Value,
    now_ms: Millis,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "INSERT INTO queue_jobs (id, workspace_id, kind, payload, state, attempts, max_attempts, run_at, created_at, updated_at) \
         SELECT $1, $2, $3, $4, 'queued', 0, $5, $6, $6, $6 \
         WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE workspace_id = $2 AND enabled = 1)",
    )
    .bind(QueueJobId::generate(now_ms).as_str())
    .bind(ws)
    .bind(kind.as_str())
    .bind(payload.to_string())
    .bind(kind.max_attempts())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// [`enqueue_if_webhooks`] for many jobs of one kind: none when the transaction's workspace
/// has no enabled webhook endpoint, else all of them, in multi-row statements.
pub async fn enqueue_many_if_webhooks(
    tx: &mut TenantTx<'_>,
    kind: JobKind,
    payloads: &[serde_json::Value],
    now_ms: Millis,
) -> Result<(), StoreError> {
    if payloads.is_empty() {
        return Ok(());
    }
    let ws = tx.ws().to_owned();
    let listening: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM webhook_endpoints WHERE workspace_id = $1 AND enabled = 1 LIMIT 1",
    )
    .bind(ws.as_str())
    .fetch_optional(tx.conn())
    .await?;
    if listening.is_none() {
        return Ok(());
    }
    for part in payloads.chunks(100) {
        let mut sql = Sql::of(&[
            "INSERT INTO queue_jobs (workspace_id, kind, max_attempts, run_at, created_at, \
             updated_at, state, attempts, id, payload) VALUES ",
        ]);
        for i in 0..part.len() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .push("$1, $2, $3, $4, $4, $4, 'queued', 0, ")
                .param(5 + 2 * i)
                .push(", ")
                .param(6 + 2 * i)
                .push(")");
        }
        let mut query = sqlx::query(sql)
            .bind(ws.as_str())
            .bind(kind.as_str())
            .bind(kind.max_attempts())
            .bind(now_ms);
        for payload in part {
            query = query
                .bind(QueueJobId::generate(now_ms).to_string())
                .bind(payload.to_string());
        }
        query.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Whether this workspace's job still exists, locking its row until the transaction ends
/// (PostgreSQL; a SQLite writer holds the write lock): a handler writing its results checks
/// that nothing (an erasure) deleted the job meanwhile.
pub async fn hold_job(tx: &mut TenantTx<'_>, id: &QueueJobId) -> Result<bool, StoreError> {
    let sql = match tx.backend {
        Backend::Postgres => {
            "SELECT 1 FROM queue_jobs WHERE workspace_id = $1 AND id = $2 FOR UPDATE"
        }
        Backend::Sqlite => "SELECT 1 FROM queue_jobs WHERE workspace_id = $1 AND id = $2",
    };
    let ws = tx.ws().to_owned();
    let found: Option<i64> = sqlx::query_scalar(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(found.is_some())
}

/// A job a worker holds until `lease_until`. Its outcome is recorded with the lease token,
/// so a worker whose lease ran out (and whose job another worker took over) changes nothing.
#[derive(Debug)]
pub struct Claimed {
    pub id: QueueJobId,
    /// The job's workspace, reopened for its handler; `None` for system jobs.
    pub tenant: Option<Tenant>,
    /// `None` when the row names a kind this version does not know.
    pub kind: Option<JobKind>,
    pub kind_text: String,
    pub payload: String,
    /// This attempt's number, from 1.
    pub attempt: i64,
    pub max_attempts: i64,
    lease_token: String,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: String,
    workspace_id: Option<String>,
    kind: String,
    payload: String,
    attempts: i64,
    max_attempts: i64,
}

/// Claims up to `limit` due jobs (queued and due, or running with an ended lease) for
/// `lease_ms`, of any workspace or only of `only` (a worker dedicated to some workspaces).
/// Jobs of kinds this version does not know are left alone. Running jobs whose lease ended
/// on their last attempt are declared dead first.
pub async fn unscoped_claim(
    db: &Db,
    limit: u32,
    lease_ms: i64,
    now_ms: Millis,
    only: Option<&[String]>,
) -> Result<Vec<Claimed>, StoreError> {
    // Idle polling must not take the write lock: look first, with a plain read (in WAL mode
    // readers never block writers), and claim only when something is due.
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM queue_jobs WHERE ((state = 'queued' AND run_at <= $1) \
         OR (state = 'running' AND lease_until < $1)) \
         AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.id = queue_jobs.workspace_id AND w.suspended_at IS NOT NULL) \
         LIMIT 1",
    )
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let only = only
        .map(|ids| serde_json::to_string(ids).unwrap_or_default())
        .unwrap_or_default();
    let token = holdfast_core::token::random_hex(16);
    let known: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
    let known = serde_json::to_string(&known).unwrap_or_default();
    let mut stx = db.system_write().await?;
    sqlx::query(
        "UPDATE queue_jobs SET state = 'dead', lease_token = NULL, updated_at = $1, finished_at = $1, \
         last_error = 'the worker stopped during the last attempt (lease ended)' \
         WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts",
    )
    .bind(now_ms)
    .execute(&mut *stx.tx)
    .await?;
    let sql = match db.backend() {
        Backend::Postgres => {
            "UPDATE queue_jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, lease_token = $3, updated_at = $1 \
             WHERE id IN (SELECT id FROM queue_jobs \
               WHERE ((state = 'queued' AND run_at <= $1) OR (state = 'running' AND lease_until < $1)) \
               AND attempts < max_attempts AND kind IN (SELECT json_array_elements_text($5::json)) \
               AND ($6 = '' OR workspace_id IN (SELECT json_array_elements_text(NULLIF($6, '')::json))) \
               AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.id = queue_jobs.workspace_id AND w.suspended_at IS NOT NULL) \
               ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING id, workspace_id, kind, payload, attempts, max_attempts"
        }
        Backend::Sqlite => {
            "UPDATE queue_jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, lease_token = $3, updated_at = $1 \
             WHERE id IN (SELECT id FROM queue_jobs \
               WHERE ((state = 'queued' AND run_at <= $1) OR (state = 'running' AND lease_until < $1)) \
               AND attempts < max_attempts AND kind IN (SELECT value FROM json_each($5)) \
               AND ($6 = '' OR workspace_id IN (SELECT value FROM json_each(NULLIF($6, '')))) \
               AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.id = queue_jobs.workspace_id AND w.suspended_at IS NOT NULL) \
               ORDER BY run_at LIMIT $4) \
             RETURNING id, workspace_id, kind, payload, attempts, max_attempts"
        }
    };
    let rows: Vec<ClaimRow> = sqlx::query_as(sql)
        .bind(now_ms)
        .bind(now_ms + lease_ms)
        .bind(&token)
        .bind(i64::from(limit))
        .bind(&known)
        .bind(&only)
        .fetch_all(&mut *stx.tx)
        .await?;
    stx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            id: QueueJobId::from_trusted(r.id),
            tenant: r
                .workspace_id
                .map(|ws| Tenant::new(WorkspaceId::from_trusted(ws))),
            kind: JobKind::parse(&r.kind),
            kind_text: r.kind,
            payload: r.payload,
            attempt: r.attempts,
            max_attempts: r.max_attempts,
            lease_token: token.clone(),
        })
        .collect())
}

/// Extends the lease of a job still held by this claim (long handlers call it periodically).
pub async fn unscoped_extend(
    db: &Db,
    job: &Claimed,
    lease_ms: i64,
    now_ms: Millis,
) -> Result<bool, StoreError> {
    let mut stx = db.system_write().await?;
    let done = sqlx::query(
        "UPDATE queue_jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND lease_token = $4 AND state = 'running'",
    )
    .bind(now_ms + lease_ms)
    .bind(now_ms)
    .bind(job.id.as_str())
    .bind(&job.lease_token)
    .execute(&mut *stx.tx)
    .await?;
    stx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// What became of one attempt.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Try again at `retry_at`, unless that was the last attempt (then dead).
    Retry {
        error: String,
        retry_at: Millis,
    },
    /// Never try again (the job cannot succeed, e.g. its record is gone).
    Dead {
        error: String,
    },
}

/// Records an attempt's outcome; false when the lease was lost meanwhile (nothing changes).
pub async fn unscoped_finish(
    db: &Db,
    job: &Claimed,
    outcome: Outcome,
    now_ms: Millis,
) -> Result<bool, StoreError> {
    let query = match outcome {
        Outcome::Done => sqlx::query(
            "UPDATE queue_jobs SET state = 'done', lease_token = NULL, lease_until = NULL, last_error = NULL, \
             updated_at = $1, finished_at = $1 WHERE id = $2 AND lease_token = $3 AND state = 'running'",
        )
        .bind(now_ms)
        .bind(job.id.as_str())
        .bind(job.lease_token.clone()),
        Outcome::Retry { error, retry_at } if job.attempt < job.max_attempts => sqlx::query(
            "UPDATE queue_jobs SET state = 'queued', lease_token = NULL, lease_until = NULL, last_error = $4, \
             run_at = $5, updated_at = $1 WHERE id = $2 AND lease_token = $3 AND state = 'running'",
        )
        .bind(now_ms)
        .bind(job.id.as_str())
        .bind(job.lease_token.clone())
        .bind(bounded_error(&error))
        .bind(retry_at),
        Outcome::Retry { error, .. } | Outcome::Dead { error } => sqlx::query(
            "UPDATE queue_jobs SET state = 'dead', lease_token = NULL, lease_until = NULL, last_error = $4, \
             updated_at = $1, finished_at = $1 WHERE id = $2 AND lease_token = $3 AND state = 'running'",
        )
        .bind(now_ms)
        .bind(job.id.as_str())
        .bind(job.lease_token.clone())
        .bind(bounded_error(&error)),
    };
    let mut stx = db.system_write().await?;
    let done = query.execute(&mut *stx.tx).await?;
    stx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// A job as `holdfast jobs list` shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub workspace_id: Option<String>,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Jobs newest first, optionally in one state, for the operator.
pub async fn unscoped_list(
    db: &Db,
    state: Option<JobState>,
    limit: u32,
) -> Result<Vec<JobRow>, StoreError> {
    let rows = sqlx::query_as(
        "SELECT id, workspace_id, kind, state, attempts, max_attempts, run_at, last_error, created_at, updated_at \
         FROM queue_jobs WHERE ($1 = '' OR state = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(state.map(JobState::as_str).unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows)
}

/// Counts by state, for metrics and `holdfast jobs list`.
pub async fn unscoped_counts(db: &Db) -> Result<Vec<(String, i64)>, StoreError> {
    let rows =
        sqlx::query_as("SELECT state, count(*) FROM queue_jobs GROUP BY state ORDER BY state")
            .fetch_all(&db.pool)
            .await?;
    Ok(rows)
}

/// Puts a dead job back in the queue with a fresh set of attempts; false when no dead job
/// has that id.
pub async fn unscoped_retry(db: &Db, id: &QueueJobId, now_ms: Millis) -> Result<bool, StoreError> {
    let mut stx = db.system_write().await?;
    let done = sqlx::query(
        "UPDATE queue_jobs SET state = 'queued', attempts = 0, run_at = $1, updated_at = $1, finished_at = NULL \
         WHERE id = $2 AND state = 'dead'",
    )
    .bind(now_ms)
    .bind(id.as_str())
    .execute(&mut *stx.tx)
    .await?;
    stx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Puts every dead job back in the queue; returns how many.
pub async fn unscoped_retry_all_dead(db: &Db, now_ms: Millis) -> Result<u64, StoreError> {
    let mut stx = db.system_write().await?;
    let done = sqlx::query(
        "UPDATE queue_jobs SET state = 'queued', attempts = 0, run_at = $1, updated_at = $1, finished_at = NULL \
         WHERE state = 'dead'",
    )
    .bind(now_ms)
    .execute(&mut *stx.tx)
    .await?;
    stx.commit().await?;
    Ok(done.rows_affected())
}

/// Forgets finished jobs older than `before` (done ones; dead ones stay until retried or
/// their workspace goes). Returns how many.
pub async fn unscoped_prune_done(db: &Db, before: Millis) -> Result<u64, StoreError> {
    let mut stx = db.system_write().await?;
    let done = sqlx::query("DELETE FROM queue_jobs WHERE state = 'done' AND finished_at < $1")
        .bind(before)
        .execute(&mut *stx.tx)
        .await?;
    stx.commit().await?;
    Ok(done.rows_affected())
}
