//! The log redaction layer: every formatted log line passes through [`Redactor::redact`]
//! before it reaches any output, so emails, phone numbers, bearer tokens, API keys and
//! registered secrets never reach a log, whichever field or message carried them.
//! Threat note: docs/design/logging.md.

use regex::Regex;
use std::io::Write;
use std::sync::{LazyLock, RwLock};

struct Rule {
    pattern: Regex,
    replacement: &'static str,
}

// Order matters: tokens first, so an email inside a token is not half-replaced.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    [
        (r"hf_(?:live|test)_[A-Za-z0-9]+", "hf_live_[redacted]"),
        (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+", "Bearer [redacted]"),
        // Link and single-use tokens (preference center, opt-in confirmation, refresh, reset,
        // invitation, first-run setup, a customer's public job and invoice pages, a portal
        // sign-in link, a portal session, a portal password reset link) travel in URLs the access log records.
        (
            r"\bhf(?:pc|pj|pi|ps|pw|ml|oc|r|p|i|w)_[A-Za-z0-9_-]+",
            "hf_token_[redacted]",
        ),
        (
            r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
            "[email]",
        ),
        (r"(?:\+|%2[Bb])\d(?:[\s().-]?\d){6,16}", "[phone]"),
        (r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b", "[phone]"),
    ]
    .into_iter()
    .filter_map(|(pattern, replacement)| {
        Regex::new(pattern).ok().map(|pattern| Rule {
            pattern,
            replacement,
        })
    })
    .collect()
});

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a value that must be masked wherever it appears in a log line (master key,
/// database password, …). Values shorter than 8 characters are ignored: masking them would
/// shred ordinary words.
pub fn register_secret(value: &str) {
    if value.len() < 8 {
        return;
    }
    if let Ok(mut secrets) = SECRETS.write()
        && !secrets.iter().any(|s| s == value)
    {
        secrets.push(value.to_owned());
    }
}

pub struct Redactor;

/// `%XX` escapes of letters, digits, `_` and `-` written as the characters themselves, so a
/// token sent percent-encoded (`/portal/acme/sign-in/%68fml_…`) meets the rules below as the
/// plain one does. Other escapes are left as they are.
fn unescape_word_characters(text: &str) -> std::borrow::Cow<'_, str> {
    static ESCAPE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"%([0-9A-Fa-f]{2})").ok());
    let Some(escape) = ESCAPE.as_ref() else {
        return std::borrow::Cow::Borrowed(text);
    };
    if !text.contains('%') {
        return std::borrow::Cow::Borrowed(text);
    }
    escape.replace_all(text, |caps: &regex::Captures<'_>| {
        let whole = caps.get(0).map_or("", |m| m.as_str()).to_owned();
        let byte = caps
            .get(1)
            .and_then(|hex| u8::from_str_radix(hex.as_str(), 16).ok());
        match byte {
            Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                char::from(b).to_string()
            }
            _ => whole,
        }
    })
}

impl Redactor {
    pub fn redact(text: &str) -> String {
        let mut out = unescape_word_characters(text).into_owned();
        if let Ok(secrets) = SECRETS.read() {
            for secret in secrets.iter() {
                if out.contains(secret.as_str()) {
                    out = out.replace(secret.as_str(), "[secret]");
                }
            }
        }
        for rule in RULES.iter() {
            if rule.pattern.is_match(&out) {
                out = rule
                    .pattern
                    .replace_all(&out, rule.replacement)
                    .into_owned();
            }
        }
        out
    }
}

/// Wraps any `MakeWriter` so that what it writes is redacted first. The fmt layer writes each
/// event with one `write_all`, so one call sees one whole line.
#[derive(Clone)]
pub struct RedactingMakeWriter<M>(pub M);

pub struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(Redactor::redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<'a, M> tracing_subscriber::fmt::MakeWriter<'a> for RedactingMakeWriter<M>
where
    M: tracing_subscriber::fmt::MakeWriter<'a>,
{
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoded_tokens_are_redacted_too() {
        for line in [
            "uri=/portal/acme/sign-in/%68fml_Secret7Portal",
            "uri=/portal/acme/sign-in/hfml%5FSecret7Portal",
            "uri=/portal/acme/sign-in/%68%66%6d%6c_Secret7Portal",
        ] {
            let out = Redactor::redact(line);
            assert!(!out.contains("Secret7Portal"), "{line} → {out}");
        }
        // Other escapes are kept as they were.
        assert_eq!(Redactor::redact("q=a%20b%2Fc"), "q=a%20b%2Fc");
    }

    #[test]
    fn link_tokens_in_paths_are_redacted() {
        let line = "uri=/preferences/hfpc_FeCtO1RAbD4Bmblk-b8cMtU7wP1-ra9IKJfdkZh6s_4/unsubscribe \
                    /consent/confirm/hfoc_abcDEF123 hfr_xyz /setup/hfw_Qq9setup /reset/hfp_Rr7 \
                    /p/jobs/hfpj_Jb4public /p/invoices/hfpi_Iv5public \
                    /portal/acme/sign-in/hfml_Ml6portal cookie=hfps_Ps7portal \
                    /portal/acme/password-reset/hfpw_Pw8reset";
        let out = Redactor::redact(line);
        assert!(
            !out.contains("FeCtO1")
                && !out.contains("abcDEF")
                && !out.contains("xyz")
                && !out.contains("Qq9setup")
                && !out.contains("Rr7")
                && !out.contains("Jb4public")
                && !out.contains("Iv5public")
                && !out.contains("Ml6portal")
                && !out.contains("Ps7portal")
                && !out.contains("Pw8reset"),
            "{out}"
        );
        assert!(
            out.contains("/preferences/hf_token_[redacted]/unsubscribe"),
            "{out}"
        );
    }

    #[test]
    fn masks_emails_phones_tokens_and_keys() {
        let line = "user=Ada.Lovelace+crm@example.co.uk phone=+49 151 2345 6789 \
                    auth=\"Bearer eyJhbGciOi.J9.abc\" key=hf_live_AbC123xyz q=jo%40example.com \
                    other=(555) 123-4567 enc=%2B15551234567";
        let out = Redactor::redact(line);
        for leaked in [
            "Lovelace",
            "example.co.uk",
            "151 2345",
            "eyJhbGciOi",
            "AbC123xyz",
            "jo%40example",
            "123-4567",
            "15551234567",
        ] {
            assert!(!out.contains(leaked), "{leaked} leaked in {out}");
        }
        assert!(out.contains("[email]") && out.contains("[phone]"), "{out}");
    }

    #[test]
    fn keeps_timestamps_ids_and_durations_readable() {
        let line = "2026-11-23T09:17:09.123Z INFO request_id=0193f2a4-77 status=200 latency_ms=12 id=ct_0193f2a477aa";
        assert_eq!(Redactor::redact(line), line);
    }

    #[test]
    fn masks_registered_secrets() {
        register_secret("s3cr3t-db-password");
        register_secret("short");
        let out = Redactor::redact("connecting with s3cr3t-db-password as short");
        assert_eq!(out, "connecting with [secret] as short");
    }
}
