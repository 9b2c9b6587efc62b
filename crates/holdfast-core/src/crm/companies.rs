//! Companies: the wire types (`CompanyIn`, `CompanyPatch`, `CompanyOut`), their validation, and
//! the one normalisation of a web domain (so `https://WWW.Example.com/about` and `example.com`
//! are the same company).

use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Body of `POST /api/v1/companies`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyIn {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// A web domain; a URL is accepted and cut to its host (`https://www.acme.com/x` →
    /// `acme.com`). Unique per workspace.
    #[schemars(length(max = 253))]
    pub domain: Option<String>,
    #[schemars(length(max = 5000))]
    pub notes: Option<String>,
}

/// Body of `PATCH /api/v1/companies/{id}` (absent = unchanged, null = clear).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub notes: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct CompanyOut {
    pub id: String,
    pub name: String,
    pub domain: Option<String>,
    pub notes: Option<String>,
    /// How many of the workspace's contacts are linked to this company.
    pub contacts_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A company's fields after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyFields {
    pub name: String,
    pub domain: Option<String>,
    pub notes: Option<String>,
}

/// Normalises a web domain: trimmed, lower-cased, without scheme, credentials, port, path,
/// query, fragment, trailing dot or a leading `www.`; then checked as a DNS name of at least
/// two labels (letters, digits, hyphens; the last label not all digits). Internationalised
/// names are accepted in their `xn--` form only, so one company cannot hide behind a look-alike.
pub fn normalise_domain(field: &str, value: &str) -> Result<String, FieldError> {
    let bad = |why: &str| FieldError::new(field, format!("{why}; send a domain like example.com"));
    let mut rest = value.trim().to_ascii_lowercase();
    if rest.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    if let Some((scheme, after)) = rest.split_once("://") {
        if scheme != "http" && scheme != "https" {
            return Err(bad("only http and https addresses can be cut to a domain"));
        }
        rest = after.to_owned();
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.truncate(host_end);
    if let Some((_, host)) = rest.rsplit_once('@') {
        rest = host.to_owned();
    }
    if let Some((host, port)) = rest.rsplit_once(':') {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("is not a domain"));
        }
        rest = host.to_owned();
    }
    let mut host = rest.strip_suffix('.').unwrap_or(&rest);
    if let Some(bare) = host.strip_prefix("www.")
        && bare.contains('.')
    {
        host = bare;
    }
    if host.is_empty() {
        return Err(bad("must not be empty"));
    }
    if !host.is_ascii() {
        return Err(bad(
            "must be ASCII (write an internationalised domain in its xn-- form)",
        ));
    }
    if host.len() > 253 {
        return Err(bad("is longer than 253 characters"));
    }
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad("is not a valid domain name"));
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("looks like an IP address, not a domain"));
    }
    Ok(host.to_owned())
}

fn check_notes(errors: &mut Errors, notes: Option<&str>) -> Option<String> {
    let notes = notes?;
    let trimmed = notes.trim();
    if trimmed.is_empty() {
        return None;
    }
    let len = trimmed.chars().count();
    if len > 5000 {
        errors.push(
            "notes",
            format!("must be at most 5000 characters (got {len})"),
        );
        return None;
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.push("notes", "must not contain control characters");
        return None;
    }
    Some(trimmed.to_owned())
}

impl CompanyIn {
    pub fn validate(&self) -> Result<CompanyFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = errors
            .take(validate::text("name", &self.name, 1, 200))
            .unwrap_or_default();
        let domain = self
            .domain
            .as_deref()
            .and_then(|d| errors.take(normalise_domain("domain", d)));
        let notes = check_notes(&mut errors, self.notes.as_deref());
        errors.finish(CompanyFields {
            name,
            domain,
            notes,
        })
    }
}

impl CompanyPatch {
    pub fn apply(&self, current: &CompanyFields) -> Result<CompanyFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = match &self.name {
            None => current.name.clone(),
            Some(n) => errors
                .take(validate::text("name", n, 1, 200))
                .unwrap_or_default(),
        };
        let domain = match &self.domain {
            None => current.domain.clone(),
            Some(None) => None,
            Some(Some(d)) => errors.take(normalise_domain("domain", d)),
        };
        let notes = match &self.notes {
            None => current.notes.clone(),
            Some(None) => None,
            Some(Some(n)) => check_notes(&mut errors, Some(n)),
        };
        errors.finish(CompanyFields {
            name,
            domain,
            notes,
        })
    }
}

impl CompanyOut {
    pub fn fields(&self) -> CompanyFields {
        CompanyFields {
            name: self.name.clone(),
            domain: self.domain.clone(),
            notes: self.notes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_cut_to_their_host_and_lower_cased() {
        for (input, want) in [
            ("example.com", "example.com"),
            ("  Example.COM ", "example.com"),
            ("https://www.Acme.co.uk/about?x=1#top", "acme.co.uk"),
            ("http://user:pw@shop.example.com:8443/", "shop.example.com"),
            ("example.com.", "example.com"),
            ("www.example.com", "example.com"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ] {
            assert_eq!(normalise_domain("domain", input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn bad_domains_are_refused_with_a_reason() {
        for input in [
            "",
            "localhost",
            "ftp://example.com",
            "exa mple.com",
            "-bad.example.com",
            "bücher.example",
            "10.0.0.1",
            "example..com",
            "example.com:http",
            &format!("{}.com", "a".repeat(64)),
        ] {
            let err = normalise_domain("domain", input).unwrap_err();
            assert_eq!(err.field, "domain");
            assert!(err.message.contains("example.com"), "{input}: {err:?}");
        }
    }

    #[test]
    fn company_needs_a_name_and_patch_keeps_what_is_absent() {
        let bad: CompanyIn =
            serde_json::from_str(r#"{"name":" ","domain":"nope","notes":"x"}"#).unwrap();
        let errs = bad.validate().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "domain"]);
        assert!(serde_json::from_str::<CompanyIn>(r#"{"name":"A","size":3}"#).is_err());
        let current = CompanyFields {
            name: "Acme".into(),
            domain: Some("acme.com".into()),
            notes: Some("n".into()),
        };
        let patch: CompanyPatch = serde_json::from_str(r#"{"domain":null}"#).unwrap();
        let next = patch.apply(&current).unwrap();
        assert_eq!(next.name, "Acme");
        assert_eq!(next.domain, None);
        assert_eq!(next.notes.as_deref(), Some("n"));
    }
}
