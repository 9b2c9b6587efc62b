//! The website chat widget's rules: allowed origins (parsed and normalised), the visitor's
//! submission (validated), identity verification (HMAC-SHA256 of the site's user id under the
//! workspace's identity secret, compared in constant time), and the signed form token that
//! proves a minimum fill time. Pure: the caller passes the clock's time and the keys.
//! Threat note: docs/design/widget.md.

use crate::validate::{self, Errors, FieldError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The public key a site embeds: `wgt_` and 43 base62 characters.
pub const KEY_PREFIX: &str = "wgt";
/// A visitor's token for their one conversation: `hfv_` and 43 base62 characters.
pub const VISITOR_PREFIX: &str = "hfv";
/// The identity-verification secret shown to admins: `wis_` and 43 base62 characters.
pub const IDENTITY_SECRET_PREFIX: &str = "wis";
/// The header a visitor's token travels in.
pub const VISITOR_HEADER: &str = "x-holdfast-visitor";

/// A submission's whole body is at most this many bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_MESSAGE_CHARS: usize = 5000;
pub const MAX_USER_ID_CHARS: usize = 200;
pub const MAX_ORIGINS: usize = 20;
/// A form token is good for a day: a visitor may leave the tab open, not forever.
pub const FORM_TOKEN_MAX_AGE_MS: i64 = 24 * 60 * 60 * 1000;

/// Whether `text` has the shape of a widget key (checked before any lookup).
pub fn is_key_shaped(text: &str) -> bool {
    text.strip_prefix(KEY_PREFIX)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|body| body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Normalises an origin to `scheme://host[:port]`: lower case, the scheme's default port
/// dropped, no path, query, user info or wildcard. `http` only for `localhost` and
/// `127.0.0.1` (local development); everything else must be `https`.
pub fn normalize_origin(text: &str) -> Result<String, String> {
    let bad = |why: &str| format!("'{}' {why}", text.chars().take(100).collect::<String>());
    let lower = text.trim().to_ascii_lowercase();
    let (scheme, rest) = lower
        .split_once("://")
        .ok_or_else(|| bad("is not an origin like https://www.example.com"))?;
    if scheme != "https" && scheme != "http" {
        return Err(bad("must start with https://"));
    }
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@', '*', '\\'])
        || rest.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad(
            "must be a scheme and host only (no path, query, user, wildcard), e.g. https://www.example.com",
        ));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => {
            let port: u16 = p
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad("has an invalid port"))?;
            (h, Some(port))
        }
        _ => (rest, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let host_ok = host.len() <= 253 && host.split('.').all(label_ok);
    if !host_ok {
        return Err(bad("has an invalid host name"));
    }
    let local = host == "localhost" || host == "127.0.0.1";
    if scheme == "http" && !local {
        return Err(bad(
            "must use https:// (plain http is allowed only for localhost and 127.0.0.1)",
        ));
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    Ok(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Whether a browser's `Origin` header is one of the allowed (normalised) origins. A header
/// that does not parse (including `null`) is never allowed.
pub fn origin_allowed(header: &str, allowed: &[String]) -> Option<String> {
    let origin = normalize_origin(header).ok()?;
    allowed.contains(&origin).then_some(origin)
}

/// Body of `POST /api/v1/widget/{key}/messages`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetMessageIn {
    #[schemars(length(max = 100))]
    pub name: Option<String>,
    pub email: Option<String>,
    #[schemars(length(max = 200))]
    pub subject: Option<String>,
    #[schemars(length(min = 1, max = 5000))]
    pub message: String,
    /// The token from `GET /api/v1/widget/{key}/config`, proving the form was filled by a person.
    pub form_token: Option<String>,
    /// A honeypot: people never see this field and leave it empty.
    pub website: Option<String>,
    /// The site's id of its signed-in user; needs `user_hash`.
    #[schemars(length(max = 200))]
    pub user_id: Option<String>,
    /// Lower-case hex HMAC-SHA256 of `user_id` under the workspace's identity secret.
    pub user_hash: Option<String>,
}

/// A validated submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetMessage {
    pub name: Option<String>,
    pub email: Option<String>,
    pub subject: Option<String>,
    pub message: String,
}

fn optional(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl WidgetMessageIn {
    /// Lengths, the email address, the message text (newlines allowed, other control
    /// characters refused). Every bad field at once.
    pub fn validate(&self) -> Result<WidgetMessage, Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = match optional(self.name.as_deref()) {
            Some(n) => errors
                .take(validate::text("name", n, 1, MAX_NAME_CHARS))
                .map(Some),
            None => Some(None),
        };
        let email = match optional(self.email.as_deref()) {
            Some(e) => errors.take(validate::email("email", e)).map(Some),
            None => Some(None),
        };
        let subject = match optional(self.subject.as_deref()) {
            Some(s) => errors
                .take(validate::text("subject", s, 1, MAX_SUBJECT_CHARS))
                .map(Some),
            None => Some(None),
        };
        let message = errors.take(check_message(&self.message));
        if let Some(user_id) = &self.user_id {
            // The hash is checked over exactly the id that is stored: no trimming between.
            if user_id.trim() != user_id {
                errors.push(
                    "user_id",
                    "must not start or end with spaces (sign the id exactly as sent)",
                );
            } else {
                errors.take(validate::text("user_id", user_id, 1, MAX_USER_ID_CHARS));
            }
        }
        match (name, email, subject, message) {
            (Some(name), Some(email), Some(subject), Some(message)) if errors.is_empty() => {
                Ok(WidgetMessage {
                    name,
                    email,
                    subject,
                    message,
                })
            }
            _ => errors.finish(WidgetMessage {
                name: None,
                email: None,
                subject: None,
                message: String::new(),
            }),
        }
    }

    /// The honeypot was filled in: only scripts see and fill it.
    pub fn honeypot_filled(&self) -> bool {
        self.website.as_deref().is_some_and(|w| !w.is_empty())
    }
}

fn check_message(text: &str) -> Result<String, FieldError> {
    let trimmed = text.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        return Err(FieldError::new("message", "must not be empty"));
    }
    if len > MAX_MESSAGE_CHARS {
        return Err(FieldError::new(
            "message",
            format!("must be at most {MAX_MESSAGE_CHARS} characters (got {len})"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            "message",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// The subject of a ticket opened from the widget: the visitor's, else the message's first
/// line, shortened.
pub fn subject_for(message: &WidgetMessage) -> String {
    if let Some(subject) = &message.subject {
        return subject.clone();
    }
    let first = message.message.lines().next().unwrap_or_default().trim();
    let mut out: String = first.chars().take(80).collect();
    if first.chars().count() > 80 {
        out.push('…');
    }
    if out.is_empty() {
        "Website chat".to_owned()
    } else {
        out
    }
}

/// Lower-case hex HMAC-SHA256 of `user_id` under `secret`: what the site's server computes.
pub fn identity_hash(secret: &str, user_id: &str) -> String {
    let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(user_id.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Whether `presented` is the identity hash of `user_id` (constant-time; upper-case hex is
/// accepted).
pub fn verify_identity(secret: &str, user_id: &str, presented: &str) -> bool {
    let expected = identity_hash(secret, user_id);
    let presented = presented.trim().to_ascii_lowercase();
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a form token was refused (all answered alike; the reason is for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormRefusal {
    Missing,
    Forged,
    TooFresh,
    Expired,
}

impl FormRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            FormRefusal::Missing => "form_token_missing",
            FormRefusal::Forged => "form_token_forged",
            FormRefusal::TooFresh => "form_token_too_fresh",
            FormRefusal::Expired => "form_token_expired",
        }
    }
}

/// Signs form tokens: HMAC-SHA256 under a key derived from the master key, over the widget
/// key and the time the form was served. `<issued_at_ms>.<base64url mac>`.
/// By generation: the newest signs, every one held still checks (a rotation's overlap).
#[derive(Clone)]
pub struct FormKey(crate::crypto::Generations);

impl std::fmt::Debug for FormKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormKey([redacted])")
    }
}

/// The label of the key a Holdfast that never rotated its token keys derives from the master.
pub const FORM_KEY_FIRST_LABEL: &str = "holdfast/widget-form/v1";

impl FormKey {
    pub fn derive(master_key: &[u8]) -> FormKey {
        FormKey::from_generations(vec![(
            1,
            crate::crypto::derive_key(master_key, FORM_KEY_FIRST_LABEL),
        )])
    }

    pub fn from_generations(keys: Vec<(u32, [u8; 32])>) -> FormKey {
        FormKey(crate::crypto::Generations::new(keys))
    }

    /// Puts these keys in place of the current ones, for every clone.
    pub fn replace(&self, keys: Vec<(u32, [u8; 32])>) {
        self.0.replace(keys);
    }

    fn mac(key: &[u8; 32], widget_key: &str, issued_at_ms: i64) -> String {
        let Ok(mut m) = <HmacSha256 as Mac>::new_from_slice(key) else {
            return String::new();
        };
        m.update(b"widget-form|");
        m.update(widget_key.as_bytes());
        m.update(b"|");
        m.update(issued_at_ms.to_string().as_bytes());
        URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    }

    pub fn issue(&self, widget_key: &str, now_ms: i64) -> String {
        let mac = self
            .0
            .newest()
            .map(|(_, key)| FormKey::mac(&key, widget_key, now_ms))
            .unwrap_or_default();
        format!("{now_ms}.{mac}")
    }

    /// Accepts a token this key issued for `widget_key` at least `min_fill_ms` and at most
    /// [`FORM_TOKEN_MAX_AGE_MS`] ago.
    pub fn check(
        &self,
        widget_key: &str,
        token: Option<&str>,
        now_ms: i64,
        min_fill_ms: i64,
    ) -> Result<(), FormRefusal> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(FormRefusal::Missing)?;
        let (issued, mac) = token.split_once('.').ok_or(FormRefusal::Forged)?;
        if issued.is_empty() || issued.len() > 15 || !issued.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FormRefusal::Forged);
        }
        let issued_at: i64 = issued.parse().map_err(|_| FormRefusal::Forged)?;
        let mut genuine = false;
        for (_, key) in self.0.all().iter() {
            let expected = FormKey::mac(key, widget_key, issued_at);
            genuine |=
                !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(mac.as_bytes()));
        }
        if !genuine {
            return Err(FormRefusal::Forged);
        }
        let age = now_ms.saturating_sub(issued_at);
        if age < min_fill_ms {
            return Err(FormRefusal::TooFresh);
        }
        if age > FORM_TOKEN_MAX_AGE_MS {
            return Err(FormRefusal::Expired);
        }
        Ok(())
    }
}

/// Body of `PUT /api/v1/widget`: fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettingsIn {
    pub enabled: Option<bool>,
    /// Origins allowed to submit, like `https://www.example.com` (at most 20).
    pub allowed_origins: Option<Vec<String>>,
}

/// A validated settings change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetSettingsChange {
    pub enabled: Option<bool>,
    pub allowed_origins: Option<Vec<String>>,
}

