//! The website widget's settings, for the API and the console alike: the public key (made on
//! first use), whether it is on, its allowed origins, the embed snippet; rotating the key
//! (optionally ending every visitor token), and the identity-verification secret (made anew,
//! or shown — both audited; stored sealed).

use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::helpdesk::widget::{
    IDENTITY_SECRET_PREFIX, KEY_PREFIX, WidgetSettingsChange, WidgetSettingsOut,
};
use holdfast_core::token::generate_opaque;
use holdfast_store::Tenant;
use holdfast_store::helpdesk::widget::{self as store, SettingsRow};
use holdfast_store::identity::auth::Actor;
use serde_json::json;

/// The sealing context of a workspace's identity-verification secret.
pub fn identity_context(tenant: &Tenant) -> String {
    format!("widget-identity:{}", tenant.workspace_id())
}

fn new_key() -> String {
    generate_opaque(KEY_PREFIX).0.expose().clone()
}

fn settings_out(state: &App, row: &SettingsRow) -> WidgetSettingsOut {
    WidgetSettingsOut {
        key: row.public_key.clone(),
        enabled: row.enabled,
        allowed_origins: row.allowed_origins.clone(),
        identity_secret_set: row.identity_secret_sealed.is_some(),
        embed_snippet: format!(
            "<script src=\"{}/widget.js\" data-key=\"{}\" async></script>",
            state.config.public_url, row.public_key
        ),
        updated_at: row.updated_at,
    }
}

/// What the audit trail records of the settings (the key is public; the secret never).
fn audited(row: &SettingsRow) -> serde_json::Value {
    json!({
        "enabled": row.enabled,
        "allowed_origins": row.allowed_origins,
        "identity_secret_set": row.identity_secret_sealed.is_some(),
    })
}

fn missing() -> ApiError {
    ApiError::not_found("widget settings")
}

/// The widget's settings, made (with a new key, off) on first use.
pub async fn widget_settings(state: &App, actor: &Actor) -> AppResult<WidgetSettingsOut> {
    let mut tx = state.db.write(&actor.tenant).await?;
    let row = store::ensure_settings(&mut tx, &new_key(), state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(settings_out(state, &row))
}

/// Turns the widget on or off and sets its allowed origins (what the change names).
pub async fn change_widget(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    change: WidgetSettingsChange,
) -> AppResult<WidgetSettingsOut> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = store::ensure_settings(&mut tx, &new_key(), now).await?;
    let enabled = change.enabled.unwrap_or(before.enabled);
    let origins = change
        .allowed_origins
        .unwrap_or_else(|| before.allowed_origins.clone());
    store::update_settings(&mut tx, enabled, &origins, now).await?;
    let after = store::settings(&mut tx).await?.ok_or_else(missing)?;
    let event = origin.event(
        "widget.settings_changed",
        "widget",
        actor.tenant.workspace_id().as_str(),
        json!({"before": audited(&before), "after": audited(&after)}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(settings_out(state, &after))
}

/// Replaces the public key (the old one stops at once); with `revoke_visitors`, every visitor
/// token ends too (their conversations stay in the help desk).
pub async fn rotate_widget_key(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    revoke_visitors: bool,
) -> AppResult<WidgetSettingsOut> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = store::ensure_settings(&mut tx, &new_key(), now).await?;
    store::rotate_key(&mut tx, &new_key(), now).await?;
    let revoked = if revoke_visitors {
        store::revoke_visitors(&mut tx).await?
    } else {
        0
    };
    let after = store::settings(&mut tx).await?.ok_or_else(missing)?;
    let event = origin.event(
        "widget.key_rotated",
        "widget",
        actor.tenant.workspace_id().as_str(),
        json!({
            "before": {"key": before.public_key},
            "after": {"key": after.public_key},
            "visitors_revoked": revoked,
        }),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(settings_out(state, &after))
}

/// Makes a new identity-verification secret (the old one stops at once); returns it, the
/// only time it is shown unless revealed.
pub async fn rotate_identity_secret(
    state: &App,
    actor: &Actor,
    origin: &Origin,
) -> AppResult<String> {
    let now = state.clock.now_ms();
    let (secret, _) = generate_opaque(IDENTITY_SECRET_PREFIX);
    let sealed = state
        .sealer
        .seal(secret.expose().as_bytes(), &identity_context(&actor.tenant))
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the secret could not be sealed"))?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = store::ensure_settings(&mut tx, &new_key(), now).await?;
    store::set_identity_secret(&mut tx, &sealed, now).await?;
    let event = origin.event(
        "widget.identity_secret_rotated",
        "widget",
        actor.tenant.workspace_id().as_str(),
        json!({"before": {"identity_secret_set": before.identity_secret_sealed.is_some()},
               "after": {"identity_secret_set": true}}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(secret.expose().clone())
}

/// Shows the identity-verification secret (audited).
pub async fn reveal_identity_secret(
    state: &App,
    actor: &Actor,
    origin: &Origin,
) -> AppResult<String> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let row = store::settings(&mut tx).await?;
    let Some(sealed) = row.and_then(|r| r.identity_secret_sealed) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "this workspace has no identity secret yet; make one with POST /api/v1/widget/identity-secret/rotate",
        ));
    };
    let secret = state
        .sealer
        .open(&sealed, &identity_context(&actor.tenant))
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            tracing::error!(
                "a workspace's widget identity secret cannot be opened with this master key"
            );
            ApiError::new(
                ErrorCode::Internal,
                "the identity secret cannot be opened with this server's master key; rotate it",
            )
        })?;
    let event = origin.event(
        "widget.identity_secret_revealed",
        "widget",
        actor.tenant.workspace_id().as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(secret)
}
