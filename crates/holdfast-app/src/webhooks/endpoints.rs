//! A workspace's outbound webhook endpoints, for the API and the console alike: registering one
//! (its signing secret returned once), changing, deleting, rotating the secret (the old one keeps
//! signing during an overlap), the delivery log, redelivering a message and recovering what an
//! outage left undelivered. An endpoint acts as its role: acting on it needs every permission
//! that role holds. Each change audited. Delivery itself is `delivery`, run by the worker.

use crate::access::roles::{grantable, may_act_on};
use crate::audit::Origin;
use crate::outbound::OutboundError;
use crate::webhooks::delivery::secret_context;
use crate::{App, AppResult};
use holdfast_core::access::policy::Role;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::{WebhookEndpointId, WebhookMessageId};
use holdfast_core::ops::queue::JobKind;
use holdfast_core::webhooks::{
    self, AttemptOut, EndpointOut, RECOVER_BATCH, RecoverOut, RotateOut, WebhookCreated,
    WebhookFields, WebhookPatch,
};
use holdfast_store::identity::auth::Actor;
use holdfast_store::webhooks::{self as store, Endpoint, EndpointFields};
use holdfast_store::{Lock, TenantTx, access::roles, ops::queue};
use serde_json::json;

fn not_found() -> ApiError {
    ApiError::not_found("webhook endpoint")
}

