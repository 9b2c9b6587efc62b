//! Help desk: tickets, saved replies, the live event stream, the website widget.

pub mod events;
pub mod saved_replies;
pub mod tickets;
pub mod widget;
