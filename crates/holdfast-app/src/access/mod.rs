//! Access: who may hand out which role (`roles`), and making a workspace with its owner
//! (`workspaces`).

pub mod roles;
pub mod workspaces;
