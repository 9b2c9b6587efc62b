//! Invoicing: invoices and credit notes, money recorded against them, and the workspace's
//! invoicing settings (`invoices`).

pub mod invoices;
