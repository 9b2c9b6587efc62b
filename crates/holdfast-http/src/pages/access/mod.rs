//! Access pages: the settings index; members and invitations, roles and field rules, API keys.

pub mod api_keys;
pub mod members;
pub mod roles;
pub mod settings;
