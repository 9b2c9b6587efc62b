//! Field validation shared by every input DTO: each check returns a normalised value or a
//! [`FieldError`] that says what to do.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldError {
    /// The JSON field, e.g. `email` or `tags[2]`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects every problem with an input before failing, so the caller fixes them all at once.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// Trims, refuses control characters and enforces a length in characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if len < min {
        return Err(FieldError::new(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Invisible format characters that can disguise text on a screen or in a terminal: zero-width
/// characters, bidirectional overrides and isolates (`invoice\u{202e}fdp.exe`), joiners, the
/// byte-order mark, invisible operators, interlinear annotations and tag characters.
pub fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// As [`text`], and also refuses invisible format characters ([`is_format_char`]): for text
/// shown to an operator as written (a terminal, an audit trail), where a bidirectional
/// override or a zero-width character would make it read as something it is not.
pub fn plain_text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let text = text(field, value, min, max)?;
    if text.chars().any(is_format_char) {
        return Err(FieldError::new(
            field,
            "must not contain invisible format characters (bidirectional overrides, zero-width \
             characters)",
        ));
    }
    Ok(text)
}

/// A pragmatic address check: one `@`, a non-empty local part, a dotted domain of valid
/// labels, at most 254 characters. The domain is lower-cased; the local part is kept.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    let bad = || FieldError::new(field, "must be an email address like name@example.com");
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = value.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err(bad());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// Normalises a phone number to E.164 (`+` and 8–15 digits, no leading zero in the country
/// code). Spaces, dots, dashes and parentheses are allowed as separators; `00` is read as the
/// international prefix. A national number without a country code is refused, because guessing
/// the country would message the wrong person.
pub fn phone(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    let rest = if let Some(r) = value.strip_prefix('+') {
        r
    } else if let Some(r) = value.strip_prefix("00") {
        r
    } else {
        return Err(FieldError::new(
            field,
            "must be an international number starting with + and the country code, e.g. +14155550123",
        ));
    };
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(FieldError::new(
                    field,
                    "may contain only digits, spaces, dots, dashes and parentheses after the +",
                ));
            }
        }
    }
    if digits.starts_with('0') {
        return Err(FieldError::new(field, "country code cannot start with 0"));
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(FieldError::new(
            field,
            format!(
                "must have 8 to 15 digits including the country code (got {})",
                digits.len()
            ),
        ));
    }
    Ok(format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_common_forms_and_lowercases_domain() {
        assert_eq!(
            email("e", " Ada@Example.COM ").ok(),
            Some("Ada@example.com".into())
        );
        assert!(email("e", "a.b+tag@sub.example.org").is_ok());
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a@b..com",
            "a b@c.com",
            "a@-b.com",
            "a@b\u{7}.com",
        ] {
            assert!(email("e", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn phone_normalises_to_e164() {
        assert_eq!(
            phone("p", "+1 (415) 555-0123").ok(),
            Some("+14155550123".into())
        );
        assert_eq!(
            phone("p", "0049 151 2345 6789").ok(),
            Some("+4915123456789".into())
        );
        assert_eq!(
            phone("p", "+44.20.7946.0958").ok(),
            Some("+442079460958".into())
        );
    }

    #[test]
    fn phone_rejects_national_short_long_and_letters() {
        for bad in [
            "4155550123",
            "+1234",
            "+1234567890123456",
            "+0 415 555 0123",
            "+1 415 CALL NOW",
            "",
        ] {
            let err = phone("phone", bad).err();
            assert!(err.is_some(), "{bad:?} accepted");
        }
        let msg = phone("phone", "4155550123")
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(msg.contains("country code"), "{msg}");
    }

    #[test]
    fn text_trims_and_bounds() {
        assert_eq!(text("n", "  Ada ", 1, 5).ok(), Some("Ada".into()));
        assert!(text("n", "   ", 1, 5).is_err());
        assert!(text("n", "abcdef", 1, 5).is_err());
        assert!(text("n", "a\u{0}b", 1, 5).is_err());
        assert!(
            text("n", "ééééé", 1, 5).is_ok(),
            "length counts characters, not bytes"
        );
    }

    #[test]
    fn plain_text_refuses_invisible_and_control_characters() {
        for bad in [
            "paid\u{202e}dias",
            "zero\u{200b}width",
            "joiner\u{200d}",
            "\u{feff}bom",
            "isolate\u{2066}x\u{2069}",
            "esc\u{1b}[31mred",
            "bell\u{7}",
        ] {
            assert!(plain_text("reason", bad, 1, 500).is_err(), "{bad:?}");
        }
        assert_eq!(
            plain_text("reason", " invoice unpaid – café ", 1, 500).ok(),
            Some("invoice unpaid – café".into())
        );
    }
}

/// Workspace slugs: 3–40 of `a-z 0-9 -`, not starting or ending with `-`.
pub fn slug(field: &str, value: &str) -> Result<String, FieldError> {
    let ok = (3..=40).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "must be 3 to 40 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ))
    }
}

#[cfg(test)]
mod slug_tests {
    #[test]
    fn slugs() {
        assert!(super::slug("s", "acme-cleaning").is_ok());
        for bad in ["ab", "Acme", "-acme", "acme-", "ac me", "acmé"] {
            assert!(super::slug("s", bad).is_err(), "{bad}");
        }
    }
}

/// Free text of several lines (notes, descriptions, payment instructions): newlines kept
/// (`\r\n` as `\n`), other control and invisible format characters refused.
pub fn multiline(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.replace("\r\n", "\n");
    let value = value.trim();
    if value
        .chars()
        .any(|c| (c.is_control() && c != '\n') || is_format_char(c))
    {
        return Err(FieldError::new(
            field,
            "must not contain control or invisible format characters (newlines are fine)",
        ));
    }
    let len = value.chars().count();
    if len > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    Ok(value.to_owned())
}

/// Whether a text may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line ([`plain_text`]: no invisible format characters either).
    One,
    /// Several ([`multiline`]).
    Many,
}

/// An optional text: absent or blank is `None`; else checked as one line or several, at most
/// `max` characters, each problem pushed to `errors`.
pub fn optional(
    errors: &mut Errors,
    field: &str,
    value: Option<&str>,
    max: usize,
    lines: Lines,
) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    errors.take(match lines {
        Lines::One => plain_text(field, value, 1, max),
        Lines::Many => multiline(field, value, max),
    })
}
