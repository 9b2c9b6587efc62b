//! Inbound webhooks, the pure part: one signature verifier per provider, each implementing
//! that provider's published scheme, plus the replay memory the server mirrors in a table.
//!
//! Threat: anyone can POST to a public webhook URL. A delivery is accepted only when its
//! signature verifies under the workspace's secret (compared in constant time), its signed
//! timestamp is within [`TOLERANCE_MS`] of now where the scheme has one, and its
//! [`Verified::replay_key`] has not been seen before [`Verified::replay_until_ms`]. Schemes
//! without a signed timestamp (Meta, Twilio, Square) are remembered for
//! [`REMEMBER_UNSIGNED_MS`]; after that only event-id idempotency stops a replay.
//! Some schemes sign less than the whole request (Mailgun signs only its timestamp and token,
//! Mercado Pago only `data.id`, the request id and the timestamp): their bodies are hints, and
//! the server should fetch the resource from the provider before acting on it.
//!
//! No IO and no clock: the time comes in as `now_ms` (UTC milliseconds). Nothing here panics
//! on input, and no error text carries a secret or a computed signature.

pub mod mailgun;
pub mod mercadopago;
pub mod meta;
pub mod paddle;
pub mod square;
pub mod standard;
pub mod stripe;
pub mod twilio;

use std::collections::{BTreeSet, HashMap};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Clock skew and delivery delay tolerated on a signed timestamp, either way.
pub const TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// How long a delivery without a signed timestamp is remembered for replay detection.
pub const REMEMBER_UNSIGNED_MS: i64 = 24 * 60 * 60 * 1000;

/// Signature headers longer than this are refused before any parsing.
const MAX_HEADER_LEN: usize = 8 * 1024;

/// At most this many candidate signatures from one header are compared.
const MAX_SIGNATURES: usize = 16;

/// Event ids and types longer than this are not reported (they would only bloat storage).
const MAX_FACT_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Stripe,
    Square,
    Mailgun,
    Meta,
    MercadoPago,
    Paddle,
    Twilio,
    Standard,
}

