//! CRM: contacts and companies with their rules, custom field definitions and values
//! (`contact_fields`), CSV import rules (`contact_import`), consent (`consent`: channels,
//! statuses, lawful bases, the one `decide` every outbound customer message passes), and the
//! contact's own choices from the preference center and the client portal (`preferences`).

pub mod companies;
pub mod consent;
pub mod contact_fields;
pub mod contact_import;
pub mod contacts;
pub mod preferences;
