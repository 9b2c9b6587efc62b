//! CRM pages: the contacts list, a contact and its actions, companies, and the CSV import
//! wizard with its live progress.

pub mod companies;
pub mod contact;
pub mod contacts;
pub mod import;
