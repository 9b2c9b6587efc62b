//! Help-desk tickets and their message threads, and finding or creating the customer's contact.

use crate::Backend;
use crate::crm::contacts::like_pattern;
use crate::error::{Classify, StoreError};
use crate::helpdesk::ticket_activity::record;
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::clock::Millis;
use holdfast_core::helpdesk::ticket_activity::{ActivityEntry, ActivityKind, changes};
use holdfast_core::helpdesk::tickets::{
    Channel, Delivery, MessageKind, MessageOut, Priority, Status, TicketChange, TicketFilter,
    TicketOut, seconds_between,
};
use holdfast_core::ids::{ContactId, TicketId, TicketMessageId};
use serde_json::json;

const TICKET_COLUMNS: &str = "id, subject, status, priority, assignee_id, tags, contact_id, channel, created_at, \
         updated_at, last_message_at, first_response_at, resolved_at";
/// `TICKET_COLUMNS` of the tickets `t` in a join.
const T_TICKET_COLUMNS: &str = "t.id, t.subject, t.status, t.priority, t.assignee_id, t.tags, t.contact_id, t.channel, \
         t.created_at, t.updated_at, t.last_message_at, t.first_response_at, t.resolved_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    subject: String,
    status: String,
    priority: String,
    assignee_id: Option<String>,
    tags: String,
    contact_id: Option<String>,
    channel: String,
    created_at: i64,
    updated_at: i64,
    last_message_at: i64,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
}

impl From<Row> for TicketOut {
    fn from(r: Row) -> Self {
        TicketOut {
            id: r.id,
            subject: r.subject,
            status: r.status,
            priority: r.priority,
            assignee: r.assignee_id,
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            contact_id: r.contact_id,
            channel: r.channel,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_message_at: r.last_message_at,
            first_response_at: r.first_response_at,
            resolved_at: r.resolved_at,
            first_response_seconds: seconds_between(r.created_at, r.first_response_at),
            resolution_seconds: seconds_between(r.created_at, r.resolved_at),
        }
    }
}

/// The contact with this email (case-insensitive), else this phone, else a new one. A
/// concurrent creation of the same email is resolved by reading the winner.
pub async fn find_or_create_contact(
    tx: &mut TenantTx<'_>,
    email: Option<&str>,
    phone: Option<&str>,
    name: Option<&str>,
    now_ms: Millis,
) -> Result<String, StoreError> {
    let ws = tx.ws().to_owned();
    if let Some(email) = email {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM contacts WHERE workspace_id = $1 AND email_key = lower($2)",
        )
        .bind(&ws)
        .bind(email)
        .fetch_optional(tx.conn())
        .await?;
        if let Some(id) = found {
            return Ok(id);
        }
    }
    if let Some(phone) = phone {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM contacts WHERE workspace_id = $1 AND phone = $2 ORDER BY id LIMIT 1",
        )
        .bind(&ws)
        .bind(phone)
        .fetch_optional(tx.conn())
        .await?;
        if let Some(id) = found {
            return Ok(id);
        }
    }
    let id = ContactId::generate(now_ms);
    sqlx::query(
        "INSERT INTO contacts (workspace_id, id, name, email, phone, company, tags, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, '[]', $6, $6)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(name)
    .bind(email)
    .bind(phone)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(id.to_string())
}

/// What a new ticket is made of (validated by the caller).
pub struct NewTicketRow<'a> {
    pub subject: &'a str,
    pub priority: Priority,
    pub tags: &'a [String],
    pub contact_id: Option<&'a str>,
    pub channel: Channel,
}

