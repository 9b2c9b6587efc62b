//! CRM: contacts, companies, custom fields, import and export, consent and the contact's preference center.

pub mod companies;
pub mod consent;
pub mod contact_export;
pub mod contact_fields;
pub mod contact_imports;
pub mod contacts;
pub mod preferences;
