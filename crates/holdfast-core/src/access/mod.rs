//! Access: who may do what. The permission policy and roles (`policy`, custom-role checks in
//! `roles`), field-level rules (`fields`: `Visible`, the one form contact data leaves in),
//! modules a workspace turns on (`modules`), and the wire types of API keys, members and
//! workspaces.

pub mod api_keys;
pub mod fields;
pub mod members;
pub mod modules;
pub mod policy;
pub mod roles;
pub mod workspaces;