/// Opens a ticket; its timeline starts with `created` by `actor`.
pub async fn create(
    tx: &mut TenantTx<'_>,
    t: &NewTicketRow<'_>,
    actor: &Author<'_>,
    now_ms: Millis,
) -> Result<TicketOut, StoreError> {
    let id = TicketId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO tickets (workspace_id, id, subject, status, priority, assignee_id, tags, contact_id, channel, \
         created_at, updated_at, last_message_at, reply_token) VALUES ($1, $2, $3, 'open', $4, NULL, $5, $6, $7, $8, $8, $8, $9)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(t.subject)
    .bind(t.priority.as_str())
    .bind(serde_json::to_string(t.tags).unwrap_or_else(|_| "[]".into()))
    .bind(t.contact_id)
    .bind(t.channel.as_str())
    .bind(now_ms)
    // Lower-case: mail systems lower-case the addresses the token travels in.
    .bind(holdfast_core::token::random_hex(12))
    .execute(tx.conn())
    .await?;
    let entry = ActivityEntry::new(
        ActivityKind::Created,
        json!({"channel": t.channel.as_str()}),
    );
    record(tx, id.as_str(), &[entry], actor, false, now_ms).await?;
    get(tx, &id, Lock::Read)
        .await?
        .ok_or(StoreError::Setup("ticket vanished after insert".into()))
}

/// The ticket, read plainly or, with [`Lock::ForUpdate`], to change it: the row then stays
/// locked until the transaction ends, so concurrent changes see each other's result and the
/// timeline records true before/after values.
pub async fn get(
    tx: &mut TenantTx<'_>,
    id: &TicketId,
    lock: Lock,
) -> Result<Option<TicketOut>, StoreError> {
    let sql = Sql::of(&[
        "SELECT ",
        TICKET_COLUMNS,
        " FROM tickets WHERE workspace_id = $1 AND id = $2",
        lock.clause(tx.backend),
    ]);
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(TicketOut::from))
}

/// The filters every list applies to its tickets `t`; `$7` is the limit. `$4` is an
/// assignee's user id, or [`UNASSIGNED`] for tickets nobody is assigned (never a user id).
const LIST_FILTERS: &str = "t.workspace_id = $1 AND ($2 = '' OR t.id < $2) \
         AND ($3 = '' OR t.status = $3) \
         AND ($4 = '' OR t.assignee_id = $4 OR ($4 = '-' AND t.assignee_id IS NULL)) \
         AND ($5 = '' OR t.contact_id = $5) \
         AND ($6 = '' OR t.tags LIKE $6 ESCAPE '\\')";

/// The `$4` of [`LIST_FILTERS`] that asks for tickets nobody is assigned.
const UNASSIGNED: &str = "-";

mod search;

/// A page of tickets through the filters, without search.
fn list_sql() -> Sql {
    Sql::of(&[
        "SELECT ",
        TICKET_COLUMNS,
        " FROM tickets t WHERE ",
        LIST_FILTERS,
        " ORDER BY t.id DESC LIMIT $7",
    ])
}

/// What every list binds in `$1`…`$7` (`LIST_FILTERS`): an absent filter is `''`.
struct ListBinds {
    ws: String,
    before: String,
    status: &'static str,
    assignee: String,
    contact: String,
    tag: String,
    limit: i64,
}

impl ListBinds {
    fn query<'q, O>(
        &'q self,
        sql: Sql,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_as(sql)
            .bind(self.ws.as_str())
            .bind(self.before.as_str())
            .bind(self.status)
            .bind(self.assignee.as_str())
            .bind(self.contact.as_str())
            .bind(self.tag.as_str())
            .bind(self.limit)
    }
}

