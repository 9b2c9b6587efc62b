//! Help desk: tickets with their messages, threading ids, delivery statuses, attachments and
//! search (`tickets`, `tickets::search`), the timeline (`ticket_activity`), saved replies and the
//! website widget's keys, settings, visitors and identities (`widget`).

pub mod saved_replies;
pub mod ticket_activity;
pub mod tickets;
pub mod widget;
