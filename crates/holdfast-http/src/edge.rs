//! The HTTP edge, around every route and the fallback: request id, security headers, CORS,
//! body limit, timeout, panic catching, metrics, access log, and problem+json for any error
//! response that some layer produced without one.

use crate::problem::{PROBLEM_JSON, REQUEST_ID, render};
use crate::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use holdfast_core::client_addr::{ClientAddr, Forwarding, Proto, client_addr};
use holdfast_core::error::{ApiError, ErrorCode};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

const IMPORT_PATH: &str = "/api/v1/contacts/imports";
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a router in the edge. Used for the app and, in tests, for synthetic routers.
pub fn with_edge(router: Router, state: AppState) -> Router {
    let limit = state.config.body_limit_bytes;
    // A CSV import and a job's file are the bodies allowed to be larger (their handlers read
    // them with their own caps), from the API or the console's forms; every other request
    // keeps the configured limit.
    let import_limit = limit.max(holdfast_core::crm::contact_import::MAX_IMPORT_BYTES);
    let import_form_limit = limit.max(crate::console::IMPORT_FORM_LIMIT);
    // A job's photo or file (`/api/v1/jobs/{id}/files`, the console's `/app/jobs/{id}/files`):
    // one file of up to 10 MiB in a form, read by its handler with its own caps.
    let upload_limit = limit.max(holdfast_core::field_service::files::UPLOAD_BODY_LIMIT);
    let router = router
        .fallback(fallback)
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| async move {
                let path = request.uri().path();
                let cap = if request.method() != Method::POST {
                    limit
                } else if path == IMPORT_PATH {
                    import_limit
                } else if path.starts_with(crate::console::IMPORT_FORM_PREFIX) {
                    import_form_limit
                } else if holdfast_core::field_service::files::is_upload_path(path) {
                    upload_limit
                } else {
                    limit
                };
                let declared = request
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if declared.is_some_and(|n| n > cap as u64) {
                    return render(&ApiError::new(
                        ErrorCode::PayloadTooLarge,
                        format!("the request body exceeds the size limit of {cap} bytes"),
                    ));
                }
                // A body without a declared length is cut off at the cap while it is read.
                let request = request
                    .map(|body| axum::body::Body::new(http_body_util::Limited::new(body, cap)));
                next.run(request).await
            },
        ))
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                tracing::error!("handler panicked");
                render(&ApiError::internal())
            },
        ))
        // gzip or brotli when the client asks (browsers do; API clients that do not ask get
        // plain bodies). The default predicate leaves the live event stream, images and tiny
        // bodies alone; level 5 keeps the CPU cost small.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Precise(5)),
        );
    let router = match cors(&state.config.cors_allowed_origins) {
        // The widget's public routes answer CORS themselves, for each workspace's own allowed
        // origins (widget_guard.rs); the instance-wide list is for the console and API clients.
        Some(layer) => router.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let layer = layer.clone();
                async move {
                    let path = request.uri().path();
                    if path.starts_with("/api/v1/widget/wgt_")
                        || path.starts_with(crate::portal_cors::PORTAL_API)
                    {
                        next.run(request).await
                    } else {
                        use tower::{Layer as _, ServiceExt as _};
                        match layer.layer(next).oneshot(request).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        }
                    }
                }
            },
        )),
        None => router,
    };
    router
        .layer(from_fn_with_state(
            state.clone(),
            crate::portal_cors::answer,
        ))
        .layer(from_fn_with_state(state, edge))
}

/// One connection's service: the router behind the edge, told the TCP peer. What a
/// TLS acceptor (`tls.rs`) hands each connection to.
pub type PeerService = axum::middleware::AddExtension<Router, ConnectInfo<SocketAddr>>;

/// The service per connection for `router` behind the edge, with the TCP peer recorded for
/// `decide_client`.
pub fn make_service(
    router: Router,
    state: AppState,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, SocketAddr> {
    with_edge(router, state).into_make_service_with_connect_info::<SocketAddr>()
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                X_REQUEST_ID,
            ])
            .expose_headers([X_REQUEST_ID])
            .max_age(Duration::from_secs(600)),
    )
}

async fn fallback() -> Response {
    render(&ApiError::new(
        ErrorCode::NotFound,
        "no such route; see /api/v1/openapi.json",
    ))
}

/// Accepts a caller's request id when it is short and plain; otherwise makes one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()))
}

