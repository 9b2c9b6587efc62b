//! `/api/portal/v1/jobs` (the client portal's realm, `Guard::Portal`): a signed-in customer's
//! own visits, listed (newest first, cursor paging) and one read whole as the customer may
//! read it — status in words, window in the workspace's zone, technicians' first names, the
//! notes left for them (`holdfast_app::portal::jobs`, the pages' view too). Another contact's
//! job, a malformed id and field service off in the workspace are one 404.

use crate::extract::{AnyId, QueryParams};
use crate::guard::{Guard, PortalAuthed};
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use holdfast_app::portal::jobs::{self as app, PortalJobDetailOut, PortalJobOut};
use holdfast_core::ids::JobId;
use holdfast_core::validate::Errors;
use serde::Deserialize;

const LIST_QUERY: &[QueryParam] = &[LIMIT, CURSOR];

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("portal", summary);
    t.add(
        Method::GET,
        "/api/portal/v1/jobs",
        Guard::Portal,
        doc("The signed-in customer's visits, newest first")
            .query(LIST_QUERY)
            .response::<Page<PortalJobOut>>(200),
        get(portal_job_list),
    );
    t.add(
        Method::GET,
        "/api/portal/v1/jobs/{id}",
        Guard::Portal,
        doc("One of the signed-in customer's visits: status, window, technicians' first names, notes for them")
            .response::<PortalJobDetailOut>(200),
        get(portal_job_get),
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

async fn portal_job_list(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<PortalJobOut>>> {
    let mut errors = Errors::default();
    let (limit, after) =
        page_params_into(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let after = after.and_then(|text| {
        let id = JobId::parse(&text);
        if id.is_none() {
            errors.push("cursor", "is not a cursor this API issued");
        }
        id
    });
    errors.finish(()).map_err(Problem::validation)?;
    let rows = app::list(&state, &actor, after.as_ref(), i64::from(limit) + 1).await?;
    Ok(Json(page_of(rows, limit, |j| j.id.clone())))
}

async fn portal_job_get(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    AnyId(id): AnyId,
) -> ApiResult<Json<PortalJobDetailOut>> {
    Ok(Json(app::get(&state, &actor, &id).await?))
}
