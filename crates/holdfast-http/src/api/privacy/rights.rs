//! Data-subject rights and retention over the API: a contact's export, erasure and privacy
//! flags (legal hold, own retention period), the erasure-request queue, and the workspace's
//! retention settings with a preview and a run-now. Design note: docs/design/privacy.md.

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
use axum::http::{Method, StatusCode};
use axum::routing::{get, patch, post, put};
use holdfast_app::attachments::remove_files;
use holdfast_app::privacy::subject::file_erasure_request;
use holdfast_app::privacy::{self, erase_audited};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::{ContactId, ErasureRequestId};
use holdfast_core::privacy::{
    ContactPrivacyOut, ContactPrivacyPatch, ErasureRequestOut, ReasonIn, RetentionCounts,
    RetentionIn, RetentionOut, RetentionPreview,
};
use holdfast_core::validate::Errors;
use holdfast_store::Lock;
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::privacy::{self as store, Erased};
use serde::Deserialize;
use serde_json::{Value, json};

const EXPORT: Guard = Guard::Staff {
    permission: Permission::ContactsExport,
};
const ERASE: Guard = Guard::Staff {
    permission: Permission::ContactsErase,
};
const ERASE_STEP_UP: Guard = Guard::StaffStepUp {
    permission: Permission::ContactsErase,
};

const REQUEST_QUERY: &[QueryParam] = &[
    crate::paging::LIMIT,
    QueryParam {
        name: "status",
        description: "Only requests in this state: open, approved or rejected",
        integer: false,
    },
];

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Crm, |t| {
        contact_routes(t);
        erasure_request_routes(t);
    });
    retention_routes(t);
}

/// The routes about one contact: its export, its erasure, its legal hold and retention
/// period, filing a request to erase it.
fn contact_routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("privacy", summary);
    t.add(
        Method::GET,
        "/api/v1/contacts/{id}/export",
        EXPORT,
        doc("Export everything held about a contact (right of access); needs tickets.read too"),
        get(contact_export),
    );
    t.add(
        Method::POST,
        "/api/v1/contacts/{id}/erase",
        ERASE_STEP_UP,
        doc("Erase a contact and its personal data everywhere (refused while on legal hold)")
            .request::<ReasonIn>()
            .response::<ErasedOut>(200),
        post(contact_erase),
    );
    t.add(
        Method::GET,
        "/api/v1/contacts/{id}/privacy",
        ERASE,
        doc("A contact's legal hold and retention period").response::<ContactPrivacyOut>(200),
        get(contact_privacy_get),
    );
    // Step-up: lifting a hold or shortening retention lets the daily run erase the contact.
    t.add(
        Method::PATCH,
        "/api/v1/contacts/{id}/privacy",
        ERASE_STEP_UP,
        doc("Set or lift a contact's legal hold, or its own retention period (with a reason)")
            .request::<ContactPrivacyPatch>()
            .response::<ContactPrivacyOut>(200),
        patch(contact_privacy_set),
    );
    t.add(
        Method::POST,
        "/api/v1/contacts/{id}/erasure-requests",
        ERASE,
        doc("File a request to erase the contact (due in 30 days; an open one is returned)")
            .response::<ErasureRequestOut>(201)
            .also(200),
        post(request_file),
    );
}

/// The erasure-request queue: listing, approving, rejecting.
fn erasure_request_routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("privacy", summary);
    t.add(
        Method::GET,
        "/api/v1/privacy/erasure-requests",
        ERASE,
        doc("Erasure requests: open ones first, soonest due first, overdue ones marked")
            .query(REQUEST_QUERY)
            .response::<Page<ErasureRequestOut>>(200),
        get(request_list),
    );
    t.add(
        Method::POST,
        "/api/v1/privacy/erasure-requests/{id}/approve",
        ERASE_STEP_UP,
        doc("Approve an open erasure request: the contact is erased now")
            .response::<ErasureRequestOut>(200),
        post(request_approve),
    );
    t.add(
        Method::POST,
        "/api/v1/privacy/erasure-requests/{id}/reject",
        ERASE,
        doc("Reject an open erasure request, with the reason")
            .request::<ReasonIn>()
            .response::<ErasureRequestOut>(200),
        post(request_reject),
    );
}

