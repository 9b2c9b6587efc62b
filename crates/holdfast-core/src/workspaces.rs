//! The workspace itself: wire types.

use crate::validate::{self, Errors, FieldError};
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
    pub name: Option<String>,
    pub require_2fa: Option<bool>,
}

impl WorkspacePatch {
    pub fn validate(&self) -> Result<(Option<String>, Option<bool>), Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = self
            .name
            .as_deref()
            .and_then(|n| errors.take(validate::text("name", n, 1, 100)));
        errors.finish((name, self.require_2fa))
    }
}
