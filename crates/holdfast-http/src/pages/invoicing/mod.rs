//! Invoicing pages: an invoice's public page for the customer, its PDF and Pay
//! (`invoice_link`); and the console's (module `invoicing`): the invoices list and a new draft
//! (`invoices`), an invoice with a draft's editor and live totals (`invoice`), an issued
//! invoice's money actions (`invoice_actions`), the payments recorded (`payments`), and the
//! invoicing and payment-account settings (`settings`).

pub mod invoice;
pub mod invoice_actions;
pub mod invoice_link;
pub mod invoices;
pub mod payments;
pub mod settings;
