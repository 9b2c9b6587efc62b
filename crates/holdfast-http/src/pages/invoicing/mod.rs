//! Invoicing pages: an invoice's public page for the customer, its PDF and Pay (`invoice_link`).

pub mod invoice_link;
