//! The guards that authenticate a request by a shared secret instead of a credential: the
//! inbound webhook signature (`Guard::Signed`), the operator's billing receiver
//! (`Guard::Billing`) and the scheduler's cron secret (`Guard::Cron`). Threat note:
//! docs/design/webhooks.md.

use crate::problem::Problem;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use holdfast_core::access::modules::Module;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::token::constant_time_eq;
use holdfast_core::webhooks::inbound::{InboundRequest, Provider, Verified, VerifyError, verifier};
use holdfast_store::Tenant;

/// A delivery whose signature verified: what the handler of a `Guard::Signed` route gets.
/// Only [`verify_hook`] makes one.
#[derive(Clone)]
pub struct VerifiedHook {
    pub tenant: Tenant,
    pub provider: Provider,
    pub verified: Verified,
    pub body: Bytes,
    pub content_type: String,
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedHook {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VerifiedHook>()
            .cloned()
            .ok_or_else(|| {
                tracing::error!(
                    "handler expects a verified webhook but its route has no signature guard"
                );
                Problem(ApiError::internal())
            })
    }
}

/// Every refusal looks the same to the sender (one detail, one counter per provider), so the
/// receiver tells nothing about which workspaces exist or how they are set up; the reason is
/// only in the operator's log.
fn refuse(app: &AppState, provider: &str, reason: &'static str) -> Response {
    app.metrics.inbound_refused(provider);
    tracing::warn!(provider, reason, "inbound webhook refused");
    Problem::new(
        ErrorCode::SignatureRefused,
        "the request is not signed with this workspace's secret for this provider, or its \
         signature is stale, replayed or malformed",
    )
    .into_response()
}

/// Verifies `POST /hooks/{provider}/{workspace_slug}`. Every refusal is the same 401 whether
/// the workspace is unknown, has no secret for the provider, has the route's module off,
/// or the signature is wrong, so the endpoint tells nothing about workspaces. Nothing is
/// stored for a refused request: a counter and a log line without headers or body.
pub(crate) async fn verify_hook(
    app: &AppState,
    module: Option<Module>,
    request: Request,
) -> Result<Request, Response> {
    let path = request.uri().path().to_owned();
    let mut segments = path.trim_start_matches('/').split('/').skip(1);
    let (Some(provider_slug), Some(slug), None) =
        (segments.next(), segments.next(), segments.next())
    else {
        return Err(Problem::not_found("webhook receiver").into_response());
    };
    let Some(provider) = Provider::from_slug(provider_slug) else {
        return Err(unknown_provider(provider_slug));
    };
    let provider_name = provider.slug();
    // The body is read first, for every request alike (bounded by the body limit).
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, app.config.body_limit_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Err(Problem::new(
                ErrorCode::PayloadTooLarge,
                format!("the body exceeds {} bytes", app.config.body_limit_bytes),
            )
            .into_response());
        }
    };
    let (tenant, secret) = receiver_secret(app, slug, provider, module).await?;
    let headers = text_headers(&parts.headers);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(&path);
    // The URL as the provider addressed it: this instance's public address and the path.
    let url = format!("{}{path_and_query}", app.config.public_url);
    let inbound = InboundRequest {
        url: &url,
        headers: &headers,
        body: &body,
    };
    let verified = match verifier(provider).verify(&secret, &inbound, app.clock.now_ms()) {
        Ok(verified) => verified,
        Err(e) => return Err(refuse(app, provider_name, refusal_reason(&e))),
    };
    // A suspended workspace takes no deliveries, but the provider should keep them: an answer
    // it retries (503 with Retry-After) rather than a refusal it gives up on. Only a signed
    // delivery learns it: others are refused as for any workspace.
    match app.db.is_suspended(&tenant).await {
        Ok(false) => {}
        Ok(true) => {
            let mut unavailable = ApiError::new(
                ErrorCode::Unavailable,
                "this workspace is suspended by the operator of this Holdfast server; deliver again later",
            );
            unavailable.retry_after = Some(3600);
            return Err(Problem(unavailable).into_response());
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the suspended workspaces failed");
            return Err(Problem(ApiError::internal()).into_response());
        }
    }
    let content_type = inbound
        .header("content-type")
        .unwrap_or("application/octet-stream")
        .chars()
        .take(200)
        .collect();
    let mut request = Request::from_parts(parts, Body::from(body.clone()));
    request.extensions_mut().insert(VerifiedHook {
        tenant,
        provider,
        verified,
        body,
        content_type,
    });
    Ok(request)
}

/// A billing event whose Stripe signature verified under the operator's
/// `billing_webhook_secret`: what the handler of the `Guard::Billing` route gets. Only
/// [`verify_billing`] makes one. It names no workspace: the event does.
#[derive(Clone)]
pub struct VerifiedBilling {
    pub verified: Verified,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedBilling {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VerifiedBilling>()
            .cloned()
            .ok_or_else(|| {
                tracing::error!(
                    "handler expects a verified billing event but its route has no billing guard"
                );
                Problem(ApiError::internal())
            })
    }
}

