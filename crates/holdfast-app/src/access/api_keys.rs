//! A workspace's API keys, for the API and the console alike: creating one (of a role the
//! creator may hand out; the secret is returned this once) and revoking one (which acts on its
//! holder, so it needs every permission the key holds). Each audited.

use crate::access::roles::{grantable, may_act_on};
use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::access::api_keys::ApiKeyCreated;
use holdfast_core::access::policy::RoleRef;
use holdfast_core::ids::ApiKeyId;
use holdfast_store::access::api_keys;
use holdfast_store::identity::auth::{Actor, Principal};
use serde_json::json;

/// Creates a key named `name` with the requested role (checked: never more than the actor
/// holds). A key made by a key answers to the same user as its parent.
pub async fn create_key(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    name: &str,
    requested: &RoleRef,
) -> AppResult<ApiKeyCreated> {
    let mut tx = state.db.write(&actor.tenant).await?;
    let role = grantable(&mut tx, actor, requested).await?;
    let now = state.clock.now_ms();
    // Otherwise a member could mint, with their own key, one that survives their removal.
    let maker = match &actor.principal {
        Principal::User { user_id, .. } => Some(user_id.to_string()),
        Principal::ApiKey(key) => api_keys::maker_of(&mut tx, key).await?,
    };
    let created = api_keys::create(&mut tx, name, &role, maker.as_deref(), now).await?;
    let event = origin.event(
        "api_key.created",
        "api_key",
        created.key.id.as_str(),
        json!({"name": name, "role": role.as_str()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(key_id = %created.key.id, role = role.as_str(), "api key created");
    Ok(created)
}

/// Revokes a key, effective at once; `false` when the workspace has no such live key.
pub async fn revoke_key(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &ApiKeyId,
) -> AppResult<bool> {
    let mut tx = state.db.write(&actor.tenant).await?;
    let now = state.clock.now_ms();
    // Revoking someone's key is acting on them: it needs every permission the key holds.
    if let Some(role) = api_keys::role_of(&mut tx, id).await? {
        may_act_on(&mut tx, actor, &role).await?;
    }
    if !api_keys::revoke(&mut tx, id, now).await? {
        return Ok(false);
    }
    let event = origin.event("api_key.revoked", "api_key", id.as_str(), json!({}));
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(key_id = %id, "api key revoked");
    Ok(true)
}
