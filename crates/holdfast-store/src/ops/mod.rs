//! Operations: the hash-chained audit trail (`audit`), the durable job queue (`queue`),
//! realtime notices (`notices`), the local mail outbox (`mail_outbox`) and the operator's
//! bootstrap (`admin`).

pub mod admin;
pub mod audit;
pub mod mail_outbox;
pub mod notices;
pub mod queue;
