//! `/app/settings/members`: who belongs to the workspace, with which role, and pending
//! invitations; changing a role, removing a member, inviting and withdrawing an invitation —
//! the same guards as `/api/v1/members` and `/api/v1/invitations`, through
//! `holdfast_app::access::members`.

use crate::audit;
use crate::console::settings::{RoleChoice, Shell, role_choices, role_name};
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::access::members::{change_role, invite, remove_member, withdraw_invitation};
use holdfast_app::access::roles::all_roles;
use holdfast_core::access::api_keys::parse_role;
use holdfast_core::access::members::InvitationIn;
use holdfast_core::access::policy::Permission;
use holdfast_core::ids::{InvitationId, MembershipId};
use holdfast_store::access::{invitations, members};
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const HERE: &str = "/app/settings/members";
const READ: Guard = Guard::Staff {
    permission: Permission::MembersRead,
};
const MANAGE: Guard = Guard::Staff {
    permission: Permission::MembersManage,
};
const CHANGE_ROLE: Guard = Guard::StaffStepUp {
    permission: Permission::MembersManage,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        HERE,
        READ,
        Doc::page("Console", "Members and pending invitations"),
        get(members_page),
    );
    t.add(
        Method::POST,
        "/app/settings/members/{id}/role",
        CHANGE_ROLE,
        Doc::page("Console", "Change a member's role").redirect(),
        post(member_role),
    );
    t.add(
        Method::POST,
        "/app/settings/members/{id}/remove",
        CHANGE_ROLE,
        Doc::page("Console", "Remove a member").redirect(),
        post(member_remove),
    );
    t.add(
        Method::POST,
        "/app/settings/invitations",
        CHANGE_ROLE,
        Doc::page("Console", "Invite someone by email").redirect(),
        post(invitation_create),
    );
    t.add(
        Method::POST,
        "/app/settings/invitations/{id}/withdraw",
        MANAGE,
        Doc::page("Console", "Withdraw an invitation").redirect(),
        post(invitation_withdraw),
    );
}

struct ShownMember {
    id: String,
    email: String,
    role: String,
    role_name: String,
    joined: String,
    you: bool,
}

struct ShownInvitation {
    id: String,
    email: String,
    role_name: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "settings/members.html")]
struct MembersPage {
    frame: Frame,
    shell: Shell,
    members: Vec<ShownMember>,
    invitations: Vec<ShownInvitation>,
    roles: Vec<RoleChoice>,
    may_manage: bool,
    invite_email: String,
    invite_role: String,
}

async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    (invite_email, invite_role): (String, String),
) -> ApiResult<Response> {
    let may_manage = actor.role.grants(Permission::MembersManage);
    let mut tx = state.db.read(&actor.tenant).await?;
    let listed = members::list(&mut tx).await?;
    let pending = if may_manage {
        invitations::list(&mut tx, state.clock.now_ms()).await?
    } else {
        Vec::new()
    };
    let roles = all_roles(&mut tx).await?;
    tx.commit().await?;
    let me = actor.user_id().map(|u| u.as_str().to_owned());
    let page = MembersPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        members: listed
            .into_iter()
            .map(|m| ShownMember {
                role_name: role_name(&roles, &m.role),
                joined: console::when(m.created_at),
                you: me.as_deref() == Some(m.user_id.as_str()),
                id: m.id,
                email: m.email,
                role: m.role,
            })
            .collect(),
        invitations: pending
            .into_iter()
            .map(|i| ShownInvitation {
                role_name: role_name(&roles, &i.role),
                expires: console::when(i.expires_at),
                id: i.id,
                email: i.email,
            })
            .collect(),
        roles: role_choices(&roles),
        may_manage,
        invite_email,
        invite_role: if invite_role.is_empty() {
            "support".to_owned()
        } else {
            invite_role
        },
    };
    Ok(console::render(status, &page))
}

/// The page again with what went wrong.
async fn refused(
    state: &AppState,
    actor: &Actor,
    problem: &Problem,
    kept: (String, String),
) -> ApiResult<Response> {
    let (status, message) = console::explain(problem);
    render(
        state,
        actor,
        status,
        Shell::new(actor, HERE).error(message),
        kept,
    )
    .await
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn members_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("role") => Some("The role is changed; it applies from their next request."),
        Some("removed") => Some("The member is removed; their sessions have ended."),
        Some("invited") => Some("The invitation is on its way."),
        Some("withdrawn") => Some("The invitation is withdrawn."),
        _ => None,
    };
    let shell = Shell::new(&actor, HERE).done(done);
    render(&state, &actor, StatusCode::OK, shell, Default::default()).await
}

fn member_id(text: &str) -> ApiResult<MembershipId> {
    MembershipId::parse(text).ok_or_else(|| Problem::not_found("member"))
}

/// A member of this workspace, or 404 (before the form is read: another workspace's id is
/// never told apart by its form).
async fn existing_member(state: &AppState, actor: &Actor, id: &str) -> ApiResult<MembershipId> {
    let id = member_id(id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = members::get(&mut tx, &id).await?;
    tx.commit().await?;
    found
        .map(|_| id)
        .ok_or_else(|| Problem::not_found("member"))
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn member_role(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = existing_member(&state, &actor, &id).await?;
    let form: RoleForm = console::form(&headers, &body)?;
    let changed = match parse_role(&form.role) {
        Err(e) => Err(Problem::validation(vec![e])),
        Ok(requested) => {
            let origin = audit::origin(&actor, &client);
            change_role(&state, &actor, &origin, &id, &requested)
                .await
                .map_err(Problem)
        }
    };
    match changed {
        Ok(Some(_)) => Ok(see_other(&format!("{HERE}?done=role"), is_htmx(&headers))),
        Ok(None) => Err(Problem::not_found("member")),
        Err(problem) => refused(&state, &actor, &problem, Default::default()).await,
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    keep_api_keys: Option<String>,
}

async fn member_remove(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = existing_member(&state, &actor, &id).await?;
    let form: RemoveForm = console::form(&headers, &body)?;
    let keep = form.keep_api_keys.as_deref() == Some("true");
    let origin = audit::origin(&actor, &client);
    match remove_member(&state, &actor, &origin, &id, keep).await {
        Ok(true) => Ok(see_other(
            &format!("{HERE}?done=removed"),
            is_htmx(&headers),
        )),
        Ok(false) => Err(Problem::not_found("member")),
        Err(e) => refused(&state, &actor, &Problem(e), Default::default()).await,
    }
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    role: String,
}

async fn invitation_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: InviteForm = console::form(&headers, &body)?;
    let input = InvitationIn {
        email: form.email.clone(),
        role: form.role.clone(),
    };
    let invited = match input.validate() {
        Err(errors) => Err(Problem::validation(errors)),
        Ok((email, requested)) => {
            let origin = audit::origin(&actor, &client);
            invite(&state, &actor, &origin, email, &requested)
                .await
                .map_err(Problem)
        }
    };
    match invited {
        Ok(_) => Ok(see_other(
            &format!("{HERE}?done=invited"),
            is_htmx(&headers),
        )),
        Err(problem) => refused(&state, &actor, &problem, (form.email, form.role)).await,
    }
}

async fn invitation_withdraw(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = InvitationId::parse(&id).ok_or_else(|| Problem::not_found("invitation"))?;
    let origin = audit::origin(&actor, &client);
    if !withdraw_invitation(&state, &actor, &origin, &id).await? {
        return Err(Problem::not_found("invitation"));
    }
    Ok(see_other(
        &format!("{HERE}?done=withdrawn"),
        is_htmx(&headers),
    ))
}
