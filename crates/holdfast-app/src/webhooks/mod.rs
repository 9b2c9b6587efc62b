//! Webhooks: outbound fan-out and delivery, and the handling of verified inbound events.

pub mod delivery;
pub mod inbound;
