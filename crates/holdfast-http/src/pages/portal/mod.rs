//! The client portal's pages (`/portal/{workspace_slug}/…`): signing in with a link sent by
//! mail (`sign_in`) or an optional password (`password`, with its reset link), the signed-in customer's overview (`home`), their requests (`tickets`),
//! one of their visits (`jobs`), one of their invoices with its PDF and Pay (`invoices`), their
//! contact preferences and their data (`privacy`); the workspace's logo and colour every portal
//! page loads (`brand`); and the staff's side in the console: who
//! may sign in (`access`). What they share lives in `console/portal.rs`.

pub mod access;
pub mod brand;
pub mod home;
pub mod invoices;
pub mod jobs;
pub mod password;
pub mod privacy;
pub mod sign_in;
pub mod tickets;
