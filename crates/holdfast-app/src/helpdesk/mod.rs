//! Help desk: email to ticket, saved replies, working a ticket, and the website widget's
//! settings.

pub mod saved_replies;
pub mod ticket_mail;
pub mod tickets;
pub mod widget_settings;
