//! The client portal's optional password, in its pages: the sign-in page's password form
//! (`POST /portal/{workspace_slug}/password-sign-in`: a browser session, one answer for every
//! failure), asking for a reset link (`…/password-reset`: the same answer for every address),
//! the reset link's page (`…/password-reset/{token}`: a `GET` spends nothing, its form's
//! `POST` sets the new password), and a signed-in customer's own password page
//! (`…/password`). Through `holdfast_app::portal::password`, like the API.

use crate::console;
use crate::console::portal::{
    Ask, PortalFrame, SignInPage, ask_by_mail, gone, page, sign_in_from, signed_in,
};
use crate::extract::ClientInfo;
use crate::guard::{Guard, PortalAuthed, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::portal::brand;
use holdfast_app::portal::password as app;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::portal::{PortalPasswordIn, PortalPasswordSignInIn, SessionKind};
use serde::Deserialize;

const VIEW: Guard = Guard::Public {
    rate_limit: RateLimit::Standard,
};
const AUTH: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Client portal", summary);
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/password-sign-in",
        AUTH,
        doc("Sign in with an address and a portal password: a portal session starts").redirect(),
        post(password_sign_in),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/password-reset",
        AUTH,
        doc("Ask for a portal password reset link by email (the same answer for every address)"),
        post(ask_for_reset),
    );
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/password-reset/{token}",
        VIEW,
        doc("A password reset link's page (spends nothing)"),
        get(reset_page),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/password-reset/{token}",
        AUTH,
        doc("Spend a password reset link: the new password is set, every session ends"),
        post(reset),
    );
}

/// A signed-in customer's own password page: in the portal's module.
pub fn signed_in_routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Client portal", summary);
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/password",
        Guard::Portal,
        doc("The form to set or change the customer's portal password"),
        get(password_page),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/password",
        Guard::Portal,
        doc("Set or change the customer's portal password; their other sessions end"),
        post(password_set),
    );
}

#[derive(Template)]
#[template(path = "portal_password.html")]
struct PasswordPage {
    frame: PortalFrame,
    saved: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal_password_reset.html")]
struct ResetPage<'a> {
    frame: PortalFrame,
    action: &'a str,
    error: Option<String>,
    done: bool,
}

/// What a refused form says: the detail, or each named field's message.
fn said(refused: &ApiError) -> String {
    if refused.errors.is_empty() {
        return refused.detail.clone();
    }
    refused
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignInForm {
    email: String,
    password: String,
}

async fn password_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    Path(slug): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    let Some(brand) = brand::of_portal(&state, &slug).await? else {
        return Ok(gone());
    };
    let form: SignInForm = console::form(&headers, &body)?;
    let asked = PortalPasswordSignInIn {
        workspace: slug.clone(),
        email: form.email.clone(),
        password: form.password,
    };
    let refused =
        match app::sign_in(&state, &asked, SessionKind::Browser, &sign_in_from(&client)).await {
            Ok(done) => return Ok(signed_in(&state, &done)),
            Err(refused) => refused,
        };
    let status = match refused.code {
        ErrorCode::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::AuthInvalid => StatusCode::UNAUTHORIZED,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        _ => return Err(Problem(refused)),
    };
    let message = said(&refused);
    let mut response = page(
        status,
        &SignInPage {
            frame: PortalFrame::public(brand),
            email: form.email.trim(),
            error: Some(&message),
            sent: false,
            signed_out: false,
            reset_sent: false,
            password_open: true,
        },
    );
    if let Some(wait) = refused.retry_after
        && let Ok(value) = HeaderValue::from_str(&wait.to_string())
    {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    Ok(response)
}

async fn ask_for_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    ask_by_mail(&state, &headers, &slug, &body, Ask::PasswordReset).await
}

/// The slug and token of `/portal/{slug}/password-reset/{token}` as sent, not percent-decoded
/// (anything but a base62 token fails its shape check and meets the same 404).
fn slug_and_token(uri: &Uri) -> (&str, &str) {
    let rest = uri.path().strip_prefix("/portal/").unwrap_or_default();
    let (slug, rest) = rest.split_once('/').unwrap_or_default();
    (
        slug,
        rest.strip_prefix("password-reset/").unwrap_or_default(),
    )
}

async fn reset_page(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    let (slug, token) = slug_and_token(&uri);
    let Some(brand) = app::reset_page(&state, slug, token).await? else {
        return Ok(gone());
    };
    Ok(page(
        StatusCode::OK,
        &ResetPage {
            frame: PortalFrame::public(brand.clone()),
            action: uri.path(),
            error: None,
            done: false,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResetForm {
    password: String,
}

async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    uri: Uri,
    body: Bytes,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    let (slug, token) = slug_and_token(&uri);
    let Some(brand) = app::reset_page(&state, slug, token).await? else {
        return Ok(gone());
    };
    let form: ResetForm = console::form(&headers, &body)?;
    let (status, error, done) =
        match app::complete_reset(&state, slug, token, form.password, &sign_in_from(&client)).await
        {
            Ok(true) => (StatusCode::OK, None, true),
            Ok(false) => return Ok(gone()),
            Err(refused) if refused.code == ErrorCode::Validation => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(said(&refused)),
                false,
            ),
            Err(refused) => return Err(Problem(refused)),
        };
    let mut response = page(
        status,
        &ResetPage {
            frame: PortalFrame::public(brand.clone()),
            action: uri.path(),
            error,
            done,
        },
    );
    if done {
        response
            .headers_mut()
            .append(SET_COOKIE, state.cookies.clear_portal());
    }
    Ok(response)
}

async fn password_page(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
) -> ApiResult<Response> {
    Ok(page(
        StatusCode::OK,
        &PasswordPage {
            frame: PortalFrame::of(&state, &actor),
            saved: false,
            error: None,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SetForm {
    password: String,
    current_password: String,
}

async fn password_set(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: SetForm = console::form(&headers, &body)?;
    let input = PortalPasswordIn {
        password: form.password,
        current_password: Some(form.current_password).filter(|p| !p.is_empty()),
    };
    let origin = crate::audit::portal_origin(&actor, &client);
    let (status, saved, error) = match app::set(&state, &actor, &input, &origin).await {
        Ok(()) => (StatusCode::OK, true, None),
        Err(refused) if refused.code == ErrorCode::Validation => (
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            Some(said(&refused)),
        ),
        Err(refused) => return Err(Problem(refused)),
    };
    Ok(page(
        status,
        &PasswordPage {
            frame: PortalFrame::of(&state, &actor),
            saved,
            error,
        },
    ))
}
