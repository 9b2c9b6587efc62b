//! Webhooks, both ways: this module holds outbound endpoints and deliveries; `inbound` keeps
//! provider secrets, received events and the replay memory.
//!
//! Outbound webhooks: a workspace's endpoints (secrets sealed by the caller), the message
//! each event becomes for each endpoint, and the log of every delivery attempt.

pub mod inbound;

use crate::error::{Classify, StoreError};
use crate::ops::queue;
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::clock::Millis;
use holdfast_core::ids::{EventId, WebhookAttemptId, WebhookEndpointId, WebhookMessageId};
use holdfast_core::ops::queue::JobKind;
use holdfast_core::ops::realtime::Notice;
use holdfast_core::webhooks::{AttemptOut, EndpointOut, EventType, MessageStatus, should_disable};

/// An endpoint as stored; the secrets stay sealed and never leave through [`EndpointOut`].
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    pub event_types: String,
    pub role: String,
    pub enabled: i64,
    pub disabled_reason: Option<String>,
    pub secret_sealed: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub consecutive_failures: i64,
    /// The first failure of the current streak; `None` while healthy.
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The endpoint columns.
const ENDPOINT_COLUMNS: &str = "id, url, description, event_types, role, enabled, disabled_reason, secret_sealed, \
         previous_secret_sealed, previous_secret_expires_at, consecutive_failures, failing_since, created_at, updated_at";

impl Endpoint {
    pub fn event_types(&self) -> Vec<String> {
        serde_json::from_str(&self.event_types).unwrap_or_default()
    }

    pub fn subscribes_to(&self, event: EventType) -> bool {
        self.event_types().iter().any(|t| t == event.as_str())
    }

