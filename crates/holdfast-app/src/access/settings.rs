//! The workspace's settings, for the API and the console alike: its name, which modules are
//! on (among those on offer) and the security policy (two-factor sign-in for everyone, how
//! long console sessions last). Each change audited with before and after.

use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::access::modules::{Module, ModuleOut, ModuleSet};
use holdfast_core::access::workspaces::{SecuritySettingsIn, WorkspaceOut};
use holdfast_core::error::ApiError;
use holdfast_store::access::workspaces;
use holdfast_store::identity::auth::Actor;
use serde_json::json;

/// The modules on offer (those with routes) and whether each is on.
pub fn module_listing(set: ModuleSet, offered: ModuleSet) -> Vec<ModuleOut> {
    Module::ALL
        .iter()
        .filter(|m| offered.contains(**m))
        .map(|m| ModuleOut {
            module: m.as_str().to_owned(),
            enabled: set.contains(*m),
            description: m.describe().to_owned(),
        })
        .collect()
}

/// The modules of `set` on offer: a stored list may name one with nothing behind it (from an
/// older version), which is neither shown nor counted.
pub fn module_names(set: ModuleSet, offered: ModuleSet) -> Vec<&'static str> {
    set.to_vec()
        .iter()
        .filter(|m| offered.contains(**m))
        .map(|m| m.as_str())
        .collect()
}

/// Sets the modules that are on (already checked against those on offer).
pub async fn set_modules(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    wanted: ModuleSet,
    offered: ModuleSet,
) -> AppResult<()> {
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = workspaces::modules(&mut tx).await?;
    workspaces::set_modules(&mut tx, wanted, state.clock.now_ms()).await?;
    let event = origin.event(
        "modules.changed",
        "workspace",
        actor.tenant.workspace_id().as_str(),
        json!({"before": module_names(before, offered), "after": module_names(wanted, offered)}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    tracing::info!(modules = ?module_names(wanted, offered), "modules changed");
    Ok(())
}

/// Renames the workspace (the name already validated, `WorkspacePatch::validate`).
pub async fn rename(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    name: &str,
) -> AppResult<WorkspaceOut> {
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))?;
    workspaces::update(&mut tx, Some(name), None).await?;
    let after = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))?;
    let event = origin.event(
        "workspace.renamed",
        "workspace",
        after.id.as_str(),
        json!({"before": before.name, "after": after.name}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    tracing::info!("workspace renamed");
    Ok(after)
}

fn policy(w: &WorkspaceOut) -> serde_json::Value {
    json!({
        "require_2fa": w.require_2fa,
        "console_idle_minutes": w.console_idle_minutes,
        "console_max_hours": w.console_max_hours,
    })
}

/// Changes the security policy (already validated): what the change names.
pub async fn set_security(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    change: &SecuritySettingsIn,
) -> AppResult<WorkspaceOut> {
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))?;
    workspaces::update(&mut tx, None, change.require_2fa).await?;
    workspaces::set_session_policy(
        &mut tx,
        change.console_idle_minutes,
        change.console_max_hours,
    )
    .await?;
    let after = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))?;
    let event = origin.event(
        "security.settings_changed",
        "workspace",
        after.id.as_str(),
        json!({
            "before": policy(&before),
            "after": policy(&after),
        }),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    tracing::info!(require_2fa = after.require_2fa, "security policy changed");
    Ok(after)
}
