//! The second factor (TOTP, RFC 6238, and single-use recovery codes): whether an account has it
//! on, checking a code (each step and recovery code spent once), re-proving a signed-in
//! user's password and code, and the step-up that follows from it (`POST /api/v1/auth/step-up`
//! and the console's `/app/step-up`). Threat note: docs/design/sign-in.md.

use crate::{App, AppResult};
use holdfast_core::error::ApiError;
use holdfast_core::identity::totp;
use holdfast_core::ids::SessionId;
use holdfast_store::Tenant;
use holdfast_store::identity::{sessions, two_factor};
use holdfast_store::ops::audit::NewEvent;

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

/// A signed-in user's step-up: their password (and code when enrolled) re-proved as
/// [`reauthenticate`] does, then the session marked as stepped up (sensitive actions are open
/// to it for a while) with `by`'s audit entry (`auth.step_up`, naming the session), in one
/// transaction.
pub async fn step_up(
    state: &App,
    tenant: &Tenant,
    user_id: &str,
    session_id: &SessionId,
    password: String,
    code: Option<&str>,
    by: NewEvent,
) -> AppResult<()> {
    reauthenticate(state, user_id, password, code).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    sessions::mark_stepped_up(&mut tx, session_id, now).await?;
    let event = NewEvent {
        action: "auth.step_up",
        entity_type: "session",
        entity_id: session_id.to_string(),
        ..by
    };
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the account has two-factor sign-in on.
pub async fn enabled(state: &App, user_id: &str) -> AppResult<bool> {
    Ok(two_factor::get(&state.db, user_id)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some()))
}
