//! A signed-in customer's requests in the client portal: `/portal/{workspace_slug}/tickets/{id}`
//! (one request: its subject, status and conversation — the customer's own messages and the
//! team's replies, never an internal note — with a reply form), `…/tickets/{id}/reply`,
//! `…/tickets/new` and `…/tickets` (opening a request). Through `holdfast_app::portal::tickets`,
//! like the portal's API: another customer's request is 404, as one that never existed. A
//! refused form comes back as the page with what was wrong and the text as typed.

use crate::console::portal::{PortalFrame, page};
use crate::console::{is_htmx, see_other};
use crate::guard::{Guard, PortalAuthed};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::portal::tickets::{self as app, Thread, not_found};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::helpdesk::tickets::MessageIn;
use holdfast_core::ids::TicketId;
use holdfast_core::portal::{MessageFrom, PortalTicketIn, takes_replies};
use holdfast_store::portal::auth::PortalActor;
use serde::Deserialize;

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Client portal", summary);
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/tickets/new",
        Guard::Portal,
        doc("The form to open a new request"),
        get(new_page),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/tickets",
        Guard::Portal,
        doc("Open a new request").redirect(),
        post(ticket_open),
    );
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/tickets/{id}",
        Guard::Portal,
        doc("One of the customer's requests and its conversation"),
        get(ticket_page),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/tickets/{id}/reply",
        Guard::Portal,
        doc("Add a message to one of the customer's requests").redirect(),
        post(reply_add),
    );
}

/// A message as the customer sees it.
struct Shown {
    id: String,
    /// The console's message classes: `inbound` (theirs) or `reply` (the team's).
    kind: &'static str,
    who: String,
    when: String,
    body: String,
}

#[derive(Template)]
#[template(path = "portal_ticket.html")]
struct TicketPage {
    frame: PortalFrame,
    id: String,
    subject: String,
    status: String,
    opened: String,
    messages: Vec<Shown>,
    /// The reply form is shown (not for a closed request, nor while the help desk is off).
    takes_replies: bool,
    closed: bool,
    may_open: bool,
    error: Option<String>,
    /// The reply as typed, when it was refused.
    text: String,
}

#[derive(Template)]
#[template(path = "portal_ticket_new.html")]
struct NewPage {
    frame: PortalFrame,
    subject: String,
    message: String,
    error: Option<String>,
}

/// A request that is not the customer's (another's, or none), in a page's words: the same
/// 404 for every reason, as the API's [`not_found`], without naming an API route.
fn no_such_request() -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        "You have no request at this address. Your overview lists your requests.",
    )
}

fn ticket_id(text: &str) -> ApiResult<TicketId> {
    TicketId::parse(text).ok_or_else(no_such_request)
}

/// What a refusal says next to the form: each field's problem in the form's words.
fn said(refused: &ApiError) -> String {
    if refused.errors.is_empty() {
        return refused.detail.clone();
    }
    refused
        .errors
        .iter()
        .map(|e| {
            let field = match e.field.as_str() {
                "subject" => "Subject",
                "message" | "body" => "Message",
                other => other,
            };
            format!("{field}: {}.", e.message)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn ticket_page_of(
    state: &AppState,
    actor: &PortalActor,
    thread: &Thread,
    error: Option<String>,
    text: String,
) -> TicketPage {
    let frame = PortalFrame::of(state, actor);
    let ticket = &thread.thread.ticket;
    let messages = thread
        .thread
        .messages
        .iter()
        .map(|m| {
            let (kind, who) = match m.from {
                MessageFrom::You => ("inbound", "You".to_owned()),
                MessageFrom::Team => ("reply", frame.brand.name.clone()),
            };
            Shown {
                id: m.id.clone(),
                kind,
                who,
                when: thread.local(m.created_at),
                body: m.body.clone(),
            }
        })
        .collect();
    TicketPage {
        id: ticket.id.clone(),
        subject: ticket.subject.clone(),
        status: ticket.status.replace('_', " "),
        opened: thread.local(ticket.created_at),
        messages,
        takes_replies: thread.takes_replies(actor),
        closed: !takes_replies(&ticket.status),
        may_open: app::may_write(actor),
        error,
        text,
        frame,
    }
}

async fn ticket_page(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    let thread = app::thread(&state, &actor, &id)
        .await?
        .ok_or_else(no_such_request)?;
    Ok(page(
        StatusCode::OK,
        &ticket_page_of(&state, &actor, &thread, None, String::new()),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReplyForm {
    body: String,
}

async fn reply_add(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = ticket_id(&id)?;
    let form: ReplyForm = crate::console::form(&headers, &body)?;
    let input = MessageIn { body: form.body };
    let refused = match app::reply(&state, &actor, &id, &input).await {
        Ok(_) => {
            let to = format!("/portal/{}/tickets/{id}", actor.workspace_slug);
            return Ok(see_other(&to, is_htmx(&headers)));
        }
        Err(e) if matches!(e.code, ErrorCode::Validation | ErrorCode::Conflict) => e,
        Err(e) if e.detail == not_found().detail => return Err(no_such_request()),
        Err(e) => return Err(Problem(e)),
    };
    // The request is the customer's (a request that is not answered 404 above): the page again,
    // with what was wrong and the text as typed.
    let thread = app::thread(&state, &actor, &id)
        .await?
        .ok_or_else(no_such_request)?;
    let status =
        StatusCode::from_u16(refused.code.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    Ok(page(
        status,
        &ticket_page_of(&state, &actor, &thread, Some(said(&refused)), input.body),
    ))
}

async fn new_page(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
) -> ApiResult<Response> {
    if !app::may_write(&actor) {
        return Err(Problem::new(
            ErrorCode::NotFound,
            "the helpdesk module is off in this workspace, so requests cannot be opened in its \
             client portal",
        ));
    }
    Ok(page(
        StatusCode::OK,
        &NewPage {
            frame: PortalFrame::of(&state, &actor),
            subject: String::new(),
            message: String::new(),
            error: None,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewForm {
    subject: String,
    message: String,
}

async fn ticket_open(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: NewForm = crate::console::form(&headers, &body)?;
    let input = PortalTicketIn {
        subject: form.subject,
        message: form.message,
    };
    match app::open_request(&state, &actor, &input).await {
        Ok(opened) => {
            let to = format!(
                "/portal/{}/tickets/{}",
                actor.workspace_slug, opened.ticket.id
            );
            Ok(see_other(&to, is_htmx(&headers)))
        }
        Err(refused) if refused.code == ErrorCode::Validation => Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPage {
                frame: PortalFrame::of(&state, &actor),
                error: Some(said(&refused)),
                subject: input.subject,
                message: input.message,
            },
        )),
        Err(refused) => Err(Problem(refused)),
    }
}
