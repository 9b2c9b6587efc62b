//! Operations: `audit`, `config`, `queue`, `realtime`.

pub mod audit;
pub mod config;
pub mod queue;
pub mod realtime;
