//! `/api/v1/members` and `/api/v1/invitations`: who belongs to a workspace, with which role.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::{Guard, RateLimit};
use crate::paging::Page;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use holdfast_app::access::roles::{grantable, may_act_on};
use holdfast_app::identity::sign_in::tokens;
use holdfast_core::access::api_keys::parse_role;
use holdfast_core::access::members::{
    AcceptIn, InvitationIn, InvitationOut, MemberOut, MemberPatch,
};
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::identity::sessions::TokensOut;
use holdfast_core::ids::{InvitationId, MembershipId};
use holdfast_store::TenantTx;
use holdfast_store::access::members::{self, Change};
use holdfast_store::identity;
use holdfast_store::{access::api_keys, access::invitations, identity::sessions};
use serde::Deserialize;
use serde_json::json;

const READ: Guard = Guard::Staff {
    permission: Permission::MembersRead,
};
const MANAGE: Guard = Guard::Staff {
    permission: Permission::MembersManage,
};
/// Who belongs, with which role: a sensitive change for a signed-in user (step-up).
const CHANGE_ROLE: Guard = Guard::StaffStepUp {
    permission: Permission::MembersManage,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("members", summary);
    t.add(
        Method::GET,
        "/api/v1/members",
        READ,
        doc("List members").response::<Page<MemberOut>>(200),
        get(member_list),
    );
    t.add(
        Method::PATCH,
        "/api/v1/members/{id}",
        CHANGE_ROLE,
        doc("Change a member's role")
            .request::<MemberPatch>()
            .response::<MemberOut>(200),
        patch(member_update),
    );
    t.add(
        Method::DELETE,
        "/api/v1/members/{id}",
        CHANGE_ROLE,
        doc("Remove a member; their sessions end and the API keys they made are revoked at once")
            .query(&[QueryParam {
                name: "keep_api_keys",
                description: "true keeps the API keys the member made working (the audit entry names them)",
                integer: false,
            }])
            .no_content(),
        delete(member_remove),
    );
    t.add(
        Method::POST,
        "/api/v1/invitations",
        CHANGE_ROLE,
        doc("Invite someone by email (valid 7 days, once)")
            .request::<InvitationIn>()
            .response::<InvitationOut>(201),
        post(invitation_create),
    );
    t.add(
        Method::GET,
        "/api/v1/invitations",
        MANAGE,
        doc("List pending invitations").response::<Page<InvitationOut>>(200),
        get(invitation_list),
    );
    t.add(
        Method::DELETE,
        "/api/v1/invitations/{id}",
        MANAGE,
        doc("Withdraw an invitation").no_content(),
        delete(invitation_revoke),
    );
    t.add(
        Method::POST,
        "/api/v1/invitations/accept",
        Guard::Public {
            rate_limit: RateLimit::Auth,
        },
        doc("Accept an invitation: set a password, or give your existing account's; signs you in")
            .request::<AcceptIn>()
            .response::<TokensOut>(200),
        post(invitation_accept),
    );
}

fn member_id(text: &str) -> ApiResult<MembershipId> {
    MembershipId::parse(text).ok_or_else(|| Problem::not_found("member"))
}

fn last_owner() -> Problem {
    Problem::new(
        ErrorCode::Conflict,
        "a workspace keeps at least one owner; make someone else owner first",
    )
}

/// Nobody acts on, or hands out, a role above their own.
async fn member_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Page<MemberOut>>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let data = members::list(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

async fn member_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<MemberPatch>,
) -> ApiResult<Json<MemberOut>> {
    let id = member_id(&id)?;
    let requested = parse_role(&body.value.role).map_err(|e| Problem::validation(vec![e]))?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = members::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Problem::not_found("member"))?;
    may_act_on(&mut tx, &actor, &current.role).await?;
    let role = grantable(&mut tx, &actor, &requested).await?;
    match members::set_role(&mut tx, &id, &role).await? {
        Change::Done => {}
        Change::NotFound => return Err(Problem::not_found("member")),
        Change::LastOwner => return Err(last_owner()),
    }
    let updated = members::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Problem::not_found("member"))?;
    let now = state.clock.now_ms();
    let revoked = revoke_keys_beyond(&mut tx, &actor, &client, &updated, &role, now).await?;
    let event = audit::by(
        &actor,
        &client,
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
    Ok(Json(updated))
}

