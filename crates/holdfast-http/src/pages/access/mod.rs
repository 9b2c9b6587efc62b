//! Access pages: the settings index; members and invitations, roles and field rules, API keys,
//! the security policy and the modules.

pub mod api_keys;
pub mod members;
pub mod roles;
pub mod settings;
pub mod workspace_settings;
