//! The client portal's optional password, for its API (`/api/portal/v1/auth/password…`) and
//! its pages alike: a signed-in customer sets or changes it ([`set`]: the staff strength rules,
//! the current one required once one is set, the contact's other sessions ended); anyone signs
//! in with an address and a password ([`sign_in`]: one answer for every reason it fails, a
//! decoy hash when there is nothing to check, the per-address throttle); and a forgotten one
//! is reset with a single-use link mailed to the address on file ([`request_reset`],
//! [`reset_page`], [`complete_reset`]). Access still rules: a contact without it signs in by
//! no means. Threat note: docs/design/portal.md.

use super::sign_in::mail_to_portal_address;
use crate::audit::Origin;
use crate::identity::sign_in::{check_throttle, throttle_subject};
use crate::outreach::{ContactEmail, PASSWORD_RESET_LINK};
use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::brand::Brand;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::password::{Context, Verified, decoy_hash};
use holdfast_core::ids::ContactId;
use holdfast_core::portal::{
    MagicLinkIn, PASSWORD_RESET_PREFIX, PortalPasswordIn, PortalPasswordSignInIn, SessionKind,
};
use holdfast_core::token::parse_opaque;
use holdfast_core::validate::FieldError;
use holdfast_store::Lock;
use holdfast_store::identity;
use holdfast_store::ops::audit::{self, NewEvent};
use holdfast_store::portal::access::PortalSite;
use holdfast_store::portal::auth::{self, PortalActor, SignInFrom, SignedIn};
use holdfast_store::portal::{access, passwords, sessions};
use serde_json::json;

/// The one answer to a password sign-in that fails, whatever the reason (unknown workspace or
/// address, no password set, no access, wrong password).
pub fn sign_in_failed() -> ApiError {
    ApiError::new(
        ErrorCode::AuthInvalid,
        "the email, password or workspace is not right (or this address may not sign in to \
         this portal by password); a sign-in link by mail always works for an address that \
         may sign in",
    )
}

/// The throttle subject of a portal address: failures count per workspace and address,
/// apart from staff sign-ins.
fn subject(slug: &str, email: &str) -> String {
    throttle_subject(&format!("portal:{slug}:{email}"))
}

/// Sets or changes the signed-in customer's portal password, audited as
/// `portal.password_set`; every other session of theirs ends. Once a password is set, the
/// current one is required (422 naming `current_password` when missing or not right).
pub async fn set(
    app: &App,
    actor: &PortalActor,
    body: &PortalPasswordIn,
    origin: &Origin,
) -> AppResult<()> {
    let contact = actor.scope.contact();
    let mut tx = app.db.read(&actor.tenant).await?;
    let stored = passwords::hash_of(&mut tx, contact).await?;
    let email = holdfast_store::crm::contacts::get(&mut tx, contact, Lock::Read)
        .await?
        .and_then(|c| c.email)
        .unwrap_or_default();
    tx.commit().await?;
    if let Some(stored) = stored {
        let current = body
            .current_password
            .clone()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                ApiError::validation(vec![FieldError::new(
                    "current_password",
                    "a password is set: send the current one to change it",
                )])
            })?;
        if app.passwords.verify(current, stored).await == Verified::No {
            return Err(ApiError::validation(vec![FieldError::new(
                "current_password",
                "the current password is not right",
            )]));
        }
    }
    let ctx = Context {
        email: &email,
        workspace_name: &actor.workspace_name,
        second_factor_required: false,
    };
    let fresh = app.passwords.hash_new(body.password.clone(), ctx).await?;
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    passwords::set(&mut tx, contact, &fresh, now).await?;
    let ended = sessions::end_others(&mut tx, contact, &actor.session_id, now).await?;
    let event = origin.event(
        "portal.password_set",
        "contact",
        contact.as_str(),
        json!({"contact_id": contact.as_str(), "changed": true, "other_sessions_ended": ended}),
    );
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    identity::clear_failed_logins(
        &app.db,
        &subject(&actor.workspace_slug, &email.to_lowercase()),
    )
    .await?;
    Ok(())
}

