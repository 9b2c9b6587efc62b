//! `/api/v1/contacts`: the reference tenant resource.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::Page;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use holdfast_app::crm::contacts::{ListAsk, list_filter};
use holdfast_app::events::{publish, publish_contact};
use holdfast_core::access::fields::{self, Resource, Visible};
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::contacts::{ContactIn, ContactOut, ContactPatch};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::ContactId;
use holdfast_core::validate::Errors;
use holdfast_core::webhooks::EventType;
use holdfast_store::identity::auth::Actor;
use holdfast_store::{Lock, crm::contacts, idempotency};
use serde_json::json;
use std::collections::BTreeMap;

const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::ContactsWrite,
};

const LIST_QUERY: &[QueryParam] = &[
    crate::paging::LIMIT,
    crate::paging::CURSOR,
    QueryParam {
        name: "q",
        description: "Case-insensitive text in name, email or a text custom field",
        integer: false,
    },
    QueryParam {
        name: "company_id",
        description: "Only contacts of this company (co_…)",
        integer: false,
    },
    QueryParam {
        name: "custom.<key>",
        description: "Only contacts whose custom field <key> has exactly this value (dates YYYY-MM-DD); repeatable for different keys",
        integer: false,
    },
];

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("contacts", summary);
    t.add(
        Method::POST,
        "/api/v1/contacts",
        WRITE,
        doc("Create a contact")
            .request::<ContactIn>()
            .response::<ContactOut>(201)
            .idempotent(),
        post(contact_create),
    );
    t.add(
        Method::GET,
        "/api/v1/contacts",
        READ,
        doc("List and search contacts")
            .response::<Page<ContactOut>>(200)
            .query(LIST_QUERY),
        get(contact_list),
    );
    t.add(
        Method::GET,
        "/api/v1/contacts/{id}",
        READ,
        doc("Get a contact").response::<ContactOut>(200),
        get(contact_get),
    );
    t.add(
        Method::PATCH,
        "/api/v1/contacts/{id}",
        WRITE,
        doc("Update a contact (merge patch)")
            .request::<ContactPatch>()
            .response::<ContactOut>(200),
        patch(contact_update),
    );
    t.add(
        Method::DELETE,
        "/api/v1/contacts/{id}",
        Guard::StaffStepUp {
            permission: Permission::ContactsErase,
        },
        doc("Delete a contact: erases it with everything that names it, as POST …/erase does (refused while on legal hold)")
            .no_content(),
        delete(contact_delete),
    );
}

/// Ids that do not parse cannot name anything: same 404 as an unknown id.
fn contact_id(text: &str) -> ApiResult<ContactId> {
    ContactId::parse(text).ok_or_else(|| Problem::not_found("contact"))
}

