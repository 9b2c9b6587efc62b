//! `/app/tickets/{id}`: a ticket's conversation (customer messages, replies and internal notes
//! told apart, each reply with its delivery status and the reason when it was blocked), its
//! status, priority, assignee and tags, a reply/note box and a status change. Actions go
//! through `holdfast_app::helpdesk::tickets`, exactly as the API's.

use crate::console::{self, Frame, is_htmx, see_other};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::helpdesk::tickets::{add_message, change_one};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::helpdesk::tickets::{
    MessageKind, MessageOut, ReplySource, TicketOut, TicketPatch, check_reply_text,
};
use holdfast_core::ids::TicketId;
use holdfast_store::Lock;
use holdfast_store::helpdesk::tickets as store;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::TicketsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::TicketsWrite,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Helpdesk, |t| {
        t.add(
            Method::GET,
            "/app/tickets/{id}",
            READ,
            Doc::page("Console", "A ticket"),
            get(ticket_page),
        );
        t.add(
            Method::GET,
            "/app/tickets/{id}/conversation",
            READ,
            Doc::page("Console", "A ticket's conversation (for live updates)"),
            get(conversation),
        );
        t.add(
            Method::POST,
            "/app/tickets/{id}/messages",
            WRITE,
            Doc::page("Console", "Reply to a ticket or add a note"),
            post(message_add),
        );
        t.add(
            Method::POST,
            "/app/tickets/{id}/status",
            WRITE,
            Doc::page("Console", "Change a ticket's status").redirect(),
            post(status_change),
        );
    });
}

/// A message as the page shows it.
struct Shown {
    kind: &'static str,
    label: &'static str,
    author: String,
    when: String,
    body: String,
    delivery: Option<&'static str>,
    delivery_detail: Option<String>,
}

impl Shown {
    fn of(message: MessageOut) -> Shown {
        let (kind, label) = match MessageKind::parse(&message.kind) {
            Some(MessageKind::Inbound) => ("inbound", "From the customer"),
            Some(MessageKind::Note) => ("note", "Internal note"),
            _ => ("reply", "Reply"),
        };
        Shown {
            kind,
            label,
            author: match message.author_type.as_str() {
                "contact" => "customer".to_owned(),
                "system" => "Holdfast".to_owned(),
                other => format!("{other} {}", message.author_id.unwrap_or_default()),
            },
            when: console::when(message.created_at),
            body: message.body,
            delivery: message.delivery_status.map(|d| d.as_str()),
            delivery_detail: message.delivery_detail,
        }
    }
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    frame: Frame,
    ticket: TicketOut,
    opened: String,
    messages: Vec<Shown>,
    notice: Option<String>,
    may_write: bool,
    statuses: [&'static str; 4],
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct Conversation {
    messages: Vec<Shown>,
    notice: Option<String>,
}

fn ticket_id(text: &str) -> ApiResult<TicketId> {
    TicketId::parse(text).ok_or_else(|| Problem::not_found("ticket"))
}

/// The ticket and its messages as `actor` may read them; `None` for a ticket this workspace
/// does not have.
async fn load(
    state: &AppState,
    actor: &Actor,
    id: &TicketId,
) -> ApiResult<Option<(TicketOut, Vec<Shown>)>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let Some(ticket) = store::get(&mut tx, id, Lock::Read).await? else {
        return Ok(None);
    };
    let messages = store::messages(&mut tx, id).await?;
    tx.commit().await?;
    let shown = messages
        .into_iter()
        .map(|m| Shown::of(m.for_role(&actor.role)))
        .collect();
    Ok(Some((ticket, shown)))
}

async fn ticket_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    let (ticket, messages) = load(&state, &actor, &id)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    let page = TicketPage {
        frame: Frame::new(&state, &actor, "/app/inbox").await?,
        opened: console::when(ticket.created_at),
        ticket,
        messages,
        notice: None,
        may_write: actor.role.grants(Permission::TicketsWrite),
        statuses: ["open", "pending", "resolved", "closed"],
    };
    Ok(console::render(StatusCode::OK, &page))
}

/// The conversation alone, for a page that heard a notice about this ticket.
async fn conversation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    let (_, messages) = load(&state, &actor, &id)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    Ok(console::render(
        StatusCode::OK,
        &Conversation {
            messages,
            notice: None,
        },
    ))
}

#[derive(Deserialize)]
struct MessageForm {
    kind: String,
    body: String,
}

async fn message_add(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    let form: MessageForm = console::form(&headers, &body)?;
    let kind = match form.kind.as_str() {
        "reply" => MessageKind::Reply,
        "note" => MessageKind::Note,
        _ => {
            return Err(Problem::field(
                ErrorCode::Validation,
                "kind",
                "must be reply or note",
            ));
        }
    };
    let text = check_reply_text(&form.body).map_err(|e| Problem::validation(vec![e]))?;
    let added = add_message(&state, &actor, &id, kind, ReplySource::Body(text))
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    if !is_htmx(&headers) {
        return Ok(see_other(&format!("/app/tickets/{id}"), false));
    }
    let notice = added
        .delivery_detail
        .clone()
        .filter(|_| {
            added
                .delivery_status
                .is_some_and(|d| d.as_str() == "blocked")
        })
        .map(|why| format!("The reply was saved but not mailed: {why}"));
    let (_, messages) = load(&state, &actor, &id)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    Ok(console::render(
        StatusCode::OK,
        &Conversation { messages, notice },
    ))
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
}

async fn status_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    let form: StatusForm = console::form(&headers, &body)?;
    let change = TicketPatch {
        status: Some(form.status),
        ..TicketPatch::default()
    }
    .validate()
    .map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    change_one(&mut tx, &actor, &id, &change, false, now)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    tx.commit().await?;
    Ok(see_other(&format!("/app/tickets/{id}"), is_htmx(&headers)))
}
