//! Staff decide who may sign in to the client portal (module `client_portal`):
//! `GET|PUT /api/v1/contacts/{id}/portal` (a contact's own access: on, off, or `null` for the
//! workspace's default; their live sessions), `POST …/portal/invite` (mail them a sign-in
//! link), `PUT …/portal/billing` (their company's billing contact: its jobs and invoices
//! join their portal), `DELETE …/portal/sessions/{session_id}` (end one), and `GET|PUT
//! /api/v1/portal/settings` (the workspace's default, and the origins whose pages may call the
//! portal API; step-up, since it opens the portal to every contact staff never chose for).
//! Through
//! `holdfast_app::portal::access`, audited.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use holdfast_app::portal::access::{self as app, ContactPortal};
use holdfast_core::access::policy::Permission;
use holdfast_core::portal::{PortalSessionOut, PortalSettingsIn, PortalSettingsOut};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::ContactsWrite,
};

/// A contact's client portal access.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContactPortalOut {
    /// The contact's own setting; `null`: the workspace's default holds.
    pub access: Option<bool>,
    /// Whether they may sign in now (their setting or the default, and an email address).
    pub effective: bool,
    /// Their live portal sessions, newest first.
    pub sessions: Vec<PortalSessionOut>,
    /// The company whose jobs and invoices their portal also shows: they are its billing
    /// contact (and still belong to it); `null`: none.
    pub billing_company_id: Option<String>,
}

/// Body of `PUT /api/v1/contacts/{id}/portal/billing`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalBillingIn {
    /// `true`: the billing contact of their company now (its jobs and invoices join their
    /// portal); `false`: of none.
    pub billing_contact: bool,
}

/// Body of `PUT /api/v1/contacts/{id}/portal`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPortalIn {
    /// `true` or `false`, or `null` to follow the workspace's default.
    pub access: Option<bool>,
}

fn out(portal: ContactPortal) -> ContactPortalOut {
    ContactPortalOut {
        access: portal.own,
        effective: portal.effective,
        sessions: portal.sessions,
        billing_company_id: portal.billing_company,
    }
}

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("portal", summary);
    t.add(
        Method::GET,
        "/api/v1/contacts/{id}/portal",
        READ,
        doc("A contact's client portal access and live portal sessions")
            .response::<ContactPortalOut>(200),
        get(contact_get),
    );
    t.add(
        Method::PUT,
        "/api/v1/contacts/{id}/portal",
        WRITE,
        doc("Set a contact's client portal access (taking it away ends their sessions)")
            .request::<ContactPortalIn>()
            .response::<ContactPortalOut>(200),
        put(contact_put),
    );
    t.add(
        Method::PUT,
        "/api/v1/contacts/{id}/portal/billing",
        WRITE,
        doc("Mark a contact their company's billing contact in the client portal, or not")
            .request::<PortalBillingIn>()
            .response::<ContactPortalOut>(200),
        put(billing_put),
    );
    t.add(
        Method::POST,
        "/api/v1/contacts/{id}/portal/invite",
        WRITE,
        doc("Mail the contact an invitation to the client portal, with a sign-in link")
            .response::<InvitedOut>(202),
        post(invite),
    );
    t.add(
        Method::DELETE,
        "/api/v1/contacts/{id}/portal/sessions/{session_id}",
        WRITE,
        doc("End one of a contact's client portal sessions").no_content(),
        delete(session_end),
    );
    t.add(
        Method::GET,
        "/api/v1/portal/settings",
        Guard::Staff {
            permission: Permission::SettingsSecurity,
        },
        doc("The workspace's client portal settings").response::<PortalSettingsOut>(200),
        get(settings_get),
    );
    t.add(
        Method::PUT,
        "/api/v1/portal/settings",
        Guard::StaffStepUp {
            permission: Permission::SettingsSecurity,
        },
        doc(
            "Change the workspace's client portal settings (who may sign in by default; the \
             origins whose pages may call the portal API)",
        )
        .request::<PortalSettingsIn>()
        .response::<PortalSettingsOut>(200),
        put(settings_put),
    );
}

async fn contact_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactPortalOut>> {
    Ok(Json(out(app::of_contact(&state, &actor, &id).await?)))
}

async fn contact_put(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    JsonBody { value: body, .. }: JsonBody<ContactPortalIn>,
) -> ApiResult<Json<ContactPortalOut>> {
    let origin = audit::origin(&actor, &client);
    let portal = app::set_contact(&state, &actor, &origin, &id, body.access).await?;
    Ok(Json(out(portal)))
}

async fn billing_put(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    JsonBody { value: body, .. }: JsonBody<PortalBillingIn>,
) -> ApiResult<Json<ContactPortalOut>> {
    let origin = audit::origin(&actor, &client);
    let portal = app::set_billing(&state, &actor, &origin, &id, body.billing_contact).await?;
    Ok(Json(out(portal)))
}

/// The answer to an invitation: queued.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InvitedOut {
    pub detail: String,
}

async fn invite(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<InvitedOut>)> {
    let origin = audit::origin(&actor, &client);
    app::invite(&state, &actor, &origin, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(InvitedOut {
            detail: "the invitation is on its way; its sign-in link works once, within 24 hours"
                .to_owned(),
        }),
    ))
}

async fn session_end(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path((id, session_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let origin = audit::origin(&actor, &client);
    app::end_session(&state, &actor, &origin, &id, &session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn settings_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<PortalSettingsOut>> {
    Ok(Json(app::settings(&state, &actor).await?))
}

async fn settings_put(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    JsonBody { value: body, .. }: JsonBody<PortalSettingsIn>,
) -> ApiResult<Json<PortalSettingsOut>> {
    let settings = body.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::set_settings(&state, &actor, &origin, &settings).await?,
    ))
}
