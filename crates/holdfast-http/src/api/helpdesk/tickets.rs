//! `/api/v1/tickets`: the help desk's tickets and their threads (helpdesk module). Creating a
//! ticket finds or creates the customer's contact; every change is published to webhooks
//! (`ticket.created`, `ticket.updated`, `message.created`) in its transaction.

use crate::extract::{JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::{CURSOR, LIMIT, Page, encode_cursor, page_of, page_params, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, patch, post};
use holdfast_app::helpdesk::tickets::{
    Opening, add_message, author, change_many, change_one, check_assignee, open,
};
use holdfast_core::access::fields::{self, Resource};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::helpdesk::ticket_activity::ActivityOut;
use holdfast_core::helpdesk::tickets::{
    AttachmentOut, BulkIn, BulkOut, Channel, MessageIn, MessageKind, MessageOut, ReplyIn,
    ReplySource, TicketFilter, TicketIn, TicketOut, TicketPatch, TicketThread,
};
use holdfast_core::ids::TicketId;
use holdfast_core::validate::Errors;
use holdfast_store::Lock;
use holdfast_store::helpdesk::tickets::{self as store, Author};
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::TicketsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::TicketsWrite,
};

const FILTERS: &[QueryParam] = &[
    LIMIT,
    CURSOR,
    QueryParam {
        name: "status",
        description: "open, pending, resolved or closed",
        integer: false,
    },
    QueryParam {
        name: "assignee",
        description: "A member's user id (usr_…)",
        integer: false,
    },
    QueryParam {
        name: "tag",
        description: "Tickets with this tag",
        integer: false,
    },
    QueryParam {
        name: "contact",
        description: "Tickets of this contact (ct_…)",
        integer: false,
    },
    QueryParam {
        name: "q",
        description: "Words that must all occur in the subject or the messages (notes included); \
                      the last word also matches as a prefix",
        integer: false,
    },
];

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("tickets", summary);
    t.module(Module::Helpdesk, |t| {
        t.add(
            Method::POST,
            "/api/v1/tickets",
            WRITE,
            doc(
                "Open a ticket with the customer's first message (the contact is found or created)",
            )
            .request::<TicketIn>()
            .response::<TicketThread>(201),
            post(ticket_create),
        );
        t.add(
            Method::GET,
            "/api/v1/tickets",
            READ,
            doc("List tickets, newest first, with filters")
                .query(FILTERS)
                .response::<Page<TicketOut>>(200),
            get(ticket_list),
        );
        t.add(
            Method::GET,
            "/api/v1/tickets/{id}",
            READ,
            doc("A ticket with its thread, oldest message first").response::<TicketThread>(200),
            get(ticket_get),
        );
        t.add(
            Method::GET,
            "/api/v1/tickets/{id}/attachments/{attachment_id}",
            READ,
            doc("Download an attachment (always as a file, never rendered)")
                .text("application/octet-stream"),
            get(attachment_download),
        );
        t.add(
            Method::PATCH,
            "/api/v1/tickets/{id}",
            WRITE,
            doc("Change status, priority, assignee, tags or subject")
                .request::<TicketPatch>()
                .response::<TicketOut>(200),
            patch(ticket_update),
        );
        t.add(
            Method::POST,
            "/api/v1/tickets/{id}/replies",
            WRITE,
            doc("Reply to the customer, with a body or a saved reply rendered for this ticket")
                .request::<ReplyIn>()
                .response::<MessageOut>(201),
            post(ticket_reply),
        );
        t.add(
            Method::POST,
            "/api/v1/tickets/bulk",
            WRITE,
            doc("Change status, assignee or tags of up to 100 tickets at once, all or nothing")
                .request::<BulkIn>()
                .response::<BulkOut>(200),
            post(ticket_bulk),
        );
        t.add(
            Method::GET,
            "/api/v1/tickets/{id}/activity",
            READ,
            doc("A ticket's activity timeline, oldest first")
                .query(&[LIMIT, CURSOR])
                .response::<Page<ActivityOut>>(200),
            get(ticket_activity),
        );
        t.add(
            Method::POST,
            "/api/v1/tickets/{id}/notes",
            WRITE,
            doc("Add an internal note (never shown to the customer)")
                .request::<MessageIn>()
                .response::<MessageOut>(201),
            post(ticket_note),
        );
    });
}

fn ticket_id(text: &str) -> ApiResult<TicketId> {
    TicketId::parse(text).ok_or_else(|| Problem::not_found("ticket"))
}

