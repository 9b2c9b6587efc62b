//! Access pages: the first run's setup page, which makes the first workspace and its owner.

pub mod setup;
