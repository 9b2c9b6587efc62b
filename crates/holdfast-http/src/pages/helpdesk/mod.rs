//! Help-desk pages: the inbox and a ticket.

pub mod inbox;
pub mod ticket;
