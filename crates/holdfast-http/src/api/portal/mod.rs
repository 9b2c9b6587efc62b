//! The client portal's API (`/api/portal/v1/…`): a separate realm from the staff API. Signing
//! in (`auth`); a signed-in customer's requests (`tickets`), visits (`jobs`), invoices with
//! their PDFs and Pay (`invoices`), their consent preferences and their data (`privacy`); and
//! the staff side: who may sign in (`access`) and how the portal looks (`brand`).

pub mod access;
pub mod auth;
pub mod brand;
pub mod invoices;
pub mod jobs;
pub mod privacy;
pub mod tickets;
