//! `/p/jobs/{token}`: a job's public page for the customer, opened with the link a member
//! issued (`POST /api/v1/jobs/{id}/public-link`). The token is the credential; the route is
//! public, limited per client address. The page shows what `holdfast_app::field_service::
//! public_links::job_page` gives it, and "on the way" while the job is en route. A link that
//! opens nothing (malformed, unknown, revoked, expired, field service off) answers one 404
//! page, byte for byte the same. Every answer: `noindex` (header and meta), no referrer, the
//! console's policy, not cached.

use crate::console;
use crate::guard::{Guard, RateLimit};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::State;
use axum::http::header::REFERRER_POLICY;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use holdfast_app::field_service::public_links::{self as app, JobPage};
use holdfast_core::field_service::jobs::JobStatus;

const PUBLIC: Guard = Guard::Public {
    rate_limit: RateLimit::Standard,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/p/jobs/{token}",
        PUBLIC,
        Doc::page(
            "Public links",
            "A job's page for the customer: status, window, technician's first name",
        ),
        get(view_job_link),
    );
}

#[derive(Template)]
#[template(path = "public_job.html")]
struct JobLinkPage {
    workspace: String,
    title: String,
    status: &'static str,
    on_the_way: bool,
    when: Option<String>,
    technicians: Option<String>,
    notes: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "public_gone.html")]
struct GonePage;

/// A public page's answer: the console's HTML answer, kept out of search engines and
/// referrers.
fn public(response: Response) -> Response {
    let mut response = response;
    let headers = response.headers_mut();
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    response
}

/// The one answer to a link that opens nothing.
fn gone() -> Response {
    public(console::render(StatusCode::NOT_FOUND, &GonePage))
}

fn local(text: &str) -> String {
    text.replacen('T', " ", 1)
}

async fn view_job_link(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    // The token as sent, not percent-decoded: a link's token is base62, so anything else
    // (undecodable bytes included) fails its shape check and meets the same 404 — a `Path`
    // extractor would answer those with its own 400.
    let token = uri.path().strip_prefix("/p/jobs/").unwrap_or_default();
    let Some(page) = app::job_page(&state, token).await? else {
        return Ok(gone());
    };
    let JobPage {
        workspace,
        title,
        status,
        status_words,
        window,
        technicians,
        notes,
    } = page;
    let page = JobLinkPage {
        workspace,
        title,
        status: status_words,
        on_the_way: status == JobStatus::EnRoute,
        when: window.map(|w| {
            format!(
                "{} to {} ({})",
                local(&w.start_local),
                local(&w.end_local),
                w.time_zone
            )
        }),
        technicians: (!technicians.is_empty()).then(|| technicians.join(", ")),
        notes: notes
            .into_iter()
            .map(|(at, body)| (local(&at), body))
            .collect(),
    };
    Ok(public(console::render(StatusCode::OK, &page)))
}
