//! `/api/v1/auth/oidc`: single sign-on through an OpenID provider (Google by default), for the
//! console. Authorization code flow with PKCE; the `state` is a short-lived signed token that
//! carries the nonce and names a stored, single-use flow; an HttpOnly cookie binds the flow to
//! the browser that started it. Threat note: docs/design/oidc.md.

use crate::cookies::cookie;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::{Guard, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::session::console_session;
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use holdfast_app::identity::oidc::{OidcProvider, SsoError};
use holdfast_app::identity::sso::{self, Next};
use holdfast_core::error::ErrorCode;
use holdfast_core::identity::jwt::{AUDIENCE, Claims, ISSUER, TokenType};
use holdfast_core::identity::oidc::pkce_challenge;
use holdfast_core::identity::sessions::{LoginOut, SsoCompleteIn};
use holdfast_core::ids::OidcFlowId;
use holdfast_core::token::{generate_opaque, parse_opaque, sha256_hex};
use holdfast_core::validate;
use holdfast_store::identity;
use holdfast_store::{access::invitations, identity::oidc as store};
use serde::Deserialize;
use std::sync::Arc;

/// A started sign-in must come back within 10 minutes.
const FLOW_TTL_S: i64 = 10 * 60;
/// The account's confirmation must follow the provider's sign-in within 5 minutes.
const CONFIRM_TTL_S: i64 = 5 * 60;

const AUTH: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("auth", summary);
    t.add(
        Method::GET,
        "/api/v1/auth/oidc/start",
        AUTH,
        doc("Start single sign-on: redirects the browser to the identity provider")
            .query(&[
                QueryParam {
                    name: "workspace",
                    description: "The workspace's slug (not needed with an invitation)",
                    integer: false,
                },
                QueryParam {
                    name: "invitation",
                    description: "An invitation token (hfi_…): join through the identity provider",
                    integer: false,
                },
            ])
            .redirect(),
        get(oidc_start),
    );
    t.add(
        Method::GET,
        "/api/v1/auth/oidc/callback",
        AUTH,
        doc("Where the identity provider sends the browser back; starts a console session")
            .query(&[
                QueryParam {
                    name: "code",
                    description: "The authorization code",
                    integer: false,
                },
                QueryParam {
                    name: "state",
                    description: "The state Holdfast sent",
                    integer: false,
                },
            ])
            .redirect(),
        get(oidc_callback),
    );
    t.add(
        Method::POST,
        "/api/v1/auth/oidc/complete",
        AUTH,
        doc("Finish single sign-on: the account's password the first time a provider identity is linked to it, its authenticator code when it has one")
            .request::<SsoCompleteIn>()
            .response::<LoginOut>(200),
        post(oidc_complete),
    );
}

fn refused(detail: impl Into<String>) -> Problem {
    Problem(sso::refused(detail))
}

fn provider(state: &AppState) -> ApiResult<Arc<OidcProvider>> {
    state.oidc.clone().ok_or_else(|| {
        Problem::new(
            ErrorCode::NotFound,
            "single sign-on is not configured on this server; sign in with your password",
        )
    })
}

impl From<SsoError> for Problem {
    fn from(e: SsoError) -> Problem {
        match e {
            SsoError::Provider(_) => {
                tracing::warn!(error = %e, "identity provider unavailable");
                Problem::new(ErrorCode::Unavailable, e.to_string())
            }
            SsoError::Misconfigured(_) => {
                tracing::error!(error = %e, "identity provider misconfigured");
                Problem::new(ErrorCode::Unavailable, e.to_string())
            }
            SsoError::CodeRefused | SsoError::IdToken(_) => {
                tracing::warn!(error = %e, "single sign-on refused");
                refused(e.to_string())
            }
        }
    }
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/api/v1/auth/oidc/callback", state.config.public_url)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartQuery {
    #[serde(default)]
    workspace: Option<String>,
    #[serde(default)]
    invitation: Option<String>,
}

