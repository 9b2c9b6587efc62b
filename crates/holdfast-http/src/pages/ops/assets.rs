//! The console's static files, compiled into the binary: htmx (vendored from npm, pinned; the
//! browser test checks the copy against the package), the console's stylesheet and script.
//! Cached for a day; no file is ever generated at runtime.

use crate::guard::{Guard, RateLimit};
use crate::table::{Doc, RouteTable};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// htmx 2.0.11 (`htmx.org` on npm), unchanged.
pub const HTMX: &str = include_str!("../../../assets/htmx.min.js");
const CSS: &str = include_str!("../../../assets/console.css");
const JS: &str = include_str!("../../../assets/console.js");

const PUBLIC: Guard = Guard::Public {
    rate_limit: RateLimit::Probe,
};

pub fn routes(t: &mut RouteTable) {
    for (path, summary, handler) in [
        (
            "/assets/htmx.min.js",
            "htmx, the console's script library",
            get(htmx),
        ),
        ("/assets/console.css", "The console's stylesheet", get(css)),
        ("/assets/console.js", "The console's script", get(js)),
    ] {
        t.add(
            Method::GET,
            path,
            PUBLIC,
            Doc::page("Console", summary),
            handler,
        );
    }
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

async fn htmx() -> Response {
    file("text/javascript; charset=utf-8", HTMX)
}

async fn css() -> Response {
    file("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    file("text/javascript; charset=utf-8", JS)
}
