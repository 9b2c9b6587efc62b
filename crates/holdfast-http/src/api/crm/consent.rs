//! Consent per contact and channel (`/api/v1/contacts/{id}/consent`), its log, the outbound
//! decisions, preference-link revocation, and the workspace's privacy settings. Every change,
//! from here or from the contact's own links (`api/crm/preferences.rs`), goes through
//! [`change_consent`], which applies double opt-in and writes the log.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::{Page, page_of, page_params};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, patch, post, put};
use holdfast_app::crm::consent::{change_consent, revoke_links, save_privacy_settings, view};
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::consent::{
    ConsentLogEntry, ConsentOut, ConsentPatch, OutreachEntry, PrivacySettings, PrivacySettingsIn,
};
use holdfast_core::ids::ContactId;
use holdfast_store::Lock;
use holdfast_store::crm::consent::{self as store, Change};
use serde::Deserialize;
use serde_json::json;

const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::ContactsWrite,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("consent", summary);
    t.add(
        Method::GET,
        "/api/v1/contacts/{id}/consent",
        READ,
        doc("A contact's consent per channel, Do Not Contact and do-not-sell")
            .response::<ConsentOut>(200),
        get(consent_get),
    );
    t.add(
        Method::PATCH,
        "/api/v1/contacts/{id}/consent",
        WRITE,
        doc(
            "Change a contact's consent (logged; grants wait for confirmation under double opt-in)",
        )
        .request::<ConsentPatch>()
        .response::<ConsentOut>(200),
        patch(consent_update),
    );
    t.add(
        Method::GET,
        "/api/v1/contacts/{id}/consent/log",
        READ,
        doc("Every change of a contact's consent, oldest first")
            .response::<Page<ConsentLogEntry>>(200)
            .query(&[crate::paging::LIMIT, crate::paging::CURSOR]),
        get(consent_log),
    );
    t.add(
        Method::GET,
        "/api/v1/contacts/{id}/outreach",
        READ,
        doc("Every decision of the outbound consent check for a contact (allowed or blocked)")
            .response::<Page<OutreachEntry>>(200)
            .query(&[crate::paging::LIMIT, crate::paging::CURSOR]),
        get(outreach_list),
    );
    t.add(
        Method::POST,
        "/api/v1/contacts/{id}/preference-links/revoke",
        WRITE,
        doc("Revoke the contact's preference-center links (old mails' links stop working)")
            .response::<RevokedOut>(200),
        post(links_revoke),
    );
    t.add(
        Method::GET,
        "/api/v1/settings/privacy",
        Guard::Staff {
            permission: Permission::ContactsRead,
        },
        Doc::new(
            "settings",
            "The privacy mode (GDPR or CCPA) and double opt-in channels",
        )
        .response::<PrivacySettings>(200),
        get(settings_get),
    );
    t.add(
        Method::PUT,
        "/api/v1/settings/privacy",
        Guard::StaffStepUp {
            permission: Permission::WorkspaceManage,
        },
        Doc::new(
            "settings",
            "Set the privacy mode (gdpr: only granted consent may be sent to; ccpa: anything but denied) and double opt-in",
        )
        .request::<PrivacySettingsIn>()
        .response::<PrivacySettings>(200),
        put(settings_set),
    );
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct RevokedOut {
    revoked: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

fn contact_id(text: &str) -> ApiResult<ContactId> {
    ContactId::parse(text).ok_or_else(|| Problem::not_found("contact"))
}

async fn consent_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ConsentOut>> {
    let id = contact_id(&id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let standing = store::standing(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    let settings = store::settings(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(view(&id, &standing, &settings)))
}

async fn consent_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<ConsentPatch>,
) -> ApiResult<Json<ConsentOut>> {
    let id = contact_id(&id)?;
    let change = body.value.validate().map_err(Problem::validation)?;
    let source = change.source.unwrap_or_else(|| audit::staff_source(&actor));
    let mut changes: Vec<Change> = change
        .channels
        .iter()
        .map(|(channel, status, lawful_basis)| Change::Channel {
            channel: *channel,
            status: *status,
            lawful_basis: *lawful_basis,
        })
        .collect();
    if let Some(on) = change.do_not_contact {
        changes.push(Change::DoNotContact(on));
    }
    if let Some(on) = change.do_not_sell {
        changes.push(Change::DoNotSell(on));
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = store::standing(&mut tx, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    let who = audit::consent_who(&actor, &client, source, change.note.clone());
    change_consent(&mut tx, &id, &before, &changes, &who, now).await?;
    let after = store::standing(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    let settings = store::settings(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(view(&id, &after, &settings)))
}

async fn consent_log(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<ConsentLogEntry>>> {
    let id = contact_id(&id)?;
    let (limit, cursor) = page_params(query.limit.as_deref(), query.cursor.as_deref())?;
    let mut tx = state.db.read(&actor.tenant).await?;
    if store::standing(&mut tx, &id, Lock::Read).await?.is_none() {
        return Err(Problem::not_found("contact"));
    }
    let rows = store::log(&mut tx, &id, cursor.as_deref(), limit + 1).await?;
    tx.commit().await?;
    Ok(Json(page_of(rows, limit, |r| r.id.clone())))
}

async fn outreach_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<OutreachEntry>>> {
    let id = contact_id(&id)?;
    let (limit, cursor) = page_params(query.limit.as_deref(), query.cursor.as_deref())?;
    let mut tx = state.db.read(&actor.tenant).await?;
    if store::standing(&mut tx, &id, Lock::Read).await?.is_none() {
        return Err(Problem::not_found("contact"));
    }
    let rows = store::outreach(&mut tx, &id, cursor.as_deref(), limit + 1).await?;
    tx.commit().await?;
    Ok(Json(page_of(rows, limit, |r| r.id.clone())))
}

async fn links_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<RevokedOut>> {
    let id = contact_id(&id)?;
    let now = state.clock.now_ms();
    let by = audit::by(
        &actor,
        &client,
        "contact.preference_links_revoked",
        "contact",
        id.as_str(),
        json!({}),
    );
    let mut tx = state.db.write(&actor.tenant).await?;
    let revoked = revoke_links(&mut tx, &id, by, now)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    tx.commit().await?;
    Ok(Json(RevokedOut { revoked }))
}

async fn settings_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<PrivacySettings>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let settings = store::settings(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(settings))
}

async fn settings_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<PrivacySettingsIn>,
) -> ApiResult<Json<PrivacySettings>> {
    let settings = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    save_privacy_settings(&state, &actor, &origin, &settings).await?;
    Ok(Json(settings))
}
