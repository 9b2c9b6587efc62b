//! Operations: the layered configuration (`config`), the audit chain's hashing (`audit`), the
//! job queue's rules (`queue`) and realtime notices (`realtime`).

pub mod audit;
pub mod config;
pub mod queue;
pub mod realtime;
