//! `/app/step-up`: confirming the password (and the authenticator code when enrolled) before a
//! sensitive page or action, exactly as `POST /api/v1/auth/step-up`
//! (`holdfast_app::identity::second_factor::step_up`), then back to the page that asked
//! (`console::as_page` links here when a route answers 403 HF-AUTH-005).

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
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/app/step-up",
        Guard::User,
        Doc::page(
            "Console",
            "Confirm your password (and code) before a sensitive action",
        ),
        get(step_up_page),
    );
    t.add(
        Method::POST,
        "/app/step-up",
        Guard::User,
        Doc::page(
            "Console",
            "Re-confirm your password (and code); lasts 10 minutes, then back",
        )
        .redirect(),
        post(step_up_submit),
    );
}

#[derive(Template)]
#[template(path = "step_up.html")]
struct StepUpPage<'a> {
    frame: Frame,
    back: &'a str,
    need_code: bool,
    error: Option<String>,
}

/// Where to go after: a console page, else the settings.
fn back_to(back: Option<&str>) -> &str {
    console::app_path(back).unwrap_or("/app/settings")
}

async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    back: &str,
    error: Option<String>,
) -> ApiResult<Response> {
    let need_code = match actor.user_id() {
        Some(user) => enabled(state, user.as_str()).await?,
        None => false,
    };
    let page = StepUpPage {
        frame: Frame::new(state, actor, "").await?,
        back,
        need_code,
        error,
    };
    Ok(console::render(status, &page))
}

#[derive(Deserialize)]
struct BackQuery {
    back: Option<String>,
}

async fn step_up_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<BackQuery>,
) -> ApiResult<Response> {
    let back = back_to(query.back.as_deref());
    render(&state, &actor, StatusCode::OK, back, None).await
}

#[derive(Deserialize)]
struct StepUpForm {
    password: String,
    totp_code: Option<String>,
    back: Option<String>,
}

async fn step_up_submit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: StepUpForm = console::form(&headers, &body)?;
    let back = back_to(form.back.as_deref());
    let code = form.totp_code.as_deref().filter(|c| !c.trim().is_empty());
    let origin = audit::origin(&actor, &client);
    match step_up(&state, &actor, &origin, form.password, code).await {
        Ok(()) => Ok(see_other(back, is_htmx(&headers))),
        Err(e) => {
            let (status, message) = console::explain(&Problem(e));
            render(&state, &actor, status, back, Some(message)).await
        }
    }
}
