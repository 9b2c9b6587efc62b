//! Signing in to the client portal's API. `POST /api/portal/v1/auth/magic-link` `{workspace,
//! email}` asks for a sign-in link: always 202 at once (no enumeration, no timing signal); the
//! look-up and the mail happen afterwards (`holdfast_app::portal::sign_in::request_link`).
//! `POST …/auth/token` `{link}` spends that link into an API session: an access token with
//! `typ = portal` (15 minutes, refused on every staff route) and a single-use refresh token;
//! `POST …/auth/refresh` rotates them (a second use ends the session); `POST …/auth/sign-out`
//! ends the session. The public ones are limited per client address like sign-in, and links
//! per address mailed (`LINKS_PER_EMAIL_PER_HOUR`). A customer may also choose a password
//! (`PUT …/auth/password`, signed in), sign in with it (`POST …/auth/password`: the same
//! tokens, one 401 for every failure, the per-address throttle) and reset a forgotten one
//! (`POST …/auth/password-reset`: always 202; the link is mailed, valid 2 hours).

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::{Guard, PortalAuthed, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{post, put};
use holdfast_app::portal::password;
use holdfast_app::portal::sign_in as app;
use holdfast_core::error::ErrorCode;
use holdfast_core::portal::{
    MagicLinkIn, PortalPasswordIn, PortalPasswordSignInIn, PortalRefreshIn, PortalTokenIn,
    PortalTokensOut,
};
use holdfast_store::portal::auth::SignInFrom;
use schemars::JsonSchema;
use serde::Serialize;

/// The answer to a sign-in link request: the same for every address.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MagicLinkOut {
    pub detail: String,
}

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::POST,
        "/api/portal/v1/auth/magic-link",
        Guard::Public {
            rate_limit: RateLimit::Auth,
        },
        Doc::new(
            "portal",
            "Ask for a client portal sign-in link by email (202 for every address)",
        )
        .request::<MagicLinkIn>()
        .response::<MagicLinkOut>(202),
        post(magic_link),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/auth/token",
        Guard::Public {
            rate_limit: RateLimit::Auth,
        },
        Doc::new(
            "portal",
            "Spend a sign-in link into portal API tokens (an access token with typ portal and \
             a refresh token)",
        )
        .request::<PortalTokenIn>()
        .response::<PortalTokensOut>(200),
        post(token),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/auth/refresh",
        Guard::Public {
            rate_limit: RateLimit::Auth,
        },
        Doc::new(
            "portal",
            "Exchange a portal refresh token for new tokens (the old one is spent)",
        )
        .request::<PortalRefreshIn>()
        .response::<PortalTokensOut>(200),
        post(refresh),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/auth/password",
        Guard::Public {
            rate_limit: RateLimit::Auth,
        },
        Doc::new(
            "portal",
            "Sign in to the client portal with an address and a portal password: the same \
             tokens as a spent sign-in link (one 401 for every reason it fails)",
        )
        .request::<PortalPasswordSignInIn>()
        .response::<PortalTokensOut>(200),
        post(password_sign_in),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/auth/password-reset",
        Guard::Public {
            rate_limit: RateLimit::Auth,
        },
        Doc::new(
            "portal",
            "Ask for a portal password reset link by email (202 for every address)",
        )
        .request::<MagicLinkIn>()
        .response::<MagicLinkOut>(202),
        post(password_reset),
    );
}

/// Signing out: a signed-in customer's route, in the portal's module.
pub fn signed_in_routes(t: &mut RouteTable) {
    t.add(
        Method::POST,
        "/api/portal/v1/auth/sign-out",
        Guard::Portal,
        Doc::new(
            "portal",
            "End this portal session (its access and refresh tokens, or its cookie)",
        )
        .no_content(),
        post(sign_out),
    );
    t.add(
        Method::PUT,
        "/api/portal/v1/auth/password",
        Guard::Portal,
        Doc::new(
            "portal",
            "Set or change the customer's portal password (current_password required once one \
             is set); their other sessions end",
        )
        .request::<PortalPasswordIn>()
        .no_content(),
        put(password_set),
    );
}

async fn magic_link(
    State(state): State<AppState>,
    JsonBody { value: body, .. }: JsonBody<MagicLinkIn>,
) -> ApiResult<(StatusCode, Json<MagicLinkOut>)> {
    app::request_link(&state, &body)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MagicLinkOut {
            detail: "if this address may sign in to this workspace's portal, a sign-in link is \
                     on its way; it works once, within 24 hours"
                .to_owned(),
        }),
    ))
}

fn link_invalid() -> Problem {
    Problem::new(
        ErrorCode::AuthInvalid,
        "this sign-in link is malformed, unknown, spent or expired (a link works once, within \
         24 hours); ask for a new one at POST /api/portal/v1/auth/magic-link",
    )
}

async fn token(
    State(state): State<AppState>,
    client: ClientInfo,
    JsonBody { value: body, .. }: JsonBody<PortalTokenIn>,
) -> ApiResult<Json<PortalTokensOut>> {
    let from = SignInFrom {
        ip: client.ip.unwrap_or_default(),
        user_agent: client.user_agent.unwrap_or_default(),
        request_id: crate::problem::current_request_id().unwrap_or_default(),
    };
    app::token_sign_in(&state, body.token(), &from)
        .await?
        .map(Json)
        .ok_or_else(link_invalid)
}

async fn refresh(
    State(state): State<AppState>,
    JsonBody { value: body, .. }: JsonBody<PortalRefreshIn>,
) -> ApiResult<Json<PortalTokensOut>> {
    match app::refresh(&state, &body.refresh_token).await? {
        app::Refresh::Tokens(tokens) => Ok(Json(tokens)),
        app::Refresh::Reused => Err(Problem::new(
            ErrorCode::AuthInvalid,
            "this refresh token was already used, so its session has been ended; sign in again",
        )),
        app::Refresh::Invalid => Err(Problem::new(
            ErrorCode::AuthInvalid,
            "the refresh token is malformed, unknown, spent or expired, or its session is over; \
             sign in again with a link",
        )),
    }
}

async fn sign_out(
    State(state): State<AppState>,
    client: ClientInfo,
    PortalAuthed(actor): PortalAuthed,
) -> ApiResult<StatusCode> {
    let origin = audit::portal_origin(&actor, &client);
    app::sign_out(&state, &actor, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn password_sign_in(
    State(state): State<AppState>,
    client: ClientInfo,
    JsonBody { value: body, .. }: JsonBody<PortalPasswordSignInIn>,
) -> ApiResult<Json<PortalTokensOut>> {
    let from = SignInFrom {
        ip: client.ip.unwrap_or_default(),
        user_agent: client.user_agent.unwrap_or_default(),
        request_id: crate::problem::current_request_id().unwrap_or_default(),
    };
    Ok(Json(password::api_sign_in(&state, &body, &from).await?))
}

async fn password_reset(
    State(state): State<AppState>,
    JsonBody { value: body, .. }: JsonBody<MagicLinkIn>,
) -> ApiResult<(StatusCode, Json<MagicLinkOut>)> {
    password::request_reset(&state, &body)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MagicLinkOut {
            detail: "if this address may sign in to this workspace's portal, a password reset \
                     link is on its way; it works once, within 2 hours"
                .to_owned(),
        }),
    ))
}

async fn password_set(
    State(state): State<AppState>,
    client: ClientInfo,
    PortalAuthed(actor): PortalAuthed,
    JsonBody { value: body, .. }: JsonBody<PortalPasswordIn>,
) -> ApiResult<StatusCode> {
    let origin = audit::portal_origin(&actor, &client);
    password::set(&state, &actor, &body, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
