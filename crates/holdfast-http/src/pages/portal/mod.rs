//! The client portal's pages (`/portal/{workspace_slug}/…`): signing in with a link sent by
//! mail (`sign_in`) and the signed-in customer's overview (`home`); and the staff's side in the
//! console: who may sign in (`access`). What they share lives in `console/portal.rs`.

pub mod access;
pub mod home;
pub mod sign_in;
