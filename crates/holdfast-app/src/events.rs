//! Publishing events: a change's webhook and live-stream event, written in the transaction of
//! the change (the outbox), so an event is sent if and only if its change committed. Each
//! endpoint later receives it cut to its own role's fields.

use holdfast_core::crm::contacts::ContactOut;
use holdfast_core::webhooks::{EventType, contact_event_data};
use holdfast_store::{StoreError, TenantTx};
use serde::Serialize;

/// The one publisher: `data` is the event's record as the catalogue defines it.
pub async fn publish<T: Serialize>(
    tx: &mut TenantTx<'_>,
    event: EventType,
    data: &T,
    now: i64,
) -> Result<(), StoreError> {
    let data = serde_json::to_value(data).unwrap_or_default();
    holdfast_store::webhooks::publish(tx, event, data, now).await?;
    Ok(())
}

/// A contact's event: its data is the contact in the catalogue's contact shape.
pub async fn publish_contact(
    tx: &mut TenantTx<'_>,
    event: EventType,
    contact: &ContactOut,
    now: i64,
) -> Result<(), StoreError> {
    publish(tx, event, &contact_event_data(contact), now).await
}
