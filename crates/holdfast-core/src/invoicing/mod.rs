//! Invoicing: exact money arithmetic and the one rounding rule invoices use (`money`).

pub mod money;
