//! `/api/portal/v1/tickets`: a signed-in customer's requests (tickets), for a portal built on
//! the API: their list (cursor paging like every list), one request with the messages they
//! may see (their own and the team's replies, never an internal note), opening a request and
//! replying to one. `Guard::Portal` (the portal's session cookie and, to change anything, its
//! CSRF token); through `holdfast_app::portal::tickets`, like the portal's pages. Another
//! customer's request is 404, as one that never existed.

use crate::extract::{JsonBody, QueryParams};
use crate::guard::{Guard, PortalAuthed};
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use holdfast_app::portal::tickets::{self as app, not_found};
use holdfast_core::helpdesk::tickets::MessageIn;
use holdfast_core::ids::TicketId;
use holdfast_core::portal::{PortalMessageOut, PortalThread, PortalTicketIn, PortalTicketOut};
use serde::Deserialize;

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("portal", summary);
    t.add(
        Method::GET,
        "/api/portal/v1/tickets",
        Guard::Portal,
        doc("The signed-in customer's requests, newest first")
            .query(&[LIMIT, CURSOR])
            .response::<Page<PortalTicketOut>>(200),
        get(ticket_list),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/tickets",
        Guard::Portal,
        doc("Open a request with a first message (a ticket of the customer's own contact)")
            .request::<PortalTicketIn>()
            .response::<PortalThread>(201),
        post(ticket_create),
    );
    t.add(
        Method::GET,
        "/api/portal/v1/tickets/{id}",
        Guard::Portal,
        doc("One of the customer's requests with its messages (theirs and the team's replies), oldest first")
            .response::<PortalThread>(200),
        get(ticket_get),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/tickets/{id}/replies",
        Guard::Portal,
        doc("Add the customer's message to one of their requests (reopens it when it waited or was resolved)")
            .request::<MessageIn>()
            .response::<PortalMessageOut>(201),
        post(reply_create),
    );
}

fn ticket_id(text: &str) -> ApiResult<TicketId> {
    TicketId::parse(text).ok_or_else(|| Problem(not_found()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

async fn ticket_list(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<PortalTicketOut>>> {
    let (limit, before) = page_params(query.limit.as_deref(), query.cursor.as_deref())?;
    let rows = app::list(&state, &actor, before.as_deref(), limit + 1).await?;
    Ok(Json(page_of(rows, limit, |t| t.id.clone())))
}

async fn ticket_get(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<PortalThread>> {
    let id = ticket_id(&id)?;
    let thread = app::thread(&state, &actor, &id)
        .await?
        .ok_or_else(|| Problem(not_found()))?;
    Ok(Json(thread.thread))
}

async fn ticket_create(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    JsonBody { value: body, .. }: JsonBody<PortalTicketIn>,
) -> ApiResult<(StatusCode, Json<PortalThread>)> {
    let opened = app::open_request(&state, &actor, &body).await?;
    Ok((StatusCode::CREATED, Json(opened)))
}

async fn reply_create(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    Path(id): Path<String>,
    JsonBody { value: body, .. }: JsonBody<MessageIn>,
) -> ApiResult<(StatusCode, Json<PortalMessageOut>)> {
    let id = ticket_id(&id)?;
    let message = app::reply(&state, &actor, &id, &body).await?;
    Ok((StatusCode::CREATED, Json(message)))
}
