//! The client portal API's CORS answers (`/api/portal/…` only): [`answer`] at the edge for
//! preflights and for answers no signed-in customer's workspace decided, and [`allow`] for
//! `Guard::Portal`, which decides by the customer's own workspace and marks its answer
//! [`Decided`]. Threat note: docs/design/portal.md ("API clients and other sites").

use crate::problem::render;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use holdfast_core::error::{ApiError, ErrorCode};

/// The path prefix of the client portal's API.
pub(crate) const PORTAL_API: &str = "/api/portal/";

/// Marks an answer whose CORS headers the portal guard decided (by the signed-in customer's
/// workspace), so the edge adds none of its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decided;

/// The client portal API's CORS (`/api/portal/…` only; the instance-wide list does not apply
/// there, and these origins never reach a staff route). A workspace lists the origins whose
/// pages may call its portal API (its portal settings); answers never allow credentials, so a
/// page of another site calls with a portal access token, never with the portal's cookie.
/// A preflight names no workspace: it is answered for an origin some workspace lists. A
/// signed-in customer's answer was decided by the portal guard (their own workspace's list);
/// any other answer (signing in, a refused credential) is readable by an origin some
/// workspace lists, so a page can see a 401 and refresh its token.
pub(crate) async fn answer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with(PORTAL_API) {
        return next.run(request).await;
    }
    let Some(origin) = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return next.run(request).await;
    };
    let listed = match holdfast_app::portal::origins::listed_anywhere(&state, &origin).await {
        Ok(listed) => listed,
        Err(e) => return render(&e),
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !listed {
            return render(&ApiError::new(
                ErrorCode::Forbidden,
                "this origin may not call the client portal's API: a workspace lists the \
                 origins allowed to in its portal settings (PUT /api/v1/portal/settings)",
            ));
        }
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = axum::http::StatusCode::NO_CONTENT;
        allow(&mut response, &origin);
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, idempotency-key, x-request-id"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let mut response = next.run(request).await;
    let decided = response.extensions().get::<Decided>().is_some();
    if listed && !decided {
        allow(&mut response, &origin);
    }
    response
}

/// Lets pages of `origin` read this answer: that origin only, never credentials.
pub(crate) fn allow(response: &mut Response, origin: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After, X-Request-Id"),
    );
}
