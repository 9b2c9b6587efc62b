//! `Guard::Widget`: the guard of the website widget's public routes
//! (`/api/v1/widget/{key}/…`). In order: a per-address budget for the route; the key's shape
//! and its workspace (unknown key, disabled widget and help desk off are one 404); the
//! browser's `Origin` against the workspace's allowed origins (else 403, counted); for a
//! submission, budgets per address across all widgets and per key. The handler gets a
//! [`WidgetCaller`]; every answer to an allowed origin carries its CORS headers.
//! Threat note: docs/design/widget.md.

use crate::problem::{Problem, render};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use holdfast_core::access::modules::Module;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::helpdesk::widget::{is_key_shaped, origin_allowed};
use holdfast_store::Tenant;

use holdfast_app::metrics::Refusal;

/// The workspace behind a widget key, for a request from one of its allowed origins. Only
/// [`check`] makes one.
#[derive(Clone)]
pub struct WidgetCaller {
    pub tenant: Tenant,
    pub key: String,
    pub origin: String,
    pub identity_secret_sealed: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for WidgetCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<WidgetCaller>()
            .cloned()
            .ok_or_else(|| {
                tracing::error!(
                    "handler expects a widget caller but its route has no widget guard"
                );
                Problem(ApiError::internal())
            })
    }
}

/// The one answer for an unknown key, a disabled widget and a workspace without the help desk.
fn unknown() -> Response {
    Problem::new(
        ErrorCode::NotFound,
        "no website widget with this key; check data-key in the embed snippet",
    )
    .into_response()
}

fn limited(per_minute: u32, retry_after: u64, what: &str) -> Response {
    let mut err = ApiError::new(
        ErrorCode::RateLimited,
        format!("at most {per_minute} {what} per minute; retry after {retry_after} s"),
    );
    err.retry_after = Some(retry_after);
    render(&err)
}

async fn spend(app: &AppState, key: &str, per_minute: u32, burst: u32) -> Result<(), u64> {
    app.limiter
        .check(key, per_minute, burst, app.clock.now_ms())
        .await
}

/// A person may send two or three messages in a row; then the steady rate applies.
fn submit_burst(per_minute: u32) -> u32 {
    (per_minute / 4).max(3).min(per_minute)
}

/// Adds the CORS answer for an allowed origin: that origin only, never credentials.
fn allow(response: &mut Response, origin: &str) {
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

pub(crate) async fn check(
    app: &AppState,
    route: &'static str,
    module: Option<Module>,
    submit: bool,
    mut request: Request,
    next: Next,
) -> Response {
    let client = crate::extract::client_key(request.extensions());
    let per_route = app.config.public_rate_limit_per_minute;
    if let Err(retry_after) = spend(
        app,
        &format!("{route}|{client}"),
        per_route,
        (per_route / 10).max(1),
    )
    .await
    {
        app.metrics.widget_refused(Refusal::Rate.as_str());
        return limited(per_route, retry_after, "requests to this endpoint");
    }
    let key = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .nth(3)
        .unwrap_or_default()
        .to_owned();
    if !is_key_shaped(&key) {
        return unknown();
    }
    let target = match holdfast_store::helpdesk::widget::unscoped_widget_target(&app.db, &key).await
    {
        Ok(target) => target,
        // A suspended workspace's widget is not there, as a disabled one is not.
        Err(holdfast_store::StoreError::Suspended) => return unknown(),
        Err(e) => {
            tracing::error!(error = %e, "looking up a widget key failed");
            return Problem(ApiError::internal()).into_response();
        }
    };
    let Some(target) = target.filter(|t| t.enabled && module.is_none_or(|m| t.modules.contains(m)))
    else {
        return unknown();
    };
    let presented = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(origin) = origin_allowed(presented, &target.allowed_origins) else {
        return refuse_origin(app, &target.tenant, presented);
    };
    if submit && let Err(mut refused) = submit_budgets(app, &client, &key).await {
        app.metrics.widget_refused(Refusal::Rate.as_str());
        allow(&mut refused, &origin);
        return refused;
    }
    request.extensions_mut().insert(WidgetCaller {
        tenant: target.tenant,
        key,
        origin: origin.clone(),
        identity_secret_sealed: target.identity_secret_sealed,
    });
    let mut response = next.run(request).await;
    allow(&mut response, &origin);
    response
}

/// The 403 for a page whose origin the workspace does not allow, counted and logged.
fn refuse_origin(app: &AppState, tenant: &Tenant, presented: &str) -> Response {
    app.metrics.widget_refused(Refusal::Origin.as_str());
    tracing::warn!(
        workspace = %tenant.workspace_id(),
        origin = %presented.chars().take(200).collect::<String>(),
        "widget request from an origin that is not allowed refused"
    );
    let detail = if presented.is_empty() {
        "this endpoint answers only the website widget, from a page whose origin the workspace allows (no Origin header was sent)"
    } else {
        "this page's origin is not among the widget's allowed origins; an admin adds it under PUT /api/v1/widget"
    };
    Problem::new(ErrorCode::Forbidden, detail).into_response()
}

/// Whether a submission fits the budgets: per client address across every widget, then per
/// widget key from all addresses (spent only when the first allows it).
async fn submit_budgets(app: &AppState, client: &str, key: &str) -> Result<(), Response> {
    let per_ip = app.config.widget_rate_limit_per_ip;
    let per_key = app.config.widget_rate_limit_per_key;
    match spend(
        app,
        &format!("widget-ip|{client}"),
        per_ip,
        submit_burst(per_ip),
    )
    .await
    {
        Err(retry_after) => Err(limited(per_ip, retry_after, "messages from one address")),
        Ok(()) => spend(
            app,
            &format!("widget-key|{key}"),
            per_key,
            submit_burst(per_key),
        )
        .await
        .map_err(|retry_after| limited(per_key, retry_after, "messages to this website widget")),
    }
}
