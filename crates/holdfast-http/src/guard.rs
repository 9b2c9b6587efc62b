//! Guards: the middleware every route is wrapped in, chosen by its declared [`Guard`], and the
//! [`Authed`] extractor that hands the guard's [`Actor`] to handlers.
//! Threat note: docs/design/guards.md.

use crate::cookies::{check_csrf, is_state_changing};
use crate::problem::{Problem, render};
use crate::routes::{Guard, RateLimit};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use holdfast_core::access::modules::Module;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::token::parse_opaque;
use holdfast_core::token::{API_KEY_PREFIX, parse_api_key};
use holdfast_store::identity::COOKIE_PREFIX;
use holdfast_store::identity::auth::{
    Actor, Principal, authenticate_access_token, authenticate_api_key, authenticate_session_cookie,
};

#[derive(Clone)]
pub(crate) struct GuardState {
    app: AppState,
    guard: Guard,
    route: &'static str,
    module: Option<Module>,
}

/// Wraps one route's handler in the middleware of its declared guard.
pub(crate) fn guarded(
    handler: MethodRouter<AppState>,
    app: AppState,
    guard: Guard,
    route: &'static str,
    module: Option<Module>,
) -> MethodRouter<AppState> {
    handler.route_layer(from_fn_with_state(
        GuardState {
            app,
            guard,
            route,
            module,
        },
        run_guard,
    ))
}

async fn run_guard(State(state): State<GuardState>, mut request: Request, next: Next) -> Response {
    let actor = match state.guard {
        Guard::Public { rate_limit } => {
            if let Err(refused) = public_limit(&state, &request, rate_limit).await {
                return refused;
            }
            return next.run(request).await;
        }
        Guard::Signed => {
            // Budgeted per receiver (provider and workspace) and address: providers deliver
            // from a few shared addresses, which must not share one budget across workspaces.
            let receiver = request.uri().path().to_owned();
            let client = client_address(&request);
            if let Err(refused) =
                client_limit(&state, format!("{receiver}|{client}"), RateLimit::Standard).await
            {
                return refused;
            }
            return match crate::signed::verify_hook(&state.app, state.module, request).await {
                Ok(request) => next.run(request).await,
                Err(refused) => refused,
            };
        }
        Guard::Widget { submit } => {
            return crate::widget_guard::check(
                &state.app,
                state.route,
                state.module,
                submit,
                request,
                next,
            )
            .await;
        }
        Guard::Cron => {
            if let Err(refused) = public_limit(&state, &request, RateLimit::Standard).await {
                return refused;
            }
            return match crate::signed::check_cron(&state.app, request.headers()) {
                Ok(()) => next.run(request).await,
                Err(refused) => refused.into_response(),
            };
        }
        Guard::Staff { permission } | Guard::StaffStepUp { permission } => {
            match authenticate(&state.app, request.headers(), request.method()).await {
                Err(problem) => return problem.into_response(),
                // A module that is off answers 404 before any permission is weighed.
                Ok(actor) if state.module.is_some_and(|m| !actor.modules.contains(m)) => actor,
                Ok(actor) if !actor.role.grants(permission) => {
                    return Problem::new(
                        ErrorCode::Forbidden,
                        format!(
                            "this credential's role ({}) lacks the permission {}",
                            actor.role.as_str(),
                            permission.as_str()
                        ),
                    )
                    .into_response();
                }
                Ok(actor) if actor.must_enrol_2fa => {
                    return Problem::new(
                        ErrorCode::EnrolmentRequired,
                        "this workspace requires two-factor sign-in: enrol at POST /api/v1/auth/2fa/enroll, then sign in again",
                    )
                    .into_response();
                }
                Ok(actor) => {
                    if matches!(state.guard, Guard::StaffStepUp { .. })
                        && !recently_stepped_up(&actor, state.app.clock.now_ms())
                    {
                        return Problem::new(
                            ErrorCode::StepUpRequired,
                            "this action needs a recent sign-in: confirm your password at POST /api/v1/auth/step-up, then retry",
                        )
                        .into_response();
                    }
                    actor
                }
            }
        }
        Guard::User => match authenticate(&state.app, request.headers(), request.method()).await {
            Err(problem) => return problem.into_response(),
            Ok(actor) if !matches!(actor.principal, Principal::User { .. }) => {
                return Problem::new(
                    ErrorCode::Forbidden,
                    "this endpoint acts on a signed-in user's own account; API keys have none",
                )
                .into_response();
            }
            Ok(actor) => actor,
        },
    };
    if let Some(module) = state.module.filter(|m| !actor.modules.contains(*m)) {
        return Problem::new(
            ErrorCode::NotFound,
            format!(
                "the {} module is off in this workspace; someone with settings.security can turn it on (PATCH /api/v1/modules)",
                module.as_str()
            ),
        )
        .into_response();
    }
    if let Err(problem) = check_api_limit(&state.app, &actor).await {
        return problem.into_response();
    }
    request.extensions_mut().insert(actor);
    next.run(request).await
}

/// The per-route, per-client-address budget of an unauthenticated route.
fn public_limit(
    state: &GuardState,
    request: &Request,
    rate_limit: RateLimit,
) -> impl std::future::Future<Output = Result<(), Response>> + Send {
    let client = client_address(request);
    let state = state.clone();
    async move { client_limit(&state, client, rate_limit).await }
}