impl Provider {
    pub const ALL: [Provider; 8] = [
        Self::Stripe,
        Self::Square,
        Self::Mailgun,
        Self::Meta,
        Self::MercadoPago,
        Self::Paddle,
        Self::Twilio,
        Self::Standard,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Square => "square",
            Self::Mailgun => "mailgun",
            Self::Meta => "meta",
            Self::MercadoPago => "mercadopago",
            Self::Paddle => "paddle",
            Self::Twilio => "twilio",
            Self::Standard => "standard",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Provider> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// What the workspace must paste when it connects this provider.
    pub fn secret_hint(self) -> &'static str {
        match self {
            Self::Stripe => "the endpoint's signing secret (whsec_…)",
            Self::Square => "the webhook subscription's signature key",
            Self::Mailgun => "the HTTP webhook signing key (Sending → Webhooks)",
            Self::Meta => "the app secret (App settings → Basic)",
            Self::MercadoPago => "the application's secret signature (Webhooks → Configure)",
            Self::Paddle => "the notification destination's secret key (pdl_ntfset_…)",
            Self::Twilio => "the account's auth token (32 hexadecimal characters)",
            Self::Standard => "the endpoint's signing secret (whsec_ then base64)",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}

/// One HTTP delivery, as received.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    /// The full URL the provider posted to, as the provider saw it (public origin + path +
    /// query). Square and Twilio sign it; Mercado Pago reads `data.id` from its query.
    pub url: &'a str,
    /// Header names in lowercase.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> InboundRequest<'a> {
    /// The first header of that name, trimmed; `None` when absent or blank.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A required signature header, bounded in length.
    fn signature_header(&self, name: &'static str) -> Result<&'a str, VerifyError> {
        let value = self.header(name).ok_or(VerifyError::MissingHeader(name))?;
        if value.len() > MAX_HEADER_LEN {
            return Err(VerifyError::Malformed("the signature header is too long"));
        }
        Ok(value)
    }

    /// The lowercased media type of the body, without parameters.
    fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// What a verified delivery tells the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The provider's id of this event or delivery when the scheme or body carries one (the
    /// idempotency key when stored). For Meta and Twilio, which carry none, a digest of the
    /// signed content (`sha256:…`): a resent delivery has the same one.
    pub event_id: Option<String>,
    /// The event's type when the body names one (Stripe's `type`, Paddle's `event_type`…).
    pub event_type: Option<String>,
    /// Unique per signed delivery and the same when that delivery is replayed:
    /// `<provider>:<hex of the signature that verified>`. Remember it until `replay_until_ms`.
    pub replay_key: String,
    pub replay_until_ms: i64,
}

/// Why a delivery was refused. The texts are safe to show the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the request has no {0} header")]
    MissingHeader(&'static str),
    #[error("the request body has no {0} field")]
    MissingField(&'static str),
    #[error("the request is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature does not match")]
    BadSignature,
    #[error("the signed timestamp is too far from the current time")]
    Stale,
    #[error("this delivery has already been received")]
    Replayed,
    #[error("the configured secret is unusable: {0}")]
    BadSecret(&'static str),
}

pub trait Verifier: Send + Sync {
    fn provider(&self) -> Provider;

    fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError>;

    /// The shape check run when a workspace saves its secret.
    fn validate_secret(&self, secret: &str) -> Result<(), VerifyError> {
        plain_secret(secret).map(|_| ())
    }
}

/// The verifier for a provider.
pub fn verifier(provider: Provider) -> &'static dyn Verifier {
    match provider {
        Provider::Stripe => &stripe::StripeVerifier,
        Provider::Square => &square::SquareVerifier,
        Provider::Mailgun => &mailgun::MailgunVerifier,
        Provider::Meta => &meta::MetaVerifier,
        Provider::MercadoPago => &mercadopago::MercadoPagoVerifier,
        Provider::Paddle => &paddle::PaddleVerifier,
        Provider::Twilio => &twilio::TwilioVerifier,
        Provider::Standard => &standard::StandardVerifier,
    }
}

/// Checks the shape of a secret when a workspace saves it (e.g. Standard Webhooks needs
/// `whsec_` and valid base64 of at least 24 bytes).
pub fn validate_secret(provider: Provider, secret: &str) -> Result<(), VerifyError> {
    verifier(provider).validate_secret(secret)
}

/// An in-memory replay memory with the semantics the server implements with a table: the
/// first sighting of a key before its expiry passes, a second is [`VerifyError::Replayed`],
/// expired keys are forgotten. Bounded: when full it forgets expired keys first, then the
/// ones closest to expiry.
#[derive(Debug, Default)]
pub struct ReplayWindow {
    capacity: usize,
    until: HashMap<String, i64>,
    by_expiry: BTreeSet<(i64, String)>,
}

impl ReplayWindow {
    pub fn new(capacity: usize) -> Self {
        ReplayWindow {
            capacity: capacity.max(1),
            until: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.until.is_empty()
    }

    pub fn check(&mut self, verified: &Verified, now_ms: i64) -> Result<(), VerifyError> {
        self.forget_expired(now_ms);
        if verified.replay_until_ms <= now_ms {
            return Err(VerifyError::Stale);
        }
        if self.until.contains_key(&verified.replay_key) {
            return Err(VerifyError::Replayed);
        }
        while self.until.len() >= self.capacity {
            let Some((_, key)) = self.by_expiry.pop_first() else {
                break;
            };
            self.until.remove(&key);
        }
        self.until
            .insert(verified.replay_key.clone(), verified.replay_until_ms);
        self.by_expiry
            .insert((verified.replay_until_ms, verified.replay_key.clone()));
        Ok(())
    }

    fn forget_expired(&mut self, now_ms: i64) {
        while let Some((until, _)) = self.by_expiry.first()
            && *until <= now_ms
        {
            if let Some((_, key)) = self.by_expiry.pop_first() {
                self.until.remove(&key);
            }
        }
    }
}

// ----- shared helpers for the provider modules -----

/// The secret as HMAC key bytes: present, without surrounding whitespace.
fn plain_secret(secret: &str) -> Result<&[u8], VerifyError> {
    if secret.is_empty() {
        return Err(VerifyError::BadSecret("no secret is configured"));
    }
    if secret.len() > 1024 {
        return Err(VerifyError::BadSecret("the secret is too long"));
    }
    if secret.chars().any(char::is_control) || secret.trim() != secret {
        return Err(VerifyError::BadSecret(
            "the secret has spaces or control characters around or in it",
        ));
    }
    Ok(secret.as_bytes())
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32], VerifyError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| VerifyError::BadSecret("the secret cannot key an HMAC"))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 20], VerifyError> {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key)
        .map_err(|_| VerifyError::BadSecret("the secret cannot key an HMAC"))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
    }
    digest.finalize().into()
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Hex (either case) to bytes; `None` on odd length or a non-hex character.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

fn from_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// True when any presented hex signature equals `expected` (compared in constant time);
/// candidates that are not hex simply do not match.
fn any_hex_matches<'s>(candidates: impl IntoIterator<Item = &'s str>, expected: &[u8]) -> bool {
    candidates
        .into_iter()
        .take(MAX_SIGNATURES)
        .filter_map(from_hex)
        .fold(false, |found, presented| {
            found | ct_eq(&presented, expected)
        })
}

