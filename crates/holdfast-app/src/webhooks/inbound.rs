//! The `inbound.handle` job: a verified inbound event, handed to the feature that consumes its
//! provider's events. The receiver itself (verification, storage, the job's enqueueing) is the
//! HTTP slice `api/webhooks/hooks.rs` and the `Signed` guard.

use crate::App;
use crate::jobs::{JobError, JobResult};
use holdfast_core::access::modules::Module;
use holdfast_core::ids::InboundEventId;
use holdfast_core::webhooks::inbound::Provider;
use holdfast_store::Tenant;
use holdfast_store::webhooks::inbound as store;

/// `inbound.handle`: `{"event_id"}`. Consumers hook in here by provider: Mailgun inbound mail
/// becomes tickets (`ticket_mail`); events no feature consumes yet (payments, messaging) are
/// kept, visible at `/api/v1/inbound-events`, and marked handled; payment providers' events
/// record money on invoices (`invoicing::payments`) or are kept as unmatched.
pub async fn handle(state: &App, tenant: &Tenant, payload: &serde_json::Value) -> JobResult {
    let id = payload["event_id"]
        .as_str()
        .and_then(InboundEventId::parse)
        .ok_or_else(|| JobError::Permanent("inbound job without an event id".into()))?;
    let now = state.clock.now_ms();
    let mut tx = state.db.read(tenant).await?;
    let event = store::get(&mut tx, &id).await?;
    let modules = holdfast_store::access::workspaces::modules(&mut tx).await?;
    tx.commit().await?;
    let Some(event) = event.filter(|e| e.state != "handled") else {
        return Ok(());
    };
    // Consumers by provider: Mailgun inbound routes become tickets (when the help desk is on).
    if event.provider == Provider::Mailgun.slug() && modules.contains(Module::Helpdesk) {
        crate::helpdesk::ticket_mail::take_in(state, tenant, &event).await?;
    }
    // Payment providers' events record money on invoices; one that is about money but fits no
    // invoice (or arrives while invoicing is off) is kept as unmatched, with the reason.
    let mut outcome = None;
    if crate::invoicing::payments::consumes(&event.provider) {
        use crate::invoicing::payments::Outcome;
        let invoicing = modules.contains(Module::Invoicing);
        outcome = match crate::invoicing::payments::take_in(state, tenant, &event, invoicing).await
        {
            Ok(Outcome::Applied(text)) => Some(("handled", text)),
            Ok(Outcome::Unmatched(text)) => Some(("unmatched", text)),
            Ok(Outcome::Ignored(text)) => Some(("handled", text)),
            Err(e) => return Err(JobError::Retry(e.detail)),
        };
    }
    let mut tx = state.db.write(tenant).await?;
    tracing::info!(event = %event.id, provider = %event.provider, event_type = event.event_type.as_deref().unwrap_or(""), outcome = outcome.as_ref().map(|(s, _)| *s).unwrap_or("handled"), "inbound event handled");
    match &outcome {
        Some((state_name, text)) => {
            store::mark_outcome(&mut tx, &id, state_name, text, now).await?;
        }
        None => {
            store::mark_handled(&mut tx, &id, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
