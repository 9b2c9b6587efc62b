//! Webhooks: outbound endpoints and deliveries, the inbound receiver and its events.

pub mod endpoints;
pub mod hooks;
