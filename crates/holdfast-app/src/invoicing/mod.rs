//! Invoicing: invoices and credit notes, money recorded against them, and the workspace's
//! invoicing settings (`invoices`); online payments: payment accounts, checkouts, and the
//! money providers' verified events record (`payments`).

pub mod invoices;
pub mod payments;
