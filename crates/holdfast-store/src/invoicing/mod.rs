//! Invoicing: invoices and credit notes, the money recorded against them, the workspace's
//! invoicing settings and number sequences (`invoices`).

pub mod invoices;
