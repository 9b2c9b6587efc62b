//! The workspace's inbound receivers, for the API and the console alike: each provider's
//! receiver URL (`/hooks/{provider}/{workspace_slug}`, to give the provider) and whether its
//! signing secret is set; setting a secret (checked for the provider's shape, stored sealed,
//! never shown again) and removing one. Each change audited. The events received, newest
//! first, as the reader's field rules allow. The receiver itself is the HTTP `Signed` guard
//! and its slice; handling a received event is `inbound`.

use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::access::fields::{self, Resource};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::webhooks::inbound::{InboundEventOut, Provider, validate_secret};
use holdfast_store::Tenant;
use holdfast_store::identity::auth::Actor;
use holdfast_store::webhooks::inbound as store;
use serde_json::json;

/// The sealing context of a workspace's secret for one provider.
pub fn secret_context(tenant: &Tenant, provider: Provider) -> String {
    format!("inbound:{}:{}", tenant.workspace_id(), provider.slug())
}

/// One provider's receiver.
pub struct Receiver {
    pub provider: Provider,
    /// Give this URL to the provider.
    pub url: String,
    /// When the secret was set; `None` while there is none (deliveries are refused).
    pub updated_at: Option<i64>,
}

async fn slug_of(state: &App, tenant: &Tenant) -> AppResult<String> {
    let mut tx = state.db.read(tenant).await?;
    let workspace = holdfast_store::access::workspaces::get(&mut tx).await?;
    tx.commit().await?;
    workspace
        .map(|w| w.slug)
        .ok_or_else(|| ApiError::not_found("workspace"))
}

fn receiver(state: &App, slug: &str, provider: Provider, updated_at: Option<i64>) -> Receiver {
    Receiver {
        provider,
        url: format!(
            "{}/hooks/{}/{slug}",
            state.config.public_url,
            provider.slug()
        ),
        updated_at,
    }
}

/// Every provider's receiver in this workspace.
pub async fn receivers(state: &App, tenant: &Tenant) -> AppResult<Vec<Receiver>> {
    let slug = slug_of(state, tenant).await?;
    let mut tx = state.db.read(tenant).await?;
    let set = store::secrets(&mut tx).await?;
    tx.commit().await?;
    Ok(Provider::ALL
        .iter()
        .map(|p| {
            let updated = set
                .iter()
                .find(|s| s.provider == p.slug())
                .map(|s| s.updated_at);
            receiver(state, &slug, *p, updated)
        })
        .collect())
}

/// Sets the provider's signing secret: at most 512 characters, of the provider's shape.
pub async fn set_secret(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    provider: Provider,
    secret: &str,
) -> AppResult<Receiver> {
    let secret = secret.trim();
    if secret.len() > 512 {
        return Err(ApiError::field(
            ErrorCode::Validation,
            "secret",
            "must be at most 512 characters",
        ));
    }
    validate_secret(provider, secret).map_err(|e| {
        ApiError::field(
            ErrorCode::Validation,
            "secret",
            &format!("{e}; expected {}", provider.secret_hint()),
        )
    })?;
    let sealed = state
        .sealer
        .seal(secret.as_bytes(), &secret_context(&actor.tenant, provider))
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the secret could not be sealed"))?;
    let slug = slug_of(state, &actor.tenant).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    store::set_secret(&mut tx, provider, &sealed, now).await?;
    let event = origin.event(
        "inbound_hook.secret_set",
        "inbound_hook",
        provider.slug(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(receiver(state, &slug, provider, Some(now)))
}

/// Removes the provider's secret (its deliveries are refused from now on); `false` when none
/// was set.
pub async fn remove_secret(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    provider: Provider,
) -> AppResult<bool> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    if !store::delete_secret(&mut tx, provider).await? {
        return Ok(false);
    }
    let event = origin.event(
        "inbound_hook.secret_removed",
        "inbound_hook",
        provider.slug(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The provider a list of received events is narrowed to: none, or one named by its slug.
pub fn provider_filter(text: Option<&str>) -> AppResult<Option<Provider>> {
    match text {
        None => Ok(None),
        Some(text) => Provider::from_slug(text).map(Some).ok_or_else(|| {
            ApiError::field(
                ErrorCode::Validation,
                "provider",
                "is not a provider Holdfast receives from (stripe, square, mailgun, meta, mercadopago, paddle, twilio, standard)",
            )
        }),
    }
}

/// Verified events received from providers, newest first, before the cursor `before` (an
/// event id), at most `limit` rows. A raw payload names the person and cannot be cut field by
/// field, so a reader whose role hides any contact field gets the events without bodies.
pub async fn received_events(
    state: &App,
    actor: &Actor,
    provider: Option<Provider>,
    before: Option<&str>,
    limit: u32,
) -> AppResult<Vec<InboundEventOut>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = store::list(&mut tx, provider, before, limit).await?;
    tx.commit().await?;
    let whole = fields::sees_every_field(&actor.role, Resource::Contacts);
    Ok(rows
        .into_iter()
        .map(|event| if whole { event } else { event.withheld() })
        .collect())
}
