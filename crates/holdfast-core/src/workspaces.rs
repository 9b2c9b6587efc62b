//! The workspace itself: wire types.

use crate::validate::{self, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct WorkspaceOut {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// Members must sign in with a second factor.
    pub require_2fa: bool,
    pub created_at: i64,
}

/// Body of `PATCH /api/v1/workspace`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspacePatch {
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
}

impl WorkspacePatch {
    pub fn validate(&self) -> Result<String, Vec<FieldError>> {
        validate::text("name", &self.name, 1, 100).map_err(|e| vec![e])
    }
}

/// Body of `PATCH /api/v1/settings/security`: only the fields sent change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettingsIn {
    /// Members must sign in with a second factor.
    pub require_2fa: Option<bool>,
}
