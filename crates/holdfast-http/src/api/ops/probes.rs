//! Operations endpoints: liveness, readiness, metrics, security.txt and the OpenAPI document.

use crate::guard::{Guard, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use holdfast_core::error::ErrorCode;
use holdfast_core::token::constant_time_eq;
use schemars::JsonSchema;
use serde::Serialize;

/// Probes are polled often by orchestrators; give them room.
const PROBE: Guard = Guard::Public {
    rate_limit: RateLimit::Probe,
};

#[derive(Serialize, JsonSchema)]
pub struct StatusOut {
    pub status: &'static str,
}

/// Readiness, with what an operator should look at without taking the instance out of
/// service (a scheduled backup older than 36 hours).
#[derive(Serialize, JsonSchema)]
pub struct ReadyOut {
    pub status: &'static str,
    pub warnings: Vec<String>,
}

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::POST,
        "/internal/cron/tick",
        Guard::Cron,
        Doc::new(
            "operations",
            "For schedulers: run due background jobs (at most 100) and the queue's upkeep now",
        )
        .response::<holdfast_app::worker::TickOut>(200),
        axum::routing::post(cron_tick),
    );
    t.add(
        Method::GET,
        "/healthz",
        PROBE,
        Doc::new("operations", "Liveness: the process is serving").response::<StatusOut>(200),
        get(view_healthz),
    );
    t.add(
        Method::GET,
        "/readyz",
        PROBE,
        Doc::new(
            "operations",
            "Readiness: the database answers and migrations are current (`warnings`: a \
             scheduled backup older than 36 hours, when backups are configured)",
        )
        .response::<ReadyOut>(200),
        get(view_readyz),
    );
    t.add(
        Method::GET,
        "/metrics",
        PROBE,
        Doc::new(
            "operations",
            "Prometheus metrics (with `metrics_token` set: only for `Authorization: Bearer <metrics_token>`)",
        )
        .text("text/plain; version=0.0.4"),
        get(view_metrics),
    );
    t.add(
        Method::GET,
        "/.well-known/security.txt",
        Guard::Public {
            rate_limit: RateLimit::Standard,
        },
        Doc::new("operations", "Security contact (RFC 9116)").text("text/plain; charset=utf-8"),
        get(view_security_txt),
    );
    t.add(
        Method::GET,
        "/api/v1/openapi.json",
        Guard::Public {
            rate_limit: RateLimit::Standard,
        },
        Doc::new("operations", "This API's OpenAPI 3.1 description").text("application/json"),
        get(view_openapi),
    );
}

async fn view_healthz() -> axum::Json<StatusOut> {
    axum::Json(StatusOut { status: "ok" })
}

async fn view_readyz(State(state): State<AppState>) -> ApiResult<axum::Json<ReadyOut>> {
    state
        .db
        .readiness()
        .await
        .map_err(|reason| Problem::new(ErrorCode::Unavailable, reason))?;
    let warnings = holdfast_app::backup::schedule::staleness(state.app())
        .await
        .map(|w| format!("backup: {w}"))
        .into_iter()
        .collect();
    Ok(axum::Json(ReadyOut {
        status: "ready",
        warnings,
    }))
}

/// With `metrics_token` configured, the scraper must send it as a bearer token (compared in
/// constant time); a missing or wrong one is 401 and nothing is rendered. Unset: open, for
/// scrapers on a private network.
async fn view_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(crate::guard::bearer_token);
        match sent {
            None => {
                return Problem::new(
                    ErrorCode::AuthMissing,
                    "metrics need Authorization: Bearer <metrics_token>",
                )
                .into_response();
            }
            Some(sent) if !constant_time_eq(sent, token.expose()) => {
                return Problem::new(
                    ErrorCode::AuthInvalid,
                    "this bearer token is not the configured metrics_token",
                )
                .into_response();
            }
            Some(_) => {}
        }
    }
    let body = state
        .metrics
        .render(state.db.pool_stats(), state.clock.now_ms());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// RFC 9116: Contact and Expires are required; Expires is a year ahead of now.
async fn view_security_txt(State(state): State<AppState>) -> Response {
    let year_ms: i64 = 364 * 24 * 60 * 60 * 1000;
    let expires = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(state.clock.now_ms() + year_ms) * 1_000_000,
    )
    .ok()
    .and_then(|t| t.replace_nanosecond(0).ok())
    .and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_default();
    let body = format!(
        "Contact: {}\nExpires: {expires}\nPreferred-Languages: en\n",
        state.config.security_contact
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn view_openapi(State(state): State<AppState>) -> Response {
    let mut response = state.openapi.as_str().to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `POST /internal/cron/tick`: for deployments that run no long-lived worker (or want upkeep
/// on a schedule of their own).
///
/// The tick runs in its own task: a scheduler that hangs up (or the request timeout) must not
/// abort jobs halfway, after a delivery went out but before it was recorded.
async fn cron_tick(
    State(state): State<AppState>,
) -> ApiResult<axum::Json<holdfast_app::worker::TickOut>> {
    let ran = tokio::spawn(async move { holdfast_app::worker::tick(&state, 100).await }).await;
    ran.map(axum::Json).map_err(|e| {
        tracing::error!(error = %e, "the scheduler tick failed");
        Problem::new(ErrorCode::Internal, "the tick failed; see the server log")
    })
}