/// Decides the request's client address once, for every limit, log line and record after it:
/// the TCP peer, or what a trusted proxy's forwarding headers say (`holdfast_core::client_addr`).
fn decide_client(request: &Request, state: &AppState) -> Option<ClientAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    let headers = request.headers();
    // A header value that is not visible ASCII cannot be read: "?" stands in, so a trusted
    // proxy's list fails to parse as a whole and the peer is the client.
    let lines = |name: &str| -> Vec<&str> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("?"))
            .collect()
    };
    let (forwarded, xff, xfp) = (
        lines("forwarded"),
        lines("x-forwarded-for"),
        lines("x-forwarded-proto"),
    );
    Some(client_addr(
        peer,
        Forwarding {
            forwarded: &forwarded,
            x_forwarded_for: &xff,
            x_forwarded_proto: &xfp,
        },
        &state.trusted_proxies,
    ))
}

async fn edge(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let client = decide_client(&request, &state);
    if let Some(client) = client {
        request.extensions_mut().insert(client);
    }
    let id = request_id(&request);
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let uri = request.uri().clone();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let timeout = Duration::from_millis(state.config.request_timeout_ms);
    let response = REQUEST_ID
        .scope(id.clone(), async {
            let mut response = match tokio::time::timeout(timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!("request timed out");
                    render(&ApiError::new(
                        ErrorCode::Timeout,
                        "the server did not finish this request in time; it may be retried",
                    ))
                }
            };
            if response.status().as_u16() >= 400 && !is_problem(&response) && !is_page(&response) {
                response = problem_for_bare_error(response, &method);
            }
            response
        })
        .instrument(span.clone())
        .await;
    let mut response = response;
    let https_unknown_or_yes = client.is_none_or(|c| c.proto != Some(Proto::Http));
    secure_headers(&mut response, &state, &id, https_unknown_or_yes);
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state
        .metrics
        .record(method.as_str(), &route, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            target: "holdfast::access",
            uri = %uri,
            client = %client.map(|c| c.ip.to_string()).unwrap_or_default(),
            status,
            latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "request"
        );
    });
    response
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// A console page that says what went wrong (it carries the console's policy): left as it is.
fn is_page(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .is_some_and(|v| v.as_bytes() == crate::console::CSP.as_bytes())
}

/// Framework layers (405, 413 …) answer with bare bodies; give them the same problem shape.
fn problem_for_bare_error(response: Response, method: &Method) -> Response {
    let status = response.status().as_u16();
    let code = ErrorCode::for_status(status);
    let detail = match code {
        ErrorCode::MethodNotAllowed => {
            format!("this path does not accept {method}; the Allow header lists what it does")
        }
        ErrorCode::PayloadTooLarge => "the request body exceeds the size limit".to_owned(),
        _ => code.title().to_owned(),
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut rendered = render(&ApiError::new(code, detail));
    *rendered.status_mut() = response.status();
    if let Some(allow) = allow {
        rendered.headers_mut().insert(header::ALLOW, allow);
    }
    rendered
}

/// `maybe_https` is false only when a trusted proxy said the client used plain HTTP, where an
/// HSTS header means nothing (RFC 6797 §7.2).
fn secure_headers(response: &mut Response, state: &AppState, id: &str, maybe_https: bool) {
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    // A page that needs more (the preference center posts its own form) sets its own policy.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            h,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        );
    }
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    // Console pages say `same-origin`: a browser then names this origin on their forms
    // (with `no-referrer` it sends `Origin: null`, which the sign-in form refuses).
    if !h.contains_key(header::REFERRER_POLICY) {
        set(h, header::REFERRER_POLICY, "no-referrer");
    }
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    // The widget's script is loaded by other sites' pages and sets its own policy.
    let corp = HeaderName::from_static("cross-origin-resource-policy");
    if !h.contains_key(&corp) {
        set(h, corp, "same-origin");
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    // Two years and every subdomain (what the preload lists require); the plain listener that
    // redirects to HTTPS never reaches this edge, so HSTS only rides on HTTPS answers.
    if state.config.hsts && maybe_https {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            if state.config.hsts_preload {
                "max-age=63072000; includeSubDomains; preload"
            } else {
                "max-age=63072000; includeSubDomains"
            },
        );
    }
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert(X_REQUEST_ID, v);
    }
}
