//! A forgotten password: `/sign-in/forgot` asks for a reset message (always the same answer,
//! at once, as `POST /api/v1/auth/forgot-password`), and `/reset/{token}`, the link in that
//! message, sets a new password (the API's checks: the policy, the token spent once, every
//! session ended), then leads to sign-in. Both through `holdfast_app::identity::reset`. A
//! token that cannot be used meets one 404 page.

use crate::console::{self, see_other};
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
use holdfast_app::identity::reset;
use holdfast_core::error::ErrorCode;
use serde::Deserialize;

const AUTH: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/sign-in/forgot",
        AUTH,
        Doc::page("Console", "Forgot password: ask for a reset message"),
        get(forgot_page),
    );
    t.add(
        Method::POST,
        "/sign-in/forgot",
        AUTH,
        Doc::page(
            "Console",
            "Ask for a reset message (the same answer for every address)",
        ),
        post(forgot_submit),
    );
    t.add(
        Method::GET,
        "/reset/{token}",
        AUTH,
        Doc::page("Console", "The reset link: choose a new password"),
        get(reset_page),
    );
    t.add(
        Method::POST,
        "/reset/{token}",
        AUTH,
        Doc::page("Console", "Set a new password with a reset link").redirect(),
        post(reset_submit),
    );
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage<'a> {
    error: Option<&'a str>,
    email: &'a str,
    sent: bool,
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage<'a> {
    token: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

#[derive(Deserialize)]
struct ResetForm {
    password: String,
    password_again: String,
}

/// The one answer to a reset link that opens nothing: malformed, unknown, spent or expired.
fn link_gone() -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        "this reset link opens nothing: it works once, within 15 minutes. Ask for a new one at \
         /sign-in/forgot.",
    )
}

async fn forgot_page() -> Response {
    console::render(
        StatusCode::OK,
        &ForgotPage {
            error: None,
            email: "",
            sent: false,
        },
    )
}

async fn forgot_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    let form: ForgotForm = console::form(&headers, &body)?;
    // The same page, at once, for every well-formed address.
    if let Err(refused) = reset::request(&state, &form.email) {
        let message = refused
            .errors
            .first()
            .map(|e| format!("Email {}.", e.message))
            .unwrap_or(refused.detail);
        return Ok(console::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                error: Some(&message),
                email: form.email.trim(),
                sent: false,
            },
        ));
    }
    Ok(console::render(
        StatusCode::OK,
        &ForgotPage {
            error: None,
            email: "",
            sent: true,
        },
    ))
}

async fn reset_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    if !reset::usable(&state, &token).await? {
        return Err(link_gone());
    }
    Ok(console::render(
        StatusCode::OK,
        &ResetPage {
            token: &token,
            error: None,
        },
    ))
}

async fn reset_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    if !reset::usable(&state, &token).await? {
        return Err(link_gone());
    }
    let form: ResetForm = console::form(&headers, &body)?;
    let again = |message: &str| {
        console::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                token: &token,
                error: Some(message),
            },
        )
    };
    if form.password != form.password_again {
        return Ok(again("The two passwords differ; type the same one twice."));
    }
    match reset::complete(&state, &token, form.password).await {
        Ok(()) => Ok(see_other("/sign-in?done=reset", false)),
        Err(refused) if refused.code == ErrorCode::AuthInvalid => Err(link_gone()),
        Err(refused) if refused.code == ErrorCode::Validation => {
            let message = refused
                .errors
                .first()
                .map(|e| format!("The password {}.", e.message))
                .unwrap_or(refused.detail);
            Ok(again(&message))
        }
        Err(refused) => Err(refused.into()),
    }
}