/// Tickets newest first, before `before` (a ticket id) when given, narrowed by `filter`.
/// `q`: every word must occur in the subject or in a message (notes included), per
/// `ticket_search` (the `search` module, one way per dialect).
pub async fn list(
    tx: &mut TenantTx<'_>,
    filter: &TicketFilter,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<TicketOut>, StoreError> {
    // Tags are a lower-cased JSON array: match the quoted element exactly.
    let tag = filter
        .tag
        .as_deref()
        .map(|t| like_pattern(&serde_json::to_string(t).unwrap_or_default()));
    let binds = ListBinds {
        ws: tx.ws().to_owned(),
        before: before.unwrap_or_default().to_owned(),
        status: filter.status.map(Status::as_str).unwrap_or_default(),
        assignee: if filter.unassigned {
            UNASSIGNED.to_owned()
        } else {
            filter.assignee.clone().unwrap_or_default()
        },
        contact: filter.contact.clone().unwrap_or_default(),
        tag: tag.unwrap_or_default(),
        limit: i64::from(limit),
    };
    match &filter.q {
        Some(q) => search::tickets(tx, &binds, q).await,
        None => {
            let rows: Vec<Row> = binds.query(list_sql()).fetch_all(tx.conn()).await?;
            Ok(rows.into_iter().map(TicketOut::from).collect())
        }
    }
}

/// A ticket after a change, and whether anything changed.
pub struct Updated {
    pub ticket: TicketOut,
    pub changed: bool,
}

/// Applies a change and records it on the timeline (marked `bulk` when it is part of one).
/// A change that changes nothing writes nothing. Resolving or closing stamps `resolved_at`
/// (kept when going from resolved to closed); reopening clears it.
pub async fn update(
    tx: &mut TenantTx<'_>,
    id: &TicketId,
    change: &TicketChange,
    actor: &Author<'_>,
    bulk: bool,
    now_ms: Millis,
) -> Result<Option<Updated>, StoreError> {
    let Some(before) = get(tx, id, Lock::ForUpdate).await? else {
        return Ok(None);
    };
    let entries = changes(&before, change);
    if entries.is_empty() {
        return Ok(Some(Updated {
            ticket: before,
            changed: false,
        }));
    }
    let ws = tx.ws().to_owned();
    let assignee_set = change.assignee.is_some();
    let assignee = change.assignee.clone().flatten();
    let tags = change
        .tags
        .as_ref()
        .map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()));
    let done = sqlx::query(
        "UPDATE tickets SET \
           subject = COALESCE($3, subject), \
           status = COALESCE($4, status), \
           priority = COALESCE($5, priority), \
           assignee_id = CASE WHEN $6 = 1 THEN $7 ELSE assignee_id END, \
           tags = COALESCE($8, tags), \
           resolved_at = CASE WHEN $4 IN ('resolved', 'closed') THEN COALESCE(resolved_at, $9) \
                              WHEN $4 IN ('open', 'pending') THEN NULL ELSE resolved_at END, \
           updated_at = $9 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(change.subject.as_deref())
    .bind(change.status.map(Status::as_str))
    .bind(change.priority.map(Priority::as_str))
    .bind(i64::from(assignee_set))
    .bind(assignee.as_deref())
    .bind(tags.as_deref())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    record(tx, id.as_str(), &entries, actor, bulk, now_ms).await?;
    Ok(get(tx, id, Lock::Read).await?.map(|ticket| Updated {
        ticket,
        changed: true,
    }))
}

/// Who wrote a message.
pub struct Author<'a> {
    /// `contact`, `user`, `api_key` or `system`.
    pub kind: &'static str,
    pub id: Option<&'a str>,
}

