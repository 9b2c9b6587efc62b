//! Saved (canned) replies of the help desk, and their placeholders.
//!
//! A body may hold `{{contact.name}}`, `{{contact.first_name}}`, `{{ticket.subject}}` and
//! `{{agent.name}}`, each with an optional fallback after a bar: `{{contact.first_name|there}}`.
//! Placeholders are checked when the reply is saved (an unknown one is a 422 naming it) and
//! filled in by [`render`]: a value that is missing — or that the caller may not see, which the
//! caller decides before rendering — becomes the fallback, or nothing. Values are inserted as
//! plain text; a value is never read as a placeholder itself.

use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_BODY_CHARS: usize = 10_000;
pub const MAX_SHORTCUT_CHARS: usize = 32;
pub const MAX_FALLBACK_CHARS: usize = 100;

/// The placeholders a body may use.
pub const PLACEHOLDERS: &[&str] = &[
    "contact.name",
    "contact.first_name",
    "ticket.subject",
    "agent.name",
];

/// Body of `POST /api/v1/saved-replies`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedReplyIn {
    /// Unique in the workspace, regardless of case.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// The text, with placeholders such as `{{contact.first_name|there}}`.
    #[schemars(length(min = 1, max = 10000))]
    pub body: String,
    /// A short handle for the console (`refund`): letters, digits, `-` and `_`; unique.
    pub shortcut: Option<String>,
}

/// Body of `PATCH /api/v1/saved-replies/{id}`: any subset; `shortcut: null` removes it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedReplyPatch {
    #[schemars(length(min = 1, max = 100))]
    pub name: Option<String>,
    #[schemars(length(min = 1, max = 10000))]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub shortcut: Option<Option<String>>,
}

/// A saved reply as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SavedReplyOut {
    pub id: String,
    pub name: String,
    pub body: String,
    pub shortcut: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `POST /api/v1/saved-replies/{id}/preview`: the body as it would be sent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PreviewOut {
    pub body: String,
}

/// A validated saved reply, or a validated change (`None`: unchanged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedReplyChange {
    pub name: Option<String>,
    pub body: Option<String>,
    pub shortcut: Option<Option<String>>,
}

fn check_body(text: &str) -> Result<String, FieldError> {
    let trimmed = text.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        return Err(FieldError::new("body", "must not be empty"));
    }
    if len > MAX_BODY_CHARS {
        return Err(FieldError::new(
            "body",
            format!("must be at most {MAX_BODY_CHARS} characters (got {len})"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            "body",
            "must not contain control characters",
        ));
    }
    check_template(trimmed).map_err(|m| FieldError::new("body", m))?;
    Ok(trimmed.to_owned())
}

fn check_shortcut(text: &str) -> Result<String, FieldError> {
    let s = text.trim().to_lowercase();
    let len = s.chars().count();
    if len == 0 || len > MAX_SHORTCUT_CHARS {
        return Err(FieldError::new(
            "shortcut",
            format!("must be 1 to {MAX_SHORTCUT_CHARS} characters"),
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(FieldError::new(
            "shortcut",
            "may hold only letters a–z, digits, '-' and '_'",
        ));
    }
    Ok(s)
}

impl SavedReplyIn {
    pub fn validate(&self) -> Result<SavedReplyChange, Vec<FieldError>> {
        let mut errors = Errors::default();
        let change = SavedReplyChange {
            name: errors.take(validate::text("name", &self.name, 1, MAX_NAME_CHARS)),
            body: errors.take(check_body(&self.body)),
            shortcut: Some(match &self.shortcut {
                Some(s) => errors.take(check_shortcut(s)),
                None => None,
            }),
        };
        errors.finish(change)
    }
}

impl SavedReplyPatch {
    pub fn validate(&self) -> Result<SavedReplyChange, Vec<FieldError>> {
        let mut errors = Errors::default();
        let mut change = SavedReplyChange::default();
        if let Some(name) = &self.name {
            change.name = errors.take(validate::text("name", name, 1, MAX_NAME_CHARS));
        }
        if let Some(body) = &self.body {
            change.body = errors.take(check_body(body));
        }
        match &self.shortcut {
            Some(Some(s)) => change.shortcut = errors.take(check_shortcut(s)).map(Some),
            Some(None) => change.shortcut = Some(None),
            None => {}
        }
        if change == SavedReplyChange::default() && errors.is_empty() {
            errors.push("", "name at least one of name, body, shortcut");
        }
        errors.finish(change)
    }
}

enum Piece<'a> {
    Text(&'a str),
    Slot {
        key: &'a str,
        fallback: Option<&'a str>,
    },
}

/// Splits a template into text and placeholders; `Err` says what is wrong, naming every
/// unknown placeholder.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        pieces.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err("has a '{{' without its closing '}}'".to_owned());
        };
        let inner = &after[..close];
        if inner.contains("{{") {
            return Err("has a '{{' inside a placeholder".to_owned());
        }
        let (key, fallback) = match inner.split_once('|') {
            Some((k, f)) => (k.trim(), Some(f.trim())),
            None => (inner.trim(), None),
        };
        if let Some(f) = fallback
            && f.chars().count() > MAX_FALLBACK_CHARS
        {
            return Err(format!(
                "the fallback of {{{{{key}}}}} is longer than {MAX_FALLBACK_CHARS} characters"
            ));
        }
        if !PLACEHOLDERS.contains(&key) {
            let shown: String = key.chars().take(40).collect();
            unknown.push(format!("{{{{{shown}}}}}"));
        }
        pieces.push(Piece::Slot { key, fallback });
        rest = &after[close + 2..];
    }
    pieces.push(Piece::Text(rest));
    if !unknown.is_empty() {
        let known: Vec<String> = PLACEHOLDERS
            .iter()
            .map(|p| format!("{{{{{p}}}}}"))
            .collect();
        return Err(format!(
            "has unknown placeholder{} {}; the placeholders are {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            known.join(", ")
        ));
    }
    Ok(pieces)
}

