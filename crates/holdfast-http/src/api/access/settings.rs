//! Admin-gated sensitive settings: modules and the security policy. Each needs
//! `settings.security` and a step-up, and each change is audited with before and after.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, patch};
use holdfast_app::access::settings::{module_listing, set_modules, set_security};
use holdfast_core::access::modules::{ModuleOut, ModulesIn};
use holdfast_core::access::policy::Permission;
use holdfast_core::access::workspaces::{SecuritySettingsIn, WorkspaceOut};
use holdfast_core::error::ErrorCode;
use holdfast_store::access::workspaces;

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

async fn modules_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Vec<ModuleOut>>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let set = workspaces::modules(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(module_listing(set, state.offered)))
}

async fn modules_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<ModulesIn>,
) -> ApiResult<Json<Vec<ModuleOut>>> {
    let wanted = body
        .value
        .validate(state.offered)
        .map_err(|e| Problem::field(ErrorCode::Validation, &e.field, &e.message))?;
    let origin = audit::origin(&actor, &client);
    set_modules(&state, &actor, &origin, wanted, state.offered).await?;
    Ok(Json(module_listing(wanted, state.offered)))
}

async fn security_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<SecuritySettingsIn>,
) -> ApiResult<Json<WorkspaceOut>> {
    body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        set_security(&state, &actor, &origin, &body.value).await?,
    ))
}
