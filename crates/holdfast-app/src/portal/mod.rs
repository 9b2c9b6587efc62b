//! The client portal: a workspace's customers sign in with a link sent by mail (`sign_in`) and
//! reach only their own records. Rules: `holdfast_core::portal`; the realm's tables and the
//! scope type: `holdfast_store::portal`. Threat note: docs/design/portal.md.

pub mod access;
pub mod overview;
pub mod sign_in;
