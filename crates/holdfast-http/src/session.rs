//! Starting a console session: the sign-in's audit entry, the session row, and the answer that
//! sets its cookies and hands the browser its CSRF token. Used by password sign-in and single
//! sign-on.

use crate::audit;
use crate::extract::ClientInfo;
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::Json;
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use holdfast_core::identity::sessions::{ConsoleSessionOut, LoginOut};
use holdfast_store::identity;
use holdfast_store::ops::audit::NewEvent;
use serde_json::json;

/// Starts a console session for a verified candidate: the session cookie (HttpOnly) and the
/// CSRF cookie, and the CSRF token in the body.
/// `method` names how the user proved who they are, for the audit trail.
pub(crate) async fn console_session(
    state: &AppState,
    candidate: &identity::LoginCandidate,
    client: &ClientInfo,
    method: &'static str,
    now: i64,
) -> ApiResult<Response> {
    let (session, cookies) = start(state, candidate, client, method, now).await?;
    let mut response = Json(LoginOut::Console(session)).into_response();
    for cookie in cookies {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The console session for a verified candidate and the two cookies that carry it (the
/// session, HttpOnly; the CSRF token).
pub(crate) async fn start(
    state: &AppState,
    candidate: &identity::LoginCandidate,
    client: &ClientInfo,
    method: &'static str,
    now: i64,
) -> ApiResult<(ConsoleSessionOut, [HeaderValue; 2])> {
    let event = audit::by_user(
        &candidate.user_id,
        client,
        "auth.sign_in",
        json!({"method": method, "session": "console"}),
    );
    start_recorded(state, candidate, client, &event, now).await
}

/// As [`start`], with `event` in the audit trail for how the session began (an invitation
/// accepted, say) instead of a sign-in.
pub(crate) async fn start_recorded(
    state: &AppState,
    candidate: &identity::LoginCandidate,
    client: &ClientInfo,
    event: &NewEvent,
    now: i64,
) -> ApiResult<(ConsoleSessionOut, [HeaderValue; 2])> {
    let issued = identity::start_console_session(
        &state.db,
        candidate,
        event,
        client.user_agent.as_deref(),
        client.ip.as_deref(),
        now,
    )
    .await?;
    tracing::info!(session_id = %issued.session_id, "signed in to the console");
    let csrf_token = state.csrf_key.token_for(issued.session_id.as_str());
    let max_age_s = (issued.expires_at - now) / 1000;
    let cookies = state
        .cookies
        .set(issued.cookie.expose(), &csrf_token, max_age_s);
    Ok((
        ConsoleSessionOut {
            session_id: issued.session_id.to_string(),
            csrf_token,
            expires_at: issued.expires_at,
        },
        cookies,
    ))
}
