//! `/api/v1/contact-fields`: the workspace's custom contact fields (CRM module). Anyone who may
//! read contacts may read the definitions; defining them is a workspace setting
//! (`workspace.manage`), audited. Deleting a field deletes every contact's value of it.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::problem::{ApiResult, Problem};
use crate::routes::{Doc, Guard, RouteTable};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::contact_fields::{
    FieldDef, FieldDefIn, FieldDefOut, FieldDefPatch, MAX_FIELDS, valid_key,
};
use holdfast_core::error::ErrorCode;
use holdfast_store::crm::contact_fields as store;
use serde::Serialize;
use serde_json::json;

const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};
const MANAGE: Guard = Guard::Staff {
    permission: Permission::WorkspaceManage,
};

#[derive(Serialize, schemars::JsonSchema)]
pub struct FieldDefList {
    pub data: Vec<FieldDefOut>,
}

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("contact-fields", summary);
    t.add(
        Method::GET,
        "/api/v1/contact-fields",
        READ,
        doc("List the workspace's custom contact fields").response::<FieldDefList>(200),
        get(field_list),
    );
    t.add(
        Method::POST,
        "/api/v1/contact-fields",
        MANAGE,
        doc("Define a custom contact field (text, number, date or select)")
            .request::<FieldDefIn>()
            .response::<FieldDefOut>(201),
        post(field_create),
    );
    t.add(
        Method::GET,
        "/api/v1/contact-fields/{key}",
        READ,
        doc("A custom contact field").response::<FieldDefOut>(200),
        get(field_get),
    );
    t.add(
        Method::PATCH,
        "/api/v1/contact-fields/{key}",
        MANAGE,
        doc("Change a custom field's label, options or whether it is required")
            .request::<FieldDefPatch>()
            .response::<FieldDefOut>(200),
        patch(field_update),
    );
    t.add(
        Method::DELETE,
        "/api/v1/contact-fields/{key}",
        // Step-up: it destroys every contact's value of the field.
        Guard::StaffStepUp {
            permission: Permission::WorkspaceManage,
        },
        doc("Delete a custom field and every contact's value of it").no_content(),
        delete(field_delete),
    );
}

fn field_key(text: &str) -> ApiResult<&str> {
    if valid_key(text) {
        Ok(text)
    } else {
        Err(Problem::not_found("custom field"))
    }
}

async fn field_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<FieldDefList>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let data = store::list(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(FieldDefList { data }))
}

async fn field_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(key): Path<String>,
) -> ApiResult<Json<FieldDefOut>> {
    let key = field_key(&key)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = store::get(&mut tx, key).await?;
    tx.commit().await?;
    found
        .map(Json)
        .ok_or_else(|| Problem::not_found("custom field"))
}

async fn field_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<FieldDefIn>,
) -> ApiResult<(StatusCode, Json<FieldDefOut>)> {
    let def = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    if store::count(&mut tx).await? >= MAX_FIELDS as i64 {
        return Err(Problem::new(
            ErrorCode::Validation,
            format!("a workspace has at most {MAX_FIELDS} custom contact fields; delete one first"),
        ));
    }
    let created = store::insert(&mut tx, &def, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "contact_field.created",
        "contact_field",
        def.key.as_str(),
        json!({"type": def.field_type.as_str(), "required": def.required}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn field_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(key): Path<String>,
    body: JsonBody<FieldDefPatch>,
) -> ApiResult<Json<FieldDefOut>> {
    let key = field_key(&key)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = store::get(&mut tx, key)
        .await?
        .ok_or_else(|| Problem::not_found("custom field"))?;
    let def = body
        .value
        .apply(&FieldDef::from(&current))
        .map_err(Problem::validation)?;
    let updated = store::update(&mut tx, &def, now)
        .await?
        .ok_or_else(|| Problem::not_found("custom field"))?;
    let event = audit::by(
        &actor,
        &client,
        "contact_field.updated",
        "contact_field",
        key,
        json!({"required": def.required, "options": def.options.len()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Json(updated))
}

async fn field_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    let key = field_key(&key)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let Some(cleared) = store::delete(&mut tx, key, now).await? else {
        return Err(Problem::not_found("custom field"));
    };
    let event = audit::by(
        &actor,
        &client,
        "contact_field.deleted",
        "contact_field",
        key,
        json!({"values_deleted": cleared}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
