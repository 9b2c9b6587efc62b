//! Outbound webhook delivery, run by the job worker: fan an event out to the endpoints that
//! subscribe to it (one message each, its `data` cut to what the endpoint's role may see), then
//! deliver each message per the Standard Webhooks specification through the safe outbound
//! client, log every attempt, and disable an endpoint whose every attempt has failed for the
//! configured period (audit event, and a mail to the workspace's owners and admins), keeping
//! its undelivered messages (`held`) for an admin's recovery. A burst of failures in a short
//! outage never disables an endpoint: its messages retry on the backoff schedule.

use crate::App;
use crate::jobs::{JobError, JobResult};
use crate::outbound::{OutboundError, OutboundRequest, OutboundResponse, SafeClient};
use holdfast_core::access::fields;
use holdfast_core::access::modules::Module;
use holdfast_core::ids::{WebhookEndpointId, WebhookMessageId};
use holdfast_core::ops::queue::JobKind;
use holdfast_core::webhooks::{self, EventType, LOGGED_RESPONSE_BYTES, MessageStatus};
use holdfast_store::webhooks::{Endpoint, EndpointHealth, Message, NewAttempt};
use holdfast_store::{Lock, Tenant, access::roles, access::workspaces, ops::queue};
use serde_json::json;

const HOUR_MS: i64 = 60 * 60 * 1000;

/// The sealing context of an endpoint's secrets: a sealed secret opens only for its endpoint.
pub fn secret_context(tenant: &Tenant, endpoint_id: &str) -> String {
    format!("webhook:{}:{endpoint_id}", tenant.workspace_id())
}