/// Whether every placeholder of `template` is known and well-formed; `Err` explains.
pub fn check_template(template: &str) -> Result<(), String> {
    parse(template).map(|_| ())
}

/// What placeholders are filled with. `None` (or blank) renders the fallback, else nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values {
    pub contact_name: Option<String>,
    pub ticket_subject: Option<String>,
    pub agent_name: Option<String>,
}

impl Values {
    fn get(&self, key: &str) -> Option<&str> {
        let value = match key {
            "contact.name" => self.contact_name.as_deref(),
            "contact.first_name" => self
                .contact_name
                .as_deref()
                .and_then(|n| n.split_whitespace().next()),
            "ticket.subject" => self.ticket_subject.as_deref(),
            "agent.name" => self.agent_name.as_deref(),
            _ => None,
        };
        value.map(str::trim).filter(|v| !v.is_empty())
    }
}

/// Fills in a saved template. A template that does not parse (it was checked when saved, so
/// only a damaged row) is returned as it is rather than half-filled.
pub fn render(template: &str, values: &Values) -> String {
    let Ok(pieces) = parse(template) else {
        return template.to_owned();
    };
    let mut out = String::with_capacity(template.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot { key, fallback } => {
                out.push_str(values.get(key).or(fallback).unwrap_or_default())
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values {
            contact_name: Some("Ada Lovelace".into()),
            ticket_subject: Some("Leaking tap".into()),
            agent_name: Some("Support bot".into()),
        }
    }

    #[test]
    fn placeholders_are_filled_with_values_then_fallbacks_then_nothing() {
        let t = "Hi {{contact.first_name|there}}, about \"{{ ticket.subject }}\": fixed. — {{agent.name}}";
        assert_eq!(
            render(t, &values()),
            "Hi Ada, about \"Leaking tap\": fixed. — Support bot"
        );
        assert_eq!(
            render(t, &Values::default()),
            "Hi there, about \"\": fixed. — "
        );
        let blank = Values {
            contact_name: Some("   ".into()),
            ..values()
        };
        assert_eq!(
            render("{{contact.name|friend}}", &blank),
            "friend",
            "blank counts as missing"
        );
        assert_eq!(render("{{contact.name}}", &values()), "Ada Lovelace");
        assert_eq!(
            render("no placeholders {x}", &values()),
            "no placeholders {x}"
        );
    }

    #[test]
    fn a_value_is_never_read_as_a_placeholder() {
        let sneaky = Values {
            contact_name: Some("{{agent.name}}".into()),
            ..values()
        };
        assert_eq!(render("{{contact.name}}", &sneaky), "{{agent.name}}");
    }

    #[test]
    fn unknown_and_malformed_placeholders_are_named() {
        let err = check_template("Hi {{contact.email}} and {{ticket.number}}").unwrap_err();
        assert!(err.contains("{{contact.email}}"), "{err}");
        assert!(err.contains("{{ticket.number}}"), "{err}");
        assert!(
            err.contains("{{contact.first_name}}"),
            "lists the known ones: {err}"
        );
        assert!(
            check_template("Hi {{contact.name")
                .unwrap_err()
                .contains("closing")
        );
        assert!(check_template("{{a{{b}}").is_err());
        assert!(check_template(&format!("{{{{agent.name|{}}}}}", "x".repeat(101))).is_err());
        assert!(check_template("{{ contact.name | friend }} }} {").is_ok());
    }

    #[test]
    fn saved_replies_are_validated_whole() {
        let bad = SavedReplyIn {
            name: String::new(),
            body: "Hi {{contact.nickname}}".into(),
            shortcut: Some("no spaces".into()),
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["name", "body", "shortcut"]);
        let good = SavedReplyIn {
            name: " Refund ".into(),
            body: " Refunded. ".into(),
            shortcut: Some("Refund".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(good.name.as_deref(), Some("Refund"));
        assert_eq!(good.body.as_deref(), Some("Refunded."));
        assert_eq!(good.shortcut, Some(Some("refund".into())));
        let long = SavedReplyIn {
            name: "x".repeat(101),
            body: "x".repeat(10_001),
            shortcut: None,
        };
        assert_eq!(long.validate().unwrap_err().len(), 2);
        let empty: SavedReplyPatch = serde_json::from_str("{}").unwrap();
        assert!(empty.validate().is_err());
        let unset: SavedReplyPatch = serde_json::from_str(r#"{"shortcut": null}"#).unwrap();
        assert_eq!(unset.validate().unwrap().shortcut, Some(None));
    }
}
