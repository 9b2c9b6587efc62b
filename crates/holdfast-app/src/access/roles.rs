//! The one rule for handing out roles: a credential never grants, or acts on someone holding, a
//! permission it does not hold itself. Used by members, invitations, API keys and webhooks.

use crate::AppResult;
use holdfast_core::access::policy::{Role, RoleRef};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_store::TenantTx;
use holdfast_store::access::roles;
use holdfast_store::identity::auth::Actor;

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
