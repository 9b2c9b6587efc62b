//! Webhook pages: the outbound endpoints and the inbound receivers' secrets.

pub mod endpoints;
pub mod inbound;
