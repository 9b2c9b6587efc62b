//! Access: who may hand out which role; the workspace's roles, members, invitations, API keys,
//! modules and security policy, changed the same way from the API and the console.

pub mod api_keys;
pub mod members;
pub mod roles;
pub mod settings;
