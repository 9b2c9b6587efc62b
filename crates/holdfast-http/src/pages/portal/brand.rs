//! What a portal page loads to show its workspace's brand: `/portal/{workspace_slug}/logo`
//! (the logo, served as a picture that can never run as a page: `nosniff`, a sandboxing
//! policy) and `/portal/{workspace_slug}/brand.css` (the accent colour as custom properties;
//! a stylesheet of its own, so the strict CSP needs no inline style). Public, like the sign-in
//! pages that show them; a portal that is not there, or has no logo or colour, answers the
//! portal's one 404. Their addresses carry a version (`?v=`), so a change shows at once.

use crate::console::portal::gone;
use crate::download::file_response;
use crate::guard::{Guard, RateLimit};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use holdfast_app::portal::brand as app;

const VIEW: Guard = Guard::Public {
    rate_limit: RateLimit::Standard,
};

/// Browsers and proxies may keep both for an hour: their addresses change with them.
const CACHE: &str = "public, max-age=3600";

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Client portal", summary);
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/logo",
        VIEW,
        doc("The workspace's logo, as its portal pages show it"),
        get(logo),
    );
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/brand.css",
        VIEW,
        doc("The workspace's accent colour, as a stylesheet for its portal pages"),
        get(stylesheet),
    );
}

async fn logo(State(state): State<AppState>, Path(slug): Path<String>) -> ApiResult<Response> {
    let Some(logo) = app::logo(&state, &slug).await? else {
        return Ok(gone());
    };
    let name = format!(
        "logo.{}",
        logo.content_type.rsplit('/').next().unwrap_or("png")
    );
    let mut response = file_response(logo.bytes, &logo.content_type, &name, true);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(CACHE));
    Ok(response)
}

async fn stylesheet(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let Some(css) = app::stylesheet(&state, &slug).await? else {
        return Ok(gone());
    };
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static(CACHE)),
        ],
        css,
    )
        .into_response())
}