/// Adds a message and keeps the ticket's times and status in step: a team reply stamps the
/// first response and waits for the customer (`pending`); the customer's message reopens a
/// pending or resolved ticket. A note changes nothing but the thread. The timeline gets the
/// message, and the status change it caused, by its author.
pub async fn add_message(
    tx: &mut TenantTx<'_>,
    ticket: &TicketId,
    kind: MessageKind,
    author: &Author<'_>,
    body: &str,
    now_ms: Millis,
) -> Result<MessageOut, StoreError> {
    let Some(before) = get(tx, ticket, Lock::ForUpdate).await? else {
        return Err(StoreError::Database(sqlx::Error::RowNotFound));
    };
    let id = TicketMessageId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO ticket_messages (workspace_id, id, ticket_id, kind, author_type, author_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(ticket.as_str())
    .bind(kind.as_str())
    .bind(author.kind)
    .bind(author.id)
    .bind(body)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    let sql = match kind {
        MessageKind::Reply => {
            "UPDATE tickets SET last_message_at = $3, updated_at = $3, \
             first_response_at = COALESCE(first_response_at, $3), \
             status = CASE WHEN status = 'open' THEN 'pending' ELSE status END \
             WHERE workspace_id = $1 AND id = $2"
        }
        MessageKind::Inbound => {
            "UPDATE tickets SET last_message_at = $3, updated_at = $3, \
             resolved_at = CASE WHEN status = 'closed' THEN resolved_at ELSE NULL END, \
             status = CASE WHEN status IN ('pending', 'resolved') THEN 'open' ELSE status END \
             WHERE workspace_id = $1 AND id = $2"
        }
        MessageKind::Note => {
            "UPDATE tickets SET updated_at = $3 WHERE workspace_id = $1 AND id = $2"
        }
    };
    sqlx::query(sql)
        .bind(&ws)
        .bind(ticket.as_str())
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    let mut entries = vec![ActivityEntry::new(
        ActivityKind::of_message(kind),
        json!({"message_id": id.as_str()}),
    )];
    let after: Option<String> =
        sqlx::query_scalar("SELECT status FROM tickets WHERE workspace_id = $1 AND id = $2")
            .bind(&ws)
            .bind(ticket.as_str())
            .fetch_optional(tx.conn())
            .await?;
    if let Some(after) = after
        && after != before.status
    {
        let reason = if kind == MessageKind::Reply {
            "reply"
        } else {
            "message"
        };
        entries.push(ActivityEntry::new(
            ActivityKind::StatusChanged,
            json!({"from": before.status, "to": after, "reason": reason}),
        ));
    }
    record(tx, ticket.as_str(), &entries, author, false, now_ms).await?;
    Ok(MessageOut {
        id: id.to_string(),
        ticket_id: ticket.to_string(),
        kind: kind.as_str().to_owned(),
        author_type: author.kind.to_owned(),
        author_id: author.id.map(str::to_owned),
        body: body.to_owned(),
        created_at: now_ms,
        delivery_status: None,
        delivery_detail: None,
    })
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    ticket_id: String,
    kind: String,
    author_type: String,
    author_id: Option<String>,
    body: String,
    created_at: i64,
    delivery_status: Option<String>,
    delivery_detail: Option<String>,
}

impl MessageRow {
    fn out(self) -> MessageOut {
        MessageOut {
            id: self.id,
            ticket_id: self.ticket_id,
            kind: self.kind,
            author_type: self.author_type,
            author_id: self.author_id,
            body: self.body,
            created_at: self.created_at,
            delivery_status: self.delivery_status.as_deref().and_then(Delivery::parse),
            delivery_detail: self.delivery_detail,
        }
    }
}

/// The thread, oldest first.
pub async fn messages(
    tx: &mut TenantTx<'_>,
    ticket: &TicketId,
) -> Result<Vec<MessageOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT id, ticket_id, kind, author_type, author_id, body, created_at, delivery_status, \
         delivery_detail FROM ticket_messages WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id",
    )
    .bind(ws)
    .bind(ticket.as_str())
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(MessageRow::out).collect())
}

/// Whether `user_id` is a member of the transaction's workspace (an assignee must be).
pub async fn is_member(tx: &mut TenantTx<'_>, user_id: &str) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws)
            .bind(user_id)
            .fetch_optional(tx.conn())
            .await?;
    Ok(found.is_some())
}

/// The ticket's reply token (the `+token` of its reply-to address).
pub async fn reply_token(
    tx: &mut TenantTx<'_>,
    id: &TicketId,
) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    let token: Option<Option<String>> =
        sqlx::query_scalar("SELECT reply_token FROM tickets WHERE workspace_id = $1 AND id = $2")
            .bind(ws)
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?;
    Ok(token.flatten())
}

