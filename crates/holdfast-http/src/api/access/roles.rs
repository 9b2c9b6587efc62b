//! `/api/v1/roles`: built-in roles (read-only) and the workspace's custom roles, through
//! `holdfast_app::access::roles` (shared with the console).

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::Page;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use holdfast_app::access::roles::{all_roles, create_role, delete_role, update_role};
use holdfast_core::access::policy::{BuiltinRole, Permission};
use holdfast_core::access::roles::{RoleIn, RoleOut, RolePatch};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::RoleId;

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("roles", summary);
    t.add(
        Method::GET,
        "/api/v1/roles",
        Guard::Staff {
            permission: Permission::MembersRead,
        },
        doc("List roles: the built-in ones, then the workspace's own")
            .response::<Page<RoleOut>>(200),
        get(role_list),
    );
    t.add(
        Method::POST,
        "/api/v1/roles",
        Guard::StaffStepUp {
            permission: Permission::SettingsSecurity,
        },
        doc("Create a custom role from a permission list")
            .request::<RoleIn>()
            .response::<RoleOut>(201),
        post(role_create),
    );
    t.add(
        Method::PATCH,
        "/api/v1/roles/{id}",
        Guard::StaffStepUp {
            permission: Permission::SettingsSecurity,
        },
        doc("Change a custom role (takes effect on its holders' next request)")
            .request::<RolePatch>()
            .response::<RoleOut>(200),
        patch(role_update),
    );
    t.add(
        Method::DELETE,
        "/api/v1/roles/{id}",
        Guard::StaffStepUp {
            permission: Permission::SettingsSecurity,
        },
        doc("Delete a custom role nobody holds").no_content(),
        delete(role_delete),
    );
}

fn role_id(text: &str) -> ApiResult<RoleId> {
    if BuiltinRole::parse(text).is_some() {
        return Err(Problem::new(
            ErrorCode::Forbidden,
            "built-in roles cannot be changed or deleted; create a custom role instead",
        ));
    }
    RoleId::parse(text).ok_or_else(|| Problem::not_found("role"))
}

async fn role_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Page<RoleOut>>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let data = all_roles(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

async fn role_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<RoleIn>,
) -> ApiResult<(StatusCode, Json<RoleOut>)> {
    let fields = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    let created = create_role(&state, &actor, &origin, &fields).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn role_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<RolePatch>,
) -> ApiResult<Json<RoleOut>> {
    let id = role_id(&id)?;
    let origin = audit::origin(&actor, &client);
    update_role(&state, &actor, &origin, &id, &body.value)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("role"))
}

async fn role_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = role_id(&id)?;
    let origin = audit::origin(&actor, &client);
    if !delete_role(&state, &actor, &origin, &id).await? {
        return Err(Problem::not_found("role"));
    }
    Ok(StatusCode::NO_CONTENT)
}
