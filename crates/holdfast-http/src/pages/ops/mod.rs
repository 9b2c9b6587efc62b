//! The console's operations: its static files.

pub mod assets;