/// `key=value` items of a signature header split on `separator`, keys lowercased.
fn header_items(header: &str, separator: char) -> impl Iterator<Item = (String, &str)> {
    header.split(separator).filter_map(|item| {
        let (key, value) = item.split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        (!key.is_empty() && !value.is_empty()).then(|| (key.to_ascii_lowercase(), value))
    })
}

/// The scheme Stripe and Paddle share: a header `<ts>=<unix seconds><sep><sig>=<hex>…`, each
/// signature HMAC-SHA256 keyed with the secret as text over `"{ts}{joiner}{raw body}"`, several
/// while a secret rotates; the event's id and type come from top-level JSON fields.
pub(crate) struct TimestampedHmac {
    pub provider: Provider,
    pub header: &'static str,
    pub separator: char,
    pub timestamp_name: &'static str,
    pub signature_name: &'static str,
    pub missing_signature: &'static str,
    pub joiner: &'static [u8],
    pub id_field: &'static str,
    pub type_field: &'static str,
}

impl TimestampedHmac {
    pub(crate) fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let key = plain_secret(secret)?;
        let header = request.signature_header(self.header)?;
        let (timestamp, signatures) = timestamp_and_signatures(
            header,
            self.separator,
            self.timestamp_name,
            self.signature_name,
            self.missing_signature,
        )?;
        let signed_ms = seconds_to_ms(timestamp)?;
        let expected = hmac_sha256(key, &[timestamp.as_bytes(), self.joiner, request.body])?;
        if !any_hex_matches(signatures, &expected) {
            return Err(VerifyError::BadSignature);
        }
        check_fresh(signed_ms, now_ms)?;
        let body = json_object(request.body);
        Ok(Verified {
            event_id: json_text(body.as_ref(), &[self.id_field]),
            event_type: json_text(body.as_ref(), &[self.type_field]),
            replay_key: replay_key(self.provider, &expected),
            replay_until_ms: signed_until(signed_ms),
        })
    }
}

/// A `ts=…,v1=…,v1=…`-style header (Stripe, Paddle, Mercado Pago): the first item named
/// `timestamp_name` and every item named `signature_name`; others are ignored. Both must be
/// present.
fn timestamp_and_signatures<'h>(
    header: &'h str,
    separator: char,
    timestamp_name: &str,
    signature_name: &str,
    missing_signature: &'static str,
) -> Result<(&'h str, Vec<&'h str>), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for (name, value) in header_items(header, separator) {
        if name == timestamp_name && timestamp.is_none() {
            timestamp = Some(value);
        } else if name == signature_name {
            signatures.push(value);
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed(
        "the signature header has no timestamp",
    ))?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed(missing_signature));
    }
    Ok((timestamp, signatures))
}