/// A key must never hold more than its maker: after a member's role changes, the keys they
/// made whose role the new role could not hand out are revoked (each audited), so a demotion
/// cannot leave the member's old reach behind in a script. Returns the revoked ids.
async fn revoke_keys_beyond(
    tx: &mut TenantTx<'_>,
    actor: &holdfast_store::identity::auth::Actor,
    client: &ClientInfo,
    member: &MemberOut,
    role: &holdfast_core::access::policy::Role,
    now: i64,
) -> ApiResult<Vec<String>> {
    let mut revoked = Vec::new();
    for (key_id, stored) in api_keys::live_made_by_with_roles(tx, &member.user_id).await? {
        let within = holdfast_store::access::roles::resolve(tx, &stored)
            .await?
            .is_some_and(|key_role| role.may_grant(&key_role));
        if within {
            continue;
        }
        let Some(parsed) = holdfast_core::ids::ApiKeyId::parse(&key_id) else {
            continue;
        };
        if api_keys::revoke(tx, &parsed, now).await? {
            let event = audit::by(
                actor,
                client,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveQuery {
    /// Keep the API keys the member made working (their scripts and integrations); by default
    /// they are revoked with the member. The route's step-up covers this choice, and the audit
    /// entry names the keys either way.
    #[serde(default)]
    keep_api_keys: bool,
}

async fn member_remove(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<RemoveQuery>,
) -> ApiResult<StatusCode> {
    let id = member_id(&id)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = members::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Problem::not_found("member"))?;
    may_act_on(&mut tx, &actor, &current.role).await?;
    match members::remove(&mut tx, &id).await? {
        Change::Done => {}
        Change::NotFound => return Err(Problem::not_found("member")),
        Change::LastOwner => return Err(last_owner()),
    }
    // A key must not outlive its maker's access unless the remover says so.
    let keys = if query.keep_api_keys {
        json!({"api_keys_kept": api_keys::live_made_by(&mut tx, &current.user_id).await?})
    } else {
        let revoked = api_keys::revoke_made_by(&mut tx, &current.user_id, now).await?;
        for key_id in &revoked {
            let event = audit::by(
                &actor,
                &client,
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
    let event = audit::by(
        &actor,
        &client,
        "member.removed",
        "member",
        id.as_str(),
        summary,
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    let user = holdfast_core::ids::UserId::from_trusted(current.user_id);
    sessions::revoke_all(&mut tx, &user, now).await?;
    tx.commit().await?;
    tracing::info!(
        member = %id,
        kept_api_keys = query.keep_api_keys,
        "member removed; their sessions ended"
    );
    Ok(StatusCode::NO_CONTENT)
}

async fn invitation_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<InvitationIn>,
) -> ApiResult<(StatusCode, Json<InvitationOut>)> {
    let (email, requested) = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let role = grantable(&mut tx, &actor, &requested).await?;
    let (invitation, token) = invitations::create(&mut tx, &email, &role, now).await?;
    let event = audit::by(
        &actor,
        &client,
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
        if let Err(e) = holdfast_app::outreach::send_staff_mail(
            &state,
            &email,
            "You are invited to Holdfast",
            &text,
        )
        .await
        {
            tracing::error!(error = %e, "invitation message not sent");
        }
    });
    Ok((StatusCode::CREATED, Json(invitation)))
}

async fn invitation_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Page<InvitationOut>>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let data = invitations::list(&mut tx, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

async fn invitation_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = InvitationId::parse(&id).ok_or_else(|| Problem::not_found("invitation"))?;
    let mut tx = state.db.write(&actor.tenant).await?;
    if !invitations::revoke(&mut tx, &id, state.clock.now_ms()).await? {
        return Err(Problem::not_found("invitation"));
    }
    let event = audit::by(
        &actor,
        &client,
        "invitation.revoked",
        "invitation",
        id.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn invitation_accept(
    State(state): State<AppState>,
    client: ClientInfo,
    body: JsonBody<AcceptIn>,
) -> ApiResult<Json<TokensOut>> {
    let AcceptIn {
        token,
        password: secret,
        totp_code,
    } = body.value;
    let candidate =
        holdfast_app::access::invitations::accept(&state, &token, secret, totp_code.as_deref())
            .await?;
    let now = state.clock.now_ms();
    let issued = identity::start_session(
        &state.db,
        &candidate,
        &crate::audit::by_user(
            &candidate.user_id,
            &client,
            "invitation.accepted",
            serde_json::json!({"role": candidate.role}),
        ),
        client.user_agent.as_deref(),
        client.ip.as_deref(),
        now,
    )
    .await?;
    tracing::info!(session_id = %issued.session_id, "invitation accepted");
    Ok(Json(tokens(&state, issued, now)))
}