/// Signs in with an address and a portal password into a session of `kind`. Every failure is
/// [`sign_in_failed`] after a hash was checked (a decoy one when there is nothing to check),
/// and counts against the address: after repeated ones it is locked a while (429).
pub async fn sign_in(
    app: &App,
    body: &PortalPasswordSignInIn,
    kind: SessionKind,
    from: &SignInFrom,
) -> AppResult<SignedIn> {
    let request = body.validate().map_err(ApiError::validation)?;
    let email = request.email.to_lowercase();
    let subject = subject(&request.workspace, &email);
    let now = app.clock.now_ms();
    check_throttle(app, &subject, now).await?;
    let found = candidate(app, &request.workspace, &email).await?;
    let stored = found
        .as_ref()
        .map(|(_, _, hash)| hash.clone())
        .unwrap_or_else(|| decoy_hash().to_owned());
    let verified = app.passwords.verify(body.password.clone(), stored).await;
    let signed_in = match (found, verified) {
        (Some((tenant, contact, _)), Verified::Yes | Verified::YesRehash) => {
            auth::password_sign_in(&app.db, tenant, contact, kind, from, now).await?
        }
        _ => None,
    };
    let Some(signed_in) = signed_in else {
        let failures = identity::record_failed_login(&app.db, &subject, now).await?;
        tracing::warn!(
            subject = &subject[..12],
            failures,
            "portal password sign-in failed"
        );
        return Err(sign_in_failed());
    };
    identity::clear_failed_logins(&app.db, &subject).await?;
    Ok(signed_in)
}

/// Signs in with an address and a portal password into an API session: its access and
/// refresh tokens, as a spent sign-in link gives.
pub async fn api_sign_in(
    app: &App,
    body: &PortalPasswordSignInIn,
    from: &SignInFrom,
) -> AppResult<holdfast_core::portal::PortalTokensOut> {
    let signed_in = sign_in(app, body, SessionKind::Api, from).await?;
    Ok(super::sign_in::tokens(app, &signed_in, app.clock.now_ms()))
}

/// The contact of the workspace at `slug` with this address, its portal on (and not
/// suspended), allowed in, and with a password: their tenant, id and hash.
async fn candidate(
    app: &App,
    slug: &str,
    email: &str,
) -> AppResult<Option<(holdfast_store::Tenant, ContactId, String)>> {
    let Some((tenant, site)) = access::unscoped_portal_site(&app.db, slug).await? else {
        return Ok(None);
    };
    if !site.modules.contains(Module::ClientPortal) {
        return Ok(None);
    }
    let mut tx = match app.db.read(&tenant).await {
        Ok(tx) => tx,
        Err(holdfast_store::StoreError::Suspended) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(found) =
        holdfast_store::crm::contacts::find_by_email(&mut tx, email, Lock::Read).await?
    else {
        tx.commit().await?;
        return Ok(None);
    };
    let contact = ContactId::from_trusted(found.id);
    let hash = if access::allowed(&mut tx, &contact).await? {
        passwords::hash_of(&mut tx, &contact).await?
    } else {
        None
    };
    tx.commit().await?;
    Ok(hash.map(|hash| (tenant, contact, hash)))
}

/// Asks for a password reset link. Like a sign-in link: the same answer, at once, whatever the
/// workspace and address; the look-up and the mail happen afterwards. Only a malformed request
/// is refused (422).
pub fn request_reset(app: &App, body: &MagicLinkIn) -> AppResult<()> {
    let request = body.validate().map_err(ApiError::validation)?;
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset(&app, &request.workspace, &request.email).await {
            tracing::error!(error = %e, "portal password reset link not sent");
        }
    });
    Ok(())
}

