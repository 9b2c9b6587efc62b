//! Invoicing: exact money arithmetic and the one rounding rule invoices use (`money`), and
//! invoices and credit notes: their wire types, figures and status rules (`invoices`).

pub mod invoices;
pub mod money;
