//! A signed-in customer's consent preferences and their data in the client portal:
//! `/portal/{workspace_slug}/preferences` (each channel's status, as the preference center
//! shows it, with Yes/No, and "Unsubscribe from everything"; the form posts back, the
//! preference center's rules) and `/portal/{workspace_slug}/data` ("email me a download link":
//! the session alone is not enough, so a single-use link goes to the address on file; "ask to
//! delete my data": the request staff decide, with where it stands). Through
//! `holdfast_app::portal::privacy`, like the portal's API. The forms are htmx forms carrying
//! the session's CSRF token; a refused form comes back as the page saying what was wrong.

use crate::audit;
use crate::console::portal::{PortalFrame, page};
use crate::console::{is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Guard, PortalAuthed};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::portal::privacy::{self as app, ErasureStatus, ExportStatus};
use holdfast_core::crm::consent::{Channel, Status};
use holdfast_core::crm::preferences::{PreferencesOut, channel_label, choices_from_form};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_store::portal::auth::PortalActor;
use serde::Deserialize;

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Client portal", summary);
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/preferences",
        Guard::Portal,
        doc("The customer's contact preferences: each channel's consent, to change"),
        get(view_preferences),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/preferences",
        Guard::Portal,
        doc("Save the customer's contact preferences (or unsubscribe from everything)").redirect(),
        post(preferences_save),
    );
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/data",
        Guard::Portal,
        doc("The customer's data: a copy by a mailed link, and a deletion request with its status"),
        get(view_data),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/data/export",
        Guard::Portal,
        doc("Mail the customer a single-use link to a copy of their data").redirect(),
        post(data_export),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/data/erasure-request",
        Guard::Portal,
        doc("Ask for the customer's data to be deleted (the business decides within 30 days)")
            .redirect(),
        post(erasure_request),
    );
}

/// A channel as the page shows it.
struct ChannelRow {
    name: &'static str,
    label: &'static str,
    granted: bool,
    denied: bool,
    /// A grant waiting for the confirmation mailed to the customer.
    pending: bool,
}

#[derive(Template)]
#[template(path = "portal_preferences.html")]
struct PreferencesPage {
    frame: PortalFrame,
    action: String,
    channels: Vec<ChannelRow>,
    do_not_contact: bool,
    saved: bool,
    error: Option<String>,
}

fn preferences_page(
    state: &AppState,
    actor: &PortalActor,
    shown: &PreferencesOut,
    saved: bool,
    error: Option<String>,
) -> PreferencesPage {
    let channels = Channel::ALL
        .iter()
        .map(|c| {
            let status = shown
                .channels
                .get(c.as_str())
                .map_or(Status::Unknown, |p| p.status);
            ChannelRow {
                name: c.as_str(),
                label: channel_label(*c),
                granted: status == Status::Granted,
                denied: status == Status::Denied,
                pending: status == Status::Pending,
            }
        })
        .collect();
    PreferencesPage {
        frame: PortalFrame::of(state, actor),
        action: format!("/portal/{}/preferences", actor.workspace_slug),
        channels,
        do_not_contact: shown.do_not_contact,
        saved,
        error,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneQuery {
    done: Option<String>,
}

async fn view_preferences(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let shown = app::preferences(&state, &actor).await?;
    let saved = query.done.as_deref() == Some("saved");
    Ok(page(
        StatusCode::OK,
        &preferences_page(&state, &actor, &shown, saved, None),
    ))
}

/// What a refusal says above the form: each field in the page's words.
fn said(refused: &ApiError) -> String {
    if refused.errors.is_empty() {
        return refused.detail.clone();
    }
    refused
        .errors
        .iter()
        .map(|e| {
            let field: &str = match Channel::parse(&e.field) {
                Some(channel) => channel_label(channel),
                None => &e.field,
            };
            format!("{field}: {}.", e.message)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn preferences_save(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let pairs: Vec<(String, String)> = crate::console::form(&headers, &body)?;
    let choices = match choices_from_form(&pairs) {
        Ok(choices) => choices,
        Err(errors) => {
            // Nothing is written: the page again, with what was wrong.
            let shown = app::preferences(&state, &actor).await?;
            let refused = ApiError::validation(errors);
            return Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &preferences_page(&state, &actor, &shown, false, Some(said(&refused))),
            ));
        }
    };
    let origin = audit::portal_origin(&actor, &client);
    app::change_preferences(&state, &actor, &origin, &choices).await?;
    let to = format!("/portal/{}/preferences?done=saved", actor.workspace_slug);
    Ok(see_other(&to, is_htmx(&headers)))
}

/// The deletion request as the page shows it.
struct ErasureShown {
    open: bool,
    requested: String,
    due: String,
    decided: Option<String>,
    reason: Option<String>,
}

#[derive(Template)]
#[template(path = "portal_data.html")]
struct DataPage {
    frame: PortalFrame,
    export_path: String,
    erasure_path: String,
    erasure: Option<ErasureShown>,
    /// A new request may be filed (none open).
    may_ask: bool,
    done: Option<&'static str>,
    error: Option<String>,
}

async fn data_page(
    state: &AppState,
    actor: &PortalActor,
    status: StatusCode,
    done: Option<&'static str>,
    error: Option<String>,
) -> ApiResult<Response> {
    let erasure = app::erasure(state, actor).await?;
    let out = &erasure.out;
    let shown = match (out.status, out.requested_at, out.due_at) {
        (ErasureStatus::Open | ErasureStatus::Rejected, Some(requested), Some(due)) => {
            Some(ErasureShown {
                open: out.status == ErasureStatus::Open,
                requested: erasure.day(requested),
                due: erasure.day(due),
                decided: out.decided_at.map(|d| erasure.day(d)),
                reason: out.reason.clone(),
            })
        }
        _ => None,
    };
    let base = format!("/portal/{}/data", actor.workspace_slug);
    Ok(page(
        status,
        &DataPage {
            frame: PortalFrame::of(state, actor),
            export_path: format!("{base}/export"),
            erasure_path: format!("{base}/erasure-request"),
            may_ask: matches!(out.status, ErasureStatus::None | ErasureStatus::Rejected),
            erasure: shown,
            done,
            error,
        },
    ))
}

async fn view_data(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("mailed") => {
            Some("We sent a download link to your email address. It works once, for one hour.")
        }
        Some("already_mailed") => Some(
            "We sent a download link to your email address a few minutes ago. It works once, \
             for one hour.",
        ),
        Some("requested") => {
            Some("Your request is recorded: the business decides on it within 30 days.")
        }
        _ => None,
    };
    data_page(&state, &actor, StatusCode::OK, done, None).await
}

async fn data_export(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let origin = audit::portal_origin(&actor, &client);
    let done = match app::request_copy(&state, &actor, &origin).await {
        Ok(ExportStatus::Mailed) => "mailed",
        Ok(ExportStatus::AlreadyMailed) => "already_mailed",
        // No address to send it to: the page again, saying so.
        Err(e) if e.code == ErrorCode::Conflict => {
            return data_page(&state, &actor, StatusCode::CONFLICT, None, Some(e.detail)).await;
        }
        Err(e) => return Err(Problem(e)),
    };
    let to = format!("/portal/{}/data?done={done}", actor.workspace_slug);
    Ok(see_other(&to, is_htmx(&headers)))
}

async fn erasure_request(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let origin = audit::portal_origin(&actor, &client);
    app::request_erasure(&state, &actor, &origin).await?;
    let to = format!("/portal/{}/data?done=requested", actor.workspace_slug);
    Ok(see_other(&to, is_htmx(&headers)))
}