    pub fn out(&self) -> EndpointOut {
        EndpointOut {
            id: self.id.clone(),
            url: self.url.clone(),
            description: self.description.clone(),
            event_types: self.event_types(),
            role: self.role.clone(),
            enabled: self.enabled == 1,
            disabled_reason: self.disabled_reason.clone(),
            consecutive_failures: self.consecutive_failures,
            failing_since: self.failing_since,
            previous_secret_expires_at: self.previous_secret_expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// What a create or an update writes (validated by the caller).
pub struct EndpointFields<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a [String],
    pub role: &'a str,
    pub enabled: bool,
}

pub async fn create(
    tx: &mut TenantTx<'_>,
    fields: &EndpointFields<'_>,
    secret_sealed: &str,
    now_ms: Millis,
) -> Result<Endpoint, StoreError> {
    let id = WebhookEndpointId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO webhook_endpoints (workspace_id, id, url, description, event_types, role, enabled, disabled_reason, \
         secret_sealed, consecutive_failures, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(fields.url)
    .bind(fields.description)
    .bind(serde_json::to_string(fields.event_types).unwrap_or_else(|_| "[]".into()))
    .bind(fields.role)
    .bind(i64::from(fields.enabled))
    .bind((!fields.enabled).then_some("manual"))
    .bind(secret_sealed)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    get(tx, &id, Lock::Read)
        .await?
        .ok_or(StoreError::Setup("endpoint vanished after insert".into()))
}

/// The endpoint, read plainly or, with [`Lock::ForUpdate`], locked for the rest of the
/// transaction, so a change cannot overwrite what the worker just decided (an automatic
/// disable) with what it read before.
pub async fn get(
    tx: &mut TenantTx<'_>,
    id: &WebhookEndpointId,
    lock: Lock,
) -> Result<Option<Endpoint>, StoreError> {
    let sql = Sql::of(&[
        "SELECT ",
        ENDPOINT_COLUMNS,
        " FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2",
        lock.clause(tx.backend),
    ]);
    let ws = tx.ws().to_owned();
    let row = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row)
}

/// Endpoints in creation order after `after`.
pub async fn list(
    tx: &mut TenantTx<'_>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Endpoint>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows = sqlx::query_as(Sql::of(&[
        "SELECT ",
        ENDPOINT_COLUMNS,
        " FROM webhook_endpoints WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    ]))
    .bind(ws)
    .bind(after.unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Enabled endpoints, for fan-out.
pub async fn enabled(tx: &mut TenantTx<'_>) -> Result<Vec<Endpoint>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows = sqlx::query_as(Sql::of(&[
        "SELECT ",
        ENDPOINT_COLUMNS,
        " FROM webhook_endpoints WHERE workspace_id = $1 AND enabled = 1 ORDER BY id",
    ]))
    .bind(ws)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Writes the fields; enabling again clears the failure count, the streak and the reason.
pub async fn update(
    tx: &mut TenantTx<'_>,
    id: &WebhookEndpointId,
    fields: &EndpointFields<'_>,
    now_ms: Millis,
) -> Result<Option<Endpoint>, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, role = $6, enabled = $7, \
         disabled_reason = CASE WHEN $7 = 1 THEN NULL WHEN enabled = 1 THEN 'manual' ELSE disabled_reason END, \
         consecutive_failures = CASE WHEN $7 = 1 AND enabled = 0 THEN 0 ELSE consecutive_failures END, \
         failing_since = CASE WHEN $7 = 1 AND enabled = 0 THEN NULL ELSE failing_since END, \
         updated_at = $8 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(fields.url)
    .bind(fields.description)
    .bind(serde_json::to_string(fields.event_types).unwrap_or_else(|_| "[]".into()))
    .bind(fields.role)
    .bind(i64::from(fields.enabled))
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    get(tx, id, Lock::Read).await
}

pub async fn delete(tx: &mut TenantTx<'_>, id: &WebhookEndpointId) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `new_sealed` the signing secret; the current one keeps signing until
/// `previous_until` (now or earlier: not at all).
pub async fn rotate_secret(
    tx: &mut TenantTx<'_>,
    id: &WebhookEndpointId,
    new_sealed: &str,
    previous_until: Millis,
    now_ms: Millis,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET previous_secret_sealed = CASE WHEN $4 > $5 THEN secret_sealed ELSE NULL END, \
         previous_secret_expires_at = CASE WHEN $4 > $5 THEN $4 ELSE NULL END, secret_sealed = $3, updated_at = $5 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(new_sealed)
    .bind(previous_until)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a domain event, in the transaction of the change: for webhooks a fan-out job when
/// the workspace has any enabled endpoint (none: nothing is written; one statement either
/// way, since SQLite writers queue behind each other and every statement in a write counts),
/// and for live views a realtime notice when the event is streamed (help-desk events).
pub async fn publish(
    tx: &mut TenantTx<'_>,
    event: EventType,
    data: serde_json::Value,
    now_ms: Millis,
) -> Result<Option<EventId>, StoreError> {
    let id = EventId::generate(now_ms);
    let payload = serde_json::json!({
        "event_id": id.as_str(),
        "type": event.as_str(),
        "occurred_at": now_ms,
        "data": data,
    });
    let queued = queue::enqueue_if_webhooks(tx, JobKind::WebhookFanout, &payload, now_ms).await?;
    if let Some(notice) = Notice::of(event, id.as_str(), tx.ws(), &payload["data"], now_ms) {
        tx.notify(notice).await?;
    }
    Ok(queued.then_some(id))
}

/// Records many domain events of one transaction as [`publish`] records each: the fan-out
/// jobs (when the workspace has an enabled endpoint) in multi-row statements, the notices of
/// streamed events in order. For bulk work (an import chunk's contact events).
pub async fn publish_many(
    tx: &mut TenantTx<'_>,
    events: Vec<(EventType, serde_json::Value)>,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let mut payloads = Vec::with_capacity(events.len());
    for (event, data) in events {
        let id = EventId::generate(now_ms);
        let payload = serde_json::json!({
            "event_id": id.as_str(),
            "type": event.as_str(),
            "occurred_at": now_ms,
            "data": data,
        });
        if let Some(notice) = Notice::of(event, id.as_str(), tx.ws(), &payload["data"], now_ms) {
            tx.notify(notice).await?;
        }
        payloads.push(payload);
    }
    queue::enqueue_many_if_webhooks(tx, JobKind::WebhookFanout, &payloads, now_ms).await
}

/// One event for one endpoint, with the exact body that is signed and sent.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: i64,
}

/// Creates the message for (endpoint, event) unless it exists (a repeated fan-out); returns
/// the new message's id, or `None` when it existed already.
pub async fn insert_message(
    tx: &mut TenantTx<'_>,
    endpoint_id: &str,
    event_id: &str,
    event: EventType,
    payload: &str,
    now_ms: Millis,
) -> Result<Option<WebhookMessageId>, StoreError> {
    let id = WebhookMessageId::generate(now_ms);
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "INSERT INTO webhook_messages (workspace_id, id, endpoint_id, event_id, event_type, payload, status, attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7) ON CONFLICT (workspace_id, endpoint_id, event_id) DO NOTHING",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(endpoint_id)
    .bind(event_id)
    .bind(event.as_str())
    .bind(payload)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

pub async fn get_message(
    tx: &mut TenantTx<'_>,
    id: &WebhookMessageId,
) -> Result<Option<Message>, StoreError> {
    let ws = tx.ws().to_owned();
    let row = sqlx::query_as(
        "SELECT id, endpoint_id, event_id, event_type, payload, status, attempts, created_at \
         FROM webhook_messages WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row)
}

/// One delivery attempt as recorded.
pub struct NewAttempt<'a> {
    pub endpoint_id: &'a str,
    pub message_id: &'a str,
    /// `auto` (the queue), `manual` (a redelivery someone asked for) or `recover`.
    pub trigger: &'a str,
    pub url: &'a str,
    pub request_headers: &'a serde_json::Value,
    pub response_status: Option<u16>,
    pub response_body: Option<&'a str>,
    pub error: Option<&'a str>,
    pub latency_ms: i64,
    pub succeeded: bool,
    /// The job has no attempt left after this one.
    pub last_attempt: bool,
}

/// What recording an attempt did to its endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum EndpointHealth {
    Healthy,
    Failing {
        consecutive: i64,
    },
    /// This failure ended the failing period: the endpoint is now disabled (the message held).
    JustDisabled {
        consecutive: i64,
        failing_since: Millis,
    },
    /// The endpoint was disabled meanwhile (by hand or by another attempt): the message is held.
    Disabled,
}

/// Logs the attempt, and decides the endpoint's health and the message's status, locking the
/// endpoint first (as every change to it does). A success ends the failing streak; a failure
/// starts one or continues it, and disables the endpoint once every attempt has failed for
/// `disable_after_ms` ([`should_disable`]). The message ends delivered, failing (its job
/// retries), failed (its job's last attempt) or held (the endpoint is disabled).
pub async fn record_attempt(
    tx: &mut TenantTx<'_>,
    attempt: &NewAttempt<'_>,
    disable_after_ms: i64,
    now_ms: Millis,
) -> Result<EndpointHealth, StoreError> {
    let ws = tx.ws().to_owned();
    let health = if attempt.succeeded {
        sqlx::query(
            "UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL \
             WHERE workspace_id = $1 AND id = $2 AND (consecutive_failures <> 0 OR failing_since IS NOT NULL)",
        )
        .bind(&ws)
        .bind(attempt.endpoint_id)
        .execute(tx.conn())
        .await?;
        EndpointHealth::Healthy
    } else {
        let id = WebhookEndpointId::from_trusted(attempt.endpoint_id.to_owned());
        match get(tx, &id, Lock::ForUpdate).await? {
            None => EndpointHealth::Failing { consecutive: 0 },
            Some(endpoint) => failed_attempt(tx, &endpoint, disable_after_ms, now_ms).await?,
        }
    };
    let status = match health {
        EndpointHealth::Healthy => MessageStatus::Delivered,
        EndpointHealth::JustDisabled { .. } | EndpointHealth::Disabled => MessageStatus::Held,
        EndpointHealth::Failing { .. } if attempt.last_attempt => MessageStatus::Failed,
        EndpointHealth::Failing { .. } => MessageStatus::Failing,
    };
    let number: i64 = sqlx::query_scalar(
        "UPDATE webhook_messages SET attempts = attempts + 1, last_attempt_at = $3, \
         status = CASE WHEN status = 'delivered' AND $4 <> 'delivered' THEN status ELSE $4 END, \
         delivered_at = CASE WHEN $4 = 'delivered' THEN $3 ELSE delivered_at END \
         WHERE workspace_id = $1 AND id = $2 RETURNING attempts",
    )
    .bind(&ws)
    .bind(attempt.message_id)
    .bind(now_ms)
    .bind(status.as_str())
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (workspace_id, id, endpoint_id, message_id, attempt, trigger, url, request_headers, \
         response_status, response_body, error, latency_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&ws)
    .bind(WebhookAttemptId::generate(now_ms).as_str())
    .bind(attempt.endpoint_id)
    .bind(attempt.message_id)
    .bind(number)
    .bind(attempt.trigger)
    .bind(attempt.url)
    .bind(attempt.request_headers.to_string())
    .bind(attempt.response_status.map(i64::from))
    .bind(attempt.response_body)
    .bind(attempt.error)
    .bind(attempt.latency_ms)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(health)
}

/// Counts a failure against the (locked) endpoint and disables it when the streak has lasted
/// the whole period.
async fn failed_attempt(
    tx: &mut TenantTx<'_>,
    endpoint: &Endpoint,
    disable_after_ms: i64,
    now_ms: Millis,
) -> Result<EndpointHealth, StoreError> {
    let ws = tx.ws().to_owned();
    let consecutive = endpoint.consecutive_failures + 1;
    let failing_since = endpoint.failing_since.unwrap_or(now_ms);
    // Disabled now only if it was enabled; an endpoint someone disabled by hand stays
    // "manual" and raises no alarm.
    let disable = endpoint.enabled == 1 && should_disable(failing_since, now_ms, disable_after_ms);
    sqlx::query(
        "UPDATE webhook_endpoints SET consecutive_failures = $3, failing_since = $4, \
         enabled = CASE WHEN $5 = 1 THEN 0 ELSE enabled END, \
         disabled_reason = CASE WHEN $5 = 1 THEN 'failing' ELSE disabled_reason END, \
         updated_at = CASE WHEN $5 = 1 THEN $6 ELSE updated_at END \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(&endpoint.id)
    .bind(consecutive)
    .bind(failing_since)
    .bind(i64::from(disable))
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(if disable {
        EndpointHealth::JustDisabled {
            consecutive,
            failing_since,
        }
    } else if endpoint.enabled != 1 {
        EndpointHealth::Disabled
    } else {
        EndpointHealth::Failing { consecutive }
    })
}

/// Keeps a message that was not sent because its endpoint is disabled, for a recovery
/// (a delivered one stays delivered).
pub async fn hold_message(tx: &mut TenantTx<'_>, id: &str) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE webhook_messages SET status = 'held' WHERE workspace_id = $1 AND id = $2 AND status <> 'delivered'",
    )
    .bind(ws)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Re-queues the endpoint's undelivered messages (failed or held) created at or after
/// `since`, oldest first, at most `batch`: each becomes pending with a delivery job
/// (trigger `recover`). Returns how many were queued and whether more are left.
pub async fn recover(
    tx: &mut TenantTx<'_>,
    endpoint_id: &str,
    since: Millis,
    batch: u32,
    now_ms: Millis,
) -> Result<(u64, bool), StoreError> {
    let ws = tx.ws().to_owned();
    let [failed, held] = MessageStatus::RECOVERABLE.map(MessageStatus::as_str);
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE webhook_messages SET status = 'pending' WHERE workspace_id = $1 AND id IN ( \
           SELECT id FROM webhook_messages WHERE workspace_id = $1 AND endpoint_id = $2 \
           AND status IN ($3, $4) AND created_at >= $5 ORDER BY created_at, id LIMIT $6) \
         RETURNING id",
    )
    .bind(&ws)
    .bind(endpoint_id)
    .bind(failed)
    .bind(held)
    .bind(since)
    .bind(i64::from(batch))
    .fetch_all(tx.conn())
    .await?;
    for id in &ids {
        let job = serde_json::json!({"message_id": id, "trigger": "recover"});
        queue::enqueue(tx, JobKind::WebhookDeliver, &job, now_ms, now_ms).await?;
    }
    let more: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM webhook_messages WHERE workspace_id = $1 AND endpoint_id = $2 \
         AND status IN ($3, $4) AND created_at >= $5 LIMIT 1",
    )
    .bind(&ws)
    .bind(endpoint_id)
    .bind(failed)
    .bind(held)
    .bind(since)
    .fetch_optional(tx.conn())
    .await?;
    Ok((u64::try_from(ids.len()).unwrap_or(u64::MAX), more.is_some()))
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    id: String,
    message_id: String,
    event_id: String,
    event_type: String,
    attempt: i64,
    trigger: String,
    url: String,
    request_headers: String,
    request_body: String,
    response_status: Option<i64>,
    response_body: Option<String>,
    error: Option<String>,
    latency_ms: i64,
    created_at: i64,
}

/// An endpoint's delivery log, newest first, before `before` (an attempt id) when given.
pub async fn attempts(
    tx: &mut TenantTx<'_>,
    endpoint_id: &str,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<AttemptOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<AttemptRow> = sqlx::query_as(
        "SELECT a.id, a.message_id, m.event_id, m.event_type, a.attempt, a.trigger, a.url, a.request_headers, \
         m.payload AS request_body, a.response_status, a.response_body, a.error, a.latency_ms, a.created_at \
         FROM webhook_attempts a JOIN webhook_messages m ON m.workspace_id = a.workspace_id AND m.id = a.message_id \
         WHERE a.workspace_id = $1 AND a.endpoint_id = $2 AND ($3 = '' OR a.id < $3) ORDER BY a.id DESC LIMIT $4",
    )
    .bind(ws)
    .bind(endpoint_id)
    .bind(before.unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AttemptOut {
            id: r.id,
            message_id: r.message_id,
            event_id: r.event_id,
            event_type: r.event_type,
            attempt: r.attempt,
            trigger: r.trigger,
            url: r.url,
            request_headers: serde_json::from_str(&r.request_headers).unwrap_or_default(),
            request_body: r.request_body,
            response_status: r.response_status,
            response_body: r.response_body,
            error: r.error,
            latency_ms: r.latency_ms,
            created_at: r.created_at,
        })
        .collect())
}
