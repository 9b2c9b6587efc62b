//! Help desk: `tickets`, `ticket_search`, `ticket_activity`, `saved_replies`, `mail_in`, `widget`.

pub mod mail_in;
pub mod saved_replies;
pub mod ticket_activity;
pub mod ticket_search;
pub mod tickets;
pub mod widget;
