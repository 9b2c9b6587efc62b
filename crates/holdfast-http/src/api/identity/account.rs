//! `/api/v1/auth/account`: the signed-in user's own account.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use holdfast_app::identity::account::delete_account;
use holdfast_core::identity::sessions::StepUpIn;

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::POST,
        "/api/v1/auth/account/delete",
        Guard::User,
        Doc::new(
            "auth",
            "Delete your account: password, and the authenticator code when enrolled, every time",
        )
        .request::<StepUpIn>()
        .no_content(),
        post(account_delete),
    );
}

/// Deleting an account is never covered by an earlier step-up: the password, and the code
/// when an authenticator is enrolled, are checked again on this very request
/// (`holdfast_app::identity::account::delete_account`).
async fn account_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<StepUpIn>,
) -> ApiResult<Response> {
    let origin = audit::origin(&actor, &client);
    let StepUpIn {
        password,
        totp_code,
    } = body.value;
    delete_account(&state, &actor, &origin, password, totp_code.as_deref()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    for cookie in state.cookies.clear() {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}
