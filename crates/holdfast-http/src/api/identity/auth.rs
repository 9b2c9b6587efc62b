//! `/api/v1/auth`: sign-in for API clients (access token + rotating refresh token), sessions.
//! Threat note: docs/design/sign-in.md.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::guard::{Guard, RateLimit};
use crate::paging::Page;
use crate::problem::{ApiResult, Problem};
use crate::session::console_session;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use holdfast_app::identity::reset;
use holdfast_app::identity::sign_in::{password_sign_in, tokens};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::sessions::{
    AcceptedOut, ForgotIn, LoginIn, LoginOut, RefreshIn, ResetIn, SessionMode, SessionOut,
    TokensOut,
};
use holdfast_core::ids::SessionId;
use holdfast_core::token::parse_opaque;
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::identity::sessions;
use holdfast_store::identity::{self, REFRESH_PREFIX, Refreshed};
use serde_json::json;

const AUTH: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("auth", summary);
    t.add(
        Method::POST,
        "/api/v1/auth/login",
        AUTH,
        doc("Sign in with email, password and workspace (tokens, or a console cookie)")
            .request::<LoginIn>()
            .response::<LoginOut>(200),
        post(auth_login),
    );
    t.add(
        Method::POST,
        "/api/v1/auth/refresh",
        AUTH,
        doc("Exchange a refresh token for new tokens (the old one is spent)")
            .request::<RefreshIn>()
            .response::<TokensOut>(200),
        post(auth_refresh),
    );
    t.add(
        Method::POST,
        "/api/v1/auth/forgot-password",
        AUTH,
        doc("Ask for a password-reset message (always 202)")
            .request::<ForgotIn>()
            .response::<AcceptedOut>(202),
        post(auth_forgot_password),
    );
    t.add(
        Method::POST,
        "/api/v1/auth/reset-password",
        AUTH,
        doc("Set a new password with a reset token; ends every session (403 HF-AUTH-011: the account is locked)")
            .request::<ResetIn>()
            .no_content(),
        post(auth_reset_password),
    );
    t.add(
        Method::POST,
        "/api/v1/auth/logout",
        Guard::User,
        doc("End the current session").no_content(),
        post(auth_logout),
    );
    t.add(
        Method::GET,
        "/api/v1/auth/sessions",
        Guard::User,
        doc("List your live sessions").response::<Page<SessionOut>>(200),
        get(session_list),
    );
    t.add(
        Method::DELETE,
        "/api/v1/auth/sessions",
        Guard::User,
        doc("End all your sessions, this one included").no_content(),
        delete(session_revoke_all),
    );
    t.add(
        Method::DELETE,
        "/api/v1/auth/sessions/{id}",
        Guard::User,
        doc("End one of your sessions").no_content(),
        delete(session_revoke),
    );
}

/// Same answer, status and (Argon2id-bound) timing whether or not the account exists; failures
/// count per email, existing or not, so throttling reveals nothing either.
async fn auth_login(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: JsonBody<LoginIn>,
) -> ApiResult<Response> {
    let LoginIn {
        email,
        password,
        workspace,
        totp_code,
        session,
    } = body.value;
    if session == SessionMode::Cookie && state.cookies.is_cross_site(&headers) {
        return Err(Problem::new(
            ErrorCode::CsrfRejected,
            "a page of another site asked to sign in to this console; it was refused",
        ));
    }
    let now = state.clock.now_ms();
    let candidate = password_sign_in(
        &state,
        &email,
        password,
        &workspace,
        totp_code.as_deref(),
        |c, factor| audit::sign_in_failed(c, &client, factor),
    )
    .await?;
    if session == SessionMode::Cookie {
        return console_session(&state, &candidate, &client, "password", now).await;
    }
    let issued = identity::start_session(
        &state.db,
        &candidate,
        &audit::by_user(
            &candidate.user_id,
            &client,
            "auth.sign_in",
            json!({"method": "password", "session": "api"}),
        ),
        client.user_agent.as_deref(),
        client.ip.as_deref(),
        now,
    )
    .await?;
    tracing::info!(session_id = %issued.session_id, "signed in");
    Ok(Json(LoginOut::Tokens(tokens(&state, issued, now))).into_response())
}

/// Records a failed sign-in to a known account in its workspace's trail — after the answer, so
/// neither its time nor its outcome tells an unknown account from a known one.
async fn auth_refresh(
    State(state): State<AppState>,
    body: JsonBody<RefreshIn>,
) -> ApiResult<Json<TokensOut>> {
    let invalid = || {
        Problem::new(
            ErrorCode::AuthInvalid,
            "the refresh token is malformed, unknown, spent or expired; sign in again",
        )
    };
    let hash = parse_opaque(REFRESH_PREFIX, body.value.refresh_token.trim()).ok_or_else(invalid)?;
    let now = state.clock.now_ms();
    match identity::rotate_refresh(&state.db, &hash, now).await? {
        Refreshed::Rotated(issued) => Ok(Json(tokens(&state, issued, now))),
        Refreshed::Reused => Err(Problem::new(
            ErrorCode::AuthInvalid,
            "this refresh token was already used, so its session has been ended; sign in again",
        )),
        Refreshed::Invalid => Err(invalid()),
    }
}

/// Always the same 202, at once (`holdfast_app::identity::reset::request`): neither the answer
/// nor its timing says whether the address has an account.
async fn auth_forgot_password(
    State(state): State<AppState>,
    body: JsonBody<ForgotIn>,
) -> ApiResult<(StatusCode, Json<AcceptedOut>)> {
    reset::request(&state, &body.value.email)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedOut {
            status: "if an account uses this address, a reset message is on its way".to_owned(),
        }),
    ))
}

async fn auth_reset_password(
    State(state): State<AppState>,
    body: JsonBody<ResetIn>,
) -> ApiResult<StatusCode> {
    let ResetIn { token, password } = body.value;
    reset::complete(&state, &token, password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user and session behind a `Guard::User` route.
fn user_of(actor: &Actor) -> ApiResult<(&holdfast_core::ids::UserId, &SessionId)> {
    match &actor.principal {
        Principal::User {
            user_id,
            session_id,
            ..
        } => Ok((user_id, session_id)),
        Principal::ApiKey(_) => Err(Problem(ApiError::internal())),
    }
}

/// Ends the session and, for the console, expires its cookies.
async fn auth_logout(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Response> {
    let (user, session) = user_of(&actor)?;
    let mut tx = state.db.write(&actor.tenant).await?;
    sessions::revoke(&mut tx, user, session, state.clock.now_ms()).await?;
    tx.commit().await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    for cookie in state.cookies.clear() {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn session_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Page<SessionOut>>> {
    let (user, session) = user_of(&actor)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let data = sessions::list(&mut tx, user, session, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

async fn session_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (user, _) = user_of(&actor)?;
    let id = SessionId::parse(&id).ok_or_else(|| Problem::not_found("session"))?;
    let mut tx = state.db.write(&actor.tenant).await?;
    if !sessions::revoke(&mut tx, user, &id, state.clock.now_ms()).await? {
        return Err(Problem::not_found("session"));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn session_revoke_all(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<StatusCode> {
    let (user, _) = user_of(&actor)?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let ended = sessions::revoke_all(&mut tx, user, state.clock.now_ms()).await?;
    tx.commit().await?;
    tracing::info!(ended, "all sessions ended");
    Ok(StatusCode::NO_CONTENT)
}
