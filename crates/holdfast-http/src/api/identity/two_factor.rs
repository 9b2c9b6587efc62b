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
    context, enabled, internal, reauthenticate, second_factor_ok, step_up,
};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::sessions::{
    RecoveryCodesOut, StepUpIn, TotpConfirmIn, TotpDisableIn, TotpEnrollIn, TotpEnrollOut,
};
use holdfast_core::identity::totp;
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::identity::two_factor;
use serde_json::json;

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

/// Putting an authenticator on the account decides who can sign in to it from now on, so it
/// needs the password (with the sign-in throttle), not only a session: a stolen session or
/// access token must not be able to lock the owner out with the attacker's authenticator.
async fn enrolment_reauthenticate(
    state: &AppState,
    user_id: &str,
    password: String,
) -> ApiResult<()> {
    reauthenticate(state, user_id, password, None)
        .await
        .map_err(|problem| {
            if problem.code == ErrorCode::AuthInvalid {
                tracing::warn!("two-factor enrolment with a wrong password refused");
                Problem::new(
                    ErrorCode::AuthInvalid,
                    "the password is not right; enrolling an authenticator needs your account's current password",
                )
            } else {
                Problem(problem)
            }
        })
}

async fn totp_enroll(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: JsonBody<TotpEnrollIn>,
) -> ApiResult<Json<TotpEnrollOut>> {
    let user = user_id(&actor)?;
    if enabled(&state, user).await? {
        return Err(already_on());
    }
    enrolment_reauthenticate(&state, user, body.value.password).await?;
    let (email, _) = two_factor::account(&state.db, user)
        .await?
        .ok_or_else(|| internal("signed-in user has no account row"))?;
    let secret = totp::new_secret();
    let sealed = state
        .sealer
        .seal(&secret, &context(user))
        .ok_or_else(|| internal("sealing failed"))?;
    if !two_factor::begin(&state.db, user, &sealed, state.clock.now_ms()).await? {
        return Err(already_on());
    }
    let uri = totp::otpauth_uri(&secret, &email);
    Ok(Json(TotpEnrollOut {
        secret: totp::base32(&secret),
        qr_svg: totp::qr_svg(&uri).unwrap_or_default(),
        otpauth_uri: uri,
    }))
}

fn already_on() -> Problem {
    Problem::new(
        ErrorCode::Conflict,
        "two-factor sign-in is already on; disable it first (password and code) to enrol a new authenticator",
    )
}

async fn totp_confirm(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<TotpConfirmIn>,
) -> ApiResult<Json<RecoveryCodesOut>> {
    let user = user_id(&actor)?;
    let row = two_factor::get(&state.db, user).await?;
    if row.as_ref().is_none_or(|r| r.confirmed_at.is_some()) {
        return Err(Problem::new(
            ErrorCode::Conflict,
            "there is no enrolment waiting for confirmation; start with /api/v1/auth/2fa/enroll",
        ));
    }
    enrolment_reauthenticate(&state, user, body.value.password.clone()).await?;
    if !second_factor_ok(&state, user, &body.value.code, false).await? {
        return Err(Problem::field(
            ErrorCode::Validation,
            "code",
            "is not the authenticator's current code",
        ));
    }
    let codes = totp::new_recovery_codes();
    let digests: Vec<String> = codes.iter().map(|c| totp::recovery_digest(c)).collect();
    two_factor::confirm(&state.db, user, &digests, state.clock.now_ms()).await?;
    record(&state, &actor, &client, "auth.2fa_enabled").await?;
    tracing::info!("two-factor sign-in turned on");
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
    let user = user_id(&actor)?;
    reauthenticate(
        &state,
        user,
        body.value.password.clone(),
        Some(&body.value.code),
    )
    .await?;
    two_factor::disable(&state.db, user).await?;
    record(&state, &actor, &client, "auth.2fa_disabled").await?;
    tracing::info!("two-factor sign-in turned off");
    Ok(StatusCode::NO_CONTENT)
}

/// Two-factor settings belong to the account, across workspaces; the change is recorded in the
/// trail of the workspace the user made it from.
async fn record(
    state: &AppState,
    actor: &Actor,
    client: &ClientInfo,
    action: &'static str,
) -> ApiResult<()> {
    let user = user_id(actor)?;
    let event = audit::by(actor, client, action, "user", user, json!({}));
    let mut tx = state.db.write(&actor.tenant).await?;
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

async fn auth_step_up(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<StepUpIn>,
) -> ApiResult<StatusCode> {
    let Principal::User {
        user_id,
        session_id,
        ..
    } = &actor.principal
    else {
        return Err(Problem(ApiError::internal()));
    };
    let by = audit::by(
        &actor,
        &client,
        "auth.step_up",
        "session",
        session_id.as_str(),
        json!({}),
    );
    step_up(
        &state,
        &actor.tenant,
        user_id.as_str(),
        session_id,
        body.value.password.clone(),
        body.value.totp_code.as_deref(),
        by,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
