//! `/invite/{token}`: accepting an invitation in the browser, as `POST
//! /api/v1/invitations/accept` does (`holdfast_app::access::invitations`). A new account chooses
//! its password; an existing one gives its password (and its authenticator code when it has
//! one), throttled like a sign-in. Then the member is signed in to the console and lands on the
//! inbox. An invitation that cannot be used meets one 404 page; one of a suspended workspace
//! meets the suspension's 403 page (`HF-AUTH-010`), which names nothing of it, and stays
//! pending.

use crate::console;
use crate::extract::ClientInfo;
use crate::guard::{Guard, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::access::invitations::{self, Invitation};
use holdfast_core::error::ErrorCode;
use serde::Deserialize;
use serde_json::json;

const AUTH: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/invite/{token}",
        AUTH,
        Doc::page("Console", "An invitation: join the workspace"),
        get(invite_page),
    );
    t.add(
        Method::POST,
        "/invite/{token}",
        AUTH,
        Doc::page("Console", "Accept an invitation, then sign in").redirect(),
        post(invite_submit),
    );
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    token: &'a str,
    invitation: &'a Invitation,
    /// The code field shows for an account with an authenticator (or when a sign-in asks).
    need_code: bool,
    error: Option<&'a str>,
    /// An OpenID provider is configured: joining through it is offered too.
    sso: bool,
}

#[derive(Deserialize)]
struct InviteForm {
    password: String,
    password_again: Option<String>,
    totp_code: Option<String>,
}

/// The one answer to an invitation that opens nothing.
fn gone() -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        "this invitation opens nothing: it may have been used, withdrawn or have expired (they \
         last 7 days). Ask whoever invited you for a new one.",
    )
}

async fn pending(state: &AppState, token: &str) -> ApiResult<Invitation> {
    invitations::look_up(state, token).await?.ok_or_else(gone)
}

async fn invite_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let invitation = pending(&state, &token).await?;
    Ok(console::render(
        StatusCode::OK,
        &InvitePage {
            token: &token,
            need_code: invitation.second_factor,
            invitation: &invitation,
            error: None,
            sso: state.oidc.is_some(),
        },
    ))
}

async fn invite_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    let invitation = pending(&state, &token).await?;
    let form: InviteForm = console::form(&headers, &body)?;
    let again = |status: StatusCode, message: &str, need_code: bool| {
        console::render(
            status,
            &InvitePage {
                token: &token,
                invitation: &invitation,
                need_code: need_code || invitation.second_factor,
                error: Some(message),
                sso: state.oidc.is_some(),
            },
        )
    };
    if !invitation.existing_account && form.password_again.as_deref() != Some(&form.password) {
        return Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The two passwords differ; type the same one twice.",
            false,
        ));
    }
    let code = form.totp_code.as_deref().filter(|c| !c.trim().is_empty());
    let candidate = match invitations::accept(&state, &token, form.password, code).await {
        Ok(candidate) => candidate,
        Err(refused) => {
            let status = StatusCode::from_u16(refused.code.status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            return match refused.code {
                ErrorCode::Validation => {
                    let message = refused
                        .errors
                        .first()
                        .map(|e| format!("The password {}.", e.message))
                        .unwrap_or(refused.detail);
                    Ok(again(status, &message, false))
                }
                ErrorCode::SecondFactorRequired => Ok(again(
                    status,
                    "Enter your password again with the code from your authenticator app.",
                    true,
                )),
                // The invitation was pending a moment ago: the account's password or code is
                // wrong (or it was spent meanwhile, which the next try shows).
                ErrorCode::AuthInvalid => Ok(again(
                    status,
                    "The password or code of your account is not right.",
                    code.is_some(),
                )),
                _ => Err(refused.into()),
            };
        }
    };
    let now = state.clock.now_ms();
    let event = crate::audit::by_user(
        &candidate.user_id,
        &client,
        "invitation.accepted",
        json!({"role": candidate.role, "session": "console"}),
    );
    let (_, cookies) =
        crate::session::start_recorded(&state, &candidate, &client, &event, now).await?;
    Ok(console::signed_in("/", cookies))
}