impl WidgetSettingsIn {
    pub fn validate(&self) -> Result<WidgetSettingsChange, Vec<FieldError>> {
        let mut errors = Errors::default();
        let origins = match &self.allowed_origins {
            None => None,
            Some(list) if list.len() > MAX_ORIGINS => {
                errors.push(
                    "allowed_origins",
                    format!("at most {MAX_ORIGINS} origins (got {})", list.len()),
                );
                None
            }
            Some(list) => {
                let mut out: Vec<String> = Vec::new();
                for (i, text) in list.iter().enumerate() {
                    match normalize_origin(text) {
                        Ok(o) if !out.contains(&o) => out.push(o),
                        Ok(_) => {}
                        Err(why) => errors.push(format!("allowed_origins[{i}]"), why),
                    }
                }
                Some(out)
            }
        };
        errors.finish(WidgetSettingsChange {
            enabled: self.enabled,
            allowed_origins: origins,
        })
    }
}

/// The widget's settings as admins see them (never the identity secret).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WidgetSettingsOut {
    /// The public key the site embeds (`data-key`).
    pub key: String,
    pub enabled: bool,
    pub allowed_origins: Vec<String>,
    /// Whether an identity-verification secret exists (reveal or rotate it to see it).
    pub identity_secret_set: bool,
    /// The tag to paste into the site.
    pub embed_snippet: String,
    pub updated_at: i64,
}

