//! Privacy: a contact's export and erasure, legal hold, erasure requests, retention.

pub mod rights;
