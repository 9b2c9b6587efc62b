//! Forgotten passwords, for the API (`POST /api/v1/auth/forgot-password`, `…/reset-password`)
//! and the console (`/sign-in/forgot`, `/reset/{token}`) alike: asking for a reset message, and
//! setting a new password with its single-use token. Threat note: docs/design/sign-in.md.

use crate::identity::sign_in::throttle_subject;
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::password;
use holdfast_core::token::parse_opaque;
use holdfast_core::validate;
use holdfast_store::identity::{self, RESET_PREFIX};

/// Asks for a reset message to `email`. The answer is the same, at once, whether or not the
/// address has an account (or a locked one, which gets no message): the look-up and the mail
/// happen afterwards in a task of their own, so neither the answer nor its timing tells. Only
/// a malformed address is refused (422).
pub fn request(app: &App, email: &str) -> AppResult<()> {
    let email = validate::email("email", email)
        .map_err(|e| ApiError::validation(vec![e]))?
        .to_lowercase();
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = send(&app, &email).await {
            tracing::error!(error = %e, "password reset message not sent");
        }
    });
    Ok(())
}

async fn send(app: &App, email: &str) -> Result<(), String> {
    let now = app.clock.now_ms();
    let Some(token) = identity::unscoped_issue_reset_token(&app.db, email, now)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let body = format!(
        "Someone asked to reset the password of your Holdfast account.\n\n\
         To choose a new one within 15 minutes, open:\n{}/reset/{}\n\n\
         or send the token to POST /api/v1/auth/reset-password:\n{}\n\n\
         Setting a new password signs you out everywhere. If this was not you, ignore this message.\n",
        app.config.public_url,
        token.expose(),
        token.expose()
    );
    crate::outreach::send_staff_mail(app, email, "Reset your Holdfast password", &body).await
}

/// The one refusal of a reset token that cannot be used: malformed, unknown, spent or expired.
pub fn token_invalid() -> ApiError {
    ApiError::new(
        ErrorCode::AuthInvalid,
        "the reset token is malformed, unknown, spent or expired; ask for a new one",
    )
}

/// The refusal of a reset for an account the operator has locked (403 HF-AUTH-011).
pub fn account_locked() -> ApiError {
    ApiError::new(
        ErrorCode::Locked,
        "this account is locked by the operator of this Holdfast server, so its password cannot \
         be reset; ask them to unlock it",
    )
}

/// Whether a reset token can still be used (it is not spent by looking); one of a locked
/// account is [`account_locked`].
pub async fn usable(app: &App, token: &str) -> AppResult<bool> {
    let Some(hash) = parse_opaque(RESET_PREFIX, token.trim()) else {
        return Ok(false);
    };
    match identity::unscoped_reset_token_owner(&app.db, &hash, app.clock.now_ms()).await? {
        Some(owner) if owner.locked_at.is_some() => Err(account_locked()),
        found => Ok(found.is_some()),
    }
}

/// Sets a new password with a reset token: the password policy (422), then the token spent
/// and the hash set in one transaction, every session of the account ended, and its failed
/// sign-ins forgotten. A token that cannot be used is [`token_invalid`]; one of a locked
/// account is [`account_locked`], and the password stays as it was.
pub async fn complete(app: &App, token: &str, new_password: String) -> AppResult<()> {
    let hash = parse_opaque(RESET_PREFIX, token.trim()).ok_or_else(token_invalid)?;
    let now = app.clock.now_ms();
    let owner = identity::unscoped_reset_token_owner(&app.db, &hash, now)
        .await?
        .ok_or_else(token_invalid)?;
    if owner.locked_at.is_some() {
        return Err(account_locked());
    }
    let ctx = password::Context {
        email: &owner.email,
        workspace_name: "",
        second_factor_required: false,
    };
    let fresh = app.passwords.hash_new(new_password, ctx).await?;
    match identity::unscoped_complete_reset(&app.db, &hash, &owner.user_id, &fresh, now).await {
        Ok(true) => {}
        Ok(false) => return Err(token_invalid()),
        // Locked while the new password was being hashed.
        Err(holdfast_store::StoreError::Locked) => return Err(account_locked()),
        Err(other) => return Err(other.into()),
    }
    identity::clear_failed_logins(&app.db, &throttle_subject(&owner.email)).await?;
    tracing::info!("password reset; every session of the user ended");
    Ok(())
}
