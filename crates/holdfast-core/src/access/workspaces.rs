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
    /// Console sessions end after this long without a request…
    pub console_idle_minutes: i64,
    /// …and this long after sign-in.
    pub console_max_hours: i64,
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
    /// Console sessions end after this many idle minutes (5 to 1440); applies to new sessions.
    #[schemars(range(min = 5, max = 1440))]
    pub console_idle_minutes: Option<i64>,
    /// …and at most this many hours after sign-in (1 to 720).
    #[schemars(range(min = 1, max = 720))]
    pub console_max_hours: Option<i64>,
}

impl SecuritySettingsIn {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self
            .console_idle_minutes
            .is_some_and(|m| !(5..=1440).contains(&m))
        {
            errors.push(FieldError::new(
                "console_idle_minutes",
                "must be from 5 to 1440 (a day)",
            ));
        }
        if self
            .console_max_hours
            .is_some_and(|h| !(1..=720).contains(&h))
        {
            errors.push(FieldError::new(
                "console_max_hours",
                "must be from 1 to 720 (30 days)",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
