//! API keys: wire types.

use crate::access::policy::{BuiltinRole, RoleRef};
use crate::ids::RoleId;
use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Body of `POST /api/v1/api-keys`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// A built-in role (owner, admin, manager, support, sales, technician, marketing, finance,
    /// viewer) or a custom role's id (`rol_…`); never more than the creating credential holds.
    #[schemars(length(min = 1, max = 40))]
    pub role: String,
}

impl ApiKeyIn {
    pub fn validate(&self) -> Result<(String, RoleRef), Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = errors.take(validate::text("name", &self.name, 1, 100));
        let role = errors.take(parse_role(&self.role));
        match (name, role) {
            (Some(n), Some(r)) => errors.finish((n, r)),
            _ => Err(errors.finish(()).err().unwrap_or_default()),
        }
    }
}

/// A role named by a staff request: a built-in role other than `client`, or a custom role id.
pub fn parse_role(text: &str) -> Result<RoleRef, FieldError> {
    let text = text.trim();
    match BuiltinRole::parse(text) {
        Some(BuiltinRole::Client) => Err(FieldError::new(
            "role",
            "client is reserved for the client portal and grants no staff access",
        )),
        Some(role) => Ok(RoleRef::Builtin(role)),
        None => RoleId::parse(text)
            .map(|id| RoleRef::Custom(id.to_string()))
            .ok_or_else(|| {
                let names: Vec<&str> = BuiltinRole::ALL
                    .iter()
                    .filter(|r| **r != BuiltinRole::Client)
                    .map(|r| r.as_str())
                    .collect();
                FieldError::new(
                    "role",
                    format!(
                        "must be one of: {}, or a custom role's id (rol_…)",
                        names.join(", ")
                    ),
                )
            }),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ApiKeyOut {
    pub id: String,
    pub name: String,
    pub role: String,
    /// The first characters of the key, to recognise it; never enough to use it.
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The user who made the key (for a key made by another key, that key's maker); `null` for
    /// a key made on the command line.
    /// Removing that member from the workspace revokes the key unless the remover keeps it.
    pub created_by: Option<String>,
}

/// Returned once, at creation: the only time the full key is shown.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    /// The full key. Store it now: Holdfast keeps only its SHA-256 digest.
    pub secret: String,
}
