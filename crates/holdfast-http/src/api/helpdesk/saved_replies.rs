//! `/api/v1/saved-replies`: the help desk's canned answers (helpdesk module). Reading them
//! needs `tickets.read`, changing them `tickets.write`. Placeholders are checked when saved and
//! filled in for one ticket by [`render_for`], for a reply or a preview; a contact field the
//! caller's role may not read renders as if it were missing (docs/design/helpdesk.md).

use crate::extract::{JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use holdfast_app::helpdesk::saved_replies::render_for;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::helpdesk::saved_replies::{
    PreviewOut, SavedReplyIn, SavedReplyOut, SavedReplyPatch,
};
use holdfast_core::ids::{SavedReplyId, TicketId};
use holdfast_store::Lock;
use holdfast_store::helpdesk::saved_replies as store;
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::TicketsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::TicketsWrite,
};

const PREVIEW_QUERY: &[QueryParam] = &[QueryParam {
    name: "ticket_id",
    description: "Render for this ticket (tk_…): its contact and subject",
    integer: false,
}];

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("saved-replies", summary);
    t.module(Module::Helpdesk, |t| {
        t.add(
            Method::GET,
            "/api/v1/saved-replies",
            READ,
            doc("List saved replies, oldest first")
                .query(&[LIMIT, CURSOR])
                .response::<Page<SavedReplyOut>>(200),
            get(saved_reply_list),
        );
        t.add(
            Method::POST,
            "/api/v1/saved-replies",
            WRITE,
            doc("Save a reply; its placeholders are checked")
                .request::<SavedReplyIn>()
                .response::<SavedReplyOut>(201),
            post(saved_reply_create),
        );
        t.add(
            Method::GET,
            "/api/v1/saved-replies/{id}",
            READ,
            doc("A saved reply").response::<SavedReplyOut>(200),
            get(saved_reply_get),
        );
        t.add(
            Method::PATCH,
            "/api/v1/saved-replies/{id}",
            WRITE,
            doc("Change a saved reply's name, body or shortcut")
                .request::<SavedReplyPatch>()
                .response::<SavedReplyOut>(200),
            patch(saved_reply_update),
        );
        t.add(
            Method::DELETE,
            "/api/v1/saved-replies/{id}",
            WRITE,
            doc("Delete a saved reply").no_content(),
            delete(saved_reply_delete),
        );
        t.add(
            Method::POST,
            "/api/v1/saved-replies/{id}/preview",
            READ,
            doc("The saved reply as it would be sent, for a ticket when ticket_id is given")
                .query(PREVIEW_QUERY)
                .response::<PreviewOut>(200),
            post(saved_reply_preview),
        );
    });
}

fn saved_reply_id(text: &str) -> ApiResult<SavedReplyId> {
    SavedReplyId::parse(text).ok_or_else(|| Problem::not_found("saved reply"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

async fn saved_reply_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<SavedReplyOut>>> {
    let (limit, after) = page_params(query.limit.as_deref(), query.cursor.as_deref())?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = store::list(&mut tx, after.as_deref(), limit + 1).await?;
    tx.commit().await?;
    Ok(Json(page_of(rows, limit, |r| r.id.clone())))
}

async fn saved_reply_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: JsonBody<SavedReplyIn>,
) -> ApiResult<(StatusCode, Json<SavedReplyOut>)> {
    let new = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let saved = store::create(&mut tx, &new, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

async fn saved_reply_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<SavedReplyOut>> {
    let id = saved_reply_id(&id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let saved = store::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Problem::not_found("saved reply"))?;
    tx.commit().await?;
    Ok(Json(saved))
}

async fn saved_reply_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    body: JsonBody<SavedReplyPatch>,
) -> ApiResult<Json<SavedReplyOut>> {
    let id = saved_reply_id(&id)?;
    let change = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let saved = store::update(&mut tx, &id, &change, now)
        .await?
        .ok_or_else(|| Problem::not_found("saved reply"))?;
    tx.commit().await?;
    Ok(Json(saved))
}

async fn saved_reply_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = saved_reply_id(&id)?;
    let mut tx = state.db.write(&actor.tenant).await?;
    if !store::delete(&mut tx, &id).await? {
        return Err(Problem::not_found("saved reply"));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    ticket_id: Option<String>,
}

async fn saved_reply_preview(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PreviewQuery>,
) -> ApiResult<Json<PreviewOut>> {
    let id = saved_reply_id(&id)?;
    let ticket_id = match query.ticket_id.as_deref() {
        Some(text) => {
            Some(TicketId::parse(text.trim()).ok_or_else(|| Problem::not_found("ticket"))?)
        }
        None => None,
    };
    let mut tx = state.db.read(&actor.tenant).await?;
    let saved = store::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Problem::not_found("saved reply"))?;
    let ticket = match &ticket_id {
        Some(tid) => Some(
            holdfast_store::helpdesk::tickets::get(&mut tx, tid, Lock::Read)
                .await?
                .ok_or_else(|| Problem::not_found("ticket"))?,
        ),
        None => None,
    };
    let body = render_for(&mut tx, &actor, &saved, ticket.as_ref()).await?;
    tx.commit().await?;
    Ok(Json(PreviewOut { body }))
}