/// `webhook.fanout`: `{"event_id","type","occurred_at","data"}` → one message and one
/// delivery job per subscribed endpoint whose role may read the event. Idempotent: a repeated
/// fan-out finds the messages it made and adds nothing.
pub async fn fanout(
    state: &App,
    tenant: &Tenant,
    job: &holdfast_core::ids::QueueJobId,
    payload: &serde_json::Value,
) -> JobResult {
    let event = payload["type"]
        .as_str()
        .and_then(EventType::parse)
        .ok_or_else(|| JobError::Permanent("fan-out job without a known event type".into()))?;
    let event_id = payload["event_id"]
        .as_str()
        .ok_or_else(|| JobError::Permanent("fan-out job without an event id".into()))?;
    let occurred_at = payload["occurred_at"].as_i64().unwrap_or_default();
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    // An erasure deletes the jobs that carry the erased person's data: a fan-out already
    // claimed finds its job gone (or waits for the erasure's commit) and writes no copy.
    if !queue::hold_job(&mut tx, job).await? {
        return Ok(());
    }
    if !workspaces::modules(&mut tx)
        .await?
        .contains(Module::Automation)
    {
        return Ok(());
    }
    for endpoint in holdfast_store::webhooks::enabled(&mut tx).await? {
        if !endpoint.subscribes_to(event) {
            continue;
        }
        let Some(role) = roles::resolve(&mut tx, &endpoint.role).await? else {
            tracing::warn!(endpoint = %endpoint.id, "webhook endpoint's role no longer exists; event not sent");
            continue;
        };
        if !role.grants(event.permission()) {
            continue;
        }
        let mut data = match event.resource() {
            Some(resource) => {
                fields::Visible::stored(&role, resource, payload["data"].clone()).into_json()
            }
            None => payload["data"].clone(),
        };
        if matches!(
            event,
            EventType::MessageCreated | EventType::MessageDeliveryUpdated
        ) {
            holdfast_core::helpdesk::tickets::MessageOut::cut_event_data(&role, &mut data);
        }
        let body = webhooks::envelope(event_id, event, occurred_at, data).to_string();
        if let Some(message) = holdfast_store::webhooks::insert_message(
            &mut tx,
            &endpoint.id,
            event_id,
            event,
            &body,
            now,
        )
        .await?
        {
            let job = json!({"message_id": message.as_str(), "trigger": "auto"});
            queue::enqueue(&mut tx, JobKind::WebhookDeliver, &job, now, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// `webhook.deliver`: `{"message_id","trigger"}` → one signed POST to the endpoint.
/// `last_attempt`: the job has no attempt left after this one (a failure leaves the message
/// `failed`, recoverable).
pub async fn deliver(
    state: &App,
    tenant: &Tenant,
    payload: &serde_json::Value,
    last_attempt: bool,
) -> JobResult {
    let message_id = payload["message_id"]
        .as_str()
        .and_then(WebhookMessageId::parse)
        .ok_or_else(|| JobError::Permanent("delivery job without a message id".into()))?;
    let trigger = match payload["trigger"].as_str() {
        Some("manual") => "manual",
        Some("recover") => "recover",
        _ => "auto",
    };
    let Some((message, endpoint)) = message_and_endpoint(state, tenant, &message_id).await? else {
        return Ok(());
    };
    // Only a redelivery someone asked for sends a delivered message again (a recovery and a
    // retry that another job's success overtook do not).
    if trigger != "manual" && message.status == MessageStatus::Delivered.as_str() {
        return Ok(());
    }
    if endpoint.enabled != 1 {
        // Kept, not dropped: an admin recovers it after enabling the endpoint again.
        let mut tx = state.db.write(tenant).await?;
        holdfast_store::webhooks::hold_message(&mut tx, &message.id).await?;
        tx.commit().await?;
        return Ok(());
    }
    let now = state.clock.now_ms();
    let headers = signed_headers(state, tenant, &endpoint, &message, now)?;
    let logged_headers = json!(
        headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
    );
    let started = std::time::Instant::now();
    let sent = state
        .webhook_client
        .send(OutboundRequest {
            method: reqwest::Method::POST,
            url: endpoint.url.clone(),
            headers,
            body: message.payload.clone().into_bytes(),
        })
        .await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status, response_body, error) = logged_outcome(&sent);
    let succeeded = status.is_some_and(|s| (200..300).contains(&s));
    let attempt = NewAttempt {
        endpoint_id: &endpoint.id,
        message_id: &message.id,
        trigger,
        url: &endpoint.url,
        request_headers: &logged_headers,
        response_status: status,
        response_body: response_body.as_deref(),
        error: error.as_deref(),
        latency_ms,
        succeeded,
        last_attempt,
    };
    let health = log_attempt(state, tenant, &endpoint, &attempt).await?;
    match health {
        // Delivered, or held for a recovery: this job is done either way.
        EndpointHealth::Healthy
        | EndpointHealth::JustDisabled { .. }
        | EndpointHealth::Disabled => Ok(()),
        EndpointHealth::Failing { .. } => Err(JobError::Retry(match (status, error) {
            (Some(status), _) => format!("endpoint answered HTTP {status}"),
            (None, Some(error)) => error,
            (None, None) => "no answer".into(),
        })),
    }
}

/// The message to deliver and its endpoint; `None` once the endpoint (and with it the message)
/// was deleted, leaving nothing to deliver.
async fn message_and_endpoint(
    state: &App,
    tenant: &Tenant,
    message_id: &WebhookMessageId,
) -> Result<Option<(Message, Endpoint)>, JobError> {
    let mut tx = state.db.read(tenant).await?;
    let Some(message) = holdfast_store::webhooks::get_message(&mut tx, message_id).await? else {
        // The endpoint (and with it the message) was deleted: nothing left to deliver.
        return Ok(None);
    };
    let endpoint_id = WebhookEndpointId::from_trusted(message.endpoint_id.clone());
    let Some(endpoint) = holdfast_store::webhooks::get(&mut tx, &endpoint_id, Lock::Read).await?
    else {
        return Ok(None);
    };
    tx.commit().await?;
    Ok(Some((message, endpoint)))
}

/// The Standard Webhooks headers for the message, signed now with every secret that signs (a
/// secret this instance cannot open is a permanent failure).
fn signed_headers(
    state: &App,
    tenant: &Tenant,
    endpoint: &Endpoint,
    message: &Message,
    now: i64,
) -> Result<Vec<(String, String)>, JobError> {
    let secrets = open_secrets(state, tenant, endpoint, now);
    let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let timestamp = now.div_euclid(1000);
    let Some(signature) = webhooks::signature_header(
        &secret_refs,
        &message.id,
        timestamp,
        message.payload.as_bytes(),
    ) else {
        return Err(JobError::Permanent(
            "the endpoint's secret cannot be opened with this instance's master key".into(),
        ));
    };
    Ok(vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("webhook-id".to_owned(), message.id.clone()),
        ("webhook-timestamp".to_owned(), timestamp.to_string()),
        ("webhook-signature".to_owned(), signature),
    ])
}

/// Logs the attempt and returns the endpoint's health after it; an endpoint this attempt
/// disabled is audited and its admins told, in the same transaction.
async fn log_attempt(
    state: &App,
    tenant: &Tenant,
    endpoint: &Endpoint,
    attempt: &NewAttempt<'_>,
) -> Result<EndpointHealth, JobError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    let health = holdfast_store::webhooks::record_attempt(
        &mut tx,
        attempt,
        i64::from(state.config.webhook_disable_after_hours) * HOUR_MS,
        now,
    )
    .await?;
    if let EndpointHealth::JustDisabled {
        consecutive,
        failing_since,
    } = health
    {
        disabled(state, &mut tx, endpoint, consecutive, failing_since, now).await?;
    }
    tx.commit().await?;
    Ok(health)
}

/// What the delivery log keeps of an attempt: the answer's status and the start of its body,
/// or the error.
fn logged_outcome(
    sent: &Result<OutboundResponse, OutboundError>,
) -> (Option<u16>, Option<String>, Option<String>) {
    match sent {
        Ok(response) => {
            let cut = response.body.len().min(LOGGED_RESPONSE_BYTES);
            let text =
                String::from_utf8_lossy(response.body.get(..cut).unwrap_or_default()).into_owned();
            (Some(response.status), Some(text), None)
        }
        Err(e) => (None, None, Some(e.to_string())),
    }
}

/// The secrets that sign now: the current one, and the previous one while its overlap lasts.
fn open_secrets(state: &App, tenant: &Tenant, endpoint: &Endpoint, now: i64) -> Vec<String> {
    let context = secret_context(tenant, &endpoint.id);
    let mut sealed = vec![endpoint.secret_sealed.as_str()];
    if let (Some(previous), Some(until)) = (
        endpoint.previous_secret_sealed.as_deref(),
        endpoint.previous_secret_expires_at,
    ) && until > now
    {
        sealed.push(previous);
    }
    sealed
        .into_iter()
        .filter_map(|s| state.sealer.open(s, &context))
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .collect()
}

/// The endpoint was just disabled: an audit event, and a mail to each owner and admin.
async fn disabled(
    state: &App,
    tx: &mut holdfast_store::TenantTx<'_>,
    endpoint: &Endpoint,
    consecutive: i64,
    failing_since: i64,
    now: i64,
) -> Result<(), JobError> {
    let event = crate::audit::by_system(
        "webhook.endpoint_disabled",
        "webhook_endpoint",
        endpoint.id.clone(),
        json!({"reason": "failing", "consecutive_failures": consecutive, "failing_since": failing_since, "host": crate::outbound::url_host(&endpoint.url)}),
    );
    holdfast_store::ops::audit::append(tx, &event, now).await?;
    let admins: Vec<String> = holdfast_store::access::members::list(tx)
        .await?
        .into_iter()
        .filter(|m| m.role == "owner" || m.role == "admin")
        .map(|m| m.email)
        .collect();
    let body = format!(
        "Holdfast disabled the webhook endpoint {id} (at {host}): every delivery attempt has failed \
         since {since} ({consecutive} attempts, none succeeded).\n\n\
         Its delivery log shows what the endpoint answered. Its undelivered messages are kept. When \
         it works again, enable it (PATCH /api/v1/webhooks/{id} with \"enabled\": true), then \
         recover them: POST /api/v1/webhooks/{id}/recover with {{\"since\": {suggested}}} \
         (milliseconds since 1970; two days before the failures began, since a message retries \
         for about 31 hours) sends every message made since then that failed or was held. \
         Events that happen while it is disabled are not sent to it.\n\n\
         Public address of this Holdfast: {public}\n",
        id = endpoint.id,
        host = crate::outbound::url_host(&endpoint.url),
        since = webhooks::rfc3339_ms(failing_since),
        suggested = failing_since - 48 * HOUR_MS,
        public = state.config.public_url
    );
    for to in admins {
        crate::outreach::queue_staff_mail(tx, &to, "A webhook endpoint was disabled", &body, now)
            .await?;
    }
    Ok(())
}

/// The client every webhook delivery uses (and the URL check when an endpoint is saved). The
/// allowlist was validated with the configuration, so a parse failure here cannot happen; it
/// would fall back to allowing nothing private.
pub fn client(config: &holdfast_core::ops::config::Config) -> SafeClient {
    let allow =
        holdfast_core::netguard::Allowlist::parse(&config.outbound_allow).unwrap_or_default();
    SafeClient::new(
        std::sync::Arc::new(allow),
        crate::outbound::Limits {
            keep_method: true,
            ..crate::outbound::Limits::default()
        },
    )
}
