//! Invoicing: invoices and credit notes, money recorded against them, and the workspace's
//! invoicing settings (`invoices`); an invoice's PDF and mail (`documents`); online payments: payment accounts, checkouts, and the
//! money providers' verified events record (`payments`).

pub mod documents;
pub mod invoices;
pub mod payments;
