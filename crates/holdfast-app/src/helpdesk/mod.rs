//! Help desk: email to ticket and saved replies.

pub mod saved_replies;
pub mod ticket_mail;
pub mod tickets;