/// The workspace's retention settings, their preview and a run now.
fn retention_routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("privacy", summary);
    t.add(
        Method::GET,
        "/api/v1/settings/retention",
        ERASE,
        doc("The workspace's retention periods and its last daily run")
            .response::<RetentionOut>(200),
        get(retention_get),
    );
    t.add(
        Method::PUT,
        "/api/v1/settings/retention",
        ERASE_STEP_UP,
        doc("Set the retention periods (days; null keeps forever)")
            .request::<RetentionIn>()
            .response::<RetentionOut>(200),
        put(retention_set),
    );
    t.add(
        Method::GET,
        "/api/v1/settings/retention/preview",
        ERASE,
        doc("What retention would delete now (dry run), with the ids")
            .response::<RetentionPreview>(200),
        get(retention_preview),
    );
    t.add(
        Method::POST,
        "/api/v1/settings/retention/run",
        ERASE_STEP_UP,
        doc("Run retention now (besides the daily run) and report what went")
            .response::<RetentionCounts>(200),
        post(retention_run),
    );
}

/// What an erasure removed.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ErasedOut {
    pub id: String,
    /// Widget contacts made from visitors who claimed this contact's email, erased with it.
    pub linked_contacts: Vec<String>,
    pub tickets: u64,
    pub messages: u64,
    pub attachment_files_deleted: usize,
}

fn contact_id(text: &str) -> ApiResult<ContactId> {
    ContactId::parse(text).ok_or_else(|| Problem::not_found("contact"))
}

fn request_id(text: &str) -> ApiResult<ErasureRequestId> {
    ErasureRequestId::parse(text).ok_or_else(|| Problem::not_found("erasure request"))
}

fn principal(actor: &Actor) -> String {
    match &actor.principal {
        Principal::ApiKey(id) => format!("api_key:{id}"),
        Principal::User { user_id, .. } => format!("user:{user_id}"),
    }
}

async fn contact_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = contact_id(&id)?;
    let by = audit::by(
        &actor,
        &client,
        "contact.exported",
        "contact",
        id.as_str(),
        json!({}),
    );
    let now = state.clock.now_ms();
    privacy::staff_export(&state.db, &actor.tenant, &actor.role, &id, by, now)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("contact"))
}

/// The erasure's outcome as the API answers it: the report, or 404 / 409 under legal hold.
fn erased(outcome: Erased) -> ApiResult<holdfast_store::privacy::ErasureReport> {
    crate::problem::erasure_outcome(outcome, "erased")
}

async fn contact_erase(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<ReasonIn>,
) -> ApiResult<Json<ErasedOut>> {
    let id = contact_id(&id)?;
    let reason = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let by = audit::by(
        &actor,
        &client,
        "contact.erased",
        "contact",
        id.as_str(),
        json!({"reason": reason}),
    );
    let report = erased(erase_audited(&mut tx, &id, None, by, now).await?)?;
    tx.commit().await?;
    let files = remove_files(&state.db, &state.config.data_dir, &report.blobs).await;
    tracing::info!(contact = %id, tickets = report.tickets, files, "contact erased");
    Ok(Json(ErasedOut {
        id: id.to_string(),
        linked_contacts: report.contacts.get(1..).unwrap_or_default().to_vec(),
        tickets: report.tickets,
        messages: report.messages,
        attachment_files_deleted: files,
    }))
}

async fn contact_privacy_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactPrivacyOut>> {
    let id = contact_id(&id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = store::contact_privacy(&mut tx, &id).await?;
    tx.commit().await?;
    found.map(Json).ok_or_else(|| Problem::not_found("contact"))
}

async fn contact_privacy_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<ContactPrivacyPatch>,
) -> ApiResult<Json<ContactPrivacyOut>> {
    let id = contact_id(&id)?;
    let change = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let by = audit::by(
        &actor,
        &client,
        "contact.privacy_changed",
        "contact",
        id.as_str(),
        json!({}),
    );
    let mut tx = state.db.write(&actor.tenant).await?;
    let after = privacy::change_contact_privacy(&mut tx, &id, &change, by, now)
        .await?
        .ok_or_else(|| Problem::not_found("contact"))?;
    tx.commit().await?;
    Ok(Json(after))
}

