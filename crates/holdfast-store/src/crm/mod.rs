//! CRM: `contacts`, `companies`, `contact_fields`, `contact_imports`, `consent`.

pub mod companies;
pub mod consent;
pub mod contact_fields;
pub mod contact_imports;
pub mod contacts;