/// The ticket a mail belongs to: the one holding a message whose Message-ID the mail answers
/// (`In-Reply-To`, `References`), else the one whose reply token it was sent to. Never by
/// subject.
pub async fn thread_of(
    tx: &mut TenantTx<'_>,
    answered_ids: &[String],
    token: Option<&str>,
) -> Result<Option<TicketId>, StoreError> {
    let ws = tx.ws().to_owned();
    if !answered_ids.is_empty() {
        let ids = serde_json::to_string(answered_ids).unwrap_or_else(|_| "[]".into());
        let sql = match tx.backend {
            crate::Backend::Postgres => {
                "SELECT ticket_id FROM ticket_messages WHERE workspace_id = $1 \
                 AND email_message_id IN (SELECT json_array_elements_text($2::json)) ORDER BY id DESC LIMIT 1"
            }
            crate::Backend::Sqlite => {
                "SELECT ticket_id FROM ticket_messages WHERE workspace_id = $1 \
                 AND email_message_id IN (SELECT value FROM json_each($2)) ORDER BY id DESC LIMIT 1"
            }
        };
        let found: Option<String> = sqlx::query_scalar(sql)
            .bind(&ws)
            .bind(ids)
            .fetch_optional(tx.conn())
            .await?;
        if let Some(id) = found {
            return Ok(Some(TicketId::from_trusted(id)));
        }
    }
    if let Some(token) = token {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM tickets WHERE workspace_id = $1 AND reply_token = $2",
        )
        .bind(&ws)
        .bind(token)
        .fetch_optional(tx.conn())
        .await?;
        return Ok(found.map(TicketId::from_trusted));
    }
    Ok(None)
}

