//! The one rule for handing out roles: a credential never grants, or acts on someone holding, a
//! permission it does not hold itself. Used by members, invitations, API keys and webhooks.
//! And the workspace's roles, for the API and the console alike: listing them, and creating,
//! changing and deleting custom roles (each audited).

use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::access::fields::FieldRules;
use holdfast_core::access::policy::{BuiltinRole, Role, RoleRef};
use holdfast_core::access::roles::{RoleFields, RoleOut, RolePatch, permissions_from_json};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::RoleId;
use holdfast_store::TenantTx;
use holdfast_store::access::roles::{self, Deleted};
use holdfast_store::identity::auth::Actor;
use serde_json::json;

/// The role a request names, as this workspace defines it, if the actor may hand it out: a
/// credential never grants a permission it does not hold itself.
pub async fn grantable(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    requested: &RoleRef,
) -> AppResult<Role> {
    let role = roles::resolve_ref(tx, requested).await?.ok_or_else(|| {
        ApiError::field(
            ErrorCode::Validation,
            "role",
            "no such role in this workspace; GET /api/v1/roles lists them",
        )
    })?;
    if !actor.role.may_grant(&role) {
        return Err(ApiError::new(
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
pub async fn may_act_on(tx: &mut TenantTx<'_>, actor: &Actor, stored: &str) -> AppResult<()> {
    match roles::resolve(tx, stored).await? {
        Some(role) if !actor.role.may_grant(&role) => Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "a credential with role {} cannot act on a member with role {stored}",
                actor.role.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

/// Every role of the workspace: the built-in ones, then its own.
pub async fn all_roles(tx: &mut TenantTx<'_>) -> AppResult<Vec<RoleOut>> {
    let custom = roles::list(tx).await?;
    let mut data: Vec<RoleOut> = BuiltinRole::ALL.iter().map(|r| builtin_out(*r)).collect();
    data.extend(custom);
    Ok(data)
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

/// A custom role may hold only what the actor's own role holds.
fn check_grantable(actor: &Actor, fields: &RoleFields) -> AppResult<()> {
    let role = Role::custom(String::new(), fields.permissions)
        .with_field_rules(fields.field_rules.clone());
    if actor.role.may_grant(&role) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "a role may only hold permissions your own role holds",
        ))
    }
}

/// Creates a custom role from validated fields (audited).
pub async fn create_role(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    fields: &RoleFields,
) -> AppResult<RoleOut> {
    check_grantable(actor, fields)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let created = roles::create(&mut tx, fields, now).await?;
    let event = origin.event(
        "role.created",
        "role",
        created.id.as_str(),
        json!({"name": created.name, "permissions": created.permissions, "fields": created.fields}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(created)
}

/// The stored role's fields, as a patch applies to them.
pub fn fields_of(current: &RoleOut) -> RoleFields {
    RoleFields {
        name: current.name.clone(),
        description: current.description.clone(),
        permissions: permissions_from_json(
            &serde_json::to_string(&current.permissions).unwrap_or_default(),
        ),
        field_rules: FieldRules::from_stored(&current.fields.to_string()),
    }
}

/// Changes a custom role (its holders get the change on their next request); the actor must
/// be able to hand out the role both before and after. `None` when there is no such role.
pub async fn update_role(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &RoleId,
    patch: &RolePatch,
) -> AppResult<Option<RoleOut>> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let Some(current) = roles::get(&mut tx, id).await? else {
        return Ok(None);
    };
    let before = fields_of(&current);
    let fields = patch.apply(&before).map_err(ApiError::validation)?;
    check_grantable(actor, &fields)?;
    check_grantable(actor, &before)?;
    let Some(updated) = roles::update(&mut tx, id, &fields, now).await? else {
        return Ok(None);
    };
    let event = origin.event(
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
    Ok(Some(updated))
}

/// Deletes a custom role nobody holds; `false` when there is no such role.
pub async fn delete_role(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &RoleId,
) -> AppResult<bool> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    match roles::delete(&mut tx, id).await? {
        Deleted::Done => {}
        Deleted::NotFound => return Ok(false),
        Deleted::InUse(n) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "{n} member(s), API key(s), invitation(s) or webhook endpoint(s) still hold this role; give them another role first"
                ),
            ));
        }
    }
    let event = origin.event("role.deleted", "role", id.as_str(), json!({}));
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(true)
}
