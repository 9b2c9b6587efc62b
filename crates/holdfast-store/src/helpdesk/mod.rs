//! Help desk: tickets with their messages, threading ids, delivery statuses, attachments and
//! search (`tickets`, `tickets::search`), the timeline (`ticket_activity`), each member's last
//! look at each ticket for unread markers (`ticket_reads`), saved replies and the
//! website widget's keys, settings, visitors and identities (`widget`).

pub mod saved_replies;
pub mod ticket_activity;
pub mod ticket_reads;
pub mod tickets;
pub mod widget;
