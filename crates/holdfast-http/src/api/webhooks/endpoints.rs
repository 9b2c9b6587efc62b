//! `/api/v1/webhooks`: a workspace's outbound webhook endpoints, their secrets (shown once,
//! rotatable with an overlap), their delivery logs, manual redelivery and the recovery of
//! undelivered messages after an outage. Part of the
//! automation module. Delivery itself is `crate::webhooks`, run by the job worker.

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
use holdfast_app::access::roles::grantable;
use holdfast_app::outbound::OutboundError;
use holdfast_app::webhooks::delivery::secret_context;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::{Permission, Role};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::{WebhookEndpointId, WebhookMessageId};
use holdfast_core::ops::queue::JobKind;
use holdfast_core::webhooks::{
    self, AttemptOut, EndpointOut, EventTypeOut, RECOVER_BATCH, RecoverIn, RecoverOut, RotateIn,
    RotateOut, WebhookCreated, WebhookFields, WebhookIn, WebhookPatch,
};
use holdfast_store::identity::auth::Actor;
use holdfast_store::webhooks::{self as store, Endpoint, EndpointFields};
use holdfast_store::{Lock, TenantTx, access::roles, ops::queue};
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

/// Refuses a URL the safe client would never reach (private address, bad form), at once.
async fn check_reachable(state: &AppState, url: &str) -> ApiResult<()> {
    match state.webhook_client.check_url(url).await {
        Ok(()) => Ok(()),
        Err(e @ (OutboundError::Blocked { .. } | OutboundError::InvalidUrl(_))) => {
            Err(Problem::field(ErrorCode::Validation, "url", &e.to_string()))
        }
        // A name that does not resolve today may resolve tomorrow; deliveries will retry.
        Err(_) => Ok(()),
    }
}

/// The role the endpoint will act as: the one named (if the actor may hand it out), or the
/// actor's own; it must be able to read every event it subscribes to.
async fn endpoint_role(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    fields: &WebhookFields,
) -> ApiResult<Role> {
    let role = match &fields.role {
        Some(requested) => grantable(tx, actor, requested).await?,
        None => actor.role.clone(),
    };
    if let Some(event) = fields
        .event_types
        .iter()
        .find(|e| !role.grants(e.permission()))
    {
        return Err(Problem::field(
            ErrorCode::Validation,
            "event_types",
            &format!(
                "role {} lacks {}, so it cannot receive {}",
                role.as_str(),
                event.permission().as_str(),
                event.as_str()
            ),
        ));
    }
    Ok(role)
}

async fn webhook_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<WebhookIn>,
) -> ApiResult<(StatusCode, Json<WebhookCreated>)> {
    let fields = body.value.validate().map_err(Problem::validation)?;
    check_reachable(&state, &fields.url).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let role = endpoint_role(&mut tx, &actor, &fields).await?;
    let secret = webhooks::generate_secret();
    // The id is needed for the sealing context, so seal after choosing it: insert, then seal
    // under the new id and store it in the same transaction.
    let names = fields.event_type_names();
    let row = EndpointFields {
        url: &fields.url,
        description: &fields.description,
        event_types: &names,
        role: role.as_str(),
        enabled: fields.enabled,
    };
    let created = store::create(&mut tx, &row, "pending", now).await?;
    let id = WebhookEndpointId::from_trusted(created.id.clone());
    let sealed = seal(&state, &actor, &created.id, secret.expose())?;
    store::rotate_secret(&mut tx, &id, &sealed, now, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "webhook.created",
        "webhook_endpoint",
        created.id.clone(),
        json!({"host": holdfast_app::outbound::url_host(&created.url), "event_types": names, "role": role.as_str(), "enabled": fields.enabled}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            endpoint: created.out(),
            secret: secret.expose().clone(),
        }),
    ))
}

