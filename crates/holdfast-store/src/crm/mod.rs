//! CRM: contacts (custom values, look-ups, export pages), companies, custom field definitions,
//! CSV imports with their progress, and consent (standing, log, outbound decisions, the public
//! links' directory tables), and whether a record's customer exists (`references`); the
//! import's look-ups and writes many rows at a time (`bulk`).

pub mod bulk;
pub mod companies;
pub mod consent;
pub mod contact_fields;
pub mod contact_imports;
pub mod contacts;
pub mod references;
