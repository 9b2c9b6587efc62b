//! Privacy pages: retention.

pub mod retention;
