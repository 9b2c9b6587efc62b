//! Access: API keys, members, invitations, custom roles and the workspace row (its settings
//! and modules).

pub mod api_keys;
pub mod invitations;
pub mod members;
pub mod roles;
pub mod workspaces;
