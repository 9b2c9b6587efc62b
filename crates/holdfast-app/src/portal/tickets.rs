//! A signed-in customer's requests (tickets), for the portal's pages and its API alike: their
//! list, one request with its conversation (their own messages and the team's replies, never
//! an internal note), opening a request and replying to one. Everything is read and checked
//! through the customer's scope (`holdfast_store::portal::tickets`), so another contact's
//! ticket is "not found", the same answer as an id that never existed. Writing goes through the
//! help desk's own functions (`crate::helpdesk::tickets::{open, customer_message}`): a message
//! from the portal is a customer message like one by mail or the widget (it reopens a pending
//! or resolved ticket and publishes the same events, which carry the console's live notices).

use crate::helpdesk::tickets::{Opening, customer_message, open};
use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::time_zone::ZoneName;
use holdfast_core::helpdesk::tickets::{Channel, MessageIn, Priority};
use holdfast_core::ids::TicketId;
use holdfast_core::portal::{
    MessageFrom, PortalMessageOut, PortalThread, PortalTicketIn, PortalTicketOut, takes_replies,
};
use holdfast_store::Lock;
use holdfast_store::helpdesk::tickets::Author;
use holdfast_store::portal::auth::PortalActor;
use holdfast_store::portal::tickets as store;

/// The one answer for a request that is not the customer's: another contact's, another
/// workspace's, or none at all.
pub fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "you have no request with this id; GET /api/portal/v1/tickets lists yours",
    )
}

/// Whether the customer may write to the help desk: only while its module is on. Reading
/// their past requests stays open (as the overview lists them).
pub fn may_write(actor: &PortalActor) -> bool {
    actor.modules.contains(Module::Helpdesk)
}

fn check_may_write(actor: &PortalActor) -> AppResult<()> {
    if may_write(actor) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::NotFound,
        "the helpdesk module is off in this workspace, so requests cannot be opened or \
         answered in its client portal",
    ))
}

/// A page of the customer's requests, newest first: `limit` of those before the id `before`
/// (ask for one more than the page holds to learn whether another follows).
pub async fn list(
    app: &App,
    actor: &PortalActor,
    before: Option<&str>,
    limit: u32,
) -> AppResult<Vec<PortalTicketOut>> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let rows = store::list(&mut tx, &actor.scope, before, i64::from(limit)).await?;
    tx.commit().await?;
    Ok(rows)
}

/// One request and its conversation, with the workspace's zone to show its times in.
pub struct Thread {
    pub thread: PortalThread,
    pub zone: ZoneName,
}

impl Thread {
    /// `ms` in the workspace's zone, like `2026-12-08 09:30`.
    pub fn local(&self, ms: i64) -> String {
        self.zone.local(ms).replacen('T', " ", 1)
    }

    /// Whether the customer may add a message now (not to a closed request, not while the
    /// help desk is off).
    pub fn takes_replies(&self, actor: &PortalActor) -> bool {
        may_write(actor) && takes_replies(&self.thread.ticket.status)
    }
}

/// One of the customer's requests with its conversation; `None` when it is not theirs.
pub async fn thread(app: &App, actor: &PortalActor, id: &TicketId) -> AppResult<Option<Thread>> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let Some(ticket) = store::get(&mut tx, &actor.scope, id, Lock::Read).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let messages = store::messages(&mut tx, &actor.scope, id).await?;
    let zone = holdfast_store::field_service::jobs::time_zone(&mut tx).await?;
    tx.commit().await?;
    Ok(Some(Thread {
        thread: PortalThread { ticket, messages },
        zone,
    }))
}

/// Opens a request of the customer's own contact (channel `portal`, normal priority, opened by
/// the customer) with their first message, as every ticket is opened. Every bad field is
/// named at once (422) and nothing is written then.
pub async fn open_request(
    app: &App,
    actor: &PortalActor,
    input: &PortalTicketIn,
) -> AppResult<PortalThread> {
    check_may_write(actor)?;
    let request = input.validate().map_err(ApiError::validation)?;
    let now = app.clock.now_ms();
    let contact = actor.scope.contact().as_str();
    let mut tx = app.db.write(&actor.tenant).await?;
    let (ticket, message) = open(
        &mut tx,
        &Opening {
            subject: &request.subject,
            priority: Priority::Normal,
            tags: &[],
            channel: Channel::Portal,
            contact,
            message: &request.message,
        },
        &Author {
            kind: "contact",
            id: Some(contact),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(PortalThread {
        ticket: PortalTicketOut {
            id: ticket.id,
            subject: ticket.subject,
            status: ticket.status,
            created_at: ticket.created_at,
            last_message_at: ticket.last_message_at,
        },
        messages: vec![PortalMessageOut {
            id: message.id,
            from: MessageFrom::You,
            body: message.body,
            created_at: message.created_at,
        }],
    })
}

/// The customer's message on one of their requests, added as every customer message is.
/// [`not_found`] when the request is not theirs, whatever was sent (checked first); then a
/// closed request is refused (409: they open a new one) and a bad text named (422). Nothing is
/// written when it is refused.
pub async fn reply(
    app: &App,
    actor: &PortalActor,
    id: &TicketId,
    input: &MessageIn,
) -> AppResult<PortalMessageOut> {
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    // Locked: the message goes to the ticket just found to be the customer's.
    let ticket = store::get(&mut tx, &actor.scope, id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    check_may_write(actor)?;
    if !takes_replies(&ticket.status) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this request is closed and takes no more messages; open a new request instead",
        ));
    }
    let body = input.validate().map_err(ApiError::validation)?;
    let message = customer_message(&mut tx, id, actor.scope.contact().as_str(), &body, now).await?;
    tx.commit().await?;
    Ok(PortalMessageOut {
        id: message.id,
        from: MessageFrom::You,
        body: message.body,
        created_at: message.created_at,
    })
}
