//! The JSON API under `/api/v1`, one module per resource.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod contacts;
pub mod members;
pub mod oidc;
pub mod roles;
pub mod settings;
pub mod two_factor;
pub mod workspace;

use crate::routes::QueryParam;
use schemars::JsonSchema;
use serde::Serialize;

/// The page size of every list.
pub const LIMIT: QueryParam = QueryParam {
    name: "limit",
    description: "Page size, 1–200 (default 50)",
    integer: true,
};

/// The position in every list.
pub const CURSOR: QueryParam = QueryParam {
    name: "cursor",
    description: "next_cursor of the previous page",
    integer: false,
};

/// A page of a list: `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}