/// The client address the edge decided (honouring `trusted_proxies`).
fn client_address(request: &Request) -> String {
    crate::extract::client_key(request.extensions())
}

async fn client_limit(
    state: &GuardState,
    client: String,
    rate_limit: RateLimit,
) -> Result<(), Response> {
    let config = &state.app.config;
    let (per_minute, burst) = match rate_limit {
        RateLimit::Standard => (
            config.public_rate_limit_per_minute,
            config.public_rate_limit_per_minute / 10,
        ),
        RateLimit::Auth => (
            config.auth_rate_limit_per_minute,
            (config.auth_rate_limit_per_minute / 30).max(10),
        ),
        RateLimit::Probe => {
            let n = config.public_rate_limit_per_minute.saturating_mul(10);
            (n, n / 10)
        }
        RateLimit::PerMinute(n) => (n, n / 10),
    };
    let key = format!("{}|{client}", state.route);
    if let Err(retry_after) = state
        .app
        .limiter
        .check(&key, per_minute, burst, state.app.clock.now_ms())
        .await
    {
        let mut err = ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "at most {per_minute} requests per minute to this endpoint; retry after {retry_after} s"
            ),
        );
        err.retry_after = Some(retry_after);
        return Err(render(&err));
    }
    Ok(())
}

/// How long a step-up lasts.
pub const STEP_UP_WINDOW_MS: i64 = 10 * 60 * 1000;

fn recently_stepped_up(actor: &Actor, now_ms: i64) -> bool {
    match &actor.principal {
        Principal::ApiKey(_) => true,
        Principal::User { stepped_up_at, .. } => {
            stepped_up_at.is_some_and(|t| now_ms - t < STEP_UP_WINDOW_MS)
        }
    }
}

/// The general API budget, per credential: an API key, or a user across their sessions.
async fn check_api_limit(app: &AppState, actor: &Actor) -> Result<(), Problem> {
    let per_minute = app.config.api_rate_limit_per_minute;
    let who = match &actor.principal {
        Principal::ApiKey(id) => id.as_str(),
        Principal::User { user_id, .. } => user_id.as_str(),
    };
    let key = format!("api|{who}");
    app.limiter
        .check(&key, per_minute, (per_minute / 30).max(10), app.clock.now_ms())
        .await
        .map_err(|retry_after| {
            let mut err = ApiError::new(
                ErrorCode::RateLimited,
                format!("at most {per_minute} requests per minute per credential; retry after {retry_after} s"),
            );
            err.retry_after = Some(retry_after);
            Problem(err)
        })
}

/// A Bearer credential (an API key `hf_live_…` or a user's access token, a JWT) or, without
/// one, a console session cookie, which also needs the CSRF token on state-changing requests.
async fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Actor, Problem> {
    let invalid = || {
        Problem::new(
            ErrorCode::AuthInvalid,
            "the credential is malformed, unknown, expired or revoked",
        )
    };
    let now = app.clock.now_ms();
    let Some(value) = headers.get(AUTHORIZATION) else {
        let Some(cookie) = app.cookies.session(headers) else {
            return Err(Problem::new(
                ErrorCode::AuthMissing,
                "send an API key or an access token as 'Authorization: Bearer …', or sign in to the console",
            ));
        };
        let hash = parse_opaque(COOKIE_PREFIX, cookie).ok_or_else(invalid)?;
        let actor = authenticate_session_cookie(&app.db, &hash, now)
            .await?
            .ok_or_else(|| {
                tracing::info!("session cookie rejected");
                invalid()
            })?;
        if is_state_changing(method) {
            let session = match &actor.principal {
                Principal::User { session_id, .. } => session_id.as_str(),
                Principal::ApiKey(_) => "",
            };
            if let Err(why) = check_csrf(&app.cookies, &app.csrf, session, headers) {
                tracing::warn!("console request without a valid CSRF token refused");
                return Err(Problem::new(ErrorCode::CsrfRejected, why));
            }
        }
        return Ok(actor);
    };
    let token = bearer_token(value).ok_or_else(invalid)?;
    let actor = if token.starts_with(API_KEY_PREFIX) {
        let presented = parse_api_key(token).ok_or_else(invalid)?;
        authenticate_api_key(&app.db, &presented, now).await?
    } else if token.bytes().filter(|b| *b == b'.').count() == 2 {
        authenticate_access_token(&app.db, &app.keys, token, now).await?
    } else {
        None
    };
    actor.ok_or_else(|| {
        tracing::info!("credential rejected");
        invalid()
    })
}

/// The authenticated actor of an `ApiKey`-guarded route.
pub struct Authed(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .map(Authed)
            .ok_or_else(|| {
                tracing::error!(
                    "handler expects an authenticated actor but its route has no credential guard"
                );
                Problem(ApiError::internal())
            })
    }
}

/// The token of an `Authorization: Bearer …` header (the scheme name in any case, RFC 7235),
/// or `None` for another scheme or a header that is not text.
pub(crate) fn bearer_token(value: &axum::http::HeaderValue) -> Option<&str> {
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}
