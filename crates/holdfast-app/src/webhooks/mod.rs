//! Webhooks: outbound endpoints (changed from the API and the console), fan-out and delivery;
//! inbound receivers and their secrets, and the handling of verified inbound events.

pub mod delivery;
pub mod endpoints;
pub mod inbound;
pub mod receivers;
