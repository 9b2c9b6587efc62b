//! CRM: `contacts`, `companies`, `contact_fields`, `contact_import`, `consent`.

pub mod companies;
pub mod consent;
pub mod contact_fields;
pub mod contact_import;
pub mod contacts;
