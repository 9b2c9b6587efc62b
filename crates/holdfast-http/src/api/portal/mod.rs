//! The client portal's API (`/api/portal/v1/…`): a separate realm from the staff API. Signing
//! in (`auth`), a signed-in customer's requests (`tickets`); and the staff side: who may sign
//! in (`access`).

pub mod access;
pub mod auth;
pub mod tickets;
