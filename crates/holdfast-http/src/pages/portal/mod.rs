//! The client portal's pages (`/portal/{workspace_slug}/…`): signing in with a link sent by
//! mail (`sign_in`), the signed-in customer's overview (`home`) and their requests
//! (`tickets`); and the staff's side in the console: who may sign in (`access`). What they
//! share lives in `console/portal.rs`.

pub mod access;
pub mod home;
pub mod sign_in;
pub mod tickets;
