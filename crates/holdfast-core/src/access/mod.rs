//! Access: who may do what — `api_keys`, `members`, `policy`, `roles`, `modules`, `workspaces`, `fields`.

pub mod api_keys;
pub mod fields;
pub mod members;
pub mod modules;
pub mod policy;
pub mod roles;
pub mod workspaces;