/// The identity secret, shown once on rotation and on an audited reveal.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IdentitySecretOut {
    /// Compute `user_hash` as lower-case hex HMAC-SHA256(secret, user_id) on your server.
    pub identity_secret: String,
}

/// `GET /api/v1/widget/{key}/config`: what the embedded form needs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WidgetConfigOut {
    /// Send back with the message; proves the form was open for a moment.
    pub form_token: String,
    pub min_fill_seconds: u32,
    /// How often the widget asks for new replies.
    pub poll_seconds: u32,
    pub max_message_chars: usize,
}

/// A message of the conversation as the visitor sees it: theirs or the team's (notes never).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VisitorMessage {
    pub id: String,
    /// `visitor` or `team`.
    pub from: &'static str,
    pub body: String,
    pub created_at: i64,
}

/// `POST /api/v1/widget/{key}/messages` answers with the visitor's token (keep it to follow
/// up and read replies) and the stored message.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WidgetSubmitOut {
    pub visitor_token: String,
    pub message: VisitorMessage,
}

/// `GET /api/v1/widget/{key}/conversation`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConversationOut {
    /// `open`, `pending`, `resolved` or `closed`.
    pub status: String,
    pub messages: Vec<VisitorMessage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_only_safe_ones_parse() {
        let ok = |s: &str| normalize_origin(s).unwrap();
        assert_eq!(ok("HTTPS://WWW.Example.COM"), "https://www.example.com");
        assert_eq!(ok("https://example.com:443"), "https://example.com");
        assert_eq!(ok("https://example.com:8443"), "https://example.com:8443");
        assert_eq!(ok("http://localhost:3000"), "http://localhost:3000");
        assert_eq!(ok("http://127.0.0.1:80"), "http://127.0.0.1");
        for bad in [
            "http://example.com",
            "https://example.com/",
            "https://example.com/path",
            "https://*.example.com",
            "https://user@example.com",
            "ftp://example.com",
            "example.com",
            "null",
            "https://",
            "https://exa mple.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://-bad.example.com",
            "https://example.com?x=1",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn only_listed_origins_are_allowed() {
        let allowed = vec!["https://shop.example.com".to_owned()];
        assert_eq!(
            origin_allowed("https://SHOP.example.com:443", &allowed).as_deref(),
            Some("https://shop.example.com")
        );
        assert!(origin_allowed("https://evil.example.com", &allowed).is_none());
        assert!(origin_allowed("https://shop.example.com.evil.com", &allowed).is_none());
        assert!(origin_allowed("null", &allowed).is_none());
        assert!(origin_allowed("", &allowed).is_none());
    }

    fn submission(message: &str) -> WidgetMessageIn {
        WidgetMessageIn {
            message: message.to_owned(),
            ..WidgetMessageIn::default()
        }
    }

    #[test]
    fn submissions_are_validated_field_by_field() {
        let good = WidgetMessageIn {
            name: Some("  Grace ".into()),
            email: Some("Grace@Example.COM".into()),
            subject: Some(" ".into()),
            ..submission(" Hello\nthere ")
        }
        .validate()
        .unwrap();
        assert_eq!(good.name.as_deref(), Some("Grace"));
        assert_eq!(good.email.as_deref(), Some("Grace@example.com"));
        assert_eq!(good.subject, None);
        assert_eq!(good.message, "Hello\nthere");
        assert_eq!(subject_for(&good), "Hello");

        let errors = WidgetMessageIn {
            name: Some("n".repeat(101)),
            email: Some("not-an-address".into()),
            subject: Some("s".repeat(201)),
            user_id: Some(String::new()),
            ..submission("")
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "email", "subject", "message", "user_id"],
            "{errors:?}"
        );
        // The hash covers exactly the stored id: one sent with spaces around is refused,
        // never trimmed into another user's id.
        let padded = WidgetMessageIn {
            user_id: Some("alice ".into()),
            ..submission("hi")
        }
        .validate()
        .unwrap_err();
        assert_eq!(padded[0].field, "user_id", "{padded:?}");
        assert!(
            WidgetMessageIn {
                user_id: Some("alice".into()),
                ..submission("hi")
            }
            .validate()
            .is_ok()
        );
        assert!(submission(&"m".repeat(5000)).validate().is_ok());
        assert!(submission(&"m".repeat(5001)).validate().is_err());
        assert!(submission("bell \u{7}").validate().is_err());
        assert!(!submission("x").honeypot_filled());
        assert!(
            WidgetMessageIn {
                website: Some("http://spam".into()),
                ..submission("x")
            }
            .honeypot_filled()
        );
    }

    #[test]
    fn identity_hashes_verify_only_for_their_user_and_secret() {
        // Known answer, computed independently:
        // echo -n "user-42" | openssl dgst -sha256 -hmac "wis_secret"
        let hash = identity_hash("wis_secret", "user-42");
        assert_eq!(
            hash,
            "ed8c934550c3545a3ec8f18f5678f2809e29018bdb810d63f5353b011c98ce19"
        );
        assert!(verify_identity("wis_secret", "user-42", &hash));
        assert!(verify_identity(
            "wis_secret",
            "user-42",
            &hash.to_ascii_uppercase()
        ));
        assert!(!verify_identity("wis_secret", "user-43", &hash));
        assert!(!verify_identity("wis_other", "user-42", &hash));
        assert!(!verify_identity("wis_secret", "user-42", &hash[..63]));
        assert!(!verify_identity("wis_secret", "user-42", ""));
    }

    #[test]
    fn form_tokens_prove_a_minimum_fill_time_and_expire() {
        let key = FormKey::derive(b"master");
        let widget = "wgt_a";
        let token = key.issue(widget, 1_000_000);
        assert_eq!(
            key.check(widget, Some(&token), 1_000_500, 3000),
            Err(FormRefusal::TooFresh)
        );
        assert_eq!(key.check(widget, Some(&token), 1_003_000, 3000), Ok(()));
        assert_eq!(
            key.check(
                widget,
                Some(&token),
                1_000_000 + FORM_TOKEN_MAX_AGE_MS + 1,
                3000
            ),
            Err(FormRefusal::Expired)
        );
        assert_eq!(
            key.check("wgt_b", Some(&token), 1_003_000, 3000),
            Err(FormRefusal::Forged)
        );
        assert_eq!(
            FormKey::derive(b"other").check(widget, Some(&token), 1_003_000, 3000),
            Err(FormRefusal::Forged)
        );
        // Moving the time back to pass the fill check breaks the signature.
        let (_, mac) = token.split_once('.').unwrap();
        let backdated = format!("990000.{mac}");
        assert_eq!(
            key.check(widget, Some(&backdated), 1_003_000, 3000),
            Err(FormRefusal::Forged)
        );
        for junk in ["", "nodot", ".", "-5.abc", "99999999999999999999.x"] {
            assert!(key.check(widget, Some(junk), 1_003_000, 3000).is_err());
        }
        assert_eq!(
            key.check(widget, None, 1_003_000, 3000),
            Err(FormRefusal::Missing)
        );
    }

    #[test]
    fn settings_changes_normalise_and_bound_origins() {
        let change = WidgetSettingsIn {
            enabled: Some(true),
            allowed_origins: Some(vec![
                "https://A.example.com".into(),
                "https://a.example.com:443".into(),
            ]),
        }
        .validate()
        .unwrap();
        assert_eq!(
            change.allowed_origins.unwrap(),
            ["https://a.example.com".to_owned()]
        );
        let errors = WidgetSettingsIn {
            enabled: None,
            allowed_origins: Some(vec!["https://ok.example.com".into(), "http://x.com".into()]),
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors[0].field, "allowed_origins[1]");
        let many: Vec<String> = (0..21)
            .map(|i| format!("https://s{i}.example.com"))
            .collect();
        assert!(
            WidgetSettingsIn {
                enabled: None,
                allowed_origins: Some(many)
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn keys_are_checked_for_shape() {
        assert!(is_key_shaped(&format!("wgt_{}", "a".repeat(43))));
        assert!(!is_key_shaped(&format!("wgt_{}", "a".repeat(42))));
        assert!(!is_key_shaped(&format!("wgx_{}", "a".repeat(43))));
        assert!(!is_key_shaped(&format!("wgt_{}!", "a".repeat(42))));
    }
}
