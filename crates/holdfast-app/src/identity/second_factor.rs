//! The second factor (TOTP, RFC 6238, and single-use recovery codes): whether an account has it
//! on, checking a code (each step and recovery code spent once), enrolling, confirming and
//! turning it off, and re-proving a signed-in user's password and code (step-up) — for the API
//! and the console alike. Threat note: docs/design/sign-in.md.

use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::sessions::TotpEnrollOut;
use holdfast_core::identity::totp;
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::identity::{sessions, two_factor};
use serde_json::json;

pub fn internal(what: &str) -> ApiError {
    tracing::error!("{what}");
    ApiError::internal()
}

pub fn context(user_id: &str) -> String {
    format!("totp:{user_id}")
}

/// Whether `code` is a fresh authenticator code (its step is then spent) or an unused recovery
/// code (then spent). Only for an account with a confirmed or pending secret.
pub async fn second_factor_ok(
    state: &App,
    user_id: &str,
    code: &str,
    confirmed_only: bool,
) -> AppResult<bool> {
    let Some(row) = two_factor::get(&state.db, user_id).await? else {
        return Ok(false);
    };
    if confirmed_only && row.confirmed_at.is_none() {
        return Ok(false);
    }
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let secret = state
            .sealer
            .open(&row.secret_sealed, &context(user_id))
            .ok_or_else(|| internal("a TOTP secret does not open with the master key"))?;
        let Some(step) = totp::matching_step(&secret, code, state.clock.now_ms() / 1000) else {
            return Ok(false);
        };
        return Ok(two_factor::consume_step(&state.db, user_id, step).await?);
    }
    if row.confirmed_at.is_none() {
        return Ok(false);
    }
    Ok(two_factor::use_recovery_code(
        &state.db,
        user_id,
        &totp::recovery_digest(code),
        state.clock.now_ms(),
    )
    .await?)
}

/// Re-proves the signed-in user's password, and second factor when enrolled, with the same
/// throttle and failure counting as a sign-in: a stolen access token is no password oracle.
pub async fn reauthenticate(
    state: &App,
    user_id: &str,
    password: String,
    code: Option<&str>,
) -> AppResult<()> {
    let (email, stored) = two_factor::account(&state.db, user_id)
        .await?
        .ok_or_else(|| internal("signed-in user has no account row"))?;
    crate::identity::sign_in::verify_sign_in(
        state,
        &email,
        user_id,
        stored,
        password,
        code,
        state.clock.now_ms(),
    )
    .await
}

/// Whether the account has two-factor sign-in on.
pub async fn enabled(state: &App, user_id: &str) -> AppResult<bool> {
    Ok(two_factor::get(&state.db, user_id)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some()))
}

/// Putting an authenticator on the account decides who can sign in to it from now on, so it
/// needs the password (with the sign-in throttle), not only a session: a stolen session or
/// access token must not be able to lock the owner out with the attacker's authenticator.
async fn enrolment_reauthenticate(state: &App, user_id: &str, password: String) -> AppResult<()> {
    reauthenticate(state, user_id, password, None)
        .await
        .map_err(|problem| {
            if problem.code == ErrorCode::AuthInvalid {
                tracing::warn!("two-factor enrolment with a wrong password refused");
                ApiError::new(
                    ErrorCode::AuthInvalid,
                    "the password is not right; enrolling an authenticator needs your account's current password",
                )
            } else {
                problem
            }
        })
}

fn already_on() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        "two-factor sign-in is already on; disable it first (password and code) to enrol a new authenticator",
    )
}

/// Starts enrolling an authenticator (the password again): a new secret, sealed and pending
/// until confirmed with a code, as text, as an `otpauth://` URI and as an SVG QR code.
pub async fn begin_enrolment(
    state: &App,
    user_id: &str,
    password: String,
) -> AppResult<TotpEnrollOut> {
    if enabled(state, user_id).await? {
        return Err(already_on());
    }
    enrolment_reauthenticate(state, user_id, password).await?;
    let (email, _) = two_factor::account(&state.db, user_id)
        .await?
        .ok_or_else(|| internal("signed-in user has no account row"))?;
    let secret = totp::new_secret();
    let sealed = state
        .sealer
        .seal(&secret, &context(user_id))
        .ok_or_else(|| internal("sealing failed"))?;
    if !two_factor::begin(&state.db, user_id, &sealed, state.clock.now_ms()).await? {
        return Err(already_on());
    }
    let uri = totp::otpauth_uri(&secret, &email);
    Ok(TotpEnrollOut {
        secret: totp::base32(&secret),
        qr_svg: totp::qr_svg(&uri).unwrap_or_default(),
        otpauth_uri: uri,
    })
}

/// Confirms a pending enrolment (the password and the authenticator's current code): two-factor
/// sign-in is on, recorded in the trail of the workspace it was done from. Returns the recovery
/// codes, which are shown this once and stored only as digests.
pub async fn confirm_enrolment(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    password: String,
    code: &str,
) -> AppResult<Vec<String>> {
    let user_id = user_of(actor)?;
    let row = two_factor::get(&state.db, user_id).await?;
    if row.as_ref().is_none_or(|r| r.confirmed_at.is_some()) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "there is no enrolment waiting for confirmation; start with /api/v1/auth/2fa/enroll",
        ));
    }
    enrolment_reauthenticate(state, user_id, password).await?;
    if !second_factor_ok(state, user_id, code, false).await? {
        return Err(ApiError::field(
            ErrorCode::Validation,
            "code",
            "is not the authenticator's current code",
        ));
    }
    let codes = totp::new_recovery_codes();
    let digests: Vec<String> = codes.iter().map(|c| totp::recovery_digest(c)).collect();
    two_factor::confirm(&state.db, user_id, &digests, state.clock.now_ms()).await?;
    record(state, actor, origin, "auth.2fa_enabled").await?;
    tracing::info!("two-factor sign-in turned on");
    Ok(codes)
}

/// Turns two-factor sign-in off: the password and a current code (or a recovery code), on
/// this very request.
pub async fn turn_off(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    password: String,
    code: &str,
) -> AppResult<()> {
    let user_id = user_of(actor)?;
    reauthenticate(state, user_id, password, Some(code)).await?;
    two_factor::disable(&state.db, user_id).await?;
    record(state, actor, origin, "auth.2fa_disabled").await?;
    tracing::info!("two-factor sign-in turned off");
    Ok(())
}

/// Re-proves the password (and code when enrolled) for the session asking: sensitive actions
/// (`StaffStepUp` routes) are open to it for the next 10 minutes. Recorded in the trail.
pub async fn step_up(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    password: String,
    code: Option<&str>,
) -> AppResult<()> {
    let Principal::User {
        user_id,
        session_id,
        ..
    } = &actor.principal
    else {
        return Err(internal("a step-up without a signed-in user"));
    };
    reauthenticate(state, user_id.as_str(), password, code).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    sessions::mark_stepped_up(&mut tx, session_id, now).await?;
    let event = origin.event("auth.step_up", "session", session_id.as_str(), json!({}));
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The user behind a signed-in user's actor.
fn user_of(actor: &Actor) -> AppResult<&str> {
    actor
        .user_id()
        .map(|u| u.as_str())
        .ok_or_else(|| internal("an account action without a signed-in user"))
}

/// Two-factor settings belong to the account, across workspaces; the change is recorded in the
/// trail of the workspace the user made it from.
async fn record(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    action: &'static str,
) -> AppResult<()> {
    let user = user_of(actor)?;
    let event = origin.event(action, "user", user, json!({}));
    let mut tx = state.db.write(&actor.tenant).await?;
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}
