//! Contacts: the wire types (`ContactIn`, `ContactPatch`, `ContactOut`) and their validation.
//!
//! `company` is the free-text company name a contact was created with (kept for compatibility
//! and for contacts without a company record); `company_id` links the contact to one of the
//! workspace's companies. `custom` holds the workspace's custom fields (`contact_fields`).

use crate::crm::contact_fields::{self, FieldDef};
use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

pub const MAX_TAGS: usize = 50;

/// Body of `POST /api/v1/contacts`. At least one of name, email or phone is required.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
    #[schemars(email, length(max = 254))]
    pub email: Option<String>,
    /// International format; normalised to E.164 (e.g. `+14155550123`).
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{7,14}$"))]
    pub phone: Option<String>,
    #[schemars(length(min = 1, max = 200))]
    pub company: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 50), inner(length(min = 1, max = 50)))]
    pub tags: Vec<String>,
    /// One of the workspace's companies (`co_…`).
    pub company_id: Option<String>,
    /// Custom field values by key, typed as their definitions say.
    #[serde(default)]
    pub custom: serde_json::Map<String, Value>,
}

/// Body of `PATCH /api/v1/contacts/{id}` (JSON merge patch: absent = unchanged, null = clear).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub company: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub company_id: Option<Option<String>>,
    /// Merged key by key into the contact's values; `null` clears a key.
    pub custom: Option<serde_json::Map<String, Value>>,
}

impl ContactIn {
    /// The fields this request sets (for field-level write checks).
    pub fn sent_fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("company", self.company.is_some()),
            ("tags", !self.tags.is_empty()),
            ("company_id", self.company_id.is_some()),
            ("custom", !self.custom.is_empty()),
        ]
        .into_iter()
        .filter_map(|(field, sent)| sent.then_some(field))
        .collect()
    }
}

impl ContactPatch {
    /// The fields this request changes (for field-level write checks).
    pub fn sent_fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("company", self.company.is_some()),
            ("tags", self.tags.is_some()),
            ("company_id", self.company_id.is_some()),
            ("custom", self.custom.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, sent)| sent.then_some(field))
        .collect()
    }
}

/// A contact as stored. It is deliberately not `Serialize`: a contact's data leaves Holdfast
/// only as a [`crate::access::fields::Visible`], made by applying the reader's field rules (or
/// whole, for the person themselves), so no answer can carry it uncut by mistake.
// The published schema keeps the description it has always had (the module moved; the
// OpenAPI document does not change with the source layout).
#[derive(Debug, Clone, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(
    description = "A contact as stored. It is deliberately not `Serialize`: a contact's data leaves Holdfast\nonly as a [`crate::fields::Visible`], made by applying the reader's field rules (or whole,\nfor the person themselves), so no answer can carry it uncut by mistake."
)]
pub struct ContactOut {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    /// Absent (like any field) when the caller's role may not see it.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The linked company (`co_…`), if any.
    #[serde(default)]
    pub company_id: Option<String>,
    /// Custom field values by key.
    #[serde(default)]
    pub custom: BTreeMap<String, Value>,
    /// UTC milliseconds since the epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

impl ContactOut {
    /// Every field as JSON (the shape `Deserialize` reads back). Crate-private: outside the
    /// core a contact becomes JSON only through `fields::Visible`.
    pub(crate) fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "company": self.company,
            "tags": self.tags,
            "company_id": self.company_id,
            "custom": self.custom,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }

    /// The names of the fields that hold a value (for the audit trail, which names fields,
    /// never values).
    pub fn present_fields(&self) -> Vec<String> {
        self.value_fields()
            .into_iter()
            .filter(|(_, v)| {
                !v.is_null()
                    && v != &Value::Array(Vec::new())
                    && v != &Value::Object(serde_json::Map::new())
            })
            .map(|(k, _)| k)
            .collect()
    }

    /// The names of the fields whose value differs in `after`.
    pub fn changed_fields(&self, after: &ContactOut) -> Vec<String> {
        let before = self.value_fields();
        after
            .value_fields()
            .into_iter()
            .filter(|(k, v)| before.get(k) != Some(v))
            .map(|(k, _)| k)
            .collect()
    }

    fn value_fields(&self) -> serde_json::Map<String, Value> {
        match self.to_json() {
            Value::Object(map) => map
                .into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "id" | "created_at" | "updated_at"))
                .collect(),
            _ => serde_json::Map::new(),
        }
    }

    pub fn fields(&self) -> ContactFields {
        ContactFields {
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            company: self.company.clone(),
            tags: self.tags.clone(),
            company_id: self.company_id.clone(),
            custom: self.custom.clone(),
        }
    }
}

/// A contact's fields after validation and normalisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    /// Shape-checked here; the handler checks that the company exists in the workspace.
    pub company_id: Option<String>,
    pub custom: BTreeMap<String, Value>,
}

/// A company id as sent: a malformed one cannot name a company of the workspace.
pub fn check_company_id(errors: &mut Errors, value: Option<&str>) -> Option<String> {
    let value = value?;
    match crate::ids::CompanyId::parse(value.trim()) {
        Some(id) => Some(id.to_string()),
        None => {
            errors.push(
                "company_id",
                "is not a company of this workspace (ids look like co_…)",
            );
            None
        }
    }
}

fn check_optional(
    errors: &mut Errors,
    value: Option<&str>,
    check: impl Fn(&str) -> Result<String, FieldError>,
) -> Option<String> {
    value.and_then(|v| errors.take(check(v)))
}

