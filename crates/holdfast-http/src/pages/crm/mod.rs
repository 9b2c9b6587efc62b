//! CRM pages: the contacts list, a contact and its actions, companies, the CSV import
//! wizard with its live progress, and the workspace's privacy mode and double opt-in.

pub mod companies;
pub mod contact;
pub mod contacts;
pub mod import;
pub mod privacy_settings;
