//! `/app/step-up`: a signed-in person confirms their password (and authenticator code when
//! they have one) before a sensitive action, exactly as `POST /api/v1/auth/step-up` does
//! (`holdfast_app::identity::second_factor::step_up`: the sign-in throttle, then the session
//! marked for ten minutes, audited), and is sent back to the page they came from.
//! `console::as_page` sends here any action refused for want of it (403 HF-AUTH-005).

use crate::audit;
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::identity::second_factor::{enabled, step_up};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_store::identity::auth::{Actor, Principal};
use serde::Deserialize;
use serde_json::json;

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/app/step-up",
        Guard::User,
        Doc::page("Console", "Confirm your password before a sensitive action"),
        get(step_up_page),
    );
    t.add(
        Method::POST,
        "/app/step-up",
        Guard::User,
        Doc::page("Console", "Confirm your password, then go back").redirect(),
        post(step_up_submit),
    );
}

#[derive(Template)]
#[template(path = "step_up.html")]
struct StepUpPage<'a> {
    frame: Frame,
    back: &'a str,
    need_code: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
struct BackQuery {
    back: Option<String>,
}

#[derive(Deserialize)]
struct StepUpForm {
    password: String,
    totp_code: Option<String>,
    back: Option<String>,
}

/// Where to go after: the console page named, else the inbox.
fn back_to(back: Option<&str>) -> &str {
    console::app_path(back).unwrap_or("/app/inbox")
}

fn user_of(actor: &Actor) -> ApiResult<(&str, &holdfast_core::ids::SessionId)> {
    match &actor.principal {
        Principal::User {
            user_id,
            session_id,
            ..
        } => Ok((user_id.as_str(), session_id)),
        // The route's guard lets only signed-in users through.
        Principal::ApiKey(_) => Err(Problem(ApiError::internal())),
    }
}

async fn step_up_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<BackQuery>,
) -> ApiResult<Response> {
    let (user_id, _) = user_of(&actor)?;
    let page = StepUpPage {
        frame: Frame::new(&state, &actor, "").await?,
        back: back_to(query.back.as_deref()),
        need_code: enabled(&state, user_id).await?,
        error: None,
    };
    Ok(console::render(StatusCode::OK, &page))
}

async fn step_up_submit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: StepUpForm = console::form(&headers, &body)?;
    let (user_id, session_id) = user_of(&actor)?;
    let back = back_to(form.back.as_deref());
    let code = form
        .totp_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let by = audit::by(
        &actor,
        &client,
        "auth.step_up",
        "session",
        session_id.as_str(),
        json!({"via": "console"}),
    );
    let done = step_up(
        &state,
        &actor.tenant,
        user_id,
        session_id,
        form.password,
        code,
        by,
    )
    .await;
    let refused = match done {
        Ok(()) => return Ok(see_other(back, is_htmx(&headers))),
        Err(e) => e,
    };
    let message = match refused.code {
        ErrorCode::SecondFactorRequired => {
            "Enter your password again with the code from your authenticator app."
        }
        ErrorCode::AuthInvalid => "The password or the code is not right.",
        // Too many tries, or the server's own trouble: the refusal's own page.
        _ => return Err(Problem(refused)),
    };
    let status = StatusCode::from_u16(refused.code.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let page = StepUpPage {
        frame: Frame::new(&state, &actor, "").await?,
        back,
        need_code: enabled(&state, user_id).await?,
        error: Some(message),
    };
    Ok(console::render(status, &page))
}
