//! Access pages: the settings index; members and invitations, roles and field rules, API keys,
//! the security policy and the modules; the first run's setup page; accepting an invitation;
//! the workspace switcher.

pub mod api_keys;
pub mod invitation;
pub mod members;
pub mod roles;
pub mod settings;
pub mod setup;
pub mod workspace_settings;
pub mod workspaces;
