//! Access: who may hand out which role (`roles`), making a workspace with its owner
//! (`workspaces`), and accepting an invitation (`invitations`).

pub mod invitations;
pub mod roles;
pub mod workspaces;
