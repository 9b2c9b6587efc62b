//! Help desk: `tickets`, `ticket_activity`, `saved_replies`, `widget`.

pub mod saved_replies;
pub mod ticket_activity;
pub mod tickets;
pub mod widget;