/// Refuses a URL the safe client would never reach (private address, bad form), at once.
async fn check_reachable(state: &App, url: &str) -> AppResult<()> {
    match state.webhook_client.check_url(url).await {
        Ok(()) => Ok(()),
        Err(e @ (OutboundError::Blocked { .. } | OutboundError::InvalidUrl(_))) => Err(
            ApiError::field(ErrorCode::Validation, "url", &e.to_string()),
        ),
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
) -> AppResult<Role> {
    let role = match &fields.role {
        Some(requested) => grantable(tx, actor, requested).await?,
        None => actor.role.clone(),
    };
    if let Some(event) = fields
        .event_types
        .iter()
        .find(|e| !role.grants(e.permission()))
    {
        return Err(ApiError::field(
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

fn seal(state: &App, actor: &Actor, endpoint_id: &str, secret: &str) -> AppResult<String> {
    state
        .sealer
        .seal(
            secret.as_bytes(),
            &secret_context(&actor.tenant, endpoint_id),
        )
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the secret could not be sealed"))
}

/// Registers an endpoint from validated fields; the answer carries its signing secret, the
/// only time it is shown.
pub async fn create_endpoint(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    fields: &WebhookFields,
) -> AppResult<WebhookCreated> {
    check_reachable(state, &fields.url).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let role = endpoint_role(&mut tx, actor, fields).await?;
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
    let sealed = seal(state, actor, &created.id, secret.expose())?;
    store::rotate_secret(&mut tx, &id, &sealed, now, now).await?;
    let event = origin.event(
        "webhook.created",
        "webhook_endpoint",
        created.id.clone(),
        json!({"host": crate::outbound::url_host(&created.url), "event_types": names, "role": role.as_str(), "enabled": fields.enabled}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(WebhookCreated {
        endpoint: created.out(),
        secret: secret.expose().clone(),
    })
}

/// The endpoint, locked for the change, if the actor may act on it: an endpoint acts as its
/// role, so changing it, reading what it was sent or redelivering needs every permission (and
/// field) that role has.
async fn load_for_change(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    id: &WebhookEndpointId,
) -> AppResult<Endpoint> {
    let endpoint = store::get(tx, id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    may_act_on(tx, actor, &endpoint.role).await?;
    Ok(endpoint)
}

/// The endpoint's fields as a patch applies to them.
pub fn fields_of(endpoint: &Endpoint) -> WebhookFields {
    WebhookFields {
        url: endpoint.url.clone(),
        description: endpoint.description.clone(),
        event_types: endpoint
            .event_types()
            .iter()
            .filter_map(|t| webhooks::EventType::parse(t))
            .collect(),
        role: None,
        enabled: endpoint.enabled == 1,
    }
}

/// Changes an endpoint (enabling it again clears its failure count).
pub async fn update_endpoint(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &WebhookEndpointId,
    patch: &WebhookPatch,
) -> AppResult<EndpointOut> {
    // Resolving a new URL may take seconds: never inside the write transaction.
    if let Some(url) = &patch.url {
        check_reachable(state, url.trim()).await?;
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = load_for_change(&mut tx, actor, id).await?;
    let next = patch
        .apply(&fields_of(&current))
        .map_err(ApiError::validation)?;
    let role = match &next.role {
        Some(_) => endpoint_role(&mut tx, actor, &next)
            .await?
            .as_str()
            .to_owned(),
        None => {
            let stored = roles::resolve(&mut tx, &current.role)
                .await?
                .ok_or_else(|| {
                    ApiError::field(
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
        id,
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
    .ok_or_else(not_found)?;
    let event = origin.event(
        "webhook.updated",
        "webhook_endpoint",
        id.as_str(),
        json!({"host": crate::outbound::url_host(&updated.url), "event_types": names, "role": role, "enabled": next.enabled}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(updated.out())
}

fn check_events(role: &Role, fields: &WebhookFields) -> AppResult<()> {
    match fields
        .event_types
        .iter()
        .find(|e| !role.grants(e.permission()))
    {
        None => Ok(()),
        Some(event) => Err(ApiError::field(
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

/// Deletes an endpoint with its messages and delivery log.
pub async fn delete_endpoint(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &WebhookEndpointId,
) -> AppResult<()> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    load_for_change(&mut tx, actor, id).await?;
    if !store::delete(&mut tx, id).await? {
        return Err(not_found());
    }
    let event = origin.event(
        "webhook.deleted",
        "webhook_endpoint",
        id.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the signing secret; the old one keeps signing for `overlap_ms` (0: ends at once).
/// The answer carries the new secret, the only time it is shown.
pub async fn rotate_secret(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &WebhookEndpointId,
    overlap_ms: i64,
) -> AppResult<RotateOut> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = load_for_change(&mut tx, actor, id).await?;
    // A second overlap would push out the secret receivers still use; end the first instead.
    if let Some(until) = current.previous_secret_expires_at.filter(|u| *u > now)
        && overlap_ms > 0
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a rotation is still in its overlap (until {}); rotate with overlap_seconds 0 to end it now",
                webhooks::rfc3339_ms(until)
            ),
        ));
    }
    let secret = webhooks::generate_secret();
    let sealed = seal(state, actor, id.as_str(), secret.expose())?;
    store::rotate_secret(&mut tx, id, &sealed, now + overlap_ms, now).await?;
    let event = origin.event(
        "webhook.secret_rotated",
        "webhook_endpoint",
        id.as_str(),
        json!({"overlap_seconds": overlap_ms / 1000}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(RotateOut {
        secret: secret.expose().clone(),
        previous_secret_expires_at: (overlap_ms > 0).then_some(now + overlap_ms),
    })
}

/// One endpoint, read.
pub async fn endpoint(tx: &mut TenantTx<'_>, id: &WebhookEndpointId) -> AppResult<Endpoint> {
    store::get(tx, id, Lock::Read).await?.ok_or_else(not_found)
}

/// A page of the endpoint's delivery log, newest first (`limit + 1` rows, for the pager). The
/// log holds what the endpoint's role could see: reading it needs that role's reach.
pub async fn deliveries(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    id: &WebhookEndpointId,
    before: Option<&str>,
    limit: u32,
) -> AppResult<Vec<AttemptOut>> {
    let endpoint = endpoint(tx, id).await?;
    may_act_on(tx, actor, &endpoint.role).await?;
    Ok(store::attempts(tx, id.as_str(), before, limit + 1).await?)
}

/// Queues one of the endpoint's messages to be sent again now (same webhook-id, new
/// signature); returns the job's id.
pub async fn redeliver(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &WebhookEndpointId,
    message_id: &WebhookMessageId,
) -> AppResult<String> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let endpoint = load_for_change(&mut tx, actor, id).await?;
    let message = store::get_message(&mut tx, message_id)
        .await?
        .filter(|m| m.endpoint_id == endpoint.id)
        .ok_or_else(|| ApiError::not_found("webhook message"))?;
    if endpoint.enabled != 1 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the endpoint is disabled; enable it (PATCH with \"enabled\": true), then redeliver",
        ));
    }
    let job = json!({"message_id": message.id, "trigger": "manual"});
    let job_id = queue::enqueue(&mut tx, JobKind::WebhookDeliver, &job, now, now).await?;
    let event = origin.event(
        "webhook.redelivery_requested",
        "webhook_endpoint",
        id.as_str(),
        json!({"message_id": message.id}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(job_id.as_str().to_owned())
}

/// Re-queues the endpoint's undelivered messages since a time: after an outage that outlived
/// the retries, or the failing period that disabled it (then after enabling it again).
/// `since` is read (from the caller's body) only once the endpoint is found and in reach.
pub async fn recover(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &WebhookEndpointId,
    since: impl FnOnce(i64) -> AppResult<i64>,
) -> AppResult<RecoverOut> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let endpoint = load_for_change(&mut tx, actor, id).await?;
    let since = since(now)?;
    if endpoint.enabled != 1 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the endpoint is disabled; enable it first (PATCH with \"enabled\": true), then recover its messages",
        ));
    }
    let (queued, more) = store::recover(&mut tx, &endpoint.id, since, RECOVER_BATCH, now).await?;
    let event = origin.event(
        "webhook.recovery_requested",
        "webhook_endpoint",
        id.as_str(),
        json!({"since": since, "queued": queued, "more": more}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(RecoverOut {
        queued,
        more,
        since,
    })
}
