//! Operations: `audit`, `queue`, `notices`, `admin`, `mail_outbox`.

pub mod admin;
pub mod audit;
pub mod mail_outbox;
pub mod notices;
pub mod queue;
