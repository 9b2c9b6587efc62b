//! Invoicing: exact money arithmetic and the one rounding rule invoices use (`money`),
//! invoices and credit notes: their wire types, figures and status rules (`invoices`), and
//! the invoice PDF, written by hand from display text (`pdf`).

pub mod invoices;
pub mod money;
pub mod pdf;
