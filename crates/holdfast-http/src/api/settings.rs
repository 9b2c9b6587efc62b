//! Admin-gated sensitive settings: modules and the security policy. Each needs
//! `settings.security` and a step-up, and each change is audited with before and after.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::problem::{ApiResult, Problem};
use crate::routes::{Doc, Guard, RouteTable, offered_modules};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, patch};
use holdfast_core::access::modules::{Module, ModuleOut, ModuleSet, ModulesIn};
use holdfast_core::access::policy::Permission;
use holdfast_core::access::workspaces::{SecuritySettingsIn, WorkspaceOut};
use holdfast_core::error::ErrorCode;
use holdfast_store::access::workspaces;
use serde_json::json;

const SECURITY: Guard = Guard::StaffStepUp {
    permission: Permission::SettingsSecurity,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/api/v1/modules",
        Guard::Staff {
            permission: Permission::MembersRead,
        },
        Doc::new(
            "settings",
            "The modules on offer (those with routes) and which this workspace has on",
        )
        .response::<Vec<ModuleOut>>(200),
        get(modules_get),
    );
    t.add(
        Method::PATCH,
        "/api/v1/modules",
        SECURITY,
        Doc::new(
            "settings",
            "Turn modules on or off (the complete list of modules to have on; only modules GET lists can be named)",
        )
        .request::<ModulesIn>()
        .response::<Vec<ModuleOut>>(200),
        patch(modules_set),
    );
    t.add(
        Method::PATCH,
        "/api/v1/settings/security",
        SECURITY,
        Doc::new(
            "settings",
            "Change the security policy (two-factor sign-in)",
        )
        .request::<SecuritySettingsIn>()
        .response::<WorkspaceOut>(200),
        patch(security_set),
    );
}

/// The modules on offer (those with routes) and whether each is on.
fn listing(set: ModuleSet) -> Vec<ModuleOut> {
    let offered = offered_modules();
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
fn names(set: ModuleSet) -> Vec<&'static str> {
    let offered = offered_modules();
    set.to_vec()
        .iter()
        .filter(|m| offered.contains(**m))
        .map(|m| m.as_str())
        .collect()
}

async fn modules_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Vec<ModuleOut>>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let set = workspaces::modules(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(listing(set)))
}

async fn modules_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<ModulesIn>,
) -> ApiResult<Json<Vec<ModuleOut>>> {
    let wanted = body
        .value
        .validate(offered_modules())
        .map_err(|e| Problem::field(ErrorCode::Validation, &e.field, &e.message))?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = workspaces::modules(&mut tx).await?;
    workspaces::set_modules(&mut tx, wanted).await?;
    let event = audit::by(
        &actor,
        &client,
        "modules.changed",
        "workspace",
        actor.tenant.workspace_id().as_str(),
        json!({"before": names(before), "after": names(wanted)}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    tracing::info!(modules = ?names(wanted), "modules changed");
    Ok(Json(listing(wanted)))
}

async fn security_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<SecuritySettingsIn>,
) -> ApiResult<Json<WorkspaceOut>> {
    body.value.validate().map_err(Problem::validation)?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| Problem::not_found("workspace"))?;
    workspaces::update(&mut tx, None, body.value.require_2fa).await?;
    workspaces::set_session_policy(
        &mut tx,
        body.value.console_idle_minutes,
        body.value.console_max_hours,
    )
    .await?;
    let after = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| Problem::not_found("workspace"))?;
    let event = audit::by(
        &actor,
        &client,
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
    Ok(Json(after))
}

fn policy(w: &WorkspaceOut) -> serde_json::Value {
    json!({
        "require_2fa": w.require_2fa,
        "console_idle_minutes": w.console_idle_minutes,
        "console_max_hours": w.console_max_hours,
    })
}
