//! `/api/v1/companies`: the organisations contacts belong to (CRM module). Reading needs
//! `contacts.read`, changing `contacts.write`. Deleting a company unlinks its contacts and
//! never deletes them.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::companies::{CompanyIn, CompanyOut, CompanyPatch};
use holdfast_core::ids::CompanyId;
use holdfast_core::validate::{self, Errors};
use holdfast_store::crm::companies as store;
use serde::Deserialize;
use serde_json::json;

const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::ContactsWrite,
};

const LIST_QUERY: &[QueryParam] = &[
    LIMIT,
    CURSOR,
    QueryParam {
        name: "q",
        description: "Case-insensitive text in the name or domain",
        integer: false,
    },
];

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("companies", summary);
    t.add(
        Method::POST,
        "/api/v1/companies",
        WRITE,
        doc("Create a company (its domain is normalised and unique in the workspace)")
            .request::<CompanyIn>()
            .response::<CompanyOut>(201),
        post(company_create),
    );
    t.add(
        Method::GET,
        "/api/v1/companies",
        READ,
        doc("List and search companies")
            .query(LIST_QUERY)
            .response::<Page<CompanyOut>>(200),
        get(company_list),
    );
    t.add(
        Method::GET,
        "/api/v1/companies/{id}",
        READ,
        doc("Get a company with its number of contacts").response::<CompanyOut>(200),
        get(company_get),
    );
    t.add(
        Method::PATCH,
        "/api/v1/companies/{id}",
        WRITE,
        doc("Update a company (merge patch)")
            .request::<CompanyPatch>()
            .response::<CompanyOut>(200),
        patch(company_update),
    );
    t.add(
        Method::DELETE,
        "/api/v1/companies/{id}",
        WRITE,
        doc("Delete a company; its contacts are kept and unlinked").no_content(),
        delete(company_delete),
    );
}

fn company_id(text: &str) -> ApiResult<CompanyId> {
    CompanyId::parse(text).ok_or_else(|| Problem::not_found("company"))
}

async fn company_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<CompanyIn>,
) -> ApiResult<(StatusCode, Json<CompanyOut>)> {
    let fields = body.value.validate().map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let created = store::insert(&mut tx, &fields, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "company.created",
        "company",
        created.id.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn company_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<CompanyOut>> {
    let id = company_id(&id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = store::get(&mut tx, &id).await?;
    tx.commit().await?;
    found.map(Json).ok_or_else(|| Problem::not_found("company"))
}

async fn company_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<CompanyPatch>,
) -> ApiResult<Json<CompanyOut>> {
    let id = company_id(&id)?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = store::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Problem::not_found("company"))?;
    let fields = body
        .value
        .apply(&current.fields())
        .map_err(Problem::validation)?;
    let now = state.clock.now_ms();
    let updated = store::update(&mut tx, &id, &fields, now)
        .await?
        .ok_or_else(|| Problem::not_found("company"))?;
    let event = audit::by(
        &actor,
        &client,
        "company.updated",
        "company",
        id.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Json(updated))
}

async fn company_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = company_id(&id)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let Some(unlinked) = store::delete(&mut tx, &id, now).await? else {
        return Err(Problem::not_found("company"));
    };
    let event = audit::by(
        &actor,
        &client,
        "company.deleted",
        "company",
        id.as_str(),
        json!({"contacts_unlinked": unlinked}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    q: Option<String>,
}

async fn company_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<CompanyOut>>> {
    let mut errors = Errors::default();
    let (limit, after) =
        page_params_into(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let after = match after {
        Some(text) => match CompanyId::parse(&text) {
            Some(id) => Some(id),
            None => {
                errors.push("cursor", "is not a cursor this API issued");
                None
            }
        },
        None => None,
    };
    let q = query
        .q
        .as_deref()
        .and_then(|q| errors.take(validate::text("q", q, 1, 200)));
    errors.finish(()).map_err(Problem::validation)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = store::list(&mut tx, after.as_ref(), limit + 1, q.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(page_of(rows, limit, |c| c.id.clone())))
}
