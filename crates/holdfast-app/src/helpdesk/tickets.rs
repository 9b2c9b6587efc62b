//! Working a ticket, for every entry point (the API and the console): a message added to it (a
//! reply is mailed through the consent choke point in the same transaction), a change of its
//! status, priority, assignee or tags with its timeline, and the events they publish. Also the
//! customer's side, shared by the staff API, the website widget and the client portal: a
//! ticket opened with its first message ([`open`]) and a customer's next message
//! ([`customer_message`]). Mail threads its messages in `ticket_mail`.

use crate::App;
use crate::AppResult;
use crate::events::publish;
use crate::outreach::Decision;
use holdfast_core::crm::consent::Purpose;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::helpdesk::tickets::{
    BulkChange, BulkOut, Channel, Delivery, MessageKind, MessageOut, Priority, ReplySource,
    TicketChange, TicketOut,
};
use holdfast_core::ids::{ContactId, TicketId};
use holdfast_core::webhooks::EventType;
use holdfast_store::Lock;
use holdfast_store::TenantTx;
use holdfast_store::helpdesk::tickets::{self as store, Author, NewTicketRow};
use holdfast_store::identity::auth::{Actor, Principal};

pub fn author(actor: &Actor) -> (&'static str, String) {
    match &actor.principal {
        Principal::ApiKey(id) => ("api_key", id.to_string()),
        Principal::User { user_id, .. } => ("user", user_id.to_string()),
    }
}

/// A ticket to open with the customer's first message.
pub struct Opening<'a> {
    pub subject: &'a str,
    pub priority: Priority,
    pub tags: &'a [String],
    pub channel: Channel,
    /// The customer's contact: the ticket's, and the first message's author.
    pub contact: &'a str,
    /// The customer's first message (validated by the caller).
    pub message: &'a str,
}

/// Opens a ticket with the customer's first (`inbound`) message, in the caller's transaction:
/// its timeline starts with `created` by `opened_by` (the staff member or key that opened it,
/// or the customer), and `ticket.created` and `message.created` are published. Every way a
/// ticket is opened for a known contact goes through here (the API, the widget, the portal).
pub async fn open(
    tx: &mut TenantTx<'_>,
    opening: &Opening<'_>,
    opened_by: &Author<'_>,
    now: i64,
) -> AppResult<(TicketOut, MessageOut)> {
    let ticket = store::create(
        tx,
        &NewTicketRow {
            subject: opening.subject,
            priority: opening.priority,
            tags: opening.tags,
            contact_id: Some(opening.contact),
            channel: opening.channel,
        },
        opened_by,
        now,
    )
    .await?;
    let id = TicketId::from_trusted(ticket.id.clone());
    let message = store::add_message(
        tx,
        &id,
        MessageKind::Inbound,
        &Author {
            kind: "contact",
            id: Some(opening.contact),
        },
        opening.message,
        now,
    )
    .await?;
    publish(tx, EventType::TicketCreated, &ticket, now).await?;
    publish(tx, EventType::MessageCreated, &message, now).await?;
    Ok((ticket, message))
}

/// The customer's next message on their ticket (the widget's conversation, the portal's
/// reply), in the caller's transaction, which has found the ticket as the contact's: an
/// `inbound` message by the contact, which reopens a pending or resolved ticket (a closed one
/// stays closed), then `message.created` and `ticket.updated` (the ticket as it is now: its
/// last activity, and its status when it reopened). Realtime notices ride on these events.
pub async fn customer_message(
    tx: &mut TenantTx<'_>,
    ticket: &TicketId,
    contact: &str,
    body: &str,
    now: i64,
) -> AppResult<MessageOut> {
    let message = store::add_message(
        tx,
        ticket,
        MessageKind::Inbound,
        &Author {
            kind: "contact",
            id: Some(contact),
        },
        body,
        now,
    )
    .await?;
    publish(tx, EventType::MessageCreated, &message, now).await?;
    if let Some(after) = store::get(tx, ticket, Lock::Read).await? {
        publish(tx, EventType::TicketUpdated, &after, now).await?;
    }
    Ok(message)
}