pub(crate) fn check_tags(errors: &mut Errors, tags: &[String]) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        errors.push(
            "tags",
            format!("at most {MAX_TAGS} tags (got {})", tags.len()),
        );
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for (i, tag) in tags.iter().enumerate() {
        if let Some(tag) = errors.take(validate::text(&format!("tags[{i}]"), tag, 1, 50)) {
            let tag = tag.to_lowercase();
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
    }
    out
}

fn require_identity(errors: &mut Errors, fields: &ContactFields) {
    if fields.name.is_none() && fields.email.is_none() && fields.phone.is_none() {
        errors.push(
            "name",
            "a contact needs at least one of name, email or phone",
        );
    }
}

impl ContactIn {
    /// Validates a contact of a workspace without custom fields.
    pub fn validate(&self) -> Result<ContactFields, Vec<FieldError>> {
        self.validate_with(&[])
    }

    /// Validates against the workspace's custom field definitions.
    pub fn validate_with(&self, defs: &[FieldDef]) -> Result<ContactFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let fields = ContactFields {
            name: check_optional(&mut errors, self.name.as_deref(), |v| {
                validate::text("name", v, 1, 200)
            }),
            email: check_optional(&mut errors, self.email.as_deref(), |v| {
                validate::email("email", v)
            }),
            phone: check_optional(&mut errors, self.phone.as_deref(), |v| {
                validate::phone("phone", v)
            }),
            company: check_optional(&mut errors, self.company.as_deref(), |v| {
                validate::text("company", v, 1, 200)
            }),
            tags: check_tags(&mut errors, &self.tags),
            company_id: check_company_id(&mut errors, self.company_id.as_deref()),
            custom: contact_fields::check_new(defs, &self.custom, &mut errors),
        };
        if self.name.is_none() && self.email.is_none() && self.phone.is_none() {
            require_identity(&mut errors, &fields);
        }
        errors.finish(fields)
    }
}

impl ContactPatch {
    /// Applies the patch to the current fields, validating only what changes (a workspace
    /// without custom fields).
    pub fn apply(&self, current: &ContactFields) -> Result<ContactFields, Vec<FieldError>> {
        self.apply_with(current, &[])
    }

    /// Applies the patch, checking custom values against the workspace's definitions.
    pub fn apply_with(
        &self,
        current: &ContactFields,
        defs: &[FieldDef],
    ) -> Result<ContactFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let mut merge =
            |field: &Option<Option<String>>,
             now: &Option<String>,
             check: &dyn Fn(&str) -> Result<String, FieldError>| match field {
                None => now.clone(),
                Some(None) => None,
                Some(Some(v)) => errors.take(check(v)),
            };
        let name = merge(&self.name, &current.name, &|v| {
            validate::text("name", v, 1, 200)
        });
        let email = merge(&self.email, &current.email, &|v| {
            validate::email("email", v)
        });
        let phone = merge(&self.phone, &current.phone, &|v| {
            validate::phone("phone", v)
        });
        let company = merge(&self.company, &current.company, &|v| {
            validate::text("company", v, 1, 200)
        });
        let tags = match &self.tags {
            None => current.tags.clone(),
            Some(t) => check_tags(&mut errors, t),
        };
        let company_id = match &self.company_id {
            None => current.company_id.clone(),
            Some(None) => None,
            Some(Some(id)) => check_company_id(&mut errors, Some(id)),
        };
        let custom = match &self.custom {
            None => current.custom.clone(),
            Some(changes) => {
                contact_fields::check_changes(defs, &current.custom, changes, &mut errors)
            }
        };
        let fields = ContactFields {
            name,
            email,
            phone,
            company,
            tags,
            company_id,
            custom,
        };
        require_identity(&mut errors, &fields);
        errors.finish(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(json: &str) -> Result<ContactIn, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn valid_contact_is_normalised() {
        let c = parse_in(r#"{"name":" Ada ","email":"ada@EXAMPLE.com","phone":"+44 20 7946 0958","tags":["VIP","vip","north"]}"#)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(c.name.as_deref(), Some("Ada"));
        assert_eq!(c.email.as_deref(), Some("ada@example.com"));
        assert_eq!(c.phone.as_deref(), Some("+442079460958"));
        assert_eq!(c.tags, vec!["vip", "north"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errs = parse_in(r#"{"name":"","email":"nope","phone":"123","tags":[""]}"#)
            .unwrap()
            .validate()
            .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "email", "phone", "tags[0]"]);
    }

    #[test]
    fn unknown_fields_and_empty_contacts_are_rejected() {
        assert!(parse_in(r#"{"name":"A","nickname":"x"}"#).is_err());
        let errs = parse_in("{}").unwrap().validate().unwrap_err();
        assert_eq!(errs[0].field, "name");
    }

    #[test]
    fn patch_distinguishes_absent_from_null() {
        let current = parse_in(r#"{"name":"Ada","email":"ada@example.com"}"#)
            .unwrap()
            .validate()
            .unwrap();
        let patch: ContactPatch =
            serde_json::from_str(r#"{"email":null,"company":"Acme"}"#).unwrap();
        let next = patch.apply(&current).unwrap();
        assert_eq!(next.name.as_deref(), Some("Ada"));
        assert_eq!(next.email, None);
        assert_eq!(next.company.as_deref(), Some("Acme"));
        let clear_all: ContactPatch =
            serde_json::from_str(r#"{"name":null,"email":null}"#).unwrap();
        assert!(
            clear_all.apply(&current).is_err(),
            "a contact cannot lose every identity field"
        );
    }
}