/// Records the RFC 5322 Message-ID of a message (inbound mail, or a reply sent by mail).
pub async fn set_email_message_id(
    tx: &mut TenantTx<'_>,
    message: &str,
    email_message_id: &str,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE ticket_messages SET email_message_id = $3 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(message)
    .bind(email_message_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Records that a reply goes out by mail with this RFC 5322 Message-ID (without angle
/// brackets): its delivery status starts as `queued`.
pub async fn mark_mailed(
    tx: &mut TenantTx<'_>,
    message: &str,
    email_message_id: &str,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE ticket_messages SET email_message_id = $3, delivery_status = $4, \
         delivery_updated_at = $5 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(message)
    .bind(email_message_id)
    .bind(Delivery::Queued.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Records that the consent check refused to mail this reply (never sent; the reason is the
/// detail the operator reads).
pub async fn mark_blocked(
    tx: &mut TenantTx<'_>,
    message: &str,
    detail: &str,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE ticket_messages SET delivery_status = $3, delivery_detail = $4, \
         delivery_updated_at = $5 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(message)
    .bind(Delivery::Blocked.as_str())
    .bind(detail)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What a delivery report changed.
#[derive(Debug)]
pub enum Reported {
    /// The message's status moved to the reported one; the message after the change.
    Changed(MessageOut),
    /// The message already had this status or a later one (reports arrive out of order).
    Unchanged,
    /// No mailed reply of this workspace has that Message-ID.
    Unknown,
}

/// Applies a delivery report to the mailed reply with this Message-ID (without angle
/// brackets), under a row lock, if it moves the status forward ([`Delivery::may_replace`]).
pub async fn report_delivery(
    tx: &mut TenantTx<'_>,
    email_message_id: &str,
    status: Delivery,
    detail: Option<&str>,
    now_ms: Millis,
) -> Result<Reported, StoreError> {
    let ws = tx.ws().to_owned();
    // PostgreSQL locks the row against a concurrent report; a SQLite writer holds the lock.
    let sql = match tx.backend {
        Backend::Postgres => {
            "SELECT id, delivery_status FROM ticket_messages WHERE workspace_id = $1 \
             AND email_message_id = $2 AND kind = 'reply' ORDER BY id LIMIT 1 FOR UPDATE"
        }
        Backend::Sqlite => {
            "SELECT id, delivery_status FROM ticket_messages WHERE workspace_id = $1 \
             AND email_message_id = $2 AND kind = 'reply' ORDER BY id LIMIT 1"
        }
    };
    let row: Option<(String, Option<String>)> = sqlx::query_as(sql)
        .bind(&ws)
        .bind(email_message_id)
        .fetch_optional(tx.conn())
        .await?;
    let Some((id, current)) = row else {
        return Ok(Reported::Unknown);
    };
    if !status.may_replace(current.as_deref().and_then(Delivery::parse)) {
        return Ok(Reported::Unchanged);
    }
    sqlx::query(
        "UPDATE ticket_messages SET delivery_status = $3, delivery_detail = $4, \
         delivery_updated_at = $5 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(&id)
    .bind(status.as_str())
    .bind(detail)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    let row: MessageRow = sqlx::query_as(
        "SELECT id, ticket_id, kind, author_type, author_id, body, created_at, delivery_status, \
         delivery_detail FROM ticket_messages WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(&id)
    .fetch_one(tx.conn())
    .await?;
    Ok(Reported::Changed(row.out()))
}

/// Whether a mail with this Message-ID was already taken in (a provider's redelivery).
pub async fn has_email_message(
    tx: &mut TenantTx<'_>,
    email_message_id: &str,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM ticket_messages WHERE workspace_id = $1 AND email_message_id = $2 LIMIT 1",
    )
    .bind(ws)
    .bind(email_message_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.is_some())
}

/// An attachment's record (its bytes live content-addressed on disk under `sha256`).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: String,
    pub message_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

pub async fn add_attachment(
    tx: &mut TenantTx<'_>,
    message: &str,
    filename: &str,
    content_type: &str,
    size: i64,
    sha256: &str,
    now_ms: Millis,
) -> Result<String, StoreError> {
    let id = holdfast_core::ids::AttachmentId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO ticket_attachments (workspace_id, id, message_id, filename, content_type, size, sha256, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(message)
    .bind(filename)
    .bind(content_type)
    .bind(size)
    .bind(sha256)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(id.to_string())
}

/// A ticket's attachment by id (scoped to the ticket through its message).
pub async fn attachment(
    tx: &mut TenantTx<'_>,
    ticket: &TicketId,
    id: &str,
) -> Result<Option<AttachmentRow>, StoreError> {
    let ws = tx.ws().to_owned();
    let row = sqlx::query_as(
        "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256 FROM ticket_attachments a \
         JOIN ticket_messages m ON m.workspace_id = a.workspace_id AND m.id = a.message_id \
         WHERE a.workspace_id = $1 AND a.id = $2 AND m.ticket_id = $3",
    )
    .bind(ws)
    .bind(id)
    .bind(ticket.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row)
}

/// A ticket's attachments, oldest first.
pub async fn attachments(
    tx: &mut TenantTx<'_>,
    ticket: &TicketId,
) -> Result<Vec<AttachmentRow>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows = sqlx::query_as(
        "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256 FROM ticket_attachments a \
         JOIN ticket_messages m ON m.workspace_id = a.workspace_id AND m.id = a.message_id \
         WHERE a.workspace_id = $1 AND m.ticket_id = $2 ORDER BY a.id",
    )
    .bind(ws)
    .bind(ticket.as_str())
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// The Message-IDs of a ticket's thread, oldest first, and its customer's email (if any):
/// what a reply by mail needs to thread.
pub async fn mail_thread(
    tx: &mut TenantTx<'_>,
    ticket: &TicketId,
) -> Result<(Vec<String>, Option<String>), StoreError> {
    let ws = tx.ws().to_owned();
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT email_message_id FROM ticket_messages WHERE workspace_id = $1 AND ticket_id = $2 \
         AND email_message_id IS NOT NULL ORDER BY id",
    )
    .bind(&ws)
    .bind(ticket.as_str())
    .fetch_all(tx.conn())
    .await?;
    let email: Option<Option<String>> = sqlx::query_scalar(
        "SELECT c.email FROM tickets t JOIN contacts c ON c.workspace_id = t.workspace_id AND c.id = t.contact_id \
         WHERE t.workspace_id = $1 AND t.id = $2",
    )
    .bind(&ws)
    .bind(ticket.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok((ids, email.flatten()))
}
