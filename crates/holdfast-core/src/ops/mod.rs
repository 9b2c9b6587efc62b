//! Operations: the layered configuration (`config`), the audit chain's hashing (`audit`), the
//! job queue's rules (`queue`), realtime notices (`realtime`) and key generations and their
//! rotation (`keys`), and the billing gate of a hosted instance (`billing`).

pub mod audit;
pub mod billing;
pub mod config;
pub mod keys;
pub mod queue;
pub mod realtime;
