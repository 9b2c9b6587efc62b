//! Signing in to the portal, for its API (`POST /api/portal/v1/auth/magic-link`) and its pages
//! (`/portal/{slug}`) alike: asking for a link, the confirmation page's look-up, spending the
//! link into a session, and signing out.

use crate::audit::Origin;
use crate::outreach::{ContactEmail, SIGN_IN_LINK, queue_to_contact};
use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::crm::consent::Purpose;
use holdfast_core::error::ApiError;
use holdfast_core::portal::{LINKS_PER_EMAIL_PER_HOUR, MAGIC_LINK_PREFIX, MagicLinkIn};
use holdfast_core::token::parse_opaque;
use holdfast_store::Lock;
use holdfast_store::portal::auth::{self, PortalActor, SignInFrom, SignedIn};
use holdfast_store::portal::{access, links, sessions};
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;

/// Asks for a sign-in link. The answer is the same, at once, whatever the workspace and
/// address (unknown, without portal access, over the per-address limit): the look-up and the
/// mail happen afterwards in a task of their own, so neither the answer nor its timing tells.
/// Only a malformed request is refused (422).
pub fn request_link(app: &App, body: &MagicLinkIn) -> AppResult<()> {
    let request = body.validate().map_err(ApiError::validation)?;
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = send_link(&app, &request.workspace, &request.email).await {
            tracing::error!(error = %e, "portal sign-in link not sent");
        }
    });
    Ok(())
}

/// Queues the sign-in mail when the workspace has its portal on and the address belongs to one
/// of its contacts with portal access, at most [`LINKS_PER_EMAIL_PER_HOUR`] an hour. The link
/// itself is made when the mail is sent (`outreach`).
async fn send_link(app: &App, slug: &str, email: &str) -> Result<(), String> {
    let now = app.clock.now_ms();
    let Some((tenant, site)) = access::unscoped_portal_site(&app.db, slug)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    if !site.modules.contains(Module::ClientPortal) {
        return Ok(());
    }
    let mut tx = match app.db.write(&tenant).await {
        Ok(tx) => tx,
        Err(holdfast_store::StoreError::Suspended) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    let found = holdfast_store::crm::contacts::find_by_email(&mut tx, email, Lock::ForUpdate)
        .await
        .map_err(|e| e.to_string())?;
    let Some(contact) = found else {
        return Ok(());
    };
    let contact = holdfast_core::ids::ContactId::from_trusted(contact.id);
    if !access::allowed(&mut tx, &contact)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let recent = links::queued_since(&mut tx, &contact, now - HOUR_MS)
        .await
        .map_err(|e| e.to_string())?;
    if recent >= i64::from(LINKS_PER_EMAIL_PER_HOUR) {
        tracing::info!("portal sign-in link not sent: the address's hourly limit is reached");
        return Ok(());
    }
    let mail = ContactEmail {
        subject: format!("Sign in to {}", site.name),
        body: format!(
            "Someone asked to sign in to {name}'s customer portal with this address.\n\n\
             To see your requests, visits and invoices, open this link within 24 hours:\n\
             {SIGN_IN_LINK}\n\n\
             It works once. If this was not you, ignore this message: nothing happens \
             until the link is opened and confirmed.\n",
            name = site.name
        ),
        sign_in_link: true,
        ..ContactEmail::default()
    };
    queue_to_contact(&mut tx, &contact, Purpose::SignIn, mail, now)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// What the confirmation page of a sign-in link shows before anything is spent.
pub struct LinkPage {
    pub workspace_name: String,
}

/// The workspace a sign-in link of the portal at `/portal/{slug}` signs in to, while the link
/// is unspent and unexpired, its workspace's portal on and its contact allowed in. `None` for
/// anything else (one answer for every link that opens nothing).
pub async fn link_page(app: &App, slug: &str, token: &str) -> AppResult<Option<LinkPage>> {
    let Some(hash) = parse_opaque(MAGIC_LINK_PREFIX, token) else {
        return Ok(None);
    };
    let now = app.clock.now_ms();
    let Some((tenant, contact)) = links::unscoped_link_target(&app.db, &hash, now).await? else {
        return Ok(None);
    };
    let mut tx = match app.db.read(&tenant).await {
        Ok(tx) => tx,
        Err(holdfast_store::StoreError::Suspended) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let site = access::site(&mut tx).await?;
    let allowed = access::allowed(&mut tx, &contact).await?;
    tx.commit().await?;
    let opens = site.slug == slug && site.modules.contains(Module::ClientPortal) && allowed;
    Ok(opens.then_some(LinkPage {
        workspace_name: site.name,
    }))
}

/// Spends a sign-in link of the portal at `/portal/{slug}` into a session. `None` (nothing
/// spent) when the link would not open its page ([`link_page`]).
pub async fn sign_in(
    app: &App,
    slug: &str,
    token: &str,
    from: &SignInFrom,
) -> AppResult<Option<SignedIn>> {
    if link_page(app, slug, token).await?.is_none() {
        return Ok(None);
    }
    let Some(hash) = parse_opaque(MAGIC_LINK_PREFIX, token) else {
        return Ok(None);
    };
    Ok(auth::sign_in(&app.db, &hash, from, app.clock.now_ms()).await?)
}

/// Ends the customer's own session (signing out), audited as `portal.signed_out`.
pub async fn sign_out(app: &App, actor: &PortalActor, origin: &Origin) -> AppResult<()> {
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    if sessions::end(&mut tx, actor.scope.contact(), &actor.session_id, now).await? {
        let event = origin.event(
            "portal.signed_out",
            "portal_session",
            actor.session_id.as_str(),
            json!({"contact_id": actor.scope.contact().as_str()}),
        );
        holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The name of the workspace whose portal is at `/portal/{slug}`, while it has its portal on
/// (and is not suspended); `None` otherwise (one answer for every portal that is not there).
pub async fn portal_name(app: &App, slug: &str) -> AppResult<Option<String>> {
    if holdfast_core::validate::slug("workspace", slug).is_err() {
        return Ok(None);
    }
    let Some((tenant, site)) = access::unscoped_portal_site(&app.db, slug).await? else {
        return Ok(None);
    };
    if !site.modules.contains(Module::ClientPortal) || app.db.is_suspended(&tenant).await? {
        return Ok(None);
    }
    Ok(Some(site.name))
}