async fn oidc_start(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<StartQuery>,
) -> ApiResult<Response> {
    let provider = provider(&state)?;
    let now = state.clock.now_ms();
    let invitation_hash = match query.invitation.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(token) => {
            let hash = parse_opaque(invitations::PREFIX, token).ok_or_else(|| {
                Problem::new(
                    ErrorCode::AuthInvalid,
                    "the invitation is malformed; open the link from the invitation message",
                )
            })?;
            identity::unscoped_pending_invitation(&state.db, &hash, now)
                .await?
                .ok_or_else(|| {
                    Problem::new(
                        ErrorCode::AuthInvalid,
                        "the invitation is unknown, used, withdrawn or expired; ask for a new one",
                    )
                })?;
            Some(hash)
        }
    };
    let slug = match (&invitation_hash, query.workspace.as_deref()) {
        (Some(_), _) => String::new(),
        (None, Some(slug)) => {
            validate::slug("workspace", slug.trim()).map_err(|e| Problem::validation(vec![e]))?
        }
        (None, None) => {
            return Err(Problem::validation(vec![validate::FieldError::new(
                "workspace",
                "name the workspace to sign in to (its slug), or pass an invitation",
            )]));
        }
    };
    let flow_id = OidcFlowId::generate(now);
    let (nonce, _) = generate_opaque("nonce");
    let (verifier, _) = generate_opaque("pkce");
    let (binding, binding_hash) = generate_opaque("hfb");
    let sealed = state
        .sealer
        .seal(
            verifier.expose().as_bytes(),
            &holdfast_app::identity::oidc::verifier_context(flow_id.as_str()),
        )
        .ok_or_else(|| Problem(holdfast_core::error::ApiError::internal()))?;
    let now_s = now / 1000;
    let signed_state = state.keys.sign(&Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: flow_id.to_string(),
        ws: String::new(),
        sid: String::new(),
        typ: TokenType::OidcState,
        iat: now_s,
        exp: now_s + FLOW_TTL_S,
        nonce: Some(nonce.expose().clone()),
    });
    let location = provider
        .authorize_url(
            &redirect_uri(&state),
            &signed_state,
            nonce.expose(),
            &pkce_challenge(verifier.expose()),
            now,
        )
        .await?;
    store::unscoped_start_flow(
        &state.db,
        store::NewFlow {
            id: flow_id.as_str(),
            workspace_slug: &slug,
            invitation_hash: invitation_hash.as_deref(),
            verifier_sealed: &sealed,
            binding_hash: &binding_hash,
            expires_at: now + FLOW_TTL_S * 1000,
        },
        now,
    )
    .await?;
    let mut response = see_other(&location)?;
    response.headers_mut().append(
        SET_COOKIE,
        state.cookies.set_sso(binding.expose(), FLOW_TTL_S),
    );
    Ok(response)
}

fn see_other(location: &str) -> ApiResult<Response> {
    let value = HeaderValue::from_str(location)
        .map_err(|_| Problem(holdfast_core::error::ApiError::internal()))?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(LOCATION, value);
    Ok(response)
}

/// Providers add parameters of their own (`scope`, `authuser`, `session_state` …): unknown
/// fields are ignored here.
#[derive(Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    /// RFC 9207: when the provider names itself, it must be ours.
    #[serde(default)]
    iss: Option<String>,
}

