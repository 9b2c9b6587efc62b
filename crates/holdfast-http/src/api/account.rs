//! `/api/v1/auth/account`: the signed-in user's own account.

use crate::api::two_factor::reauthenticate;
use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::problem::{ApiResult, Problem};
use crate::routes::{Doc, Guard, RouteTable};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::sessions::StepUpIn;
use holdfast_store::identity::{self, AccountDeletion};

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
/// when an authenticator is enrolled, are checked again on this very request.
async fn account_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<StepUpIn>,
) -> ApiResult<Response> {
    let Some(user_id) = actor.user_id() else {
        return Err(Problem(ApiError::internal()));
    };
    reauthenticate(
        &state,
        user_id.as_str(),
        body.value.password.clone(),
        body.value.totp_code.as_deref(),
    )
    .await?;
    match identity::unscoped_delete_account(&state.db, user_id.as_str(), state.clock.now_ms())
        .await?
    {
        AccountDeletion::Deleted(workspaces) => {
            tracing::info!("account deleted by its user");
            let event = audit::by(
                &actor,
                &client,
                "member.account_deleted",
                "user",
                user_id.as_str(),
                serde_json::json!({"workspaces": workspaces.len()}),
            );
            let now = state.clock.now_ms();
            for workspace_id in &workspaces {
                if let Err(e) = identity::unscoped_audit(&state.db, workspace_id, &event, now).await
                {
                    tracing::error!(error = %e, "account deletion not recorded in a workspace's trail");
                }
            }
            let mut response = StatusCode::NO_CONTENT.into_response();
            for cookie in state.cookies.clear() {
                response.headers_mut().append(SET_COOKIE, cookie);
            }
            Ok(response)
        }
        AccountDeletion::LastOwner(slugs) => Err(Problem::new(
            ErrorCode::Conflict,
            format!(
                "you are the only owner of {}; make another member an owner first",
                slugs.join(", ")
            ),
        )),
    }
}
