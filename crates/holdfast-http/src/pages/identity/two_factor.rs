//! `/app/settings/two-factor`: two-factor sign-in for the person's own account — enrolling an
//! authenticator (the password, then the QR code and the key as text, then a code), the
//! recovery codes shown once, and turning it off (password and code). The same operations as
//! `/api/v1/auth/2fa/*`, through `holdfast_app::identity::second_factor`.

use crate::audit;
use crate::console::settings::Shell;
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
use base64::Engine;
use holdfast_app::identity::second_factor::{begin_enrolment, confirm_enrolment, turn_off};
use holdfast_store::identity::auth::Actor;
use holdfast_store::identity::two_factor;
use serde::Deserialize;

const HERE: &str = "/app/settings/two-factor";

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        HERE,
        Guard::User,
        Doc::page(
            "Console",
            "Two-factor sign-in: its state and the forms to change it",
        ),
        get(two_factor_page),
    );
    t.add(
        Method::POST,
        "/app/settings/two-factor/enroll",
        Guard::User,
        Doc::page(
            "Console",
            "Start enrolling an authenticator (password): the QR code",
        ),
        post(enrol),
    );
    t.add(
        Method::POST,
        "/app/settings/two-factor/confirm",
        Guard::User,
        Doc::page(
            "Console",
            "Confirm the authenticator (password and code): the recovery codes, once",
        ),
        post(confirm),
    );
    t.add(
        Method::POST,
        "/app/settings/two-factor/disable",
        Guard::User,
        Doc::page("Console", "Turn two-factor sign-in off (password and code)").redirect(),
        post(disable),
    );
}

/// What the page shows.
enum TwoFactorState {
    Off,
    /// Just begun: the QR code (an SVG Holdfast drew, shown as an image, never as markup) and
    /// the key as text.
    Scan {
        qr_base64: String,
        secret: String,
    },
    /// Begun earlier and not confirmed.
    Pending,
    /// Just confirmed: the recovery codes, this once.
    Codes {
        codes: Vec<String>,
    },
    On {
        recovery_left: i64,
    },
}

#[derive(Template)]
#[template(path = "settings/two_factor.html")]
struct TwoFactorPage {
    frame: Frame,
    shell: Shell,
    state: TwoFactorState,
}

fn user_of(actor: &Actor) -> ApiResult<&str> {
    actor
        .user_id()
        .map(|u| u.as_str())
        .ok_or_else(|| Problem(holdfast_core::error::ApiError::internal()))
}

/// The account's state as stored.
async fn stored_state(state: &AppState, actor: &Actor) -> ApiResult<TwoFactorState> {
    let user = user_of(actor)?;
    Ok(match two_factor::get(&state.db, user).await? {
        None => TwoFactorState::Off,
        Some(row) if row.confirmed_at.is_none() => TwoFactorState::Pending,
        Some(_) => TwoFactorState::On {
            recovery_left: two_factor::remaining_recovery_codes(&state.db, user).await?,
        },
    })
}

async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    shown: TwoFactorState,
) -> ApiResult<Response> {
    let page = TwoFactorPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        state: shown,
    };
    Ok(console::render(status, &page))
}

/// The page again with what went wrong, in the state the account is in now.
async fn refused(state: &AppState, actor: &Actor, problem: &Problem) -> ApiResult<Response> {
    let (status, message) = console::explain(problem);
    let shown = stored_state(state, actor).await?;
    render(
        state,
        actor,
        status,
        Shell::new(actor, HERE).error(message),
        shown,
    )
    .await
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn two_factor_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("off") => Some("Two-factor sign-in is off."),
        _ => None,
    };
    let shown = stored_state(&state, &actor).await?;
    let shell = Shell::new(&actor, HERE).done(done);
    render(&state, &actor, StatusCode::OK, shell, shown).await
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
}

async fn enrol(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: PasswordForm = console::form(&headers, &body)?;
    let user = user_of(&actor)?;
    match begin_enrolment(&state, user, form.password).await {
        Ok(started) => {
            let shown = TwoFactorState::Scan {
                qr_base64: base64::engine::general_purpose::STANDARD.encode(started.qr_svg),
                secret: started.secret,
            };
            render(
                &state,
                &actor,
                StatusCode::OK,
                Shell::new(&actor, HERE),
                shown,
            )
            .await
        }
        Err(e) => refused(&state, &actor, &Problem(e)).await,
    }
}

#[derive(Deserialize)]
struct CodeForm {
    password: String,
    code: String,
}

async fn confirm(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: CodeForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    match confirm_enrolment(&state, &actor, &origin, form.password, &form.code).await {
        Ok(codes) => {
            let shown = TwoFactorState::Codes { codes };
            render(
                &state,
                &actor,
                StatusCode::OK,
                Shell::new(&actor, HERE),
                shown,
            )
            .await
        }
        Err(e) => refused(&state, &actor, &Problem(e)).await,
    }
}

async fn disable(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: CodeForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    match turn_off(&state, &actor, &origin, form.password, &form.code).await {
        Ok(()) => Ok(see_other(&format!("{HERE}?done=off"), is_htmx(&headers))),
        Err(e) => refused(&state, &actor, &Problem(e)).await,
    }
}
