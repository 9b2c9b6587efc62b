//! Help desk: tickets and their rules, search words (`ticket_search`), the timeline
//! (`ticket_activity`), saved replies, inbound mail parsing (`mail_in`) and the website
//! widget's rules (`widget`).

pub mod mail_in;
pub mod saved_replies;
pub mod ticket_activity;
pub mod ticket_search;
pub mod tickets;
pub mod widget;
