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

use schemars::JsonSchema;
use serde::Serialize;

/// A page of a list: `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}
