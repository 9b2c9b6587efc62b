//! Access pages: the first run's setup page, which makes the first workspace and its owner,
//! accepting an invitation, and the workspace switcher.

pub mod invitation;
pub mod setup;
pub mod workspaces;
