//! Accepting an invitation, for the API (`POST /api/v1/invitations/accept`) and the console
//! (`/invite/{token}`) alike: a new account chooses its password (the policy, with the
//! workspace's two-factor rule); an existing account proves it is theirs as a sign-in would
//! (the same throttle, password and second factor). The invitation is spent and the membership
//! added in one transaction.

use crate::identity::sign_in::verify_sign_in;
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::password;
use holdfast_core::token::parse_opaque;
use holdfast_store::access::invitations;
use holdfast_store::identity::{self, Accepted, Invitee, LoginCandidate, PendingInvitation};

/// The one refusal of an invitation that cannot be used: malformed, unknown, used, withdrawn
/// or expired.
pub fn invitation_invalid() -> ApiError {
    ApiError::new(
        ErrorCode::AuthInvalid,
        "the invitation is malformed, unknown, used, withdrawn or expired; ask for a new one",
    )
}

/// A pending invitation as its invitee sees it before accepting.
#[derive(Debug)]
pub struct Invitation {
    pub workspace_name: String,
    pub email: String,
    pub role: String,
    /// The address already has an account: accepting takes its password (and code).
    pub existing_account: bool,
    /// That account signs in with a second factor.
    pub second_factor: bool,
}

async fn pending(app: &App, token: &str) -> AppResult<Option<PendingInvitation>> {
    let Some(hash) = parse_opaque(invitations::PREFIX, token.trim()) else {
        return Ok(None);
    };
    Ok(identity::unscoped_pending_invitation(&app.db, &hash, app.clock.now_ms()).await?)
}

/// The invitation behind a token, if it can still be accepted (looking spends nothing).
pub async fn look_up(app: &App, token: &str) -> AppResult<Option<Invitation>> {
    let Some(invitation) = pending(app, token).await? else {
        return Ok(None);
    };
    let account = identity::unscoped_user_by_email(&app.db, &invitation.email).await?;
    let second_factor = match &account {
        Some((user_id, _)) => crate::identity::second_factor::enabled(app, user_id).await?,
        None => false,
    };
    Ok(Some(Invitation {
        workspace_name: invitation.workspace_name,
        email: invitation.email,
        role: invitation.role,
        existing_account: account.is_some(),
        second_factor,
    }))
}

/// Accepts the invitation: the account proven or made, the invitation spent, the membership
/// added. Returns the member, for the caller to start a session for.
pub async fn accept(
    app: &App,
    token: &str,
    secret: String,
    totp_code: Option<&str>,
) -> AppResult<LoginCandidate> {
    let invitation = pending(app, token).await?.ok_or_else(invitation_invalid)?;
    let now = app.clock.now_ms();
    let invitee = match identity::unscoped_user_by_email(&app.db, &invitation.email).await? {
        Some((user_id, stored)) => {
            // Joining as an existing account is a sign-in to it: same throttle, same factors.
            verify_sign_in(
                app,
                &invitation.email,
                &user_id,
                stored,
                secret,
                totp_code,
                now,
            )
            .await?;
            Invitee::Existing { user_id }
        }
        None => {
            let ctx = password::Context {
                email: &invitation.email,
                workspace_name: &invitation.workspace_name,
                second_factor_required: invitation.require_2fa == 1,
            };
            let password_hash = app.passwords.hash_new(secret, ctx).await?;
            Invitee::New {
                password_hash: Some(password_hash),
            }
        }
    };
    match identity::accept_invitation(&app.db, &invitation, invitee, now).await? {
        Accepted::Joined(candidate) => Ok(candidate),
        Accepted::Gone => Err(invitation_invalid()),
        Accepted::AlreadyMember => Err(ApiError::new(
            ErrorCode::Conflict,
            "you are already a member of this workspace",
        )),
    }
}
