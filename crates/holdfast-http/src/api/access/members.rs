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
use axum::routing::{delete, get, patch, post, put};
use holdfast_app::access::members::{
    change_role, invite, remove_member, set_display_name, withdraw_invitation,
};
use holdfast_app::identity::sign_in::tokens;
use holdfast_core::access::api_keys::parse_role;
use holdfast_core::access::members::{
    AcceptIn, DisplayNameIn, InvitationIn, InvitationOut, MemberOut, MemberPatch,
};
use holdfast_core::access::policy::Permission;
use holdfast_core::identity::sessions::TokensOut;
use holdfast_core::ids::{InvitationId, MembershipId};
use holdfast_store::access::invitations;
use holdfast_store::access::members;
use holdfast_store::identity::{self};
use serde::Deserialize;

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
        Method::PUT,
        "/api/v1/members/{id}/display-name",
        MANAGE,
        doc("Set the name a member goes by (customers see its first word, on a job's public page); null removes it")
            .request::<DisplayNameIn>()
            .response::<MemberOut>(200),
        put(member_display_name),
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
    let origin = audit::origin(&actor, &client);
    change_role(&state, &actor, &origin, &id, &requested)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("member"))
}

async fn member_display_name(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<DisplayNameIn>,
) -> ApiResult<Json<MemberOut>> {
    let id = member_id(&id)?;
    let name = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    set_display_name(&state, &actor, &origin, &id, name.as_deref())
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("member"))
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
    let origin = audit::origin(&actor, &client);
    if !remove_member(&state, &actor, &origin, &id, query.keep_api_keys).await? {
        return Err(Problem::not_found("member"));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn invitation_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<InvitationIn>,
) -> ApiResult<(StatusCode, Json<InvitationOut>)> {
    let (email, requested) = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    let invitation = invite(&state, &actor, &origin, email, &requested).await?;
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
    let origin = audit::origin(&actor, &client);
    if !withdraw_invitation(&state, &actor, &origin, &id).await? {
        return Err(Problem::not_found("invitation"));
    }
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
