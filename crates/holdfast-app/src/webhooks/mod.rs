//! Webhooks: outbound endpoints (changed from the API and the console), fan-out and delivery,
//! and the handling of verified inbound events.

pub mod delivery;
pub mod endpoints;
pub mod inbound;
