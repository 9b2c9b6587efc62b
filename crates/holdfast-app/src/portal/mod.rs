//! The client portal: a workspace's customers sign in with a link sent by mail (`sign_in`), or
//! with an optional password (`password`), and
//! reach only their own records: what they see first (`overview`), their requests (`tickets`),
//! their visits (`jobs`), their invoices with their PDFs and Pay (`invoices`), their consent
//! preferences and their data (`privacy`); staff decide who may sign in and which sites may
//! call the portal API from a browser (`access`, read by `origins` for the CORS answer), and
//! how the portal looks: its colour and logo (`brand`).
//! Rules: `holdfast_core::portal`; the realm's tables and the scope type:
//! `holdfast_store::portal`. Threat note: docs/design/portal.md.

pub mod access;
pub mod brand;
pub mod invoices;
pub mod jobs;
pub mod origins;
pub mod overview;
pub mod password;
pub mod privacy;
pub mod sign_in;
pub mod tickets;