/// A Unix timestamp in seconds (decimal digits only) as milliseconds.
fn seconds_to_ms(text: &str) -> Result<i64, VerifyError> {
    digits(text)?
        .checked_mul(1000)
        .ok_or(VerifyError::Malformed("the timestamp is out of range"))
}

/// Decimal digits only, at most 15 of them.
fn digits(text: &str) -> Result<i64, VerifyError> {
    if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed("the timestamp is not a number"));
    }
    text.parse()
        .map_err(|_| VerifyError::Malformed("the timestamp is not a number"))
}

/// Within [`TOLERANCE_MS`] of now, either way.
fn check_fresh(signed_ms: i64, now_ms: i64) -> Result<(), VerifyError> {
    if now_ms.abs_diff(signed_ms) > TOLERANCE_MS.unsigned_abs() {
        return Err(VerifyError::Stale);
    }
    Ok(())
}

fn replay_key(provider: Provider, mac: &[u8]) -> String {
    format!("{}:{}", provider.slug(), to_hex(mac))
}

/// `until` for a delivery without a signed timestamp.
fn unsigned_until(now_ms: i64) -> i64 {
    now_ms.saturating_add(REMEMBER_UNSIGNED_MS)
}

/// `until` for a delivery signed at `signed_ms`: after that it is stale anyway.
fn signed_until(signed_ms: i64) -> i64 {
    signed_ms.saturating_add(TOLERANCE_MS)
}

