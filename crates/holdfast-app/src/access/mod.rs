//! Access: who may hand out which role; the workspace's roles, members, invitations and API
//! keys, changed the same way from the API and the console.

pub mod api_keys;
pub mod members;
pub mod roles;
