//! Invoicing: invoices and credit notes, the money recorded against them, the workspace's
//! invoicing settings and number sequences (`invoices`); payment accounts, checkouts and the
//! providers' payments recorded (`payments`).

pub mod invoices;
pub mod payments;
