//! `/api/portal/v1/preferences` and `/api/portal/v1/data/…` (the client portal's realm,
//! `Guard::Portal`): a signed-in customer's consent per channel (read, changed by `PATCH`, set
//! whole by `PUT`: logged as their own act, source `portal`), "download my data" (`POST
//! …/data/export`: a single-use link mailed to the address on file, never the data in the
//! answer) and "delete my data" (`POST …/data/erasure-request`: the request staff decide,
//! idempotent while one is open; `GET` for where it stands). Through
//! `holdfast_app::portal::privacy`, like the pages, which shares its functions with the
//! preference center. Every bad field is named (422) before anything is written.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::{Guard, PortalAuthed};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, patch, post, put};
use holdfast_app::portal::privacy::{self as app, PortalErasureOut, PortalExportOut};
use holdfast_core::crm::preferences::{PreferencesIn, PreferencesOut};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("portal", summary);
    t.add(
        Method::GET,
        "/api/portal/v1/preferences",
        Guard::Portal,
        doc("The signed-in customer's consent per channel, and whether they are on the do-not-contact list")
            .response::<PreferencesOut>(200),
        get(preferences_get),
    );
    t.add(
        Method::PATCH,
        "/api/portal/v1/preferences",
        Guard::Portal,
        doc("Change the customer's consent on the channels named (granted or denied; logged as their own act, source portal)")
            .request::<PreferencesIn>()
            .response::<PreferencesOut>(200),
        patch(preferences_patch),
    );
    t.add(
        Method::PUT,
        "/api/portal/v1/preferences",
        Guard::Portal,
        doc("Set the customer's consent on every channel (each granted or denied; logged as their own act, source portal)")
            .request::<PreferencesIn>()
            .response::<PreferencesOut>(200),
        put(preferences_put),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/data/export",
        Guard::Portal,
        doc("Ask for a copy of the customer's data: a single-use link valid for one hour is mailed to the address on file (not again within ten minutes)")
            .response::<PortalExportOut>(202),
        post(export_request),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/data/erasure-request",
        Guard::Portal,
        doc("Ask for the customer's data to be deleted: a request the business decides within 30 days (201; the open one, 200, while one is open)")
            .response::<PortalErasureOut>(201)
            .also(200),
        post(erasure_request_file),
    );
    t.add(
        Method::GET,
        "/api/portal/v1/data/erasure-request",
        Guard::Portal,
        doc("Where the customer's latest request to delete their data stands (status none when they never asked)")
            .response::<PortalErasureOut>(200),
        get(erasure_request_get),
    );
}

async fn preferences_get(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
) -> ApiResult<Json<PreferencesOut>> {
    Ok(Json(app::preferences(&state, &actor).await?))
}

/// A change of some channels (`PATCH`), or of every one (`PUT`).
async fn preferences_change(
    state: AppState,
    actor: holdfast_store::portal::auth::PortalActor,
    client: ClientInfo,
    body: PreferencesIn,
    whole: bool,
) -> ApiResult<Json<PreferencesOut>> {
    let choices = body.validate(whole).map_err(Problem::validation)?;
    let origin = audit::portal_origin(&actor, &client);
    Ok(Json(
        app::change_preferences(&state, &actor, &origin, &choices).await?,
    ))
}

async fn preferences_patch(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
    JsonBody { value: body, .. }: JsonBody<PreferencesIn>,
) -> ApiResult<Json<PreferencesOut>> {
    preferences_change(state, actor, client, body, false).await
}

async fn preferences_put(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
    JsonBody { value: body, .. }: JsonBody<PreferencesIn>,
) -> ApiResult<Json<PreferencesOut>> {
    preferences_change(state, actor, client, body, true).await
}

async fn export_request(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
) -> ApiResult<(StatusCode, Json<PortalExportOut>)> {
    let origin = audit::portal_origin(&actor, &client);
    let status = app::request_copy(&state, &actor, &origin).await?;
    Ok((StatusCode::ACCEPTED, Json(PortalExportOut { status })))
}

async fn erasure_request_file(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
) -> ApiResult<(StatusCode, Json<PortalErasureOut>)> {
    let origin = audit::portal_origin(&actor, &client);
    let (request, created) = app::request_erasure(&state, &actor, &origin).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(request)))
}

async fn erasure_request_get(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
) -> ApiResult<Json<PortalErasureOut>> {
    Ok(Json(app::erasure(&state, &actor).await?.out))
}