/// Verifies `POST /hooks/billing/stripe`, the instance's one billing receiver: 404 while
/// `billing_mode` is off (a self-hosted server sells nothing); otherwise Stripe's scheme under
/// the operator's endpoint secret, with its five-minute window (replays are refused by the
/// handler's replay memory, in the workspace the event names). Every refusal is one 401, a
/// counter (`billing`) and a log line without the request.
pub(crate) async fn verify_billing(app: &AppState, request: Request) -> Result<Request, Response> {
    let billing = &app.config.billing;
    let secret = match (billing.mode, &billing.webhook_secret) {
        (holdfast_core::ops::config::BillingMode::Stripe, Some(secret)) => secret,
        _ => {
            return Err(Problem::new(
                ErrorCode::NotFound,
                "this server does not sell subscriptions (billing_mode = off)",
            )
            .into_response());
        }
    };
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, app.config.body_limit_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Err(Problem::new(
                ErrorCode::PayloadTooLarge,
                format!("the body exceeds {} bytes", app.config.body_limit_bytes),
            )
            .into_response());
        }
    };
    let headers = text_headers(&parts.headers);
    let url = format!("{}{}", app.config.public_url, parts.uri.path());
    let inbound = InboundRequest {
        url: &url,
        headers: &headers,
        body: &body,
    };
    let verified =
        match verifier(Provider::Stripe).verify(secret.expose(), &inbound, app.clock.now_ms()) {
            Ok(verified) => verified,
            Err(e) => {
                app.metrics.inbound_refused("billing");
                tracing::warn!(reason = refusal_reason(&e), "billing webhook refused");
                return Err(Problem::new(
                    ErrorCode::SignatureRefused,
                    "the request is not signed with this server's billing endpoint secret, or its \
                 signature is stale or malformed",
                )
                .into_response());
            }
        };
    let mut request = Request::from_parts(parts, Body::from(body.clone()));
    request
        .extensions_mut()
        .insert(VerifiedBilling { verified, body });
    Ok(request)
}

/// The 404 for a provider Holdfast has no receiver for, naming the ones it has.
fn unknown_provider(provider_slug: &str) -> Response {
    Problem::new(
        ErrorCode::NotFound,
        format!(
            "no receiver for '{}'; providers: {}",
            provider_slug.chars().take(40).collect::<String>(),
            Provider::ALL.map(Provider::slug).join(", ")
        ),
    )
    .into_response()
}

/// The receiving workspace and its opened secret for the provider; an unknown receiver, the
/// route's module off and a secret this instance cannot open are refused alike.
async fn receiver_secret(
    app: &AppState,
    slug: &str,
    provider: Provider,
    module: Option<Module>,
) -> Result<(Tenant, String), Response> {
    let provider_name = provider.slug();
    let target = match holdfast_store::webhooks::inbound::unscoped_hook_target(
        &app.db, slug, provider,
    )
    .await
    {
        Ok(target) => target,
        Err(e) => {
            tracing::error!(error = %e, "looking up a webhook receiver failed");
            return Err(Problem(ApiError::internal()).into_response());
        }
    };
    let Some((tenant, sealed, modules)) = target else {
        return Err(refuse(app, provider_name, "unknown_receiver"));
    };
    // The module the route is declared in (automation).
    if module.is_some_and(|m| !modules.contains(m)) {
        return Err(refuse(app, provider_name, "module_off"));
    }
    let Some(secret) = app
        .sealer
        .open(
            &sealed,
            &holdfast_app::webhooks::receivers::secret_context(&tenant, provider),
        )
        .and_then(|b| String::from_utf8(b).ok())
    else {
        tracing::error!(
            provider = provider_name,
            "a workspace's inbound secret cannot be opened with this master key"
        );
        return Err(refuse(app, provider_name, "secret_unusable"));
    };
    Ok((tenant, secret))
}

/// The request's headers that are text, names lower-cased, as the verifiers read them.
fn text_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_ascii_lowercase(), v.to_owned()))
        })
        .collect()
}

/// The reason a failed verification is logged under.
fn refusal_reason(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Stale => "stale",
        VerifyError::BadSignature => "bad_signature",
        VerifyError::Replayed => "replayed",
        VerifyError::BadSecret(_) => "secret_unusable",
        _ => "malformed",
    }
}

/// The header a scheduler sends the cron secret in.
pub const CRON_HEADER: &str = "x-holdfast-cron-secret";

/// `Guard::Cron`: the header must equal the configured secret, compared in constant time.
pub(crate) fn check_cron(app: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(expected) = &app.config.cron_secret else {
        return Err(Problem::new(
            ErrorCode::NotFound,
            "scheduler endpoints are off: set HOLDFAST_CRON_SECRET to turn them on",
        ));
    };
    let presented = headers
        .get(CRON_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if presented.is_empty() {
        return Err(Problem::new(
            ErrorCode::AuthMissing,
            "send the scheduler secret in the X-Holdfast-Cron-Secret header",
        ));
    }
    if !constant_time_eq(presented, expected.expose()) {
        tracing::warn!("scheduler request with a wrong secret refused");
        return Err(Problem::new(
            ErrorCode::AuthInvalid,
            "the scheduler secret does not match",
        ));
    }
    Ok(())
}
