//! Sign-in verification, for every entry point that proves who someone is (the login
//! endpoint, joining a workspace as an existing account, step-up, single sign-on): the
//! per-address throttle, the password on the bounded hashing pool, the second factor, and the
//! access token minted for a session. Threat note: docs/design/sign-in.md.

use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::jwt::{AUDIENCE, Claims, ISSUER, TokenType};
use holdfast_core::identity::password::{Verified, decoy_hash};
use holdfast_core::identity::sessions::TokensOut;
use holdfast_core::token::sha256_hex;
use holdfast_store::identity::{self, Issued};

/// Access tokens live 15 minutes; the refresh token gets the next one.
pub const ACCESS_TTL_S: i64 = 15 * 60;

pub fn sign_in_failed() -> ApiError {
    ApiError::new(
        ErrorCode::AuthInvalid,
        "the email, password or workspace is not right",
    )
}

/// Mints the access token for a session just started or refreshed.
pub fn tokens(state: &App, issued: Issued, now_ms: i64) -> TokensOut {
    let now_s = now_ms / 1000;
    let claims = Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: issued.user_id.to_string(),
        ws: issued.tenant.workspace_id().to_string(),
        sid: issued.session_id.to_string(),
        typ: TokenType::Access,
        iat: now_s,
        exp: now_s + ACCESS_TTL_S,
        nonce: None,
    };
    TokensOut {
        access_token: state.keys.sign(&claims),
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_TTL_S,
        refresh_token: issued.refresh_token.expose().clone(),
        session_id: issued.session_id.to_string(),
    }
}

/// The throttle subject of an email address: failures count per address, existing or not.
pub fn throttle_subject(email: &str) -> String {
    sha256_hex(&format!("login:{email}"))
}

/// Refuses while the address is locked after repeated failures (429 with Retry-After).
pub async fn check_throttle(state: &App, subject: &str, now: i64) -> AppResult<()> {
    if let Some(until) = identity::throttle_locked_until(&state.db, subject, now).await? {
        let wait = u64::try_from((until - now + 999) / 1000)
            .unwrap_or(1)
            .max(1);
        let mut err = ApiError::new(
            ErrorCode::RateLimited,
            format!("too many failed sign-ins for this account; try again in {wait} s"),
        );
        err.retry_after = Some(wait);
        return Err(err);
    }
    Ok(())
}

/// Proves a known account's password (and second factor, when enrolled) outside the login
/// endpoint — e.g. when joining a workspace as an existing account. Same throttle and the same
/// answers as a sign-in.
pub async fn verify_sign_in(
    state: &App,
    email: &str,
    user_id: &str,
    stored: Option<String>,
    password: String,
    totp_code: Option<&str>,
    now: i64,
) -> AppResult<()> {
    let subject = throttle_subject(email);
    check_throttle(state, &subject, now).await?;
    let stored = stored.unwrap_or_else(|| decoy_hash().to_owned());
    if state.passwords.verify(password, stored).await == Verified::No {
        identity::record_failed_login(&state.db, &subject, now).await?;
        return Err(sign_in_failed());
    }
    second_factor_if_enrolled(state, &subject, user_id, totp_code, now).await
}

/// When the account has two-factor sign-in on, requires and checks the code.
pub async fn second_factor_if_enrolled(
    state: &App,
    subject: &str,
    user_id: &str,
    totp_code: Option<&str>,
    now: i64,
) -> AppResult<()> {
    if !crate::identity::second_factor::enabled(state, user_id).await? {
        return Ok(());
    }
    let Some(code) = totp_code.filter(|c| !c.trim().is_empty()) else {
        return Err(ApiError::new(
            ErrorCode::SecondFactorRequired,
            "this account signs in with a second factor: send totp_code (the authenticator's code, or a recovery code)",
        ));
    };
    if !crate::identity::second_factor::second_factor_ok(state, user_id, code, true).await? {
        let failures = identity::record_failed_login(&state.db, subject, now).await?;
        tracing::warn!(subject = &subject[..12], failures, "second factor refused");
        return Err(sign_in_failed());
    }
    Ok(())
}
