//! Invoicing: invoices and credit notes, money recorded against them, and the workspace's
//! invoicing settings (`invoices`); an invoice's PDF and mail (`documents`); its public link for the customer (`links`); online payments: payment accounts, checkouts, and the
//! money providers' verified events record (`payments`).

pub mod documents;
pub mod invoices;
pub mod links;
pub mod payments;
