//! `/app/tickets/{id}`: a ticket's conversation (customer messages, replies and internal notes
//! told apart, each reply with its delivery status and the reason when it was blocked), its
//! status, priority, assignee and tags, a reply/note box and a status change. Actions go
//! through `holdfast_app::helpdesk::tickets`, exactly as the API's.

use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::QueryParams;
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use holdfast_app::helpdesk::saved_replies::render_for;
use holdfast_app::helpdesk::tickets::{add_message, change_one, check_assignee};
use holdfast_core::access::fields::{Field, Visible};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::helpdesk::ticket_activity::ActivityOut;
use holdfast_core::helpdesk::tickets::{
    MessageKind, MessageOut, ReplySource, TicketOut, TicketPatch, check_reply_text,
};
use holdfast_core::ids::{ContactId, EventId, SavedReplyId, TicketId};
use holdfast_core::ops::realtime::Notice;
use holdfast_store::Lock;
use holdfast_store::helpdesk::ticket_reads;
use holdfast_store::helpdesk::tickets as store;
use holdfast_store::identity::auth::{Actor, Principal};
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
            Method::GET,
            "/app/tickets/{id}/saved-reply",
            WRITE,
            Doc::page(
                "Console",
                "A saved reply filled in for a ticket, to edit and send",
            ),
            get(saved_reply),
        );
        t.add(
            Method::POST,
            "/app/tickets/{id}/replying",
            WRITE,
            Doc::page(
                "Console",
                "Tell the ticket's other viewers you are writing an answer",
            )
            .no_content(),
            post(replying),
        );
        t.add(
            Method::POST,
            "/app/tickets/{id}/details",
            WRITE,
            Doc::page(
                "Console",
                "Change a ticket's status, priority, assignee and tags",
            )
            .redirect(),
            post(details_change),
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

/// The contact panel: only the fields the role may see (`Visible`).
struct ContactPanel {
    id: String,
    lines: Vec<(&'static str, String)>,
}

/// One entry of the ticket's timeline, as a sentence.
struct Activity {
    when: String,
    text: String,
}

/// An attachment, downloaded through the API's guarded route.
struct Attachment {
    href: String,
    name: String,
    size: String,
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
    priorities: [&'static str; 4],
    contact: Option<ContactPanel>,
    activity: Vec<Activity>,
    attachments: Vec<Attachment>,
    /// Members to assign (user id, email), when the role may read members.
    members: Vec<(String, String)>,
    /// Saved replies (id, name) to start an answer from.
    saved: Vec<(String, String)>,
    tags: String,
}

#[derive(Template)]
#[template(path = "reply_box.html")]
struct ReplyBox {
    text: String,
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

/// Whether the role may see tickets. An action's guard asks for tickets.write; what the action
/// shows back of the ticket (its conversation, a saved reply filled in with its subject) also
/// needs tickets.read, which a custom role may lack.
fn may_read(actor: &Actor) -> bool {
    actor.role.grants(Permission::TicketsRead)
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
    // Shown to a person: the ticket is read by them up to now (written only when it has
    // activity they have not seen, so looking again costs no write).
    let reader = match &actor.principal {
        Principal::User { user_id, .. } => Some(user_id.to_string()),
        Principal::ApiKey(_) => None,
    };
    let unseen = match &reader {
        Some(user) => ticket_reads::read_at(&mut tx, user, id.as_str())
            .await?
            .is_none_or(|at| at < ticket.last_message_at),
        None => false,
    };
    tx.commit().await?;
    if let (Some(user), true) = (reader, unseen) {
        let mut tx = state.db.write(&actor.tenant).await?;
        ticket_reads::mark_read(
            &mut tx,
            &user,
            &[id.as_str().to_owned()],
            state.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
    }
    let shown = messages
        .into_iter()
        .map(|m| Shown::of(m.for_role(&actor.role)))
        .collect();
    Ok(Some((ticket, shown)))
}

/// A timeline entry in words: what changed, from what to what, and by whom.
fn activity_text(entry: &ActivityOut) -> String {
    let change = |what: &str| {
        format!(
            "{what}: {} → {}",
            entry.data["from"].as_str().unwrap_or("none"),
            entry.data["to"].as_str().unwrap_or("none")
        )
    };
    let what = match entry.kind.as_str() {
        "created" => "opened".to_owned(),
        "status_changed" => change("status"),
        "priority_changed" => change("priority"),
        "assignee_changed" => change("assignee"),
        "subject_changed" => "subject changed".to_owned(),
        "tags_changed" => "tags changed".to_owned(),
        "message_received" => "a message from the customer".to_owned(),
        "reply_sent" => "a reply".to_owned(),
        "note_added" => "an internal note".to_owned(),
        other => other.replace('_', " "),
    };
    let by = match entry.actor_type.as_str() {
        "contact" => "the customer".to_owned(),
        "system" => "Holdfast".to_owned(),
        kind => format!("{kind} {}", entry.actor_id.as_deref().unwrap_or_default()),
    };
    format!("{what} — {by}")
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
    let may_write = actor.role.grants(Permission::TicketsWrite);
    let mut tx = state.db.read(&actor.tenant).await?;
    let contact = match &ticket.contact_id {
        Some(contact_id) if actor.role.grants(Permission::ContactsRead) => {
            let cid = ContactId::from_trusted(contact_id.clone());
            holdfast_store::crm::contacts::get(&mut tx, &cid, Lock::Read)
                .await?
                .map(|c| {
                    let seen = Visible::contact(&actor.role, &c);
                    let lines = [
                        ("Name", Field::ContactsName),
                        ("Email", Field::ContactsEmail),
                        ("Phone", Field::ContactsPhone),
                        ("Company", Field::ContactsCompany),
                    ]
                    .into_iter()
                    .filter_map(|(label, field)| seen.text(field).map(|v| (label, v.to_owned())))
                    .collect();
                    ContactPanel {
                        id: c.id.clone(),
                        lines,
                    }
                })
        }
        _ => None,
    };
    let activity = holdfast_store::helpdesk::ticket_activity::list(&mut tx, &id, 0, 200)
        .await?
        .iter()
        .map(|entry| Activity {
            when: console::when(entry.created_at),
            text: activity_text(entry),
        })
        .collect();
    let attachments = store::attachments(&mut tx, &id)
        .await?
        .into_iter()
        .map(|a| Attachment {
            href: format!("/api/v1/tickets/{id}/attachments/{}", a.id),
            name: a.filename,
            size: console::size_text(a.size),
        })
        .collect();
    let members = if may_write && actor.role.grants(Permission::MembersRead) {
        holdfast_store::access::members::list(&mut tx)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m.email))
            .collect()
    } else {
        Vec::new()
    };
    let saved = if may_write {
        holdfast_store::helpdesk::saved_replies::list(&mut tx, None, 200)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect()
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let page = TicketPage {
        frame: Frame::new(&state, &actor, "/app/inbox").await?,
        opened: console::when(ticket.created_at),
        tags: ticket.tags.join(", "),
        ticket,
        messages,
        notice: None,
        may_write,
        statuses: ["open", "pending", "resolved", "closed"],
        priorities: ["low", "normal", "high", "urgent"],
        contact,
        activity,
        attachments,
        members,
        saved,
    };
    Ok(console::render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

/// The reply box filled with a saved reply rendered for this ticket as the actor would send
/// it (a contact field the role may not read renders as if missing); empty for none.
async fn saved_reply(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<SavedQuery>,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    if !may_read(&actor) {
        return Err(Problem::new(
            ErrorCode::Forbidden,
            format!(
                "this credential's role ({}) lacks the permission {}",
                actor.role.as_str(),
                Permission::TicketsRead.as_str()
            ),
        ));
    }
    // The ticket first: another workspace's id is 404 whatever else is asked.
    let mut tx = state.db.read(&actor.tenant).await?;
    let ticket = store::get(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    let text = match query.saved.as_deref().filter(|s| !s.is_empty()) {
        None => String::new(),
        Some(saved_id) => {
            let saved_id =
                SavedReplyId::parse(saved_id).ok_or_else(|| Problem::not_found("saved reply"))?;
            let saved = holdfast_store::helpdesk::saved_replies::get(&mut tx, &saved_id)
                .await?
                .ok_or_else(|| Problem::not_found("saved reply"))?;
            render_for(&mut tx, &actor, &saved, Some(&ticket)).await?
        }
    };
    tx.commit().await?;
    Ok(console::render(StatusCode::OK, &ReplyBox { text }))
}

#[derive(Deserialize)]
struct DetailsForm {
    status: String,
    priority: String,
    /// A member's user id, or empty for nobody.
    assignee: Option<String>,
    /// Comma-separated.
    tags: String,
}

async fn details_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    let form: DetailsForm = console::form(&headers, &body)?;
    let tags: Vec<String> = form
        .tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let change = TicketPatch {
        status: Some(form.status),
        priority: Some(form.priority),
        assignee: form
            .assignee
            .map(|a| Some(a.trim().to_owned()).filter(|a| !a.is_empty())),
        tags: Some(tags),
        ..TicketPatch::default()
    }
    .validate()
    .map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    check_assignee(&mut tx, &change.assignee).await?;
    change_one(&mut tx, &actor, &id, &change, false, now)
        .await?
        .ok_or_else(|| Problem::not_found("ticket"))?;
    tx.commit().await?;
    Ok(see_other(&format!("/app/tickets/{id}"), is_htmx(&headers)))
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
    if !is_htmx(&headers) || !may_read(&actor) {
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

/// A presence notice for the ticket's live views: this member is writing an answer (sent by
/// the page while they type, at most every ten seconds). Nothing is stored; an API key is
/// nobody to show.
async fn replying(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    if store::get(&mut tx, &id, Lock::Read).await?.is_none() {
        return Err(Problem::not_found("ticket"));
    }
    if let Principal::User { user_id, .. } = &actor.principal {
        let notice = Notice::replying(
            &EventId::generate(now).to_string(),
            actor.tenant.workspace_id().as_str(),
            id.as_str(),
            user_id.as_str(),
            now,
        );
        tx.notify(notice).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