/// An assignee must be a member of the workspace.
pub async fn check_assignee(
    tx: &mut TenantTx<'_>,
    assignee: &Option<Option<String>>,
) -> AppResult<()> {
    if let Some(Some(user)) = assignee
        && !store::is_member(tx, user).await?
    {
        return Err(ApiError::field(
            ErrorCode::Validation,
            "assignee",
            "is not a member of this workspace; GET /api/v1/members lists them",
        ));
    }
    Ok(())
}

/// The one way a ticket is changed, alone or in bulk: the change, its timeline entries and,
/// when something changed, the `ticket.updated` event, all in the caller's transaction.
pub async fn change_one(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    id: &TicketId,
    change: &TicketChange,
    bulk: bool,
    now: i64,
) -> AppResult<Option<store::Updated>> {
    let (kind, actor_id) = author(actor);
    let author = Author {
        kind,
        id: Some(&actor_id),
    };
    let Some(updated) = store::update(tx, id, change, &author, bulk, now).await? else {
        return Ok(None);
    };
    if updated.changed {
        publish(tx, EventType::TicketUpdated, &updated.ticket, now).await?;
    }
    Ok(Some(updated))
}

/// Adds a customer-facing reply or an internal note to a ticket of the actor's workspace (`None`
/// when there is no such ticket). A reply to a contact with an email address is queued through
/// outreach in the same transaction; the answer carries its delivery status.
pub async fn add_message(
    state: &App,
    actor: &Actor,
    id: &TicketId,
    kind: MessageKind,
    source: ReplySource,
) -> AppResult<Option<MessageOut>> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let Some(ticket) = store::get(&mut tx, id, Lock::Read).await? else {
        return Ok(None);
    };
    let text = match source {
        ReplySource::Body(text) => text,
        ReplySource::Saved(saved) => {
            // A saved reply is read to be used, and its answer shows it filled in with the
            // ticket: a role that may not read tickets (and so saved replies) writes its own.
            if !actor
                .role
                .grants(holdfast_core::access::policy::Permission::TicketsRead)
            {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "using a saved reply reads it and the ticket; this role lacks tickets.read, so send the reply's body instead",
                ));
            }
            let Some(saved) = holdfast_store::helpdesk::saved_replies::get(&mut tx, &saved).await?
            else {
                return Err(ApiError::field(
                    ErrorCode::Validation,
                    "saved_reply_id",
                    "is not a saved reply of this workspace; GET /api/v1/saved-replies lists them",
                ));
            };
            let rendered =
                crate::helpdesk::saved_replies::render_for(&mut tx, actor, &saved, Some(&ticket))
                    .await?;
            holdfast_core::helpdesk::tickets::check_reply_text(&rendered).map_err(|e| {
                ApiError::field(
                    ErrorCode::Validation,
                    "saved_reply_id",
                    &format!(
                        "the saved reply renders to an unusable reply: body {}",
                        e.message
                    ),
                )
            })?
        }
    };
    let (author_kind, author_id) = author(actor);
    let mut message = store::add_message(
        &mut tx,
        id,
        kind,
        &Author {
            kind: author_kind,
            id: Some(&author_id),
        },
        &text,
        now,
    )
    .await?;
    if kind == MessageKind::Reply {
        mail_reply(state, &mut tx, &ticket, &mut message, now).await?;
    }
    publish(&mut tx, EventType::MessageCreated, &message, now).await?;
    tx.commit().await?;
    Ok(Some(message))
}

