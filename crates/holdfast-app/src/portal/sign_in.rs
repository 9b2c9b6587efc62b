//! Signing in to the portal, for its API (`POST /api/portal/v1/auth/magic-link`) and its pages
//! (`/portal/{slug}`) alike: asking for a link, the confirmation page's look-up, spending the
//! link into a browser session (the page) or an API session (`POST /api/portal/v1/auth/token`:
//! a `typ = portal` access token and a rotating refresh token), and signing out.

use crate::audit::Origin;
use crate::outreach::{ContactEmail, SIGN_IN_LINK, queue_to_contact};
use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::brand::Brand;
use holdfast_core::crm::consent::Purpose;
use holdfast_core::error::ApiError;
use holdfast_core::identity::jwt::{AUDIENCE, Claims, ISSUER, TokenType};
use holdfast_core::portal::{
    ACCESS_TTL_S, LINKS_PER_EMAIL_PER_HOUR, MAGIC_LINK_PREFIX, MagicLinkIn, PortalTokensOut,
    REFRESH_PREFIX, SessionKind,
};
use holdfast_core::token::parse_opaque;
use holdfast_store::portal::access::PortalSite;
use holdfast_store::portal::auth::{self, PortalActor, Refreshed, SignInFrom, SignedIn};
use holdfast_store::portal::{access, links, sessions};
use holdfast_store::{Lock, Tenant};
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

/// Queues the sign-in mail: see [`mail_to_portal_address`].
async fn send_link(app: &App, slug: &str, email: &str) -> Result<(), String> {
    mail_to_portal_address(app, slug, email, "sign-in link", |site| ContactEmail {
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
    })
    .await
}

/// Queues a mail that carries a sign-in link or a password reset link (`mail` writes it for
/// the portal's workspace) when the workspace at `slug` has its portal open and `email`
/// belongs to one of its contacts with portal access, at most [`LINKS_PER_EMAIL_PER_HOUR`] of
/// these mails an hour per address, both kinds counted. Through the outreach choke point
/// (purpose `sign_in`, to the address on file); the link itself is made when the mail is sent.
pub(crate) async fn mail_to_portal_address(
    app: &App,
    slug: &str,
    email: &str,
    what: &str,
    mail: impl FnOnce(&PortalSite) -> ContactEmail,
) -> Result<(), String> {
    let now = app.clock.now_ms();
    let Some((tenant, site)) = open_site(app, slug).await.map_err(|e| e.detail)? else {
        return Ok(());
    };
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
        tracing::info!("portal {what} not sent: the address's hourly limit is reached");
        return Ok(());
    }
    queue_to_contact(&mut tx, &contact, Purpose::SignIn, mail(&site), now)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// What the confirmation page of a sign-in link shows before anything is spent.
pub struct LinkPage {
    pub brand: Brand,
}

/// The workspace a sign-in link of the portal at `/portal/{slug}` signs in to, while the link
/// is unspent and unexpired, its workspace's portal on and its contact allowed in. `None` for
/// anything else (one answer for every link that opens nothing).
pub async fn link_page(app: &App, slug: &str, token: &str) -> AppResult<Option<LinkPage>> {
    Ok(link_opens(app, token)
        .await?
        .filter(|site| site.slug == slug)
        .map(|site| LinkPage {
            brand: site.brand(),
        }))
}

/// The portal a sign-in link opens, while the link is unspent and unexpired, its workspace's
/// portal on (and the workspace not suspended) and its contact allowed in.
async fn link_opens(
    app: &App,
    token: &str,
) -> AppResult<Option<holdfast_store::portal::access::PortalSite>> {
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
    let opens = site.modules.contains(Module::ClientPortal) && allowed;
    Ok(opens.then_some(site))
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
    Ok(auth::sign_in(
        &app.db,
        &hash,
        SessionKind::Browser,
        from,
        app.clock.now_ms(),
    )
    .await?)
}

/// Spends a sign-in link into an API session: its access and refresh tokens. `None` (nothing
/// spent) for a link that would not open a confirmation page.
pub async fn token_sign_in(
    app: &App,
    token: &str,
    from: &SignInFrom,
) -> AppResult<Option<PortalTokensOut>> {
    if link_opens(app, token).await?.is_none() {
        return Ok(None);
    }
    let Some(hash) = parse_opaque(MAGIC_LINK_PREFIX, token) else {
        return Ok(None);
    };
    let now = app.clock.now_ms();
    let signed_in = auth::sign_in(&app.db, &hash, SessionKind::Api, from, now).await?;
    Ok(signed_in.map(|signed_in| tokens(app, &signed_in, now)))
}

/// What a portal refresh token got.
pub enum Refresh {
    Tokens(PortalTokensOut),
    /// Used before: its session has been ended.
    Reused,
    /// Malformed, unknown, or its session is over.
    Invalid,
}

/// Spends a refresh token of a live API session for the next access and refresh tokens.
pub async fn refresh(app: &App, refresh_token: &str) -> AppResult<Refresh> {
    let Some(hash) = parse_opaque(REFRESH_PREFIX, refresh_token.trim()) else {
        return Ok(Refresh::Invalid);
    };
    let now = app.clock.now_ms();
    Ok(match auth::rotate_refresh(&app.db, &hash, now).await? {
        Refreshed::Rotated(signed_in) => Refresh::Tokens(tokens(app, &signed_in, now)),
        Refreshed::Reused => Refresh::Reused,
        Refreshed::Invalid => Refresh::Invalid,
    })
}

/// The access token (`typ = portal`: refused wherever a staff token is expected) of an API
/// session just started or refreshed, with its refresh token.
pub(super) fn tokens(app: &App, signed_in: &SignedIn, now_ms: i64) -> PortalTokensOut {
    let now_s = now_ms / 1000;
    let claims = Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: signed_in.contact.to_string(),
        ws: signed_in.tenant.workspace_id().to_string(),
        sid: signed_in.session_id.to_string(),
        typ: TokenType::Portal,
        iat: now_s,
        exp: now_s + ACCESS_TTL_S,
        nonce: None,
    };
    PortalTokensOut {
        access_token: app.keys.sign(&claims),
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_TTL_S,
        refresh_token: signed_in.secret.expose().clone(),
        session_id: signed_in.session_id.to_string(),
    }
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

/// The workspace whose portal is at `/portal/{slug}`, while it has its portal on (and is not
/// suspended); `None` otherwise (one answer for every portal that is not there).
pub(crate) async fn open_site(app: &App, slug: &str) -> AppResult<Option<(Tenant, PortalSite)>> {
    if holdfast_core::validate::slug("workspace", slug).is_err() {
        return Ok(None);
    }
    let Some((tenant, site)) = access::unscoped_portal_site(&app.db, slug).await? else {
        return Ok(None);
    };
    if !site.modules.contains(Module::ClientPortal) || app.db.is_suspended(&tenant).await? {
        return Ok(None);
    }
    Ok(Some((tenant, site)))
}
