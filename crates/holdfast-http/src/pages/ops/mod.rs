//! The console's operations: its static files, the audit trail.

pub mod assets;
pub mod audit;
