//! CRM: consent changes, the contact list's filter, contact import.

pub mod consent;
pub mod contacts;
pub mod import;
mod import_chunk;