/// Queues the reset mail: see `sign_in::mail_to_portal_address` (the same hourly limit as
/// sign-in links, counted together).
async fn send_reset(app: &App, slug: &str, email: &str) -> Result<(), String> {
    mail_to_portal_address(app, slug, email, "password reset link", |site| {
        ContactEmail {
            subject: format!("Reset your password for {}", site.name),
            body: format!(
                "Someone asked to reset the password of {name}'s customer portal for this \
             address.\n\nTo choose a new one, open this link within 2 hours:\n\
             {PASSWORD_RESET_LINK}\n\n\
             It works once, and setting a new password signs you out everywhere. If this was \
             not you, ignore this message: your password stays as it is.\n",
                name = site.name
            ),
            password_reset_link: true,
            ..ContactEmail::default()
        }
    })
    .await
}

/// The reset link's target, while it is unspent and unexpired, its workspace the one at
/// `/portal/{slug}` with its portal on, and its contact allowed in.
async fn reset_target(
    app: &App,
    slug: &str,
    token: &str,
) -> AppResult<Option<(holdfast_store::Tenant, ContactId, PortalSite, String)>> {
    let Some(hash) = parse_opaque(PASSWORD_RESET_PREFIX, token) else {
        return Ok(None);
    };
    let now = app.clock.now_ms();
    let Some((tenant, contact)) = passwords::unscoped_reset_target(&app.db, &hash, now).await?
    else {
        return Ok(None);
    };
    let mut tx = match app.db.read(&tenant).await {
        Ok(tx) => tx,
        Err(holdfast_store::StoreError::Suspended) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let site = access::site(&mut tx).await?;
    let allowed = access::allowed(&mut tx, &contact).await?;
    let email = holdfast_store::crm::contacts::get(&mut tx, &contact, Lock::Read)
        .await?
        .and_then(|c| c.email)
        .unwrap_or_default();
    tx.commit().await?;
    let opens = site.modules.contains(Module::ClientPortal) && allowed && site.slug == slug;
    Ok(opens.then_some((tenant, contact, site, email)))
}

/// How the portal a reset link opens shows its workspace (looking spends nothing); `None` for
/// every link that opens nothing.
pub async fn reset_page(app: &App, slug: &str, token: &str) -> AppResult<Option<Brand>> {
    Ok(reset_target(app, slug, token)
        .await?
        .map(|(_, _, site, _)| site.brand()))
}

/// Sets a new password with a reset link: the strength rules (422), then the link spent, the
/// hash set and every session of the contact ended in one transaction, audited as
/// `portal.password_reset`. `Ok(false)` for a link that opens nothing.
pub async fn complete_reset(
    app: &App,
    slug: &str,
    token: &str,
    password: String,
    from: &SignInFrom,
) -> AppResult<bool> {
    let Some((tenant, contact, site, email)) = reset_target(app, slug, token).await? else {
        return Ok(false);
    };
    let Some(hash) = parse_opaque(PASSWORD_RESET_PREFIX, token) else {
        return Ok(false);
    };
    let ctx = Context {
        email: &email,
        workspace_name: &site.name,
        second_factor_required: false,
    };
    let fresh = app.passwords.hash_new(password, ctx).await?;
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&tenant).await?;
    if !passwords::spend_reset(&mut tx, &contact, &hash, now).await? {
        return Ok(false);
    }
    passwords::set(&mut tx, &contact, &fresh, now).await?;
    let ended = sessions::end_all(&mut tx, &contact, now).await?;
    let event = NewEvent {
        actor_type: "contact",
        actor_id: contact.to_string(),
        action: "portal.password_reset",
        entity_type: "contact",
        entity_id: contact.to_string(),
        summary: json!({"contact_id": contact.as_str(), "sessions_ended": ended}),
        ip: from.ip.clone(),
        user_agent: from.user_agent.clone(),
        request_id: from.request_id.clone(),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    identity::clear_failed_logins(&app.db, &subject(slug, &email.to_lowercase())).await?;
    Ok(true)
}
