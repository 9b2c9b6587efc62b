//! The client portal's pages (`/portal/{workspace_slug}/…`): signing in with a link sent by
//! mail (`sign_in`) and the signed-in customer's overview (`home`). What they share lives in
//! `console/portal.rs`.

pub mod home;
pub mod sign_in;
