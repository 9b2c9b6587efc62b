//! Members and invitations: wire types.

use crate::access::api_keys::parse_role;
use crate::access::policy::RoleRef;
use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct MemberOut {
    /// The membership id.
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
    /// The name the member goes by; customers see its first word only (a job's public page).
    pub display_name: Option<String>,
    pub created_at: i64,
}

/// Body of `PUT /api/v1/members/{id}/display-name`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisplayNameIn {
    /// Like `Tess Okafor`; `null` or blank removes it.
    #[schemars(length(max = 80))]
    pub display_name: Option<String>,
}

impl DisplayNameIn {
    /// The name to keep (trimmed), or `None` to remove it.
    pub fn validate(&self) -> Result<Option<String>, Vec<FieldError>> {
        match self.display_name.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(name) => validate::plain_text("display_name", name, 1, 80)
                .map(Some)
                .map_err(|e| vec![e]),
        }
    }
}

/// Body of `PATCH /api/v1/members/{id}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// A built-in role or a custom role's id (`rol_…`).
    #[schemars(length(min = 1, max = 40))]
    pub role: String,
}

/// Body of `POST /api/v1/invitations`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationIn {
    #[schemars(email, length(max = 254))]
    pub email: String,
    /// A built-in role or a custom role's id (`rol_…`).
    #[schemars(length(min = 1, max = 40))]
    pub role: String,
}

impl InvitationIn {
    pub fn validate(&self) -> Result<(String, RoleRef), Vec<FieldError>> {
        let mut errors = Errors::default();
        let email = errors
            .take(validate::email("email", &self.email))
            .map(|e| e.to_lowercase());
        let role = errors.take(parse_role(&self.role));
        match (email, role) {
            (Some(e), Some(r)) => errors.finish((e, r)),
            _ => Err(errors.finish(()).err().unwrap_or_default()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct InvitationOut {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Body of `POST /api/v1/invitations/accept`. `password` is the new account's password, or the
/// existing account's password when the address already has one.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptIn {
    #[schemars(length(max = 100))]
    pub token: String,
    #[schemars(length(max = 1024))]
    pub password: String,
    /// When the existing account signs in with a second factor: its code or a recovery code.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub totp_code: Option<String>,
}