async fn request_file(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<ErasureRequestOut>)> {
    let id = contact_id(&id)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    if holdfast_store::crm::contacts::get(&mut tx, &id, Lock::Read)
        .await?
        .is_none()
    {
        return Err(Problem::not_found("contact"));
    }
    // The one way a request is filed, as from the preference center and the client portal.
    let origin = audit::origin(&actor, &client);
    let filed = file_erasure_request(&mut tx, &id, "operator", &origin, now).await?;
    tx.commit().await?;
    let status = if filed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(filed.request)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestQuery {
    limit: Option<String>,
    status: Option<String>,
}

async fn request_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<RequestQuery>,
) -> ApiResult<Json<Page<ErasureRequestOut>>> {
    let mut errors = Errors::default();
    let limit = match query.limit.as_deref() {
        None => 50,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                errors.push("limit", "must be a whole number from 1 to 200");
                50
            }
        },
    };
    let status = query.status.as_deref();
    if let Some(s) = status
        && !matches!(s, "open" | "approved" | "rejected")
    {
        errors.push("status", "must be open, approved or rejected");
    }
    errors.finish(()).map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = store::erasure_requests(&mut tx, status, limit, now).await?;
    tx.commit().await?;
    Ok(Json(Page {
        data: rows,
        next_cursor: None,
    }))
}

/// The open request, or the problem that says why it cannot be decided.
async fn open_request(
    tx: &mut holdfast_store::TenantTx<'_>,
    id: &ErasureRequestId,
    now: i64,
) -> ApiResult<ErasureRequestOut> {
    let request = store::erasure_request(tx, id, now)
        .await?
        .ok_or_else(|| Problem::not_found("erasure request"))?;
    if request.status != "open" {
        return Err(Problem::new(
            ErrorCode::Conflict,
            format!(
                "this request was already {} and cannot be decided again",
                request.status
            ),
        ));
    }
    Ok(request)
}

async fn request_approve(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<ErasureRequestOut>> {
    let id = request_id(&id)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let request = open_request(&mut tx, &id, now).await?;
    let contact = ContactId::from_trusted(request.contact_id.clone());
    // A contact whose row is already gone still has its tickets, messages and copies erased,
    // by its id and the address the request remembers.
    let remembered = store::erasure_request_remembered(&mut tx, &id).await?;
    let by = audit::by(
        &actor,
        &client,
        "contact.erased",
        "contact",
        contact.as_str(),
        json!({"request_id": request.id}),
    );
    let blobs = erased(erase_audited(&mut tx, &contact, Some(&remembered), by, now).await?)?.blobs;
    store::decide_erasure_request(&mut tx, &id, "approved", &principal(&actor), None, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "erasure_request.approved",
        "contact",
        contact.as_str(),
        json!({"request_id": request.id}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    let decided = store::erasure_request(&mut tx, &id, now)
        .await?
        .ok_or_else(|| Problem::not_found("erasure request"))?;
    tx.commit().await?;
    remove_files(&state.db, &state.config.data_dir, &blobs).await;
    Ok(Json(decided))
}

async fn request_reject(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<ReasonIn>,
) -> ApiResult<Json<ErasureRequestOut>> {
    let id = request_id(&id)?;
    let reason = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let request = open_request(&mut tx, &id, now).await?;
    store::decide_erasure_request(
        &mut tx,
        &id,
        "rejected",
        &principal(&actor),
        Some(&reason),
        now,
    )
    .await?;
    let event = audit::by(
        &actor,
        &client,
        "erasure_request.rejected",
        "contact",
        request.contact_id.as_str(),
        json!({"request_id": request.id, "reason": reason}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    let decided = store::erasure_request(&mut tx, &id, now)
        .await?
        .ok_or_else(|| Problem::not_found("erasure request"))?;
    tx.commit().await?;
    Ok(Json(decided))
}

async fn retention_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<RetentionOut>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let (settings, last_run) = store::retention(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(RetentionOut { settings, last_run }))
}

async fn retention_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<RetentionIn>,
) -> ApiResult<Json<RetentionOut>> {
    let settings = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        privacy::set_retention(&state, &actor, &origin, &settings).await?,
    ))
}

async fn retention_preview(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<RetentionPreview>> {
    let preview =
        privacy::retention_preview(&state.db, &actor.tenant, state.clock.now_ms()).await?;
    Ok(Json(preview))
}

async fn retention_run(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
) -> ApiResult<Json<RetentionCounts>> {
    let by = audit::by(
        &actor,
        &client,
        "retention.purged",
        "workspace",
        "",
        json!({}),
    );
    let counts = privacy::run_retention(
        &state.db,
        &state.config.data_dir,
        &actor.tenant,
        state.clock.now_ms(),
        false,
        Some(by),
    )
    .await?
    .unwrap_or_default();
    Ok(Json(counts))
}
