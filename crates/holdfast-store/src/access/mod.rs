//! Access: who may do what — `api_keys`, `members`, `invitations`, `roles`, `workspaces`.

pub mod api_keys;
pub mod invitations;
pub mod members;
pub mod roles;
pub mod workspaces;
