//! Roles: wire types and validation of custom roles.

use crate::access::fields::FieldRules;
use crate::access::policy::{Permission, PermissionSet};
use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct RoleOut {
    /// The built-in role's name (`support`) or the custom role's id (`rol_…`): what members,
    /// keys and invitations name.
    pub id: String,
    pub name: String,
    pub description: String,
    /// `resource.action` permissions, in a fixed order.
    pub permissions: Vec<String>,
    /// Field rules narrowing the permissions, e.g. `{"contacts.email": "hidden"}`.
    pub fields: serde_json::Value,
    /// Built-in roles cannot be edited or deleted.
    pub builtin: bool,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// Body of `POST /api/v1/roles`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    #[schemars(length(min = 1, max = 60))]
    pub name: String,
    #[serde(default)]
    #[schemars(length(max = 300))]
    pub description: Option<String>,
    /// `resource.action` names, e.g. `contacts.read`.
    #[schemars(length(max = 64))]
    pub permissions: Vec<String>,
    /// Narrow single fields: `{"contacts.email": "hidden" | "read" | "write"}`.
    #[serde(default)]
    pub fields: Option<serde_json::Value>,
}

/// Body of `PATCH /api/v1/roles/{id}`: only the fields sent change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    #[serde(default)]
    #[schemars(length(min = 1, max = 60))]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 300))]
    pub description: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub permissions: Option<Vec<String>>,
    #[serde(default)]
    pub fields: Option<serde_json::Value>,
}

/// A custom role's fields, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFields {
    pub name: String,
    pub description: String,
    pub permissions: PermissionSet,
    pub field_rules: FieldRules,
}

fn field_rules(value: Option<&serde_json::Value>) -> Result<FieldRules, FieldError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(FieldRules::default()),
        Some(v) => FieldRules::from_json(v).map_err(|e| FieldError::new("fields", e)),
    }
}

fn permissions(names: &[String]) -> Result<PermissionSet, FieldError> {
    let mut found = Vec::with_capacity(names.len());
    for name in names {
        match Permission::parse(name.trim()) {
            Some(p) => found.push(p),
            None => {
                return Err(FieldError::new(
                    "permissions",
                    format!(
                        "'{name}' is not a permission; GET /api/v1/roles lists them (e.g. contacts.read)"
                    ),
                ));
            }
        }
    }
    if found.contains(&Permission::OwnersManage) {
        return Err(FieldError::new(
            "permissions",
            "owners.manage belongs to the built-in owner role only",
        ));
    }
    Ok(PermissionSet::of(&found))
}

fn name(text: &str) -> Result<String, FieldError> {
    let name = validate::text("name", text, 1, 60)?;
    if crate::access::policy::BuiltinRole::parse(&name.to_lowercase()).is_some() {
        return Err(FieldError::new(
            "name",
            "is a built-in role's name; choose another",
        ));
    }
    Ok(name)
}

impl RoleIn {
    pub fn validate(&self) -> Result<RoleFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = errors.take(name(&self.name));
        let description = errors.take(validate::text(
            "description",
            self.description.as_deref().unwrap_or(""),
            0,
            300,
        ));
        let permissions = errors.take(permissions(&self.permissions));
        let rules = errors.take(field_rules(self.fields.as_ref()));
        match (name, description, permissions, rules) {
            (Some(name), Some(description), Some(permissions), Some(field_rules)) => {
                errors.finish(RoleFields {
                    name,
                    description,
                    permissions,
                    field_rules,
                })
            }
            _ => Err(errors.finish(()).err().unwrap_or_default()),
        }
    }
}

impl RolePatch {
    /// The role's fields after this patch: the fields not sent keep their current values, and
    /// the result is validated like a new role.
    pub fn apply(&self, current: &RoleFields) -> Result<RoleFields, Vec<FieldError>> {
        RoleIn {
            name: self.name.clone().unwrap_or_else(|| current.name.clone()),
            description: Some(
                self.description
                    .clone()
                    .unwrap_or_else(|| current.description.clone()),
            ),
            permissions: self.permissions.clone().unwrap_or_else(|| {
                current
                    .permissions
                    .to_vec()
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect()
            }),
            fields: Some(
                self.fields
                    .clone()
                    .unwrap_or_else(|| current.field_rules.to_json()),
            ),
        }
        .validate()
    }
}

/// Permission names as stored (a JSON array).
pub fn permissions_json(set: PermissionSet) -> String {
    serde_json::to_string(&set.to_vec().iter().map(|p| p.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned())
}

/// The stored JSON array back into a set; unknown names (from a newer version) are dropped.
pub fn permissions_from_json(text: &str) -> PermissionSet {
    let names: Vec<String> = serde_json::from_str(text).unwrap_or_default();
    PermissionSet::of(
        &names
            .iter()
            .filter_map(|n| Permission::parse(n))
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_roles_name_known_permissions_only() {
        let ok = RoleIn {
            name: "Dispatcher".into(),
            description: None,
            permissions: vec!["jobs.read".into(), "jobs.write".into()],
            fields: None,
        }
        .validate()
        .unwrap();
        assert!(ok.permissions.contains(Permission::JobsWrite));
        let json = permissions_json(ok.permissions);
        assert_eq!(json, r#"["jobs.read","jobs.write"]"#);
        assert_eq!(permissions_from_json(&json), ok.permissions);

        for (name, perms, field) in [
            ("Dispatcher", vec!["jobs.fly"], "permissions"),
            ("Dispatcher", vec!["owners.manage"], "permissions"),
            ("Admin", vec!["jobs.read"], "name"),
            ("", vec![], "name"),
        ] {
            let errors = RoleIn {
                name: name.into(),
                description: None,
                permissions: perms.into_iter().map(String::from).collect(),
                fields: None,
            }
            .validate()
            .unwrap_err();
            assert_eq!(errors[0].field, field);
        }
    }
}
