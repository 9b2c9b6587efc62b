//! Help-desk pages: the inbox, a ticket, and the website widget's settings.

pub mod inbox;
pub mod ticket;
pub mod widget_settings;
