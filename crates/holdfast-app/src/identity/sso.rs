//! Single sign-on after the provider has spoken, for the API (`/api/v1/auth/oidc/callback`,
//! `…/complete`) and the console (`/sign-in/confirm`) alike: which account a verified identity
//! signs in to, the confirmation an account gives before a provider identity is first linked
//! to it (its password) or when it has an authenticator (its code), and joining by invitation.
//! Nothing is linked, joined or started before every required proof is in. The provider
//! conversation itself is `identity::oidc`. Threat note: docs/design/oidc.md.

use crate::identity::sign_in::{
    check_throttle, second_factor_if_enrolled, throttle_subject, verify_sign_in,
};
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::oidc::VerifiedIdentity;
use holdfast_core::token::parse_opaque;
use holdfast_store::identity::oidc as store;
use holdfast_store::identity::{self, Accepted, Invitee, LoginCandidate};

/// The kind prefix of the single-use confirmation token the flow cookie carries.
pub const CONFIRM_PREFIX: &str = "hfc";

pub fn refused(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::SsoRefused, detail)
}

/// What a verified identity leads to.
pub enum Next {
    /// A console session, at once.
    SignIn(LoginCandidate),
    /// The account must confirm first (`POST /api/v1/auth/oidc/complete`, `/sign-in/confirm`).
    Confirm(store::Pending),
}

/// The account this verified identity signs in to. An earlier link (issuer, subject) names it;
/// otherwise an account with the provider's verified email is only *proposed*: it is linked
/// once its password (and code) confirms it, because a provider's "verified" can be stale (a
/// reassigned address). An invitation to an address without an account creates the account,
/// linked. An account with an authenticator always gives its code.
pub async fn account_for(
    app: &App,
    identity: &VerifiedIdentity,
    flow: &store::Flow,
    now: i64,
) -> AppResult<Next> {
    let linked =
        store::unscoped_linked_user(&app.db, &identity.issuer, &identity.subject, now).await?;
    let (user_id, needs_link) = match linked {
        Some(user_id) => (user_id, false),
        None => match identity::unscoped_user_by_email(&app.db, &identity.email).await? {
            Some((user_id, _)) => (user_id, true),
            None => {
                let Some(hash) = &flow.invitation_hash else {
                    return Err(not_member(identity));
                };
                return join_new_account(app, identity, hash, now)
                    .await
                    .map(Next::SignIn);
            }
        },
    };
    if flow.invitation_hash.is_none()
        && store::unscoped_member_candidate(&app.db, &user_id, &flow.workspace_slug)
            .await?
            .is_none()
    {
        return Err(not_member(identity));
    }
    if let Some(hash) = &flow.invitation_hash {
        invitation_for(app, identity, hash, now).await?;
    }
    let pending = store::Pending {
        user_id,
        workspace_slug: flow.workspace_slug.clone(),
        invitation_hash: flow.invitation_hash.clone(),
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        needs_link: i64::from(needs_link),
    };
    if needs_link || crate::identity::second_factor::enabled(app, &pending.user_id).await? {
        return Ok(Next::Confirm(pending));
    }
    enter(app, &pending, now).await.map(Next::SignIn)
}

fn not_member(identity: &VerifiedIdentity) -> ApiError {
    refused(format!(
        "{} has no account in this workspace; ask one of its admins for an invitation",
        identity.email
    ))
}

/// The pending invitation, which must be addressed to the provider's verified email.
async fn invitation_for(
    app: &App,
    identity: &VerifiedIdentity,
    invitation_hash: &str,
    now: i64,
) -> AppResult<identity::PendingInvitation> {
    let invitation = identity::unscoped_pending_invitation(&app.db, invitation_hash, now)
        .await?
        .ok_or_else(|| {
            refused("the invitation was used, withdrawn or expired meanwhile; ask for a new one")
        })?;
    if !invitation.email.eq_ignore_ascii_case(&identity.email) {
        return Err(refused(format!(
            "this invitation was sent to another address than {}; sign in to the provider with the invited address",
            identity.email
        )));
    }
    Ok(invitation)
}

async fn accept(
    app: &App,
    invitation: &identity::PendingInvitation,
    invitee: Invitee,
    now: i64,
) -> AppResult<LoginCandidate> {
    match identity::accept_invitation(&app.db, invitation, invitee, now).await? {
        Accepted::Joined(candidate) => {
            tracing::info!("invitation accepted through single sign-on");
            Ok(candidate)
        }
        Accepted::Gone => Err(refused(
            "the invitation was used, withdrawn or expired meanwhile; ask for a new one",
        )),
        Accepted::AlreadyMember => Err(ApiError::new(
            ErrorCode::Conflict,
            "you are already a member of this workspace; sign in instead",
        )),
    }
}

