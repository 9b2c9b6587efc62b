//! Access: who may hand out which role; the workspace's roles, members, invitations (and
//! accepting one), API keys, modules and security policy, and making a workspace with its
//! owner — changed the same way from the API, the console and the command line.

pub mod api_keys;
pub mod invitations;
pub mod members;
pub mod roles;
pub mod settings;
pub mod workspaces;
