//! `/portal/{workspace_slug}/home`: a signed-in customer's overview: their own requests
//! (tickets, each linking to its page, and "New request"), visits (jobs) and invoices, read
//! through their scope (`holdfast_app::portal::overview`), each visit and invoice leading to
//! its own page (`jobs.rs`, `invoices.rs`).

use crate::console::portal::{PortalFrame, page};
use crate::guard::{Guard, PortalAuthed};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use holdfast_app::portal::overview::{self as app, InvoiceLine, JobLine, TicketLine};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/home",
        Guard::Portal,
        Doc::page(
            "Client portal",
            "A signed-in customer's requests, visits and invoices",
        ),
        get(home),
    );
}

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    frame: PortalFrame,
    /// "New request" is offered (the help desk is on).
    may_open: bool,
    /// The customer's requests, whether or not the help desk is on (reading them does not need
    /// it, as their pages do not); visits and invoices only while their module is on.
    tickets: Vec<TicketLine>,
    jobs: Option<Vec<JobLine>>,
    invoices: Option<Vec<InvoiceLine>>,
}

async fn home(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
) -> ApiResult<Response> {
    let overview = app::overview(&state, &actor).await?;
    Ok(page(
        StatusCode::OK,
        &HomePage {
            frame: PortalFrame::of(&state, &actor),
            may_open: holdfast_app::portal::tickets::may_write(&actor),
            tickets: overview.tickets,
            jobs: overview.jobs,
            invoices: overview.invoices,
        },
    ))
}
