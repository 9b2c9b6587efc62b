//! Contact custom fields: a workspace's definitions (`FieldDefIn`, `FieldDefOut`) and the
//! checking of a contact's `custom` values against them. A value's canonical text
//! ([`canonical_text`]) is what the search index stores and what `?custom.key=` filters compare.

use crate::validate::{Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const MAX_FIELDS: usize = 100;
pub const MAX_OPTIONS: usize = 100;
pub const MAX_TEXT: usize = 1000;

/// The type of a custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Up to 1000 characters; found by `q`.
    Text,
    /// A JSON number (in CSV: a decimal like `-12.5`).
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of the definition's `options`.
    Select,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Date => "date",
            FieldType::Select => "select",
        }
    }
    pub fn parse(text: &str) -> Option<FieldType> {
        [
            FieldType::Text,
            FieldType::Number,
            FieldType::Date,
            FieldType::Select,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

/// Body of `POST /api/v1/contact-fields`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDefIn {
    /// `[a-z][a-z0-9_]{0,39}`; fixed once created. Values appear as `custom.<key>`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]{0,39}$"))]
    pub key: String,
    #[schemars(length(min = 1, max = 100))]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// The allowed values of a `select` field (1–100, each 1–100 characters, distinct).
    #[serde(default)]
    pub options: Vec<String>,
    /// Contacts created through the API or an import must have a value.
    #[serde(default)]
    pub required: bool,
}

/// Body of `PATCH /api/v1/contact-fields/{key}`. The key and type are fixed: changing the type
/// would leave stored values of the old type.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDefPatch {
    pub label: Option<String>,
    /// Replaces the options of a `select` field; values already stored stay as they are.
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct FieldDefOut {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub options: Vec<String>,
    pub required: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A definition after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    pub options: Vec<String>,
    pub required: bool,
}

impl From<&FieldDefOut> for FieldDef {
    fn from(d: &FieldDefOut) -> Self {
        FieldDef {
            key: d.key.clone(),
            label: d.label.clone(),
            field_type: d.field_type,
            options: d.options.clone(),
            required: d.required,
        }
    }
}

pub fn valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && key.len() <= 40
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

fn check_label(errors: &mut Errors, label: &str) -> String {
    errors
        .take(crate::validate::text("label", label, 1, 100))
        .unwrap_or_default()
}

fn check_options(errors: &mut Errors, field_type: FieldType, options: &[String]) -> Vec<String> {
    if field_type != FieldType::Select {
        if !options.is_empty() {
            errors.push("options", "only a select field has options");
        }
        return Vec::new();
    }
    if options.is_empty() || options.len() > MAX_OPTIONS {
        errors.push(
            "options",
            format!("a select field needs 1 to {MAX_OPTIONS} options"),
        );
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(options.len());
    for (i, option) in options.iter().enumerate() {
        let field = format!("options[{i}]");
        if let Some(option) = errors.take(crate::validate::text(&field, option, 1, 100)) {
            if out.contains(&option) {
                errors.push(field, format!("'{option}' is listed twice"));
            } else {
                out.push(option);
            }
        }
    }
    out
}

impl FieldDefIn {
    pub fn validate(&self) -> Result<FieldDef, Vec<FieldError>> {
        let mut errors = Errors::default();
        if !valid_key(&self.key) {
            errors.push(
                "key",
                "must be 1 to 40 characters: a lower-case letter, then lower-case letters, digits or _",
            );
        }
        let label = check_label(&mut errors, &self.label);
        let options = check_options(&mut errors, self.field_type, &self.options);
        errors.finish(FieldDef {
            key: self.key.clone(),
            label,
            field_type: self.field_type,
            options,
            required: self.required,
        })
    }
}

impl FieldDefPatch {
    pub fn apply(&self, current: &FieldDef) -> Result<FieldDef, Vec<FieldError>> {
        let mut errors = Errors::default();
        let label = match &self.label {
            Some(l) => check_label(&mut errors, l),
            None => current.label.clone(),
        };
        let options = match &self.options {
            Some(o) => check_options(&mut errors, current.field_type, o),
            None => current.options.clone(),
        };
        errors.finish(FieldDef {
            key: current.key.clone(),
            label,
            field_type: current.field_type,
            options,
            required: self.required.unwrap_or(current.required),
        })
    }
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD` (years 1–9999).
pub fn valid_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

/// A number in its one canonical form: whole numbers without a fraction (`5`, not `5.0`), so a
/// filter for `5` finds a value sent as `5.0`.
fn canonical_number(n: f64) -> Option<Value> {
    if !n.is_finite() {
        return None;
    }
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        return Some(Value::from(n as i64));
    }
    serde_json::Number::from_f64(n).map(Value::Number)
}

/// Checks one value against its definition; `Ok(value)` is the value as stored.
pub fn check_value(def: &FieldDef, field: &str, value: &Value) -> Result<Value, FieldError> {
    match def.field_type {
        FieldType::Text => match value {
            Value::String(s) => crate::validate::text(field, s, 1, MAX_TEXT).map(Value::String),
            _ => Err(FieldError::new(field, "must be a string (a text field)")),
        },
        FieldType::Number => value
            .as_f64()
            .and_then(canonical_number)
            .ok_or_else(|| FieldError::new(field, "must be a number (a number field)")),
        FieldType::Date => match value {
            Value::String(s) if valid_date(s.trim()) => Ok(Value::String(s.trim().to_owned())),
            _ => Err(FieldError::new(
                field,
                "must be a date written YYYY-MM-DD, e.g. 2024-02-29",
            )),
        },
        FieldType::Select => match value {
            Value::String(s) if def.options.iter().any(|o| o == s.trim()) => {
                Ok(Value::String(s.trim().to_owned()))
            }
            _ => Err(FieldError::new(
                field,
                format!("must be one of: {}", def.options.join(", ")),
            )),
        },
    }
}

/// Reads a value written as text (a CSV cell, a query parameter) as its field's type.
pub fn parse_text(def: &FieldDef, field: &str, text: &str) -> Result<Value, FieldError> {
    match def.field_type {
        FieldType::Number => {
            let trimmed = text.trim();
            let n: f64 = trimmed
                .parse()
                .ok()
                .filter(|_| {
                    trimmed.bytes().all(|b| {
                        b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                    })
                })
                .ok_or_else(|| {
                    FieldError::new(field, "must be a number like 42 or -12.5 (a number field)")
                })?;
            canonical_number(n).ok_or_else(|| FieldError::new(field, "must be a finite number"))
        }
        _ => check_value(def, field, &Value::String(text.to_owned())),
    }
}

/// The text the search index keeps for a stored value.
pub fn canonical_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `custom` object of a create: every key must be defined, every value valid, every
/// required field present. `null` values are the same as absent.
pub fn check_new(
    defs: &[FieldDef],
    custom: &serde_json::Map<String, Value>,
    errors: &mut Errors,
) -> BTreeMap<String, Value> {
    let merged = check_changes(defs, &BTreeMap::new(), custom, errors);
    for def in defs.iter().filter(|d| d.required) {
        if !merged.contains_key(&def.key) {
            errors.push(
                format!("custom.{}", def.key),
                format!("is required ({})", def.label),
            );
        }
    }
    merged
}

/// Merges `changes` into `current` (`null` clears a key, which a required field refuses).
pub fn check_changes(
    defs: &[FieldDef],
    current: &BTreeMap<String, Value>,
    changes: &serde_json::Map<String, Value>,
    errors: &mut Errors,
) -> BTreeMap<String, Value> {
    let mut out = current.clone();
    for (key, value) in changes {
        let field = format!("custom.{key}");
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            let known: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
            errors.push(
                field,
                if known.is_empty() {
                    "is not a custom field of this workspace (it has none; define them at /api/v1/contact-fields)".to_owned()
                } else {
                    format!(
                        "is not a custom field of this workspace; its fields: {}",
                        known.join(", ")
                    )
                },
            );
            continue;
        };
        if value.is_null() {
            if def.required {
                errors.push(
                    field,
                    format!("is required ({}) and cannot be cleared", def.label),
                );
            } else {
                out.remove(key);
            }
            continue;
        }
        if let Some(v) = errors.take(check_value(def, &field, value)) {
            out.insert(key.clone(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Vec<FieldDef> {
        vec![
            FieldDef {
                key: "tier".into(),
                label: "Tier".into(),
                field_type: FieldType::Select,
                options: vec!["gold".into(), "silver".into()],
                required: false,
            },
            FieldDef {
                key: "seats".into(),
                label: "Seats".into(),
                field_type: FieldType::Number,
                options: vec![],
                required: false,
            },
            FieldDef {
                key: "renewal".into(),
                label: "Renewal".into(),
                field_type: FieldType::Date,
                options: vec![],
                required: false,
            },
            FieldDef {
                key: "account_ref".into(),
                label: "Account".into(),
                field_type: FieldType::Text,
                options: vec![],
                required: true,
            },
        ]
    }

    fn map(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn keys_follow_the_pattern() {
        assert!(valid_key("a"));
        assert!(valid_key("tier_2"));
        assert!(valid_key(&"a".repeat(40)));
        for bad in ["", "2a", "_a", "A", "a-b", "a.b", "ä", &"a".repeat(41)] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn dates_are_real_calendar_dates() {
        assert!(valid_date("2024-02-29"));
        assert!(valid_date("2023-12-31"));
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-04-31",
            "23-01-01",
            "2023/01/01",
            "2023-1-01",
            "0000-01-01",
            "2023-01-+1",
        ] {
            assert!(!valid_date(bad), "{bad}");
        }
    }

    #[test]
    fn every_type_is_checked_and_refusals_name_the_key() {
        let mut errors = Errors::default();
        let out = check_new(
            &defs(),
            &map(
                json!({"tier": "gold", "seats": 5.0, "renewal": "2025-01-31", "account_ref": " A-1 "}),
            ),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(out["seats"], json!(5), "whole numbers lose their fraction");
        assert_eq!(out["account_ref"], json!("A-1"));

        let mut errors = Errors::default();
        check_new(
            &defs(),
            &map(json!({"tier": "bronze", "seats": "5", "renewal": "2025-02-30", "nope": 1})),
            &mut errors,
        );
        let errs = errors.finish(()).unwrap_err();
        let mut fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            vec![
                "custom.account_ref",
                "custom.nope",
                "custom.renewal",
                "custom.seats",
                "custom.tier",
            ]
        );
        let message = |f: &str| &errs.iter().find(|e| e.field == f).unwrap().message;
        assert!(message("custom.tier").contains("gold, silver"));
        assert!(message("custom.account_ref").contains("required"));
        assert!(
            message("custom.nope").contains("tier"),
            "names the known fields"
        );
    }

    #[test]
    fn changes_merge_and_null_clears_but_not_a_required_field() {
        let current: BTreeMap<String, Value> = [
            ("tier".to_owned(), json!("gold")),
            ("account_ref".to_owned(), json!("A")),
        ]
        .into();
        let mut errors = Errors::default();
        let out = check_changes(
            &defs(),
            &current,
            &map(json!({"tier": null, "seats": 2})),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(out.get("tier"), None);
        assert_eq!(out["seats"], json!(2));
        assert_eq!(out["account_ref"], json!("A"));
        let mut errors = Errors::default();
        check_changes(
            &defs(),
            &current,
            &map(json!({"account_ref": null})),
            &mut errors,
        );
        assert!(!errors.is_empty());
    }

    #[test]
    fn text_values_parse_as_their_type() {
        let d = defs();
        assert_eq!(parse_text(&d[1], "f", " -12.50 ").unwrap(), json!(-12.5));
        assert_eq!(parse_text(&d[1], "f", "7").unwrap(), json!(7));
        for bad in ["", "abc", "1,5", "NaN", "inf", "0x10"] {
            assert!(parse_text(&d[1], "f", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_text(&d[0], "f", "silver").unwrap(), json!("silver"));
        assert!(
            parse_text(&d[0], "f", "Silver").is_err(),
            "options are exact"
        );
        assert_eq!(canonical_text(&json!(7)), "7");
        assert_eq!(canonical_text(&json!("x")), "x");
    }

    #[test]
    fn definitions_are_validated() {
        let bad: FieldDefIn = serde_json::from_str(
            r#"{"key":"Bad Key","label":"","type":"select","options":["a","a",""]}"#,
        )
        .unwrap();
        let errs = bad.validate().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["key", "label", "options[1]", "options[2]"]);
        let opts: FieldDefIn =
            serde_json::from_str(r#"{"key":"n","label":"N","type":"number","options":["a"]}"#)
                .unwrap();
        assert_eq!(opts.validate().unwrap_err()[0].field, "options");
        assert!(
            serde_json::from_str::<FieldDefIn>(r#"{"key":"n","label":"N","type":"money"}"#)
                .is_err()
        );
    }
}
