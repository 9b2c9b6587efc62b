//! Invoicing: invoices, credit notes, payments recorded by hand, and the workspace's
//! invoicing settings.

pub mod invoices;