fn seal(state: &AppState, actor: &Actor, endpoint_id: &str, secret: &str) -> ApiResult<String> {
    state
        .sealer
        .seal(
            secret.as_bytes(),
            &secret_context(&actor.tenant, endpoint_id),
        )
        .ok_or_else(|| Problem::new(ErrorCode::Internal, "the secret could not be sealed"))
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

async fn load(tx: &mut TenantTx<'_>, id: &WebhookEndpointId) -> ApiResult<Endpoint> {
    store::get(tx, id, Lock::Read)
        .await?
        .ok_or_else(|| Problem::not_found("webhook endpoint"))
}

/// The endpoint, locked for the change, if the actor may act on it: an endpoint acts as its
/// role, so changing it, reading what it was sent or redelivering needs every permission (and
/// field) that role has.
async fn load_for_change(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    id: &WebhookEndpointId,
) -> ApiResult<Endpoint> {
    let endpoint = store::get(tx, id, Lock::ForUpdate)
        .await?
        .ok_or_else(|| Problem::not_found("webhook endpoint"))?;
    holdfast_app::access::roles::may_act_on(tx, actor, &endpoint.role).await?;
    Ok(endpoint)
}

async fn webhook_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<EndpointOut>> {
    let id = endpoint_id(&id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = load(&mut tx, &id).await?;
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
    // Resolving a new URL may take seconds: never inside the write transaction.
    if let Some(url) = &body.value.url {
        check_reachable(&state, url.trim()).await?;
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = load_for_change(&mut tx, &actor, &id).await?;
    let as_fields = WebhookFields {
        url: current.url.clone(),
        description: current.description.clone(),
        event_types: current
            .event_types()
            .iter()
            .filter_map(|t| webhooks::EventType::parse(t))
            .collect(),
        role: None,
        enabled: current.enabled == 1,
    };
    let next = body.value.apply(&as_fields).map_err(Problem::validation)?;
    let role = match &next.role {
        Some(_) => endpoint_role(&mut tx, &actor, &next)
            .await?
            .as_str()
            .to_owned(),
        None => {
            let stored = roles::resolve(&mut tx, &current.role)
                .await?
                .ok_or_else(|| {
                    Problem::field(
                        ErrorCode::Validation,
                        "role",
                        "the endpoint's role no longer exists; name a role",
                    )
                })?;
            let mut check = next.clone();
            check.role = None;
            check_events(&stored, &check)?;
            current.role.clone()
        }
    };
    let names = next.event_type_names();
    let updated = store::update(
        &mut tx,
        &id,
        &EndpointFields {
            url: &next.url,
            description: &next.description,
            event_types: &names,
            role: &role,
            enabled: next.enabled,
        },
        now,
    )
    .await?
    .ok_or_else(|| Problem::not_found("webhook endpoint"))?;
    let event = audit::by(
        &actor,
        &client,
        "webhook.updated",
        "webhook_endpoint",
        id.as_str(),
        json!({"host": holdfast_app::outbound::url_host(&updated.url), "event_types": names, "role": role, "enabled": next.enabled}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Json(updated.out()))
}

fn check_events(role: &Role, fields: &WebhookFields) -> ApiResult<()> {
    match fields
        .event_types
        .iter()
        .find(|e| !role.grants(e.permission()))
    {
        None => Ok(()),
        Some(event) => Err(Problem::field(
            ErrorCode::Validation,
            "event_types",
            &format!(
                "the endpoint's role {} lacks {}, so it cannot receive {}",
                role.as_str(),
                event.permission().as_str(),
                event.as_str()
            ),
        )),
    }
}

async fn webhook_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = endpoint_id(&id)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    load_for_change(&mut tx, &actor, &id).await?;
    if !store::delete(&mut tx, &id).await? {
        return Err(Problem::not_found("webhook endpoint"));
    }
    let event = audit::by(
        &actor,
        &client,
        "webhook.deleted",
        "webhook_endpoint",
        id.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
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
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = load_for_change(&mut tx, &actor, &id).await?;
    // A second overlap would push out the secret receivers still use; end the first instead.
    if let Some(until) = current.previous_secret_expires_at.filter(|u| *u > now)
        && overlap > 0
    {
        return Err(Problem::new(
            ErrorCode::Conflict,
            format!(
                "a rotation is still in its overlap (until {}); rotate with overlap_seconds 0 to end it now",
                webhooks::rfc3339_ms(until)
            ),
        ));
    }
    let secret = webhooks::generate_secret();
    let sealed = seal(&state, &actor, id.as_str(), secret.expose())?;
    store::rotate_secret(&mut tx, &id, &sealed, now + overlap, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "webhook.secret_rotated",
        "webhook_endpoint",
        id.as_str(),
        json!({"overlap_seconds": overlap / 1000}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Json(RotateOut {
        secret: secret.expose().clone(),
        previous_secret_expires_at: (overlap > 0).then_some(now + overlap),
    }))
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
    let endpoint = load(&mut tx, &id).await?;
    // The log holds what the endpoint's role could see: reading it needs that role's reach.
    holdfast_app::access::roles::may_act_on(&mut tx, &actor, &endpoint.role).await?;
    let rows = store::attempts(&mut tx, id.as_str(), before.as_deref(), limit + 1).await?;
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
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let endpoint = load_for_change(&mut tx, &actor, &id).await?;
    let message = store::get_message(&mut tx, &message_id)
        .await?
        .filter(|m| m.endpoint_id == endpoint.id)
        .ok_or_else(|| Problem::not_found("webhook message"))?;
    if endpoint.enabled != 1 {
        return Err(Problem::new(
            ErrorCode::Conflict,
            "the endpoint is disabled; enable it (PATCH with \"enabled\": true), then redeliver",
        ));
    }
    let job = json!({"message_id": message.id, "trigger": "manual"});
    let job_id = queue::enqueue(&mut tx, JobKind::WebhookDeliver, &job, now, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "webhook.redelivery_requested",
        "webhook_endpoint",
        id.as_str(),
        json!({"message_id": message.id}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"message_id": message.id, "job_id": job_id.as_str(), "status": "queued"})),
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
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    // Found (and within the actor's reach) before anything about the body is answered.
    let endpoint = load_for_change(&mut tx, &actor, &id).await?;
    let since = body.value.since_ms(now).map_err(Problem::validation)?;
    if endpoint.enabled != 1 {
        return Err(Problem::new(
            ErrorCode::Conflict,
            "the endpoint is disabled; enable it first (PATCH with \"enabled\": true), then recover its messages",
        ));
    }
    let (queued, more) = store::recover(&mut tx, &endpoint.id, since, RECOVER_BATCH, now).await?;
    let event = audit::by(
        &actor,
        &client,
        "webhook.recovery_requested",
        "webhook_endpoint",
        id.as_str(),
        json!({"since": since, "queued": queued, "more": more}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RecoverOut {
            queued,
            more,
            since,
        }),
    ))
}
