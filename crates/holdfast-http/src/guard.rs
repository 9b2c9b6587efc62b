//! Guards: the middleware every route is wrapped in, chosen by its declared [`Guard`], and the
//! [`Authed`] extractor that hands the guard's [`Actor`] to handlers ([`PortalAuthed`] and its
//! [`PortalActor`] for the client portal's routes).
//! Threat note: docs/design/guards.md.

use crate::cookies::{check_csrf, is_state_changing};
use crate::problem::{Problem, render};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ops::billing::{Gate, ReadOnlyReason, checkout_url, gate};
use holdfast_core::ops::config::BillingMode;
use holdfast_core::token::parse_opaque;
use holdfast_core::token::{API_KEY_PREFIX, parse_api_key};
use holdfast_store::identity::COOKIE_PREFIX;
use holdfast_store::identity::auth::{
    Actor, Principal, authenticate_access_token, authenticate_api_key, authenticate_session_cookie,
};
use holdfast_store::portal::auth::{
    PortalActor, authenticate_portal_cookie, authenticate_portal_token,
};

/// How many requests a public route accepts per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// `public_rate_limit_per_minute` from the configuration.
    Standard,
    /// Sign-in endpoints: `auth_rate_limit_per_minute` per client address, with a burst of 10
    /// (or two seconds' worth, if larger).
    Auth,
    /// Ten times the standard limit: liveness, readiness and metrics are polled by
    /// orchestrators and scrapers from a few addresses.
    Probe,
    PerMinute(u32),
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    Public {
        rate_limit: RateLimit,
    },
    /// A workspace's staff: an API key or a signed-in user's access token, whose role grants
    /// `permission`.
    Staff {
        permission: Permission,
    },
    /// As `Staff`, for sensitive actions: a signed-in user must also have re-entered their
    /// password (and second factor) in the last 10 minutes (`POST /api/v1/auth/step-up`).
    /// API keys have no password and pass on their permission alone.
    StaffStepUp {
        permission: Permission,
    },
    /// A signed-in user acting on their own account (sessions); API keys are refused with 403.
    User,
    /// An inbound provider webhook, `/hooks/{provider}/{workspace_slug}`: rate-limited per
    /// client address, then the body's signature must verify under the workspace's secret for
    /// that provider (else 401, counted and logged without the request). The handler receives
    /// a [`crate::guard::VerifiedHook`].
    Signed,
    /// The operator's billing receiver, `/hooks/billing/stripe` (`signed.rs`): rate-limited per
    /// client address, 404 while `billing_mode` is off, then the body's Stripe signature must
    /// verify under `billing_webhook_secret` (else 401, counted and logged without the
    /// request). The handler receives a [`crate::signed::VerifiedBilling`].
    Billing,
    /// A scheduler: the `X-Holdfast-Cron-Secret` header must equal the configured
    /// `cron_secret` (constant-time); 404 while none is configured.
    Cron,
    /// The website widget's public routes, `/api/v1/widget/{key}/…` (`widget_guard.rs`): a
    /// per-address budget, the key's workspace (unknown, disabled or help desk off: 404), the
    /// browser's `Origin` among the workspace's allowed origins (else 403), and for a
    /// submission (`submit`) budgets per address and per key. The handler receives a
    /// [`crate::widget_guard::WidgetCaller`]; answers carry CORS headers for that origin only.
    Widget {
        submit: bool,
    },
    /// A customer signed in to the client portal: the portal's own session cookie
    /// (`__Host-hf_portal`), never a staff credential (an `Authorization` header is refused
    /// with 401, and the staff session cookie is never read). On a `/portal/{slug}/…` path the
    /// session must be of that workspace (else 404); state-changing requests need the
    /// session's CSRF token. The handler receives a [`PortalAuthed`].
    Portal,
}

impl Guard {
    pub fn is_public(&self) -> bool {
        matches!(self, Guard::Public { .. })
    }
}

#[derive(Clone)]
pub(crate) struct GuardState {
    app: AppState,
    guard: Guard,
    route: &'static str,
    module: Option<Module>,
    /// A console page (`Doc::page`): the billing gate sends it to checkout instead of a 402.
    page: bool,
    /// Among [`OPEN_WHEN_UNPAID`].
    open_when_unpaid: bool,
}

/// Staff routes that stay open while a workspace must go to checkout (`incomplete`): its
/// members may still read its plan and take their data out. Every other staff route answers
/// 402 (a page: a redirect to checkout) until a subscription is paid.
pub const OPEN_WHEN_UNPAID: &[(&str, &str)] = &[
    ("GET", "/api/v1/workspace/billing"),
    ("GET", "/api/v1/contacts/export"),
    ("GET", "/api/v1/contacts/{id}/export"),
    ("GET", "/api/v1/audit/export"),
    ("GET", "/app/contacts/{id}/export"),
];

