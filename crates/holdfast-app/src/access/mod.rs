//! Access: who may hand out which role.

pub mod roles;
