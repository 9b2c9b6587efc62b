//! Invoicing: exact money arithmetic and the one rounding rule invoices use (`money`), and
//! the invoice PDF, written by hand from display text (`pdf`).

pub mod money;
pub mod pdf;