async fn contact_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: JsonBody<ContactIn>,
) -> ApiResult<Response> {
    let key = crate::extract::idempotency_key(&headers)?;
    check_writes(&actor, &body.value.sent_fields())?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let defs = holdfast_store::crm::contact_fields::defs(&mut tx).await?;
    let fields = body
        .value
        .validate_with(&defs)
        .map_err(Problem::validation)?;
    check_company(&mut tx, fields.company_id.as_deref()).await?;
    if let Some(key) = &key
        && let Some(stored) = idempotency::find(&mut tx, key, now).await?
    {
        if stored.request_hash != body.digest {
            return Err(Problem::new(
                ErrorCode::IdempotencyMismatch,
                "this Idempotency-Key was already used with a different body; use a new key for a new request",
            ));
        }
        let status = StatusCode::from_u16(u16::try_from(stored.response_status).unwrap_or(200))
            .unwrap_or(StatusCode::OK);
        // The stored answer, as this caller's role may see it; an unreadable one is not
        // replayed (it could not be cut).
        let body =
            serde_json::from_str::<serde_json::Value>(&stored.response_body).map_err(|e| {
                tracing::error!(error = %e, "a stored idempotent answer is unreadable");
                Problem(holdfast_core::error::ApiError::internal())
            })?;
        let body = Visible::stored(&actor.role, Resource::Contacts, body)
            .as_json()
            .to_string();
        let mut response = (status, [("content-type", "application/json")], body).into_response();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(response);
    }
    let created = contacts::insert(&mut tx, &fields, now).await?;
    publish_contact(&mut tx, EventType::ContactCreated, &created, now).await?;
    let json = view(&actor, &created).to_string();
    if let Some(key) = &key {
        idempotency::save(&mut tx, key, &body.digest, 201, &json, now).await?;
    }
    // The entry is chained at commit, where the workspace's chain head is taken.
    let event = audit::by(
        &actor,
        &client,
        "contact.created",
        "contact",
        created.id.as_str(),
        json!({"fields": created.present_fields()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        [("content-type", "application/json")],
        json,
    )
        .into_response())
}

async fn contact_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = contact_id(&id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = contacts::get(&mut tx, &id, Lock::Read).await?;
    tx.commit().await?;
    found
        .map(|c| Json(view(&actor, &c)))
        .ok_or_else(|| Problem::not_found("contact"))
}

async fn contact_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<ContactPatch>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = contact_id(&id)?;
    check_writes(&actor, &body.value.sent_fields())?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = contacts::get(&mut tx, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    let defs = holdfast_store::crm::contact_fields::defs(&mut tx).await?;
    let fields = body
        .value
        .apply_with(&current.fields(), &defs)
        .map_err(Problem::validation)?;
    if fields.company_id != current.company_id {
        check_company(&mut tx, fields.company_id.as_deref()).await?;
    }
    let now = state.clock.now_ms();
    let updated = contacts::update(&mut tx, &id, &fields, now)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    let new_email = |e: &Option<String>| e.as_deref().map(str::to_lowercase);
    if new_email(&current.email) != new_email(&updated.email) {
        let who = audit::consent_who(
            &actor,
            &client,
            audit::staff_source(&actor),
            Some("the email address changed".to_owned()),
        );
        holdfast_app::crm::consent::address_changed(&mut tx, &id, &who, now).await?;
    }
    publish_contact(&mut tx, EventType::ContactUpdated, &updated, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "contact.updated",
        "contact",
        id.as_str(),
        json!({"changed": current.changed_fields(&updated)}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Json(view(&actor, &updated)))
}

/// Deleting a contact is erasing it (docs/design/privacy.md): the same permission, step-up,
/// legal-hold refusal and erasure as `POST …/erase`, so no ticket, message, file or copy of
/// the contact is left behind. `contact.deleted` follows `contact.erased` for subscribers of
/// the older event (only the id).
async fn contact_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = contact_id(&id)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let by = audit::by(
        &actor,
        &client,
        "contact.erased",
        "contact",
        id.as_str(),
        json!({"via": "DELETE /api/v1/contacts/{id}"}),
    );
    let report = crate::problem::erasure_outcome(
        holdfast_app::privacy::erase_audited(&mut tx, &id, None, by, now).await?,
        "deleted (deleting erases it)",
    )?;
    publish(
        &mut tx,
        EventType::ContactDeleted,
        &json!({"id": id.as_str()}),
        now,
    )
    .await?;
    tx.commit().await?;
    let files =
        holdfast_app::attachments::remove_files(&state.db, &state.config.data_dir, &report.blobs)
            .await;
    tracing::info!(contact = %id, tickets = report.tickets, files, "contact deleted (erased)");
    Ok(StatusCode::NO_CONTENT)
}

async fn contact_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<BTreeMap<String, String>>,
) -> ApiResult<Json<Page<serde_json::Value>>> {
    let mut errors = Errors::default();
    let mut custom_filters: Vec<(String, String)> = Vec::new();
    for (name, value) in &query {
        if let Some(key) = name.strip_prefix("custom.") {
            custom_filters.push((key.to_owned(), value.clone()));
        } else if !matches!(name.as_str(), "limit" | "cursor" | "q" | "company_id") {
            errors.push(
                name.clone(),
                "is not a parameter of this list; use limit, cursor, q, company_id or custom.<key>",
            );
        }
    }
    let (limit, cursor) = crate::paging::page_params_into(
        query.get("limit").map(String::as_str),
        query.get("cursor").map(String::as_str),
        &mut errors,
    );
    // A cursor this API issued is a contact id; anything else decoded is refused the same way.
    let after = cursor.and_then(|text| {
        let id = ContactId::parse(&text);
        if id.is_none() {
            errors.push(
                "cursor",
                "is not a cursor this API issued; pass next_cursor from the previous page",
            );
        }
        id
    });
    let mut tx = state.db.read(&actor.tenant).await?;
    let ask = ListAsk {
        q: query.get("q").map(String::as_str),
        company_id: query.get("company_id").map(String::as_str),
        custom: custom_filters,
    };
    let filter = list_filter(&mut tx, &actor.role, ask, &mut errors).await?;
    errors.finish(()).map_err(Problem::validation)?;
    let rows = contacts::list(&mut tx, after.as_ref(), limit + 1, &filter).await?;
    tx.commit().await?;
    let page = crate::paging::page_of(rows, limit, |c| c.id.clone());
    Ok(Json(Page {
        data: page.data.iter().map(|c| view(&actor, c)).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A contact may only be linked to a company of its own workspace; any other id is refused
/// as if it did not exist (422, naming `company_id`).
pub(crate) async fn check_company(
    tx: &mut holdfast_store::TenantTx<'_>,
    company_id: Option<&str>,
) -> ApiResult<()> {
    if let Some(id) = company_id
        && !holdfast_store::crm::companies::exists(tx, id).await?
    {
        return Err(Problem::field(
            ErrorCode::Validation,
            "company_id",
            "is not a company of this workspace",
        ));
    }
    Ok(())
}

/// A contact as the caller's role may see it: hidden fields are absent.
pub(crate) fn view(actor: &Actor, contact: &ContactOut) -> serde_json::Value {
    Visible::contact(&actor.role, contact).into_json()
}

/// Refuses the whole write when it touches a field the caller's role may not write.
fn check_writes(actor: &Actor, sent: &[&str]) -> ApiResult<()> {
    fields::check_write(&actor.role, Resource::Contacts, sent).map_err(|(field, access)| {
        let message = format!(
            "your role may not change contacts.{field} (it is {} for you); nothing was changed",
            access.as_str()
        );
        Problem::field(ErrorCode::Forbidden, &field, &message)
    })
}