/// Wraps one route's handler in the middleware of its declared guard.
/// `page`: the route is a console page (`Doc::page`).
pub(crate) fn guarded(
    handler: MethodRouter<AppState>,
    app: AppState,
    (method, route): (&Method, &'static str),
    guard: Guard,
    module: Option<Module>,
    page: bool,
) -> MethodRouter<AppState> {
    let open_when_unpaid = OPEN_WHEN_UNPAID
        .iter()
        .any(|(m, path)| method.as_str() == *m && route == *path);
    handler.route_layer(from_fn_with_state(
        GuardState {
            app,
            guard,
            route,
            module,
            page,
            open_when_unpaid,
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
        Guard::Signed => return signed(&state, request, next).await,
        Guard::Portal => return portal(&state, request, next).await,
        Guard::Billing => {
            let client = client_address(&request);
            if let Err(refused) = client_limit(&state, client, RateLimit::Standard).await {
                return refused;
            }
            return match crate::signed::verify_billing(&state.app, request).await {
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
            match staff(
                &state.app,
                state.guard,
                state.module,
                request.headers(),
                request.method(),
                permission,
            )
            .await
            {
                Ok(actor) => actor,
                Err(refused) => return refused,
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
    // The workspace's own work (not a person's account: sign-out, sessions, two-factor).
    if matches!(state.guard, Guard::Staff { .. } | Guard::StaffStepUp { .. }) {
        let reads = matches!(*request.method(), Method::GET | Method::HEAD);
        let htmx = crate::console::is_htmx(request.headers());
        if let Err(refused) = billing_gate(&state, &actor, reads, htmx).await {
            return refused;
        }
    }
    request.extensions_mut().insert(actor);
    next.run(request).await
}

/// The billing gate of a hosted instance (`billing_mode = stripe`), for every staff route: a
/// read-only workspace (past due beyond the grace period, or canceled) answers 402 to every
/// change and keeps its reads and exports; a workspace that must pay first (`incomplete`) is
/// sent to the operator's checkout (pages: 303; the API: 402 naming it), but for
/// [`OPEN_WHEN_UNPAID`]. Self-hosted (`off`) never reads anything here.
async fn billing_gate(
    state: &GuardState,
    actor: &Actor,
    reads: bool,
    htmx: bool,
) -> Result<(), Response> {
    let billing = &state.app.config.billing;
    if billing.mode == BillingMode::Off {
        return Ok(());
    }
    let plan = match read_plan(&state.app, actor).await {
        Ok(plan) => plan,
        Err(e) => {
            tracing::error!(error = %e, "reading the workspace's plan failed");
            return Err(Problem(ApiError::internal()).into_response());
        }
    };
    let verdict = gate(
        billing.mode,
        plan.as_ref().map(|p| p.state),
        plan.as_ref().and_then(|p| p.past_due_since),
        state.app.clock.now_ms(),
        billing.grace_days,
    );
    match verdict {
        Gate::Open => Ok(()),
        Gate::ReadOnly(_) if reads => Ok(()),
        Gate::ReadOnly(reason) => {
            let why = match reason {
                ReadOnlyReason::PastDue => format!(
                    "this workspace's subscription is past due for more than {} days, so it is \
                     read-only: reading and exporting still work; a workspace owner can update \
                     the payment method with the operator of this Holdfast server, and changes \
                     work again once the payment goes through",
                    billing.grace_days
                ),
                ReadOnlyReason::Canceled => "this workspace's subscription is canceled, so it \
                     is read-only: reading and exporting still work; a workspace owner can \
                     subscribe again with the operator of this Holdfast server"
                    .to_owned(),
            };
            Err(Problem::new(ErrorCode::PaymentRequired, why).into_response())
        }
        Gate::Checkout if state.open_when_unpaid => Ok(()),
        Gate::Checkout => {
            let url = checkout_url(
                billing.checkout_url.as_deref().unwrap_or_default(),
                actor.tenant.workspace_id().as_str(),
            );
            if state.page {
                return Err(crate::console::see_other(&url, htmx));
            }
            Err(Problem::new(
                ErrorCode::PaymentRequired,
                format!(
                    "this workspace has no paid subscription yet: subscribe at {url} and retry; \
                     its plan is at GET /api/v1/workspace/billing and its data can still be \
                     exported"
                ),
            )
            .into_response())
        }
    }
}

/// The plan of the actor's workspace, in its own (read) transaction.
pub(crate) async fn read_plan(
    app: &AppState,
    actor: &Actor,
) -> Result<Option<holdfast_store::ops::billing::Plan>, holdfast_store::StoreError> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let plan = holdfast_store::ops::billing::plan(&mut tx).await?;
    tx.commit().await?;
    Ok(plan)
}

/// `Guard::Signed`: within the receiver's budget for this address, and verified by the
/// provider's signature scheme.
async fn signed(state: &GuardState, request: Request, next: Next) -> Response {
    // Budgeted per receiver (provider and workspace) and address: providers deliver
    // from a few shared addresses, which must not share one budget across workspaces.
    let receiver = request.uri().path().to_owned();
    let client = client_address(&request);
    if let Err(refused) =
        client_limit(state, format!("{receiver}|{client}"), RateLimit::Standard).await
    {
        return refused;
    }
    match crate::signed::verify_hook(&state.app, state.module, request).await {
        Ok(request) => next.run(request).await,
        Err(refused) => refused,
    }
}

/// The actor a staff guard lets through: authenticated, granted the permission (a module that
/// is off passes here, to answer 404 after), enrolled in two-factor sign-in where required,
/// and recently stepped up for `StaffStepUp`.
async fn staff(
    app: &AppState,
    guard: Guard,
    module: Option<Module>,
    headers: &HeaderMap,
    method: &Method,
    permission: Permission,
) -> Result<Actor, Response> {
    match authenticate(app, headers, method).await {
        Err(problem) => Err(problem.into_response()),
        // A module that is off answers 404 before any permission is weighed.
        Ok(actor) if module.is_some_and(|m| !actor.modules.contains(m)) => Ok(actor),
        Ok(actor) if !actor.role.grants(permission) => Err(Problem::new(
            ErrorCode::Forbidden,
            format!(
                "this credential's role ({}) lacks the permission {}",
                actor.role.as_str(),
                permission.as_str()
            ),
        )
        .into_response()),
        Ok(actor) if actor.must_enrol_2fa => Err(Problem::new(
            ErrorCode::EnrolmentRequired,
            "this workspace requires two-factor sign-in: enrol at POST /api/v1/auth/2fa/enroll, then sign in again",
        )
        .into_response()),
        Ok(actor) => {
            if matches!(guard, Guard::StaffStepUp { .. })
                && !recently_stepped_up(&actor, app.clock.now_ms())
            {
                return Err(Problem::new(
                    ErrorCode::StepUpRequired,
                    "this action needs a recent sign-in: confirm your password at POST /api/v1/auth/step-up, then retry",
                )
                .into_response());
            }
            Ok(actor)
        }
    }
}

/// The credential headers of a request (`Authorization`, `Cookie`), kept by a response that
/// outlives its request so it can ask [`still_staff`] again.
pub(crate) fn credential_of(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in [AUTHORIZATION, COOKIE] {
        for value in headers.get_all(&name) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// Whether a credential a `Guard::Staff { permission }` route let through would still be let
/// through now, by the guard's own check: the session live, the account not locked, the API
/// key not revoked, the workspace not suspended, the role granting `permission`, two-factor
/// enrolment as required, the route's module on. For a response that outlives its request
/// (the live event stream), which ends when this answers `None`. The actor as it is now (its
/// role may have changed). Spends no rate-limit budget.
pub(crate) async fn still_staff(
    app: &AppState,
    credential: &HeaderMap,
    permission: Permission,
    module: Option<Module>,
) -> Option<Actor> {
    let guard = Guard::Staff { permission };
    staff(app, guard, module, credential, &Method::GET, permission)
        .await
        .ok()
        .filter(|actor| module.is_none_or(|m| actor.modules.contains(m)))
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
            if let Err(why) = check_csrf(&app.cookies, &app.csrf_key, session, headers) {
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

/// `Guard::Portal`: the customer of a live portal session, of the path's workspace, with the
/// route's module on, within the session's budget.
async fn portal(state: &GuardState, mut request: Request, next: Next) -> Response {
    // A portal that is not there (unknown workspace, client portal off, workspace suspended)
    // answers one 404 before any session is looked at: closing the portal ended its sessions.
    let path_slug = request
        .uri()
        .path()
        .strip_prefix("/portal/")
        .map(|rest| rest.split('/').next().unwrap_or_default().to_owned());
    if let Some(slug) = &path_slug {
        match holdfast_app::portal::brand::of_portal(&state.app, slug).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Problem::new(
                    ErrorCode::NotFound,
                    "there is no client portal here: no such workspace, or its client_portal \
                     module is off",
                )
                .into_response();
            }
            Err(e) => return Problem(e).into_response(),
        }
    }
    let actor = match portal_actor(
        &state.app,
        request.uri().path(),
        request.headers(),
        request.method(),
    )
    .await
    {
        Ok(Some(actor)) => actor,
        Ok(None) => {
            return Problem::new(
                ErrorCode::AuthMissing,
                "sign in to the client portal first: ask for a sign-in link at \
                 POST /api/portal/v1/auth/magic-link or on the portal's page",
            )
            .into_response();
        }
        // A suspended workspace's portal is not there, whatever credential is presented.
        Err(problem) if problem.0.code == ErrorCode::Suspended => {
            return Problem::new(
                ErrorCode::NotFound,
                "there is no client portal here: no such workspace, or its client_portal \
                 module is off",
            )
            .into_response();
        }
        Err(problem) => return problem.into_response(),
    };
    if path_slug.is_some_and(|slug| slug != actor.workspace_slug) {
        return Problem::new(ErrorCode::NotFound, "no such page in this client portal")
            .into_response();
    }
    if let Some(module) = state.module.filter(|m| !actor.modules.contains(*m)) {
        return Problem::new(
            ErrorCode::NotFound,
            format!(
                "the {} module is off in this workspace, so its client portal is closed",
                module.as_str()
            ),
        )
        .into_response();
    }
    let per_minute = state.app.config.api_rate_limit_per_minute;
    let key = format!("portal|{}", actor.session_id.as_str());
    if let Err(retry_after) = state
        .app
        .limiter
        .check(
            &key,
            per_minute,
            (per_minute / 30).max(10),
            state.app.clock.now_ms(),
        )
        .await
    {
        let mut err = ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "at most {per_minute} requests per minute per session; retry after {retry_after} s"
            ),
        );
        err.retry_after = Some(retry_after);
        return render(&err);
    }
    // A page of another site may read the answer only when the customer's own workspace
    // lets that origin call its portal API (portal_cors in edge.rs decides the rest).
    let cors = match request.headers().get(ORIGIN) {
        Some(origin)
            if request
                .uri()
                .path()
                .starts_with(crate::portal_cors::PORTAL_API) =>
        {
            let origin = origin.to_str().unwrap_or_default().to_owned();
            match holdfast_app::portal::origins::allowed(&state.app, &actor.tenant, &origin).await {
                Ok(allowed) => Some(allowed.then_some(origin)),
                Err(e) => return Problem(e).into_response(),
            }
        }
        _ => None,
    };
    request.extensions_mut().insert(actor);
    let mut response = next.run(request).await;
    if let Some(allowed) = cors {
        if let Some(origin) = allowed {
            crate::portal_cors::allow(&mut response, &origin);
        }
        response
            .extensions_mut()
            .insert(crate::portal_cors::Decided);
    }
    response
}

fn portal_credential_refused() -> Problem {
    Problem::new(
        ErrorCode::AuthInvalid,
        "the client portal takes its own credentials only: a portal access token (typ portal, \
         from POST /api/portal/v1/auth/token; when it has expired, POST \
         /api/portal/v1/auth/refresh) or the portal's session cookie; staff API keys and access \
         tokens are refused",
    )
}

/// The customer a request's portal credential signs in, `None` without one (or with a cookie
/// that opens nothing). On the portal API, `Authorization: Bearer` takes a portal access
/// token (`typ = portal`) and nothing else; the portal's pages take no `Authorization` at all:
/// a staff credential never opens a portal route. A cookie's state-changing request must
/// carry the session's CSRF token, and come from this site (a token is not ambient, so it
/// needs neither).
pub(crate) async fn portal_actor(
    app: &AppState,
    uri_path: &str,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Option<PortalActor>, Problem> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let token = bearer_token(value)
            .filter(|_| uri_path.starts_with(crate::portal_cors::PORTAL_API))
            .ok_or_else(portal_credential_refused)?;
        let now = app.clock.now_ms();
        return match authenticate_portal_token(&app.db, &app.keys, token, now).await? {
            Some(actor) => Ok(Some(actor)),
            None => {
                tracing::info!("portal access token rejected");
                Err(portal_credential_refused())
            }
        };
    }
    let Some(cookie) = app.cookies.portal_session(headers) else {
        return Ok(None);
    };
    let Some(hash) = parse_opaque(holdfast_core::portal::SESSION_COOKIE_PREFIX, cookie) else {
        return Ok(None);
    };
    let now = app.clock.now_ms();
    let Some(actor) = authenticate_portal_cookie(&app.db, &hash, now).await? else {
        tracing::info!("portal session cookie rejected");
        return Ok(None);
    };
    if is_state_changing(method)
        && let Err(why) = check_csrf(
            &app.cookies,
            &app.csrf_key,
            actor.session_id.as_str(),
            headers,
        )
    {
        tracing::warn!("portal request without a valid CSRF token refused");
        return Err(Problem::new(ErrorCode::CsrfRejected, why));
    }
    Ok(Some(actor))
}

/// The signed-in customer of a `Guard::Portal` route.
pub struct PortalAuthed(pub PortalActor);

impl<S: Send + Sync> FromRequestParts<S> for PortalAuthed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<PortalActor>()
            .cloned()
            .map(PortalAuthed)
            .ok_or_else(|| {
                tracing::error!(
                    "handler expects a signed-in customer but its route has no portal guard"
                );
                Problem(ApiError::internal())
            })
    }
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
