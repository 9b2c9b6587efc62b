//! `/api/v1/workspace`: the workspace's own settings.

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
use holdfast_app::access::settings::rename;
use holdfast_core::access::policy::Permission;
use holdfast_core::access::workspaces::{WorkspaceOut, WorkspacePatch};
use holdfast_store::access::workspaces;

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("workspace", summary);
    t.add(
        Method::GET,
        "/api/v1/workspace",
        Guard::Staff {
            permission: Permission::MembersRead,
        },
        doc("This workspace and its policies").response::<WorkspaceOut>(200),
        get(workspace_get),
    );
    t.add(
        Method::PATCH,
        "/api/v1/workspace",
        Guard::StaffStepUp {
            permission: Permission::WorkspaceManage,
        },
        doc("Rename the workspace")
            .request::<WorkspacePatch>()
            .response::<WorkspaceOut>(200),
        patch(workspace_update),
    );
}

async fn workspace_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<WorkspaceOut>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = workspaces::get(&mut tx).await?;
    tx.commit().await?;
    found
        .map(Json)
        .ok_or_else(|| Problem::not_found("workspace"))
}

async fn workspace_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<WorkspacePatch>,
) -> ApiResult<Json<WorkspaceOut>> {
    let name = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(rename(&state, &actor, &origin, &name).await?))
}
