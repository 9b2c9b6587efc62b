//! Webhook pages: the outbound endpoints.

pub mod endpoints;