/// The body as a JSON object, if it is one.
fn json_object(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

/// A string or integer at `path`, as text, when short enough to be an id or a type.
fn json_text(value: Option<&Value>, path: &[&str]) -> Option<String> {
    let mut at = value?;
    for key in path {
        at = at.get(key)?;
    }
    let text = match at {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty() && text.len() <= MAX_FACT_LEN).then_some(text)
}

/// Percent-decoding as browsers and SDKs do it: `+` is a space, a bad escape stays literal.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push((hi << 4) | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// `application/x-www-form-urlencoded` pairs, in order; values must decode to UTF-8.
fn form_pairs(text: &[u8]) -> Result<Vec<(String, String)>, VerifyError> {
    text.split(|b| *b == b'&')
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (name, value) = match item.iter().position(|b| *b == b'=') {
                Some(at) => (item.get(..at), item.get(at + 1..)),
                None => (Some(item), Some(&[][..])),
            };
            let decode = |part: Option<&[u8]>| {
                String::from_utf8(percent_decode(part.unwrap_or_default()))
                    .map_err(|_| VerifyError::Malformed("a form field is not UTF-8"))
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// The query string of a URL (without the fragment), if any.
fn query_of(url: &str) -> &str {
    let url = url.split('#').next().unwrap_or_default();
    url.split_once('?').map(|(_, q)| q).unwrap_or_default()
}

/// The first value of a query parameter, decoded.
fn query_param(url: &str, name: &str) -> Option<String> {
    form_pairs(query_of(url).as_bytes())
        .ok()?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// A received event as the API shows it.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct InboundEventOut {
    pub id: String,
    pub provider: String,
    /// The provider's event id (or `sha256:` of the body when the provider sends none).
    pub event_key: String,
    pub event_type: Option<String>,
    pub content_type: String,
    /// The body exactly as received and verified (base64 when `body_encoding` says so); empty
    /// when withheld.
    pub body: String,
    /// `utf8`, or `base64` for a body that is not text (a mail with attachments), or
    /// `withheld` when the caller's role hides any contact field: a raw payload (a customer's
    /// mail, a payment with their address) names the person and cannot be cut field by field.
    pub body_encoding: String,
    /// `received`, then `handled`; or `unmatched`: a payment no invoice of this workspace
    /// could take, never applied (`outcome` says why).
    pub state: String,
    pub received_at: i64,
    pub handled_at: Option<i64>,
    /// What handling it came to, when there is more to say: the money applied, or why not.
    pub outcome: Option<String>,
}

impl InboundEventOut {
    /// The event without its body, for a reader whose role hides any contact field: a raw
    /// payload names the person and cannot be cut field by field.
    pub fn withheld(self) -> Self {
        InboundEventOut {
            body: String::new(),
            body_encoding: "withheld".to_owned(),
            ..self
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders shared by the provider tests.

    use super::*;

    pub const NOW_MS: i64 = 1_700_000_000_000;

    pub fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    pub fn hmac256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        hmac_sha256(key, parts).unwrap()
    }

    pub fn hmac1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
        hmac_sha1(key, parts).unwrap()
    }

    pub fn hex(bytes: &[u8]) -> String {
        to_hex(bytes)
    }

    pub fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    /// Verifying the same delivery twice: the second is refused by the replay memory.
    pub fn assert_replay_refused(verified: &Verified, now_ms: i64) {
        let mut window = ReplayWindow::new(16);
        assert_eq!(window.check(verified, now_ms), Ok(()));
        assert_eq!(
            window.check(verified, now_ms + 1),
            Err(VerifyError::Replayed)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    fn delivery(key: &str, until: i64) -> Verified {
        Verified {
            event_id: None,
            event_type: None,
            replay_key: key.to_owned(),
            replay_until_ms: until,
        }
    }

    #[test]
    fn every_slug_round_trips_and_the_registry_answers_for_each_provider() {
        let mut slugs: Vec<_> = Provider::ALL.iter().map(|p| p.slug()).collect();
        for p in Provider::ALL {
            assert_eq!(Provider::from_slug(p.slug()), Some(p));
            assert_eq!(verifier(p).provider(), p);
            assert!(!p.secret_hint().is_empty());
            assert_eq!(p.to_string(), p.slug());
        }
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), Provider::ALL.len());
        assert_eq!(Provider::from_slug("Stripe"), None);
        assert_eq!(Provider::from_slug(""), None);
    }

    #[test]
    fn replay_window_refuses_a_second_sighting_until_expiry_then_forgets() {
        let mut window = ReplayWindow::new(8);
        let d = delivery("stripe:aa", NOW_MS + 1000);
        assert_eq!(window.check(&d, NOW_MS), Ok(()));
        assert_eq!(window.check(&d, NOW_MS + 999), Err(VerifyError::Replayed));
        // Past its expiry the key is forgotten, and the delivery itself is stale.
        assert_eq!(window.check(&d, NOW_MS + 1000), Err(VerifyError::Stale));
        assert!(window.is_empty());
        let later = delivery("stripe:aa", NOW_MS + 5000);
        assert_eq!(window.check(&later, NOW_MS + 1000), Ok(()));
    }

    #[test]
    fn replay_window_stays_bounded_evicting_expired_keys_first() {
        let mut window = ReplayWindow::new(2);
        assert_eq!(window.check(&delivery("a", NOW_MS + 10), NOW_MS), Ok(()));
        assert_eq!(window.check(&delivery("b", NOW_MS + 500), NOW_MS), Ok(()));
        // "a" has expired by now: it goes, "b" stays remembered.
        assert_eq!(
            window.check(&delivery("c", NOW_MS + 900), NOW_MS + 20),
            Ok(())
        );
        assert_eq!(window.len(), 2);
        assert_eq!(
            window.check(&delivery("b", NOW_MS + 500), NOW_MS + 30),
            Err(VerifyError::Replayed)
        );
        // Full of live keys: the one closest to expiry ("b") makes room.
        assert_eq!(
            window.check(&delivery("d", NOW_MS + 950), NOW_MS + 40),
            Ok(())
        );
        assert_eq!(window.len(), 2);
        assert_eq!(
            window.check(&delivery("c", NOW_MS + 900), NOW_MS + 50),
            Err(VerifyError::Replayed)
        );
    }

    #[test]
    fn helpers_survive_hostile_input() {
        assert_eq!(from_hex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("é1"), None);
        assert_eq!(to_hex(&[0x0a, 0xff]), "0aff");
        assert_eq!(percent_decode(b"a+b%20c%2"), b"a b c%2".to_vec());
        assert_eq!(percent_decode(b"%zz%"), b"%zz%".to_vec());
        assert_eq!(
            form_pairs(b"a=1&&b&c=%E2%9C%93").unwrap(),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), String::new()),
                ("c".to_owned(), "✓".to_owned())
            ]
        );
        assert!(form_pairs(b"a=%ff").is_err());
        assert_eq!(
            query_param("https://x.test/h?data.id=AB%2B1&type=p#frag", "data.id").as_deref(),
            Some("AB+1")
        );
        assert_eq!(query_param("https://x.test/h", "data.id"), None);
        assert!(seconds_to_ms("-1").is_err());
        assert!(seconds_to_ms("1e9").is_err());
        assert!(seconds_to_ms("9999999999999999").is_err());
        assert_eq!(seconds_to_ms("1700000000"), Ok(NOW_MS));
        assert_eq!(check_fresh(NOW_MS, i64::MIN), Err(VerifyError::Stale));
        assert_eq!(check_fresh(NOW_MS + TOLERANCE_MS, NOW_MS), Ok(()));
        assert_eq!(
            check_fresh(NOW_MS - TOLERANCE_MS - 1, NOW_MS),
            Err(VerifyError::Stale)
        );
        assert_eq!(json_text(json_object(b"[1]").as_ref(), &["id"]), None);
        assert_eq!(
            json_text(json_object(br#"{"a":{"b":7}}"#).as_ref(), &["a", "b"]).as_deref(),
            Some("7")
        );
    }

    /// A cheap deterministic fuzz: random bytes in every header a verifier reads, in the URL
    /// and in the body. Nothing may panic, and nothing forged may verify.
    #[test]
    fn every_verifier_survives_random_input() {
        const NAMES: [&str; 14] = [
            "stripe-signature",
            "x-square-hmacsha256-signature",
            "content-type",
            "x-hub-signature-256",
            "x-signature",
            "x-request-id",
            "paddle-signature",
            "x-twilio-signature",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "svix-id",
            "svix-timestamp",
            "svix-signature",
        ];
        const ALPHABET: &[u8] = b"tv1hs=,;: .%+&?#/{}[]\"-_0123456789abcdefABCDEF\r\nwhsec_ts=v1,";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let text = |len: u64, next: &mut dyn FnMut() -> u64| -> String {
            (0..len)
                .map(|_| {
                    let i = usize::try_from(next() % ALPHABET.len() as u64).unwrap();
                    char::from(ALPHABET[i])
                })
                .collect()
        };
        for round in 0..400 {
            let headers: Vec<(String, String)> = NAMES
                .iter()
                .map(|n| {
                    let len = next() % 80;
                    ((*n).to_owned(), text(len, &mut next))
                })
                .collect();
            let url = format!("https://h.test/{}", text(next() % 60, &mut next));
            let body = text(next() % 200, &mut next).into_bytes();
            let request = InboundRequest {
                url: &url,
                headers: &headers,
                body: &body,
            };
            for p in Provider::ALL {
                let secret = if p == Provider::Standard {
                    "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
                } else {
                    "0123456789abcdef0123456789abcdef"
                };
                let result = verifier(p).verify(secret, &request, NOW_MS + round);
                assert!(result.is_err(), "{p} verified random input {headers:?}");
            }
        }
    }

    #[test]
    fn error_texts_carry_no_secret_material() {
        let errors = [
            VerifyError::MissingHeader("stripe-signature"),
            VerifyError::MissingField("signature"),
            VerifyError::Malformed("the timestamp is not a number"),
            VerifyError::BadSignature,
            VerifyError::Stale,
            VerifyError::Replayed,
            VerifyError::BadSecret("no secret is configured"),
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.is_empty() && !text.contains("whsec_"), "{text}");
        }
    }
}
