//! CRM: consent changes and contact import.

pub mod consent;
pub mod import;