/// An invitation to an address with no account: the account is created (without a password)
/// and linked to this provider identity.
async fn join_new_account(
    app: &App,
    identity: &VerifiedIdentity,
    invitation_hash: &str,
    now: i64,
) -> AppResult<LoginCandidate> {
    let invitation = invitation_for(app, identity, invitation_hash, now).await?;
    let candidate = accept(
        app,
        &invitation,
        Invitee::New {
            password_hash: None,
        },
        now,
    )
    .await?;
    store::unscoped_link(
        &app.db,
        &identity.issuer,
        &identity.subject,
        &candidate.user_id,
        &identity.email,
        now,
    )
    .await?;
    Ok(candidate)
}

/// Every proof is in: link the identity if this is its first use, join by invitation if there
/// is one, and find the membership to sign in with.
async fn enter(app: &App, pending: &store::Pending, now: i64) -> AppResult<LoginCandidate> {
    if pending.needs_link == 1 {
        store::unscoped_link(
            &app.db,
            &pending.issuer,
            &pending.subject,
            &pending.user_id,
            &pending.email,
            now,
        )
        .await?;
        tracing::info!("provider identity linked to an account after it confirmed");
    }
    if let Some(hash) = &pending.invitation_hash {
        let invitation = identity::unscoped_pending_invitation(&app.db, hash, now)
            .await?
            .ok_or_else(|| {
                refused(
                    "the invitation was used, withdrawn or expired meanwhile; ask for a new one",
                )
            })?;
        return accept(
            app,
            &invitation,
            Invitee::Existing {
                user_id: pending.user_id.clone(),
            },
            now,
        )
        .await;
    }
    store::unscoped_member_candidate(&app.db, &pending.user_id, &pending.workspace_slug)
        .await?
        .ok_or_else(|| refused("the account is no longer a member of this workspace"))
}

fn expired() -> ApiError {
    refused("no single sign-on is waiting in this browser, or it expired or was used; start again")
}

/// A confirmation waiting for this browser, as its page asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The provider's address for the account.
    pub email: String,
    /// The first link of a provider identity to an existing account: its password, once.
    pub needs_password: bool,
    /// The account has an authenticator: its code.
    pub needs_code: bool,
}

/// The confirmation the flow cookie (`hfc_…`) names, while it waits.
pub async fn waiting(app: &App, cookie: Option<&str>) -> AppResult<Option<Waiting>> {
    let Some(hash) = cookie.and_then(|c| parse_opaque(CONFIRM_PREFIX, c)) else {
        return Ok(None);
    };
    let Some(pending) = store::unscoped_pending(&app.db, &hash, app.clock.now_ms()).await? else {
        return Ok(None);
    };
    Ok(Some(Waiting {
        needs_code: crate::identity::second_factor::enabled(app, &pending.user_id).await?,
        needs_password: pending.needs_link == 1,
        email: pending.email,
    }))
}

/// Finishes a single sign-on waiting for the account's confirmation (the flow cookie's
/// `hfc_…` token): the password the first time a provider identity is linked to the account,
/// the code when it has an authenticator — the same throttle and answers as a sign-in. The
/// confirmation is spent once. Returns the member to start a session for, and how they proved
/// who they are (for the audit trail).
pub async fn complete(
    app: &App,
    cookie: Option<&str>,
    password: Option<String>,
    totp_code: Option<&str>,
) -> AppResult<(LoginCandidate, &'static str)> {
    let now = app.clock.now_ms();
    let hash = cookie
        .and_then(|c| parse_opaque(CONFIRM_PREFIX, c))
        .ok_or_else(expired)?;
    let pending = store::unscoped_pending(&app.db, &hash, now)
        .await?
        .ok_or_else(expired)?;
    if pending.needs_link == 1 {
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(ApiError::field(
                ErrorCode::Validation,
                "password",
                "the first single sign-on to an existing account needs its password, once",
            ));
        };
        let stored = identity::unscoped_user_by_email(&app.db, &pending.email)
            .await?
            .filter(|(id, _)| *id == pending.user_id)
            .and_then(|(_, hash)| hash);
        verify_sign_in(
            app,
            &pending.email,
            &pending.user_id,
            stored,
            password,
            totp_code,
            now,
        )
        .await?;
    } else {
        let email = store::unscoped_user_email(&app.db, &pending.user_id)
            .await?
            .ok_or_else(expired)?;
        let subject = throttle_subject(&email);
        check_throttle(app, &subject, now).await?;
        second_factor_if_enrolled(app, &subject, &pending.user_id, totp_code, now).await?;
        identity::clear_failed_logins(&app.db, &subject).await?;
    }
    if !store::unscoped_spend_pending(&app.db, &hash, now).await? {
        return Err(expired());
    }
    let candidate = enter(app, &pending, now).await?;
    let method = if pending.needs_link == 1 {
        "sso+password"
    } else {
        "sso+totp"
    };
    Ok((candidate, method))
}
