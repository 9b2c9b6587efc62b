//! Access pages: the first run's setup page, which makes the first workspace and its owner,
//! and accepting an invitation.

pub mod invitation;
pub mod setup;
