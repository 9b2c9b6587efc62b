//! Operations: the hash-chained audit trail (`audit`), the durable job queue (`queue`),
//! realtime notices (`notices`), the local mail outbox (`mail_outbox`), the operator's
//! bootstrap (`admin`) and controls (`controls`: suspended workspaces, locked accounts), the
//! first run's setup links (`setup`), the database side of backups (`backup`) and key
//! generations with the re-sealing of a master key rotation (`keys`), and the plan state the
//! billing gate reads (`billing`).

pub mod admin;
pub mod audit;
pub mod backup;
pub mod billing;
pub mod controls;
pub mod keys;
pub mod mail_outbox;
pub mod notices;
pub mod queue;
pub mod setup;
