//! A signed-in person's own account: changing the password (the current one and the code when
//! enrolled, then the policy; every other session ends) and deleting the account (the password
//! and code again, never the last owner of a workspace). Threat note: docs/design/passwords.md.

use crate::audit::Origin;
use crate::identity::second_factor::{internal, reauthenticate};
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::password::{self, Context};
use holdfast_store::access::workspaces;
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::identity::{self, AccountDeletion, two_factor};
use serde_json::json;

/// Sets a new password for the signed-in user: the new one must meet the policy (checked
/// first, so a refusal spends no code), the current password and the code (when enrolled) are
/// proven with the sign-in throttle, then the hash is set, reset messages sent before are void
/// and every other session of the user ends; the session asking stays. Audited.
pub async fn change_password(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    current: String,
    code: Option<&str>,
    new: String,
) -> AppResult<()> {
    let Principal::User {
        user_id,
        session_id,
        ..
    } = &actor.principal
    else {
        return Err(internal("a password change without a signed-in user"));
    };
    let (email, _) = two_factor::account(&state.db, user_id.as_str())
        .await?
        .ok_or_else(|| internal("signed-in user has no account row"))?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let workspace = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| internal("a signed-in user's workspace is missing"))?;
    tx.commit().await?;
    let ctx = || Context {
        email: &email,
        workspace_name: &workspace.name,
        second_factor_required: workspace.require_2fa,
    };
    password::check_policy(&new, ctx()).map_err(|e| ApiError::validation(vec![e]))?;
    reauthenticate(state, user_id.as_str(), current, code).await?;
    let hash = state.passwords.hash_new(new, ctx()).await?;
    let now = state.clock.now_ms();
    identity::unscoped_change_password(&state.db, user_id.as_str(), &hash, session_id, now).await?;
    let event = origin.event("auth.password_changed", "user", user_id.as_str(), json!({}));
    let mut tx = state.db.write(&actor.tenant).await?;
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!("password changed; the user's other sessions ended");
    Ok(())
}

/// Deletes the signed-in user's account. Never covered by an earlier step-up: the password,
/// and the code when an authenticator is enrolled, are checked on this very call. Refused
/// (409) while the account is a workspace's only owner. The deletion is recorded in the trail
/// of every workspace the account belonged to; the caller then clears the session's cookies.
pub async fn delete_account(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    password: String,
    code: Option<&str>,
) -> AppResult<()> {
    let Some(user_id) = actor.user_id() else {
        return Err(internal("an account deletion without a signed-in user"));
    };
    reauthenticate(state, user_id.as_str(), password, code).await?;
    let now = state.clock.now_ms();
    match identity::unscoped_delete_account(&state.db, user_id.as_str(), now).await? {
        AccountDeletion::Deleted(workspaces) => {
            tracing::info!("account deleted by its user");
            let event = origin.event(
                "member.account_deleted",
                "user",
                user_id.as_str(),
                json!({"workspaces": workspaces.len()}),
            );
            for workspace_id in &workspaces {
                if let Err(e) = identity::unscoped_audit(&state.db, workspace_id, &event, now).await
                {
                    tracing::error!(error = %e, "account deletion not recorded in a workspace's trail");
                }
            }
            Ok(())
        }
        AccountDeletion::LastOwner(slugs) => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "you are the only owner of {}; make another member an owner first",
                slugs.join(", ")
            ),
        )),
    }
}