async fn ticket_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: JsonBody<TicketIn>,
) -> ApiResult<(StatusCode, Json<TicketThread>)> {
    let new = body.value.validate().map_err(Problem::validation)?;
    // The contact is found by these fields or created with them: both are uses of the fields
    // that a role which may not write them (hidden or read-only) is refused, as on
    // POST /api/v1/contacts; otherwise the answer's contact_id tells which contact has a
    // hidden address, and a new contact gets a value the role may not write.
    let sent: Vec<&str> = [
        ("email", new.email.is_some()),
        ("phone", new.phone.is_some()),
        ("name", new.name.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, present)| present.then_some(field))
    .collect();
    fields::check_write(&actor.role, Resource::Contacts, &sent).map_err(|(field, access)| {
        Problem::field(
            ErrorCode::Forbidden,
            &format!("contact.{field}"),
            &format!(
                "your role may not change contacts.{field} (it is {} for you), so it cannot \
                 find or create the ticket's contact by it; nothing was changed",
                access.as_str()
            ),
        )
    })?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let contact = store::find_or_create_contact(
        &mut tx,
        new.email.as_deref(),
        new.phone.as_deref(),
        new.name.as_deref(),
        now,
    )
    .await?;
    let (actor_kind, actor_id) = author(&actor);
    let (ticket, message) = open(
        &mut tx,
        &Opening {
            subject: &new.subject,
            priority: new.priority,
            tags: &new.tags,
            channel: Channel::Api,
            contact: &contact,
            message: &new.message,
        },
        &Author {
            kind: actor_kind,
            id: Some(&actor_id),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(TicketThread {
            ticket,
            messages: vec![message],
            attachments: Vec::new(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
    assignee: Option<String>,
    tag: Option<String>,
    contact: Option<String>,
    q: Option<String>,
}

async fn ticket_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<TicketOut>>> {
    let mut errors = Errors::default();
    let (limit, before) =
        page_params_into(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let filter = TicketFilter::parse(
        query.status.as_deref(),
        query.assignee.as_deref(),
        query.tag.as_deref(),
        query.contact.as_deref(),
        query.q.as_deref(),
        &mut errors,
    );
    errors.finish(()).map_err(Problem::validation)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = store::list(&mut tx, &filter, before.as_deref(), limit + 1).await?;
    tx.commit().await?;
    Ok(Json(page_of(rows, limit, |t| t.id.clone())))
}

async fn ticket_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<TicketThread>> {
    let id = ticket_id(&id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let ticket = store::get(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    let messages = store::messages(&mut tx, &id).await?;
    let attachments = store::attachments(&mut tx, &id)
        .await?
        .into_iter()
        .map(|a| AttachmentOut {
            id: a.id,
            message_id: a.message_id,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
        })
        .collect();
    tx.commit().await?;
    let messages = messages
        .into_iter()
        .map(|m| m.for_role(&actor.role))
        .collect();
    Ok(Json(TicketThread {
        ticket,
        messages,
        attachments,
    }))
}

async fn ticket_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    body: JsonBody<TicketPatch>,
) -> ApiResult<Json<TicketOut>> {
    let id = ticket_id(&id)?;
    let change = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    check_assignee(&mut tx, &change.assignee).await?;
    let updated = change_one(&mut tx, &actor, &id, &change, false, now)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    tx.commit().await?;
    Ok(Json(updated.ticket))
}

/// One change for many tickets in one transaction: every id must be a ticket of this
/// workspace (else 422 naming the others, and nothing is written), and each ticket goes through
/// the same path as a single PATCH.
async fn ticket_bulk(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: JsonBody<BulkIn>,
) -> ApiResult<Json<BulkOut>> {
    let bulk = body.value.validate().map_err(Problem::validation)?;
    Ok(Json(change_many(&state, &actor, &bulk).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

async fn ticket_activity(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<ActivityOut>>> {
    let id = ticket_id(&id)?;
    let (limit, cursor) = page_params(query.limit.as_deref(), query.cursor.as_deref())?;
    // This list's cursor is the position of the last entry shown.
    let after = match cursor {
        None => 0,
        Some(text) => text.parse::<i64>().map_err(|_| {
            Problem::field(
                ErrorCode::Validation,
                "cursor",
                "is not a cursor of this list; pass next_cursor from the previous page",
            )
        })?,
    };
    let mut tx = state.db.read(&actor.tenant).await?;
    if store::get(&mut tx, &id, Lock::Read).await?.is_none() {
        return Err(Problem::not_found("ticket"));
    }
    let mut rows =
        holdfast_store::helpdesk::ticket_activity::list(&mut tx, &id, after, limit + 1).await?;
    tx.commit().await?;
    let next_cursor = (rows.len() > limit as usize).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| encode_cursor(&r.seq.to_string()))
            .unwrap_or_default()
    });
    Ok(Json(Page {
        data: rows,
        next_cursor,
    }))
}

async fn ticket_reply(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    body: JsonBody<ReplyIn>,
) -> ApiResult<(StatusCode, Json<MessageOut>)> {
    add(
        &state,
        &actor,
        &id,
        MessageKind::Reply,
        body.value.validate(),
    )
    .await
}

async fn ticket_note(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    body: JsonBody<MessageIn>,
) -> ApiResult<(StatusCode, Json<MessageOut>)> {
    let source = body.value.validate().map(ReplySource::Body);
    add(&state, &actor, &id, MessageKind::Note, source).await
}

/// Sends the bytes as a download (`crate::download`): always `attachment`, with the content
/// type recorded at intake, so a file from a stranger is never rendered in the console's origin.
async fn attachment_download(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, attachment_id)): Path<(String, String)>,
) -> ApiResult<axum::response::Response> {
    let id = ticket_id(&id)?;
    if holdfast_core::ids::AttachmentId::parse(&attachment_id).is_none() {
        return Err(Problem::not_found("attachment"));
    }
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = store::attachment(&mut tx, &id, &attachment_id)
        .await?
        .ok_or_else(|| Problem::not_found("attachment"))?;
    tx.commit().await?;
    let bytes = holdfast_app::attachments::read_attachment(&state.config.data_dir, &found.sha256)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, attachment = %found.id, "attachment file is missing");
            Problem::new(
                ErrorCode::NotFound,
                "the attachment's file is missing on this server",
            )
        })?;
    Ok(crate::download::file_response(
        bytes,
        &found.content_type,
        &found.filename,
        false,
    ))
}

/// A reply or note from the API: the id and body checked here, the work in the application
/// layer.
async fn add(
    state: &AppState,
    actor: &Actor,
    id: &str,
    kind: MessageKind,
    source: Result<ReplySource, Vec<holdfast_core::validate::FieldError>>,
) -> ApiResult<(StatusCode, Json<MessageOut>)> {
    let id = ticket_id(id)?;
    let source = source.map_err(Problem::validation)?;
    let message = add_message(state, actor, &id, kind, source)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    Ok((StatusCode::CREATED, Json(message)))
}
