//! `/api/v1/auth/2fa`: TOTP two-factor sign-in for the signed-in user's own account.
//! Threat note: docs/design/sign-in.md.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::post;
use holdfast_app::identity::second_factor::{
    begin_enrolment, confirm_enrolment, step_up, turn_off,
};
use holdfast_core::error::ApiError;
use holdfast_core::identity::sessions::{
    RecoveryCodesOut, StepUpIn, TotpConfirmIn, TotpDisableIn, TotpEnrollIn, TotpEnrollOut,
};
use holdfast_store::identity::auth::{Actor, Principal};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::POST,
        "/api/v1/auth/step-up",
        Guard::User,
        Doc::new(
            "auth",
            "Re-confirm your password (and code) before a sensitive action; lasts 10 minutes",
        )
        .request::<StepUpIn>()
        .no_content(),
        post(auth_step_up),
    );
    let doc = |summary| Doc::new("auth", summary);
    t.add(
        Method::POST,
        "/api/v1/auth/2fa/enroll",
        Guard::User,
        doc("Start two-factor enrolment (password): a new TOTP secret")
            .request::<TotpEnrollIn>()
            .response::<TotpEnrollOut>(200),
        post(totp_enroll),
    );
    t.add(
        Method::POST,
        "/api/v1/auth/2fa/confirm",
        Guard::User,
        doc("Confirm enrolment (password and code); returns recovery codes once")
            .request::<TotpConfirmIn>()
            .response::<RecoveryCodesOut>(200),
        post(totp_confirm),
    );
    t.add(
        Method::POST,
        "/api/v1/auth/2fa/disable",
        Guard::User,
        doc("Turn two-factor sign-in off (password and code)")
            .request::<TotpDisableIn>()
            .no_content(),
        post(totp_disable),
    );
}

fn user_id(actor: &Actor) -> ApiResult<&str> {
    match &actor.principal {
        Principal::User { user_id, .. } => Ok(user_id.as_str()),
        Principal::ApiKey(_) => Err(Problem(ApiError::internal())),
    }
}

async fn totp_enroll(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: JsonBody<TotpEnrollIn>,
) -> ApiResult<Json<TotpEnrollOut>> {
    let user = user_id(&actor)?;
    Ok(Json(
        begin_enrolment(&state, user, body.value.password).await?,
    ))
}

async fn totp_confirm(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<TotpConfirmIn>,
) -> ApiResult<Json<RecoveryCodesOut>> {
    let origin = audit::origin(&actor, &client);
    let TotpConfirmIn { password, code } = body.value;
    let codes = confirm_enrolment(&state, &actor, &origin, password, &code).await?;
    Ok(Json(RecoveryCodesOut {
        recovery_codes: codes,
    }))
}

async fn totp_disable(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<TotpDisableIn>,
) -> ApiResult<StatusCode> {
    let origin = audit::origin(&actor, &client);
    let TotpDisableIn { password, code } = body.value;
    turn_off(&state, &actor, &origin, password, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn auth_step_up(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<StepUpIn>,
) -> ApiResult<StatusCode> {
    let origin = audit::origin(&actor, &client);
    let StepUpIn {
        password,
        totp_code,
    } = body.value;
    step_up(&state, &actor, &origin, password, totp_code.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
