//! `/api/v1/roles`: built-in roles (read-only) and the workspace's custom roles; and the one
//! rule for handing out roles, shared by API keys, invitations and members.

use crate::api::Page;
use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::problem::{ApiResult, Problem};
use crate::routes::{Doc, Guard, RouteTable};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use holdfast_core::access::fields::FieldRules;
use holdfast_core::access::policy::{BuiltinRole, Permission, Role, RoleRef};
use holdfast_core::access::roles::{RoleFields, RoleIn, RoleOut, RolePatch, permissions_from_json};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::RoleId;
use holdfast_store::TenantTx;
use holdfast_store::access::roles::{self, Deleted};
use holdfast_store::identity::auth::Actor;
use serde_json::json;

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

/// The role a request names, as this workspace defines it, if the actor may hand it out: a
/// credential never grants a permission it does not hold itself.
pub(crate) async fn grantable(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    requested: &RoleRef,
) -> ApiResult<Role> {
    let role = roles::resolve_ref(tx, requested).await?.ok_or_else(|| {
        Problem::field(
            ErrorCode::Validation,
            "role",
            "no such role in this workspace; GET /api/v1/roles lists them",
        )
    })?;
    if !actor.role.may_grant(&role) {
        return Err(Problem::new(
            ErrorCode::Forbidden,
            format!(
                "a credential with role {} cannot hand out role {}: it holds permissions yours lacks",
                actor.role.as_str(),
                role.as_str()
            ),
        ));
    }
    Ok(role)
}

/// Acting on someone (re-roling or removing them) needs every permission they hold.
pub(crate) async fn may_act_on(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    stored: &str,
) -> ApiResult<()> {
    match roles::resolve(tx, stored).await? {
        Some(role) if !actor.role.may_grant(&role) => Err(Problem::new(
            ErrorCode::Forbidden,
            format!(
                "a credential with role {} cannot act on a member with role {stored}",
                actor.role.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

fn builtin_out(role: BuiltinRole) -> RoleOut {
    RoleOut {
        id: role.as_str().to_owned(),
        name: role.as_str().to_owned(),
        description: role.describe().to_owned(),
        permissions: role
            .permissions()
            .to_vec()
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        fields: holdfast_core::access::fields::builtin_rules(role).to_json(),
        builtin: true,
        created_at: None,
        updated_at: None,
    }
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
    let custom = roles::list(&mut tx).await?;
    tx.commit().await?;
    let mut data: Vec<RoleOut> = BuiltinRole::ALL.iter().map(|r| builtin_out(*r)).collect();
    data.extend(custom);
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

fn check_grantable(actor: &Actor, fields: &RoleFields) -> ApiResult<()> {
    let role = Role::custom(String::new(), fields.permissions)
        .with_field_rules(fields.field_rules.clone());
    if actor.role.may_grant(&role) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::Forbidden,
            "a role may only hold permissions your own role holds",
        ))
    }
}

async fn role_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<RoleIn>,
) -> ApiResult<(StatusCode, Json<RoleOut>)> {
    let fields = body.value.validate().map_err(Problem::validation)?;
    check_grantable(&actor, &fields)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let created = roles::create(&mut tx, &fields, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "role.created",
        "role",
        created.id.as_str(),
        json!({"name": created.name, "permissions": created.permissions, "fields": created.fields}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
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
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = roles::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Problem::not_found("role"))?;
    let before = RoleFields {
        name: current.name.clone(),
        description: current.description.clone(),
        permissions: permissions_from_json(
            &serde_json::to_string(&current.permissions).unwrap_or_default(),
        ),
        field_rules: FieldRules::from_stored(&current.fields.to_string()),
    };
    let fields = body.value.apply(&before).map_err(Problem::validation)?;
    check_grantable(&actor, &fields)?;
    check_grantable(&actor, &before)?;
    let updated = roles::update(&mut tx, &id, &fields, now)
        .await?
        .ok_or_else(|| Problem::not_found("role"))?;
    let event = audit::by(
        &actor,
        &client,
        "role.updated",
        "role",
        id.as_str(),
        json!({
            "before": {"name": current.name, "permissions": current.permissions, "fields": current.fields},
            "after": {"name": updated.name, "permissions": updated.permissions, "fields": updated.fields},
        }),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Json(updated))
}

async fn role_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = role_id(&id)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    match roles::delete(&mut tx, &id).await? {
        Deleted::Done => {}
        Deleted::NotFound => return Err(Problem::not_found("role")),
        Deleted::InUse(n) => {
            return Err(Problem::new(
                ErrorCode::Conflict,
                format!(
                    "{n} member(s), API key(s), invitation(s) or webhook endpoint(s) still hold this role; give them another role first"
                ),
            ));
        }
    }
    let event = audit::by(
        &actor,
        &client,
        "role.deleted",
        "role",
        id.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
