//! Invoicing: invoices, credit notes, payments recorded by hand, and the workspace's
//! invoicing settings (`invoices`); payment accounts and checkouts (`payments`).

pub mod invoices;
pub mod payments;
