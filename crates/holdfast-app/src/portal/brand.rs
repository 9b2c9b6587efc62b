//! How a workspace's client portal looks: staff set an accent colour and a logo (`PUT
//! /api/v1/portal/branding`, `…/branding/logo`, or Settings → Client portal; each change
//! audited), and every portal page, the sign-in pages included, shows them. The portal serves
//! the logo and a stylesheet with the colour itself (`logo`, `stylesheet`), only while the
//! portal is open (the same 404 as every other page otherwise). Rules:
//! `holdfast_core::brand`.

use super::sign_in::open_site;
use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::brand::{self as rules, Brand, BrandingOut, Colour, LogoOut, logo_url};
use holdfast_store::identity::auth::Actor;
use holdfast_store::portal::access;
use holdfast_store::portal::brand::{self as store, Branding, Logo};
use serde_json::json;

/// The workspace's branding, as staff see it.
pub async fn branding(app: &App, actor: &Actor) -> AppResult<BrandingOut> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let out = out_of(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

async fn out_of(tx: &mut holdfast_store::TenantTx<'_>) -> AppResult<BrandingOut> {
    let site = access::site(tx).await?;
    let Branding { colour, logo } = store::get(tx).await?;
    let colour = colour.as_deref().and_then(Colour::parse);
    Ok(BrandingOut {
        colour: colour.map(Colour::hex),
        ink: colour.map(|c| c.ink().hex()),
        logo: logo.map(|l| LogoOut {
            url: logo_url(&site.slug, &l.sha256),
            content_type: l.content_type,
            size_bytes: l.size_bytes,
            sha256: l.sha256,
        }),
    })
}

/// Sets the accent colour (`None`: the portal's own), audited as
/// `workspace.portal_branding_changed` with the colour before and after, when it changed.
pub async fn set_colour(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    colour: Option<Colour>,
) -> AppResult<BrandingOut> {
    let now = app.clock.now_ms();
    let after = colour.map(Colour::hex);
    let mut tx = app.db.write(&actor.tenant).await?;
    let before = store::get(&mut tx).await?.colour;
    if before != after {
        store::set_colour(&mut tx, after.as_deref()).await?;
        let event = origin.event(
            "workspace.portal_branding_changed",
            "workspace",
            actor.tenant.workspace_id().to_string(),
            json!({"colour": {"before": before, "after": after}}),
        );
        holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    }
    let out = out_of(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Puts `bytes` in place of the workspace's logo: 422 empty, 413 over 256 KiB, 415 unless a
/// PNG, JPEG or WebP image by its bytes (`holdfast_core::brand::check_logo`). Audited as
/// `workspace.portal_logo_changed` with the new logo's digest, type and size.
pub async fn set_logo(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    bytes: &[u8],
) -> AppResult<BrandingOut> {
    let kind = rules::check_logo(bytes)?;
    let sha256 = crate::attachments::sha256_of(bytes);
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    store::put_logo(
        &mut tx,
        kind.content_type(),
        &sha256,
        bytes,
        &origin.actor_id,
        now,
    )
    .await?;
    let event = origin.event(
        "workspace.portal_logo_changed",
        "workspace",
        actor.tenant.workspace_id().to_string(),
        json!({"sha256": sha256, "content_type": kind.content_type(), "size_bytes": bytes.len()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    let out = out_of(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Removes the workspace's logo (nothing to do when there is none), audited as
/// `workspace.portal_logo_removed`.
pub async fn remove_logo(app: &App, actor: &Actor, origin: &Origin) -> AppResult<()> {
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    if store::remove_logo(&mut tx).await? {
        let event = origin.event(
            "workspace.portal_logo_removed",
            "workspace",
            actor.tenant.workspace_id().to_string(),
            json!({}),
        );
        holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The logo of the portal at `/portal/{slug}`, while that portal is open.
pub async fn logo(app: &App, slug: &str) -> AppResult<Option<Logo>> {
    let Some((tenant, _)) = open_site(app, slug).await? else {
        return Ok(None);
    };
    let mut tx = app.db.read(&tenant).await?;
    let logo = store::logo(&mut tx).await?;
    tx.commit().await?;
    Ok(logo)
}

/// The brand stylesheet of the portal at `/portal/{slug}`, while that portal is open and has
/// a colour.
pub async fn stylesheet(app: &App, slug: &str) -> AppResult<Option<String>> {
    Ok(open_site(app, slug)
        .await?
        .and_then(|(_, site)| site.colour)
        .map(rules::stylesheet))
}

/// How the portal at `/portal/{slug}` shows its workspace, while it is open.
pub async fn of_portal(app: &App, slug: &str) -> AppResult<Option<Brand>> {
    Ok(open_site(app, slug).await?.map(|(_, site)| site.brand()))
}