/// A reply reaches a customer who has an email address by mail, through the consent choke
/// point (`outreach`) in the reply's transaction: `Re: <subject>`, its own Message-ID,
/// `In-Reply-To` the newest mail of the thread and `References` all of them, and a `Reply-To`
/// with the ticket's token at the sender's domain, so the answer threads back into this
/// ticket. Returns the reply's delivery status: `queued`, `blocked` (with the reason in its
/// detail), or none when the contact has no email address (answered in the ticket only).
async fn mail_reply(
    state: &App,
    tx: &mut TenantTx<'_>,
    ticket: &TicketOut,
    message: &mut MessageOut,
    now: i64,
) -> AppResult<()> {
    let id = TicketId::from_trusted(ticket.id.clone());
    let (thread, email) = store::mail_thread(tx, &id).await?;
    let (Some(_), Some(contact)) = (email, ticket.contact_id.as_deref()) else {
        return Ok(());
    };
    let contact = ContactId::from_trusted(contact.to_owned());
    let domain = state
        .config
        .mail_from
        .rsplit('@')
        .next()
        .unwrap_or("localhost")
        .trim_end_matches('>')
        .to_owned();
    let message_id = format!("{}@{domain}", message.id);
    let reply_to = store::reply_token(tx, &id)
        .await?
        .map(|token| holdfast_core::helpdesk::mail_in::reply_address("reply", &token, &domain));
    let subject = if ticket.subject.to_lowercase().starts_with("re:") {
        ticket.subject.clone()
    } else {
        format!("Re: {}", ticket.subject)
    };
    let mail = crate::outreach::ContactEmail {
        subject,
        body: message.body.clone(),
        message_id: Some(message_id),
        in_reply_to: thread.last().cloned(),
        references: thread.iter().rev().take(20).rev().cloned().collect(),
        reply_to,
        ticket_message: Some(message.id.clone()),
        attachments: Vec::new(),
        sign_in_link: false,
        password_reset_link: false,
    };
    let decision =
        crate::outreach::queue_to_contact(tx, &contact, Purpose::Message, mail, now).await?;
    match decision {
        // Outreach recorded the status (and, for a mail that may go, its Message-ID); the
        // answer shows it.
        Decision::Queued => {
            message.delivery_status = Some(Delivery::Queued);
        }
        Decision::Blocked { detail, .. } => {
            message.delivery_status = Some(Delivery::Blocked);
            message.delivery_detail = Some(detail);
        }
    }
    Ok(())
}

/// One change for many tickets in one transaction, for the API and the console: every id must
/// be a ticket of this workspace (else an error naming the others, and nothing is written),
/// each ticket locked in id order (two bulk changes over the same tickets cannot deadlock) and
/// changed through the same path as one ticket.
pub async fn change_many(state: &App, actor: &Actor, bulk: &BulkChange) -> AppResult<BulkOut> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    check_assignee(&mut tx, &bulk.assignee).await?;
    // Lock in id order, so two bulk changes over the same tickets cannot deadlock.
    let mut sorted: Vec<&TicketId> = bulk.ids.iter().collect();
    sorted.sort();
    let mut locked = std::collections::HashMap::with_capacity(sorted.len());
    for id in sorted {
        if let Some(ticket) = store::get(&mut tx, id, Lock::ForUpdate).await? {
            locked.insert(id.as_str().to_owned(), ticket);
        }
    }
    let mut current = Vec::with_capacity(bulk.ids.len());
    let mut missing = Vec::new();
    for id in &bulk.ids {
        match locked.remove(id.as_str()) {
            Some(ticket) => current.push(ticket),
            None => missing.push(id.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::field(
            ErrorCode::Validation,
            "ids",
            &format!(
                "not tickets of this workspace: {}; nothing was changed",
                missing.join(", ")
            ),
        ));
    }
    let mut updated = 0;
    let mut tickets = Vec::with_capacity(current.len());
    for ticket in current {
        let id = TicketId::from_trusted(ticket.id.clone());
        let change = bulk
            .for_ticket(&ticket.id, &ticket.tags)
            .map_err(|e| ApiError::validation(vec![e]))?;
        let Some(done) = change_one(&mut tx, actor, &id, &change, true, now).await? else {
            return Err(ApiError::not_found("ticket"));
        };
        updated += usize::from(done.changed);
        tickets.push(done.ticket);
    }
    tx.commit().await?;
    Ok(BulkOut { updated, tickets })
}
