//! `/api/v1/webhooks`: a workspace's outbound webhook endpoints, their secrets (shown once,
//! rotatable with an overlap), their delivery logs, manual redelivery and the recovery of
//! undelivered messages after an outage. Part of the
//! automation module. The work is `holdfast_app::webhooks::endpoints` (shared with the
//! console); delivery itself is `holdfast_app::webhooks::delivery`, run by the job worker.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use holdfast_app::webhooks::endpoints::{
    create_endpoint, delete_endpoint, deliveries, endpoint, recover, redeliver, rotate_secret,
    update_endpoint,
};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ApiError;
use holdfast_core::ids::{WebhookEndpointId, WebhookMessageId};
use holdfast_core::webhooks::{
    self, AttemptOut, EndpointOut, EventTypeOut, RecoverIn, RecoverOut, RotateIn, RotateOut,
    WebhookCreated, WebhookIn, WebhookPatch,
};
use holdfast_store::webhooks::{self as store, Endpoint};
use serde::Deserialize;
use serde_json::json;

const SEE: Guard = Guard::Staff {
    permission: Permission::WebhooksManage,
};
/// Where data goes and the secret that proves it came from us: a recent sign-in.
const CHANGE: Guard = Guard::StaffStepUp {
    permission: Permission::WebhooksManage,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("webhooks", summary);
    t.module(Module::Automation, |t| {
        t.add(
            Method::GET,
            "/api/v1/webhooks/event-types",
            SEE,
            doc("The events Holdfast sends, with their payload versions")
                .response::<Vec<EventTypeOut>>(200),
            get(event_types),
        );
        t.add(
            Method::POST,
            "/api/v1/webhooks",
            CHANGE,
            doc("Register an endpoint (its signing secret is shown once)")
                .request::<WebhookIn>()
                .response::<WebhookCreated>(201),
            post(webhook_create),
        );
        t.add(
            Method::GET,
            "/api/v1/webhooks",
            SEE,
            doc("List endpoints")
                .query(&[LIMIT, CURSOR])
                .response::<Page<EndpointOut>>(200),
            get(webhook_list),
        );
        t.add(
            Method::GET,
            "/api/v1/webhooks/{id}",
            SEE,
            doc("One endpoint").response::<EndpointOut>(200),
            get(webhook_get),
        );
        t.add(
            Method::PATCH,
            "/api/v1/webhooks/{id}",
            CHANGE,
            doc("Change an endpoint; enabling it again clears its failure count")
                .request::<WebhookPatch>()
                .response::<EndpointOut>(200),
            patch(webhook_update),
        );
        t.add(
            Method::DELETE,
            "/api/v1/webhooks/{id}",
            CHANGE,
            doc("Delete an endpoint with its messages and delivery log").no_content(),
            delete(webhook_delete),
        );
        t.add(
            Method::POST,
            "/api/v1/webhooks/{id}/rotate-secret",
            CHANGE,
            doc("Replace the signing secret; the old one keeps signing during the overlap")
                .request::<RotateIn>()
                .response::<RotateOut>(200),
            post(webhook_rotate),
        );
        t.add(
            Method::GET,
            "/api/v1/webhooks/{id}/deliveries",
            SEE,
            doc("The endpoint's delivery log, newest first")
                .query(&[LIMIT, CURSOR])
                .response::<Page<AttemptOut>>(200),
            get(webhook_deliveries),
        );
        t.add(
            Method::POST,
            "/api/v1/webhooks/{id}/messages/{message_id}/redeliver",
            SEE,
            doc("Send a message again now (same webhook-id, new signature)")
                .response::<serde_json::Value>(202),
            post(webhook_redeliver),
        );
        t.add(
            Method::POST,
            "/api/v1/webhooks/{id}/recover",
            SEE,
            doc("Queue every undelivered message (failed, or held while disabled) since a time")
                .request::<RecoverIn>()
                .response::<RecoverOut>(202),
            post(webhook_recover),
        );
    });
}

async fn event_types() -> Json<Vec<EventTypeOut>> {
    Json(webhooks::catalogue())
}

fn endpoint_id(text: &str) -> ApiResult<WebhookEndpointId> {
    WebhookEndpointId::parse(text).ok_or_else(|| Problem::not_found("webhook endpoint"))
}

async fn webhook_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<WebhookIn>,
) -> ApiResult<(StatusCode, Json<WebhookCreated>)> {
    let fields = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    let created = create_endpoint(&state, &actor, &origin, &fields).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

async fn webhook_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<EndpointOut>>> {
    let (limit, after) = page_params(query.limit.as_deref(), query.cursor.as_deref())?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = store::list(&mut tx, after.as_deref(), limit + 1).await?;
    tx.commit().await?;
    let rows: Vec<EndpointOut> = rows.iter().map(Endpoint::out).collect();
    Ok(Json(page_of(rows, limit, |e| e.id.clone())))
}

async fn webhook_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<EndpointOut>> {
    let id = endpoint_id(&id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = endpoint(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Json(found.out()))
}

async fn webhook_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<WebhookPatch>,
) -> ApiResult<Json<EndpointOut>> {
    let id = endpoint_id(&id)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        update_endpoint(&state, &actor, &origin, &id, &body.value).await?,
    ))
}

async fn webhook_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = endpoint_id(&id)?;
    let origin = audit::origin(&actor, &client);
    delete_endpoint(&state, &actor, &origin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn webhook_rotate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<RotateIn>,
) -> ApiResult<Json<RotateOut>> {
    let id = endpoint_id(&id)?;
    let overlap = body.value.overlap_ms().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        rotate_secret(&state, &actor, &origin, &id, overlap).await?,
    ))
}

async fn webhook_deliveries(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<AttemptOut>>> {
    let id = endpoint_id(&id)?;
    let (limit, before) = page_params(query.limit.as_deref(), query.cursor.as_deref())?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = deliveries(&mut tx, &actor, &id, before.as_deref(), limit).await?;
    tx.commit().await?;
    Ok(Json(page_of(rows, limit, |a| a.id.clone())))
}

async fn webhook_redeliver(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path((id, message_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let id = endpoint_id(&id)?;
    let message_id = WebhookMessageId::parse(&message_id)
        .ok_or_else(|| Problem::not_found("webhook message"))?;
    let origin = audit::origin(&actor, &client);
    let job_id = redeliver(&state, &actor, &origin, &id, &message_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"message_id": message_id.as_str(), "job_id": job_id, "status": "queued"})),
    ))
}

/// Re-queues the endpoint's undelivered messages since a time: after an outage that outlived
/// the retries, or the failing period that disabled it (then after enabling it again).
async fn webhook_recover(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<RecoverIn>,
) -> ApiResult<(StatusCode, Json<RecoverOut>)> {
    let id = endpoint_id(&id)?;
    let origin = audit::origin(&actor, &client);
    // Found (and within the actor's reach) before anything about the body is answered.
    let recovered = recover(&state, &actor, &origin, &id, |now| {
        body.value.since_ms(now).map_err(ApiError::validation)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(recovered)))
}
