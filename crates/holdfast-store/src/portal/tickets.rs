//! A signed-in customer's requests (tickets) and their conversations, read through their
//! [`PortalScope`]: every query names the scope's contact (`contact_id = $…`) beside the
//! workspace, so another contact's ticket is simply not found. A conversation holds the
//! customer's own messages and the team's replies, never an internal note. Writing (opening a
//! request, a customer's message) goes through the help desk's own functions
//! (`holdfast_app::helpdesk::tickets`), after [`get`] has found the ticket in the scope.

use super::auth::PortalScope;
use crate::error::StoreError;
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::helpdesk::tickets::MessageKind;
use holdfast_core::ids::TicketId;
use holdfast_core::portal::{MessageFrom, PortalMessageOut, PortalTicketOut};

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: String,
    subject: String,
    status: String,
    created_at: i64,
    last_message_at: i64,
}

impl From<TicketRow> for PortalTicketOut {
    fn from(r: TicketRow) -> Self {
        PortalTicketOut {
            id: r.id,
            subject: r.subject,
            status: r.status,
            created_at: r.created_at,
            last_message_at: r.last_message_at,
        }
    }
}

/// A page of the customer's tickets, newest first: those before `before` (an id), `limit` of
/// them.
pub async fn list(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<PortalTicketOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<TicketRow> = sqlx::query_as(
        "SELECT id, subject, status, created_at, last_message_at FROM tickets \
         WHERE workspace_id = $1 AND contact_id = $2 AND ($3 = '' OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind(ws)
    .bind(scope.contact().as_str())
    .bind(before.unwrap_or_default())
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(PortalTicketOut::from).collect())
}

/// One of the customer's tickets; `None` for any other id (another contact's ticket included).
/// With [`Lock::ForUpdate`] the row stays locked until the transaction ends, so a message
/// added next is added to the ticket just checked.
pub async fn get(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
    id: &TicketId,
    lock: Lock,
) -> Result<Option<PortalTicketOut>, StoreError> {
    let sql = Sql::of(&[
        "SELECT id, subject, status, created_at, last_message_at FROM tickets \
         WHERE workspace_id = $1 AND id = $2 AND contact_id = $3",
        lock.clause(tx.backend),
    ]);
    let ws = tx.ws().to_owned();
    let row: Option<TicketRow> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .bind(scope.contact().as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(PortalTicketOut::from))
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    kind: String,
    body: String,
    created_at: i64,
}

/// The conversation of one of the customer's tickets, oldest first: their own messages and
/// the team's replies. Internal notes, and messages other people sent into the thread, are
/// not read. Empty for a ticket that is not the customer's.
pub async fn messages(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
    id: &TicketId,
) -> Result<Vec<PortalMessageOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT m.id, m.kind, m.body, m.created_at FROM ticket_messages m \
         JOIN tickets t ON t.workspace_id = m.workspace_id AND t.id = m.ticket_id \
         WHERE m.workspace_id = $1 AND m.ticket_id = $2 AND t.contact_id = $3 \
         AND (m.kind = $4 OR (m.kind = $5 AND m.author_type = 'contact' AND m.author_id = $3)) \
         ORDER BY m.id",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(scope.contact().as_str())
    .bind(MessageKind::Reply.as_str())
    .bind(MessageKind::Inbound.as_str())
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| PortalMessageOut {
            id: m.id,
            from: if m.kind == MessageKind::Reply.as_str() {
                MessageFrom::Team
            } else {
                MessageFrom::You
            },
            body: m.body,
            created_at: m.created_at,
        })
        .collect())
}
