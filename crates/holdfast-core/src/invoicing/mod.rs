//! Invoicing: exact money arithmetic and the one rounding rule invoices use (`money`),
//! invoices and credit notes: their wire types, figures and status rules (`invoices`), online
//! payments: connected payment accounts and what providers' verified events say about money
//! (`payments`), and the invoice PDF, written by hand from display text (`pdf`).

pub mod invoices;
pub mod money;
pub mod payments;
pub mod pdf;
