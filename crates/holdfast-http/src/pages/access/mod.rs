//! Access pages: the settings index.

pub mod settings;
