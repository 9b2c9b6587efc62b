//! Single sign-on in the console, when an OpenID provider is configured. `/sign-in/sso` hands
//! the browser to `/api/v1/auth/oidc/start` for a workspace (or an invitation): a page that
//! moves on by itself (`<meta http-equiv="refresh">`, with a link), because Chrome checks
//! `form-action 'self'` against every redirect of a form's submission and would stop the one to
//! the provider. `/sign-in/confirm` is where the callback sends a sign-in the account must
//! confirm first — its password the first time a provider identity is linked to it, its code
//! when it has an authenticator — finished as `POST /api/v1/auth/oidc/complete` does
//! (`holdfast_app::identity::sso::complete`), then signed in to the console.

use crate::console;
use crate::cookies::cookie;
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Guard, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::identity::sso::{self, Waiting};
use holdfast_core::error::ErrorCode;
use holdfast_core::token::parse_opaque;
use holdfast_core::validate;
use holdfast_store::access::invitations;
use serde::Deserialize;

const AUTH: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/sign-in/sso",
        AUTH,
        Doc::page(
            "Console",
            "Single sign-on: on to the identity provider for a workspace or an invitation",
        ),
        get(sso_start),
    );
    t.add(
        Method::GET,
        "/sign-in/confirm",
        AUTH,
        Doc::page(
            "Console",
            "Single sign-on: the account confirms with its password or code",
        ),
        get(confirm_page),
    );
    t.add(
        Method::POST,
        "/sign-in/confirm",
        AUTH,
        Doc::page("Console", "Finish single sign-on, then sign in").redirect(),
        post(confirm_submit),
    );
}

#[derive(Template)]
#[template(path = "sso_start.html")]
struct StartPage {
    /// `/api/v1/auth/oidc/start?…`
    to: String,
}

#[derive(Template)]
#[template(path = "sso_confirm.html")]
struct ConfirmPage<'a> {
    waiting: &'a Waiting,
    need_code: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
struct StartQuery {
    workspace: Option<String>,
    invitation: Option<String>,
}

#[derive(Deserialize)]
struct ConfirmForm {
    password: Option<String>,
    totp_code: Option<String>,
}

/// Without a provider configured, these pages are not there.
fn configured(state: &AppState) -> ApiResult<()> {
    if state.oidc.is_none() {
        return Err(Problem::new(
            ErrorCode::NotFound,
            "single sign-on is not configured on this server; sign in with your password",
        ));
    }
    Ok(())
}

async fn sso_start(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<StartQuery>,
) -> ApiResult<Response> {
    configured(&state)?;
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let pair = match (given(&query.invitation), given(&query.workspace)) {
        (Some(token), _) => {
            parse_opaque(invitations::PREFIX, &token).ok_or_else(|| {
                Problem::field(
                    ErrorCode::Validation,
                    "invitation",
                    "is not an invitation; open the link from the invitation message",
                )
            })?;
            ("invitation", token)
        }
        (None, Some(slug)) => (
            "workspace",
            validate::slug("workspace", &slug).map_err(|e| Problem::validation(vec![e]))?,
        ),
        (None, None) => {
            return Err(Problem::field(
                ErrorCode::Validation,
                "workspace",
                "name the workspace to sign in to",
            ));
        }
    };
    let to = format!(
        "/api/v1/auth/oidc/start?{}",
        serde_urlencoded::to_string([pair]).unwrap_or_default()
    );
    Ok(console::render(StatusCode::OK, &StartPage { to }))
}

/// The page when nothing waits in this browser (none started, expired, or used).
fn nothing_waiting() -> Response {
    console::error_page(
        StatusCode::UNAUTHORIZED,
        "Single sign-on refused",
        "No single sign-on is waiting in this browser, or it expired (after 5 minutes) or was \
         used. Start again from the sign-in page.",
    )
}

async fn confirm_page(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    configured(&state)?;
    let Some(waiting) = sso::waiting(&state, cookie(&headers, state.cookies.sso_name)).await?
    else {
        return Ok(nothing_waiting());
    };
    Ok(console::render(
        StatusCode::OK,
        &ConfirmPage {
            need_code: waiting.needs_code,
            waiting: &waiting,
            error: None,
        },
    ))
}

async fn confirm_submit(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    configured(&state)?;
    console::same_site(&state, &headers)?;
    let flow = cookie(&headers, state.cookies.sso_name);
    let Some(waiting) = sso::waiting(&state, flow).await? else {
        return Ok(nothing_waiting());
    };
    let form: ConfirmForm = console::form(&headers, &body)?;
    let code = form.totp_code.as_deref().filter(|c| !c.trim().is_empty());
    let (candidate, method) = match sso::complete(&state, flow, form.password, code).await {
        Ok(done) => done,
        Err(refused) => {
            let (message, need_code) = match refused.code {
                ErrorCode::Validation => ("Enter your account's password.", false),
                ErrorCode::SecondFactorRequired => {
                    ("Enter the code from your authenticator app as well.", true)
                }
                ErrorCode::AuthInvalid => ("The password or code is not right.", false),
                ErrorCode::SsoRefused => return Ok(nothing_waiting()),
                _ => return Err(refused.into()),
            };
            let status =
                StatusCode::from_u16(refused.code.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return Ok(console::render(
                status,
                &ConfirmPage {
                    need_code: need_code || waiting.needs_code,
                    waiting: &waiting,
                    error: Some(message),
                },
            ));
        }
    };
    let now = state.clock.now_ms();
    let (_, cookies) = crate::session::start(&state, &candidate, &client, method, now).await?;
    let mut response = console::signed_in("/", cookies);
    response
        .headers_mut()
        .append(SET_COOKIE, state.cookies.clear_sso());
    tracing::info!("signed in through single sign-on after confirming on its page");
    Ok(response)
}
