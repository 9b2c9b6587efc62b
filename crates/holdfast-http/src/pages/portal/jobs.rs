//! `/portal/{workspace_slug}/jobs/{id}`: one of a signed-in customer's visits, as a job's
//! public link shows it (the same view, `holdfast_app::portal::jobs`, and the same template
//! part, `customer_job.html`): status in words, window in the workspace's zone, technicians'
//! first names, the notes left for the customer. Another contact's job, a malformed id and
//! field service off all answer the same 404 page.

use crate::console::portal::{PortalFrame, page};
use crate::extract::AnyId;
use crate::guard::{Guard, PortalAuthed};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use holdfast_app::portal::jobs as app;
use holdfast_core::field_service::jobs::JobStatus;

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/jobs/{id}",
        Guard::Portal,
        Doc::page(
            "Client portal",
            "One of the customer's visits: status, window, technicians' first names, notes",
        ),
        get(view_job),
    );
}

#[derive(Template)]
#[template(path = "portal_job.html")]
struct JobPage {
    frame: PortalFrame,
    title: String,
    status: String,
    on_the_way: bool,
    when: Option<String>,
    technicians: Option<String>,
    notes: Vec<(String, String)>,
}

fn local(text: &str) -> String {
    text.replacen('T', " ", 1)
}

async fn view_job(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    AnyId(id): AnyId,
) -> ApiResult<Response> {
    let job = app::get(&state, &actor, &id).await?;
    Ok(page(
        StatusCode::OK,
        &JobPage {
            frame: PortalFrame::of(&state, &actor),
            title: job.title,
            status: job.status_words,
            on_the_way: job.status == JobStatus::EnRoute,
            when: job.window.map(|w| {
                format!(
                    "{} to {} ({})",
                    local(&w.start_local),
                    local(&w.end_local),
                    w.time_zone
                )
            }),
            technicians: (!job.technicians.is_empty()).then(|| job.technicians.join(", ")),
            notes: job
                .notes
                .into_iter()
                .map(|n| (local(&n.at), n.body))
                .collect(),
        },
    ))
}
