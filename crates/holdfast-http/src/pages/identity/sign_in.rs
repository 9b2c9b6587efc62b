//! `/sign-in` (email, password, workspace, then the authenticator code when the account has
//! one), `/sign-out`, and `/`, which leads to the inbox (or to sign-in without a session). The
//! same checks as `POST /api/v1/auth/login` (the throttle, the decoy hash, the audit of
//! failures) through `holdfast_app::identity::sign_in`.

use crate::audit;
use crate::console::{self, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard, RateLimit};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use holdfast_app::identity::sign_in::password_sign_in;
use holdfast_core::error::ErrorCode;
use holdfast_store::identity::auth::Principal;
use holdfast_store::identity::sessions;
use serde::Deserialize;

const AUTH: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/",
        Guard::User,
        Doc::page(
            "Console",
            "The console's front door: the first section the person may open, or sign-in",
        )
        .redirect(),
        get(front_door),
    );
    t.add(
        Method::GET,
        "/sign-in",
        AUTH,
        Doc::page("Console", "The sign-in page"),
        get(sign_in_page),
    );
    t.add(
        Method::POST,
        "/sign-in",
        AUTH,
        Doc::page("Console", "Sign in to the console").redirect(),
        post(sign_in_submit),
    );
    t.add(
        Method::POST,
        "/sign-out",
        Guard::User,
        Doc::page("Console", "Sign out of the console").redirect(),
        post(sign_out),
    );
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    error: Option<&'a str>,
    /// Good news from the step before (a password just reset).
    notice: Option<&'static str>,
    need_code: bool,
    email: &'a str,
    workspace: &'a str,
    next: &'a str,
    /// An OpenID provider is configured: the single sign-on form shows.
    sso: bool,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
    /// `reset`: the password was just reset (`/reset/{token}` leads here); `account_deleted`:
    /// the person just deleted their account (`/app/settings/account/delete`).
    done: Option<String>,
    /// A workspace's slug to fill in (the workspace switcher leads here).
    workspace: Option<String>,
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    workspace: String,
    totp_code: Option<String>,
    next: Option<String>,
}

/// Where to go after signing in: a console page named by `next`, else the front door (never
/// another site).
fn destination(next: Option<&str>) -> &str {
    console::app_path(next).unwrap_or("/")
}

/// `/`: the first section the person may open (the inbox, unless the help desk is off or
/// their role cannot read tickets); without a session the guard's 401 becomes `/sign-in`.
async fn front_door(Authed(actor): Authed) -> Response {
    see_other(console::home(&actor), false)
}

async fn sign_in_page(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<NextQuery>,
) -> Response {
    console::render(
        StatusCode::OK,
        &SignInPage {
            error: None,
            notice: match query.done.as_deref() {
                Some("reset") => Some(
                    "Your password is changed and every session of your account has ended. \
                     Sign in with the new password.",
                ),
                Some("account_deleted") => Some(
                    "Your account is deleted, and with it every session and membership. \
                     Nothing of it can sign in any more.",
                ),
                _ => None,
            },
            need_code: false,
            email: "",
            workspace: query
                .workspace
                .as_deref()
                .filter(|slug| holdfast_core::validate::slug("workspace", slug).is_ok())
                .unwrap_or(""),
            next: destination(query.next.as_deref()),
            sso: state.oidc.is_some(),
        },
    )
}

async fn sign_in_submit(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    let form: SignInForm = console::form(&headers, &body)?;
    let next = destination(form.next.as_deref());
    let code = form.totp_code.as_deref().filter(|c| !c.trim().is_empty());
    let signed_in = password_sign_in(
        &state,
        &form.email,
        form.password,
        &form.workspace,
        code,
        |candidate, factor| audit::sign_in_failed(candidate, &client, factor),
    )
    .await;
    let candidate = match signed_in {
        Ok(candidate) => candidate,
        Err(refused) => {
            let need_code = refused.code == ErrorCode::SecondFactorRequired
                || (code.is_some() && refused.code == ErrorCode::AuthInvalid);
            let message = match refused.code {
                ErrorCode::SecondFactorRequired => {
                    "Enter your password again with the code from your authenticator app."
                }
                ErrorCode::AuthInvalid => "The email, password, workspace or code is not right.",
                _ => refused.detail.as_str(),
            };
            let status =
                StatusCode::from_u16(refused.code.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return Ok(console::render(
                status,
                &SignInPage {
                    error: Some(message),
                    notice: None,
                    need_code,
                    email: form.email.trim(),
                    workspace: form.workspace.trim(),
                    next,
                    sso: state.oidc.is_some(),
                },
            ));
        }
    };
    let now = state.clock.now_ms();
    let (_, cookies) = crate::session::start(&state, &candidate, &client, "password", now).await?;
    Ok(console::signed_in(next, cookies))
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authed(actor): Authed,
) -> ApiResult<Response> {
    if let Principal::User {
        user_id,
        session_id,
        ..
    } = &actor.principal
    {
        let mut tx = state.db.write(&actor.tenant).await?;
        sessions::revoke(&mut tx, user_id, session_id, state.clock.now_ms()).await?;
        tx.commit().await?;
    }
    let mut response = see_other("/sign-in", console::is_htmx(&headers));
    for cookie in state.cookies.clear() {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response.into_response())
}
