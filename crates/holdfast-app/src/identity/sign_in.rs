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
use holdfast_store::ops::audit::NewEvent;

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

/// Checks a password sign-in (and its second factor when enrolled) for every entry point that
/// starts a session: the per-address throttle, the candidate by email and workspace, the
/// password on the bounded pool (a decoy hash when there is no candidate, so timing tells
/// nothing), the code, and that the operator has not suspended the workspace. A failure counts
/// against the address, and one against a real account is audited in its workspace (suspended
/// or not) with the event `failure_event` builds (the caller knows the request). On success
/// the count is cleared and an old hash is upgraded.
pub async fn password_sign_in(
    app: &App,
    email: &str,
    password: String,
    workspace: &str,
    totp_code: Option<&str>,
    failure_event: impl Fn(&identity::LoginCandidate, &'static str) -> NewEvent,
) -> AppResult<identity::LoginCandidate> {
    let email = email.trim().to_lowercase();
    let subject = throttle_subject(&email);
    let now = app.clock.now_ms();
    check_throttle(app, &subject, now).await?;
    let candidate = identity::unscoped_login_candidate(&app.db, &email, workspace.trim()).await?;
    let stored = candidate
        .as_ref()
        .and_then(|c| c.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_owned());
    let verified = app.passwords.verify(password.clone(), stored).await;
    let candidate = match (candidate, verified) {
        (Some(c), Verified::Yes | Verified::YesRehash) => c,
        (candidate, _) => {
            let failures = identity::record_failed_login(&app.db, &subject, now).await?;
            tracing::warn!(subject = &subject[..12], failures, "sign-in failed");
            if let Some(c) = candidate {
                audit_failure(app, &c, failure_event(&c, "password"), now);
            }
            return Err(sign_in_failed());
        }
    };
    if let Err(refused) =
        second_factor_if_enrolled(app, &subject, &candidate.user_id, totp_code, now).await
    {
        if refused.code == ErrorCode::AuthInvalid {
            audit_failure(
                app,
                &candidate,
                failure_event(&candidate, "second_factor"),
                now,
            );
        }
        return Err(refused);
    }
    // The right password for a suspended workspace: refused (403), and recorded in its trail
    // as every refused sign-in to a known account is.
    if identity::candidate_suspended(&app.db, &candidate).await? {
        audit_failure(
            app,
            &candidate,
            failure_event(&candidate, "workspace_suspended"),
            now,
        );
        return Err(holdfast_store::StoreError::Suspended.into());
    }
    identity::clear_failed_logins(&app.db, &subject).await?;
    if verified == Verified::YesRehash {
        match app.passwords.hash(password).await {
            Ok(fresh) => {
                identity::unscoped_set_password_hash(&app.db, &candidate.user_id, &fresh).await?
            }
            Err(e) => tracing::error!(error = %e, "could not upgrade a password hash"),
        }
    }
    Ok(candidate)
}

/// Records a failed sign-in in the account's workspace, off the answer's path.
fn audit_failure(app: &App, candidate: &identity::LoginCandidate, event: NewEvent, now: i64) {
    let (db, workspace_id) = (app.db.clone(), candidate.workspace_id.clone());
    tokio::spawn(async move {
        if let Err(e) = identity::unscoped_audit(&db, &workspace_id, &event, now).await {
            tracing::error!(error = %e, "failed sign-in not recorded in the audit trail");
        }
    });
}
