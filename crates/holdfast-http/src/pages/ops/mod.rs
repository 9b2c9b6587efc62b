//! The console's operations: its static files, the audit trail, the API's documentation.

pub mod api_docs;
pub mod assets;
pub mod audit;
