//! Who belongs to a workspace, for the API and the console alike: changing a member's role
//! (the keys they made that the new role could not hand out are revoked), removing a member
//! (their sessions end; the keys they made are revoked unless kept), the name a member goes by,
//! inviting someone by mail and withdrawing an invitation. Each audited; a workspace keeps at least one owner.

use crate::access::roles::{grantable, may_act_on};
use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::access::members::{InvitationOut, MemberOut};
use holdfast_core::access::policy::{Role, RoleRef};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::{ApiKeyId, InvitationId, MembershipId, UserId};
use holdfast_store::TenantTx;
use holdfast_store::access::members::{self, Change};
use holdfast_store::access::{api_keys, invitations};
use holdfast_store::identity::auth::Actor;
use holdfast_store::identity::sessions;
use serde_json::json;

fn last_owner() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        "a workspace keeps at least one owner; make someone else owner first",
    )
}

/// Gives a member another role (nobody acts on, or hands out, a role above their own);
/// `None` when the workspace has no such member.
pub async fn change_role(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &MembershipId,
    requested: &RoleRef,
) -> AppResult<Option<MemberOut>> {
    let mut tx = state.db.write(&actor.tenant).await?;
    let Some(current) = members::get(&mut tx, id).await? else {
        return Ok(None);
    };
    may_act_on(&mut tx, actor, &current.role).await?;
    let role = grantable(&mut tx, actor, requested).await?;
    match members::set_role(&mut tx, id, &role).await? {
        Change::Done => {}
        Change::NotFound => return Ok(None),
        Change::LastOwner => return Err(last_owner()),
    }
    let Some(updated) = members::get(&mut tx, id).await? else {
        return Ok(None);
    };
    let now = state.clock.now_ms();
    let revoked = revoke_keys_beyond(&mut tx, origin, &updated, &role, now).await?;
    let event = origin.event(
        "member.role_changed",
        "member",
        id.as_str(),
        json!({
            "user_id": updated.user_id,
            "before": current.role,
            "after": role.as_str(),
            "api_keys_revoked": revoked,
        }),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    tracing::info!(member = %id, role = role.as_str(), "member role changed");
    Ok(Some(updated))
}

/// Sets (or removes, with `None`) the name a member goes by, what customers see the first word
/// of; `None` when the workspace has no such member. Audited with the name's presence only.
pub async fn set_display_name(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &MembershipId,
    name: Option<&str>,
) -> AppResult<Option<MemberOut>> {
    let mut tx = state.db.write(&actor.tenant).await?;
    let Some(current) = members::get(&mut tx, id).await? else {
        return Ok(None);
    };
    may_act_on(&mut tx, actor, &current.role).await?;
    if !members::set_display_name(&mut tx, id, name).await? {
        return Ok(None);
    }
    let Some(updated) = members::get(&mut tx, id).await? else {
        return Ok(None);
    };
    let event = origin.event(
        "member.display_name_changed",
        "member",
        id.as_str(),
        json!({"user_id": updated.user_id, "has_name": name.is_some()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(Some(updated))
}

/// A key must never hold more than its maker: after a member's role changes, the keys they
/// made whose role the new role could not hand out are revoked (each audited), so a demotion
/// cannot leave the member's old reach behind in a script. Returns the revoked ids.
async fn revoke_keys_beyond(
    tx: &mut TenantTx<'_>,
    origin: &Origin,
    member: &MemberOut,
    role: &Role,
    now: i64,
) -> AppResult<Vec<String>> {
    let mut revoked = Vec::new();
    for (key_id, stored) in api_keys::live_made_by_with_roles(tx, &member.user_id).await? {
        let within = holdfast_store::access::roles::resolve(tx, &stored)
            .await?
            .is_some_and(|key_role| role.may_grant(&key_role));
        if within {
            continue;
        }
        let Some(parsed) = ApiKeyId::parse(&key_id) else {
            continue;
        };
        if api_keys::revoke(tx, &parsed, now).await? {
            let event = origin.event(
                "api_key.revoked",
                "api_key",
                &key_id,
                json!({
                    "reason": "its maker's new role could not hand out the key's role",
                    "member": member.id,
                    "key_role": stored,
                }),
            );
            holdfast_store::ops::audit::append(tx, &event, now).await?;
            revoked.push(key_id);
        }
    }
    Ok(revoked)
}

/// Removes a member: their sessions here end, and the API keys they made are revoked unless
/// `keep_api_keys` (the audit entry names the keys either way). `false` when the workspace
/// has no such member.
pub async fn remove_member(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &MembershipId,
    keep_api_keys: bool,
) -> AppResult<bool> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let Some(current) = members::get(&mut tx, id).await? else {
        return Ok(false);
    };
    may_act_on(&mut tx, actor, &current.role).await?;
    match members::remove(&mut tx, id).await? {
        Change::Done => {}
        Change::NotFound => return Ok(false),
        Change::LastOwner => return Err(last_owner()),
    }
    // A key must not outlive its maker's access unless the remover says so.
    let keys = if keep_api_keys {
        json!({"api_keys_kept": api_keys::live_made_by(&mut tx, &current.user_id).await?})
    } else {
        let revoked = api_keys::revoke_made_by(&mut tx, &current.user_id, now).await?;
        for key_id in &revoked {
            let event = origin.event(
                "api_key.revoked",
                "api_key",
                key_id.as_str(),
                json!({"reason": "its maker was removed from the workspace", "member": id.as_str()}),
            );
            holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
        }
        json!({"api_keys_revoked": revoked})
    };
    let mut summary = json!({"user_id": current.user_id, "role": current.role});
    if let (Some(summary), Some(keys)) = (summary.as_object_mut(), keys.as_object()) {
        summary.extend(keys.clone());
    }
    let event = origin.event("member.removed", "member", id.as_str(), summary);
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    let user = UserId::from_trusted(current.user_id);
    sessions::revoke_all(&mut tx, &user, now).await?;
    tx.commit().await?;
    tracing::info!(
        member = %id,
        kept_api_keys = keep_api_keys,
        "member removed; their sessions ended"
    );
    Ok(true)
}

/// Invites `email` (already checked, lower case) with a role the actor may hand out: the
/// invitation (valid 7 days, once) is stored and audited, and its mail leaves from a task of
/// its own after the answer.
pub async fn invite(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    email: String,
    requested: &RoleRef,
) -> AppResult<InvitationOut> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let role = grantable(&mut tx, actor, requested).await?;
    let (invitation, token) = invitations::create(&mut tx, &email, &role, now).await?;
    let event = origin.event(
        "invitation.created",
        "invitation",
        invitation.id.as_str(),
        json!({"email": email, "role": role.as_str()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    let text = format!(
        "You are invited to join a Holdfast workspace as {}.\n\n\
         To accept within 7 days, open:\n{}/invite/{}\n\n\
         or send the token and a password to POST /api/v1/invitations/accept:\n{}\n\n\
         If you already have a Holdfast account with this address, use its password.\n",
        role.as_str(),
        state.config.public_url,
        token.expose(),
        token.expose()
    );
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) =
            crate::outreach::send_staff_mail(&state, &email, "You are invited to Holdfast", &text)
                .await
        {
            tracing::error!(error = %e, "invitation message not sent");
        }
    });
    Ok(invitation)
}

/// Withdraws a pending invitation; `false` when the workspace has no such pending one.
pub async fn withdraw_invitation(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &InvitationId,
) -> AppResult<bool> {
    let mut tx = state.db.write(&actor.tenant).await?;
    if !invitations::revoke(&mut tx, id, state.clock.now_ms()).await? {
        return Ok(false);
    }
    let event = origin.event("invitation.revoked", "invitation", id.as_str(), json!({}));
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(true)
}
