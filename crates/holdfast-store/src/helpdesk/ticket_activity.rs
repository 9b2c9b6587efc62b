//! Each ticket's append-only activity timeline, written in the transaction of the change it
//! records (`tickets::create`, `tickets::update`, `tickets::add_message` call [`record`]).

use crate::error::StoreError;
use crate::helpdesk::tickets::Author;
use crate::tenant::TenantTx;
use holdfast_core::clock::Millis;
use holdfast_core::helpdesk::ticket_activity::{ActivityEntry, ActivityOut};
use holdfast_core::ids::{TicketActivityId, TicketId};

/// Appends `entries` to a ticket's timeline, numbered after its last entry. Callers hold the
/// ticket's row (a new ticket, or one read with `tickets::get(…, Lock::ForUpdate)`), so two
/// writers never take the same number; the unique index would refuse it if they did.
pub(crate) async fn record(
    tx: &mut TenantTx<'_>,
    ticket: &str,
    entries: &[ActivityEntry],
    actor: &Author<'_>,
    bulk: bool,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for entry in entries {
        let mut data = entry.data.clone();
        if bulk && let Some(map) = data.as_object_mut() {
            map.insert("bulk".into(), serde_json::Value::Bool(true));
        }
        sqlx::query(
            "INSERT INTO ticket_activity (workspace_id, id, ticket_id, seq, kind, actor_type, actor_id, data, created_at) \
             SELECT $1, $2, $3, COALESCE(MAX(seq), 0) + 1, $4, $5, $6, $7, $8 FROM ticket_activity \
             WHERE workspace_id = $1 AND ticket_id = $3",
        )
        .bind(&ws)
        .bind(TicketActivityId::generate(now_ms).as_str())
        .bind(ticket)
        .bind(entry.kind.as_str())
        .bind(actor.kind)
        .bind(actor.id)
        .bind(data.to_string())
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    ticket_id: String,
    seq: i64,
    kind: String,
    actor_type: String,
    actor_id: Option<String>,
    data: String,
    created_at: i64,
}

/// A ticket's entries after `after_seq`, oldest first.
pub async fn list(
    tx: &mut TenantTx<'_>,
    ticket: &TicketId,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<ActivityOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, ticket_id, seq, kind, actor_type, actor_id, data, created_at FROM ticket_activity \
         WHERE workspace_id = $1 AND ticket_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(ws)
    .bind(ticket.as_str())
    .bind(after_seq)
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ActivityOut {
            id: r.id,
            ticket_id: r.ticket_id,
            seq: r.seq,
            kind: r.kind,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            data: serde_json::from_str(&r.data).unwrap_or(serde_json::Value::Null),
            created_at: r.created_at,
        })
        .collect())
}