async fn oidc_callback(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    QueryParams(query): QueryParams<CallbackQuery>,
) -> ApiResult<Response> {
    let provider = provider(&state)?;
    let now = state.clock.now_ms();
    if let Some(error) = &query.error {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(refused(format!(
            "the identity provider ended the sign-in ({error}); start again"
        )));
    }
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss != provider.settings.issuer)
    {
        return Err(refused(
            "this answer comes from another identity provider; start again",
        ));
    }
    let (Some(code), Some(signed_state)) = (query.code.as_deref(), query.state.as_deref()) else {
        return Err(refused(
            "the identity provider's answer lacks its code or state; start again",
        ));
    };
    let claims = state
        .keys
        .verify(signed_state, TokenType::OidcState, now / 1000)
        .filter(|c| c.nonce.is_some())
        .ok_or_else(|| {
            tracing::warn!("forged or expired single sign-on state refused");
            refused("the sign-in state is forged, expired or from another server; start again")
        })?;
    // Only the browser holding the flow's binding cookie can spend it, so a stranger who saw
    // the callback URL can neither use nor burn it.
    let Some(binding) = cookie(&headers, state.cookies.sso_name) else {
        tracing::warn!("single sign-on callback without its browser binding refused");
        return Err(refused(
            "this sign-in was started in another browser (or cookies are off); start again from this one",
        ));
    };
    let flow = store::unscoped_spend_flow(&state.db, &claims.sub, &sha256_hex(binding), now)
        .await?
        .ok_or_else(|| {
            tracing::warn!("replayed, late or foreign single sign-on callback refused");
            refused(
                "this sign-in was already completed, has expired, or was started in another browser; start again",
            )
        })?;
    let verifier = state
        .sealer
        .open(
            &flow.verifier_sealed,
            &holdfast_app::identity::oidc::verifier_context(&claims.sub),
        )
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or_else(|| Problem(holdfast_core::error::ApiError::internal()))?;
    let id_token = provider
        .exchange(code, &verifier, &redirect_uri(&state), now)
        .await?;
    let nonce = claims.nonce.unwrap_or_default();
    let identity = provider.verify(&id_token, &nonce, now).await?;
    let candidate = match sso::account_for(&state, &identity, &flow, now).await? {
        Next::SignIn(candidate) => candidate,
        Next::Confirm(pending) => return confirm_first(&state, &pending, now).await,
    };
    let mut response = console_session(&state, &candidate, &client, "sso", now).await?;
    tracing::info!("signed in through single sign-on");
    *response.status_mut() = StatusCode::SEE_OTHER;
    finish(&state, response)
}

/// After a console session starts: send the browser to the console, drop the flow cookie.
fn finish(state: &AppState, mut response: Response) -> ApiResult<Response> {
    let location = HeaderValue::from_str(&format!("{}/", state.config.public_url))
        .map_err(|_| Problem(holdfast_core::error::ApiError::internal()))?;
    response.headers_mut().insert(LOCATION, location);
    response
        .headers_mut()
        .append(SET_COOKIE, state.cookies.clear_sso());
    Ok(response)
}

/// The provider proved the identity; the account confirms it next. A single-use token (its
/// hash stored) rides in the HttpOnly flow cookie, so only this browser can finish, once.
async fn confirm_first(
    state: &AppState,
    pending: &store::Pending,
    now: i64,
) -> ApiResult<Response> {
    let (token, hash) = generate_opaque(sso::CONFIRM_PREFIX);
    store::unscoped_start_pending(&state.db, &hash, pending, now, now + CONFIRM_TTL_S * 1000)
        .await?;
    let mut response = see_other(&format!("{}/sign-in/confirm", state.config.public_url))?;
    response.headers_mut().append(
        SET_COOKIE,
        state.cookies.set_sso(token.expose(), CONFIRM_TTL_S),
    );
    tracing::info!(
        link = pending.needs_link == 1,
        "single sign-on awaits the account's confirmation"
    );
    Ok(response)
}

async fn oidc_complete(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: JsonBody<SsoCompleteIn>,
) -> ApiResult<Response> {
    provider(&state)?;
    if state.cookies.is_cross_site(&headers) {
        return Err(Problem::new(
            ErrorCode::CsrfRejected,
            "a page of another site sent this request; it was refused",
        ));
    }
    let SsoCompleteIn {
        password,
        totp_code,
    } = body.value;
    let (candidate, method) = sso::complete(
        &state,
        cookie(&headers, state.cookies.sso_name),
        password,
        totp_code.as_deref(),
    )
    .await?;
    let now = state.clock.now_ms();
    let mut response = console_session(&state, &candidate, &client, method, now).await?;
    response
        .headers_mut()
        .append(SET_COOKIE, state.cookies.clear_sso());
    tracing::info!("signed in through single sign-on after confirming");
    Ok(response)
}
