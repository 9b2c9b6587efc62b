//! Access: API keys, members and invitations, roles, workspace settings and modules.

pub mod api_keys;
pub mod members;
pub mod roles;
pub mod settings;
pub mod workspace;
