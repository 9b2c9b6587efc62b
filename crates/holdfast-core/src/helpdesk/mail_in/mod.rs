//! Inbound email for the help desk, the pure part: turns a raw RFC 5322 message (Mailgun's
//! `body-mime`) or Mailgun's parsed inbound-route form into an [`InboundMail`] the ticket code
//! can thread and store.
//!
//! Threat: the sender controls every byte. Nothing here panics on input; sizes are checked
//! against [`Limits`] before and while parsing; attachment names lose path separators, control
//! and bidi characters, and attachment types outside a short allowlist become
//! `application/octet-stream` so a stored file is never served as HTML or script. The Mailgun
//! signature and replay checks ([`crate::webhooks::inbound::mailgun`]) must pass before any of this runs.
//!
//! Threading is the caller's: use [`InboundMail::in_reply_to`], [`InboundMail::references`]
//! and [`reply_token`] over [`InboundMail::all_recipients`], never the subject.
//!
//! No IO, no clock. Error texts are safe to show the sender.

mod form;
mod html;
mod quote;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use mail_parser::{HeaderName, Message, MessageParser, MimeHeaders, PartType};

pub use form::{FieldValue, parse_multipart_form};
pub use html::html_to_text;
pub use quote::strip_quoted;

/// Default cap on [`InboundMail::text`] (and `reply_text`), in bytes.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Default cap on one attachment; larger ones are dropped and named in `dropped_attachments`.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Default cap on the number of attachments; more is [`MailError::TooManyAttachments`].
pub const MAX_ATTACHMENTS: usize = 10;
/// Default cap on the whole delivery (raw message or form body); more is [`MailError::TooLarge`].
pub const MAX_TOTAL_BYTES: usize = 25 * 1024 * 1024;
/// RFC 5322's line limit; longer message ids are dropped.
pub const MAX_ID_LEN: usize = 998;
/// Only the last this many `References` (and `In-Reply-To`) ids are kept.
pub const MAX_REFERENCES: usize = 50;
/// Attachment file names are cut to this many characters (keeping the extension).
pub const MAX_FILENAME_CHARS: usize = 200;

const MAX_SUBJECT_CHARS: usize = 998;
const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_LEN: usize = 254;
/// Addresses kept per header: enough for any real reply-all, bounded for a hostile one.
const MAX_ADDRESSES: usize = 100;

/// Attachment types stored under their own name; anything else is `application/octet-stream`.
/// Deliberately without `text/html`, `image/svg+xml` and anything executable.
const SAFE_TYPES: &[&str] = &[
    "application/msword",
    "application/pdf",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.oasis.opendocument.presentation",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/zip",
    "audio/mpeg",
    "image/gif",
    "image/heic",
    "image/jpeg",
    "image/png",
    "image/webp",
    "message/rfc822",
    "text/calendar",
    "text/csv",
    "text/plain",
    "video/mp4",
];

/// Size limits for one inbound mail. `Default` gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on `text` and `reply_text`; over it they are cut and `truncated` is set.
    pub max_text_bytes: usize,
    /// Larger attachments are dropped and named in `dropped_attachments`.
    pub max_attachment_bytes: usize,
    /// More attachments (inline images included) is [`MailError::TooManyAttachments`].
    pub max_attachments: usize,
    /// A larger raw message or form is [`MailError::TooLarge`].
    pub max_total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_bytes: MAX_TEXT_BYTES,
            max_attachment_bytes: MAX_ATTACHMENT_BYTES,
            max_attachments: MAX_ATTACHMENTS,
            max_total_bytes: MAX_TOTAL_BYTES,
        }
    }
}

/// Why a mail was refused. The texts are safe to show the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("the message has no sender address")]
    NoSender,
    #[error("the message is larger than allowed")]
    TooLarge,
    #[error("the message has more attachments than allowed")]
    TooManyAttachments,
    #[error("the message is malformed: {0}")]
    Malformed(&'static str),
}

/// A mailbox: `email` is trimmed and lowercased (so reply tokens must be minted lowercase),
/// `name` is the display name without control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub email: String,
    pub name: Option<String>,
}

/// A kept attachment. `filename` is sanitised ([`sanitize_filename`]); `content_type` is a
/// lowercased type from the allowlist or `application/octet-stream`.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// One parsed inbound mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// The `From` mailbox (else `Sender`; for parsed Mailgun fields, else the envelope sender).
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Mailgun's envelope `recipient`s: the address the route matched, which need not appear
    /// in `To`/`Cc` (Bcc, forwarding). Empty for a bare MIME message.
    pub envelope_to: Vec<Address>,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    /// The last [`MAX_REFERENCES`] ids, oldest first.
    pub references: Vec<String>,
    /// The best plain text: the text/plain part(s), else the HTML converted to text; `\n`
    /// line ends, capped at [`Limits::max_text_bytes`].
    pub text: String,
    /// `text` without quoted history and signature ([`strip_quoted`]), or Mailgun's
    /// `stripped-text` when it sent one.
    pub reply_text: String,
    pub attachments: Vec<Attachment>,
    /// Sanitised names of attachments dropped for being over [`Limits::max_attachment_bytes`].
    pub dropped_attachments: Vec<String>,
    /// True when `text` or `reply_text` was cut at the cap.
    pub truncated: bool,
}

impl InboundMail {
    /// Every recipient, envelope first, for [`reply_token`].
    pub fn all_recipients(&self) -> Vec<Address> {
        self.envelope_to
            .iter()
            .chain(&self.to)
            .chain(&self.cc)
            .cloned()
            .collect()
    }
}

/// Parses a raw RFC 5322 message (Mailgun's `body-mime`). Charsets, transfer encodings and
/// encoded words are decoded by `mail-parser`.
pub fn parse_mime(raw: &[u8], limits: &Limits) -> Result<InboundMail, MailError> {
    if raw.len() > limits.max_total_bytes {
        return Err(MailError::TooLarge);
    }
    if raw.trim_ascii().is_empty() {
        return Err(MailError::Malformed("the message is empty"));
    }
    let message = MessageParser::new()
        .parse(raw)
        .filter(|m| !m.parts.is_empty())
        .ok_or(MailError::Malformed("the message has no headers"))?;
    let from = first_address(message.from())
        .or_else(|| first_address(message.sender()))
        .ok_or(MailError::NoSender)?;
    let (body, html_cut) = body_text(&message, limits);
    let (text, text_cut) = cap_text(&normalize_text(&body), limits);
    let reply_text = strip_quoted(&text);
    let (attachments, dropped_attachments) = mime_attachments(&message, limits)?;
    let raw_header = |name: HeaderName<'static>| message.header_raw(name).unwrap_or_default();
    Ok(InboundMail {
        from,
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        envelope_to: Vec::new(),
        subject: clean_line(message.subject().unwrap_or_default(), MAX_SUBJECT_CHARS),
        message_id: parse_ids(raw_header(HeaderName::MessageId))
            .into_iter()
            .next(),
        in_reply_to: last_ids(parse_ids(raw_header(HeaderName::InReplyTo))),
        references: last_ids(parse_ids(raw_header(HeaderName::References))),
        text,
        reply_text,
        attachments,
        dropped_attachments,
        truncated: text_cut || html_cut,
    })
}

/// Builds the mail from Mailgun's inbound-route POST fields (see [`parse_multipart_form`]).
/// A `body-mime` field wins over the parsed fields; `recipient` always fills `envelope_to`.
/// Header fields (`From`, `To`, `Cc`, `Message-Id`, `In-Reply-To`, `References`) are looked
/// up case-insensitively, then in the `message-headers` JSON.
pub fn from_mailgun_fields(
    fields: &[(String, FieldValue)],
    limits: &Limits,
) -> Result<InboundMail, MailError> {
    let total: usize = fields.iter().map(|(n, v)| n.len() + v.len()).sum();
    if total > limits.max_total_bytes {
        return Err(MailError::TooLarge);
    }
    let envelope_to = field_text(fields, "recipient")
        .map(parse_address_list)
        .unwrap_or_default();
    let body_mime = fields.iter().find_map(|(name, value)| {
        if !name.eq_ignore_ascii_case("body-mime") {
            return None;
        }
        let bytes = match value {
            FieldValue::Text(text) => text.as_bytes(),
            FieldValue::File { bytes, .. } => bytes,
        };
        (!bytes.trim_ascii().is_empty()).then_some(bytes)
    });
    if let Some(raw) = body_mime {
        let mut mail = parse_mime(raw, limits)?;
        mail.envelope_to = envelope_to;
        return Ok(mail);
    }

    let headers = MessageHeaders::from_fields(fields);
    let header = |name: &str| field_text(fields, name).or_else(|| headers.get(name));
    let from = header("from")
        .and_then(|v| parse_address_list(v).into_iter().next())
        .or_else(|| {
            field_text(fields, "sender").and_then(|v| parse_address_list(v).into_iter().next())
        })
        .ok_or(MailError::NoSender)?;

    let (body, html_cut) = match field_text(fields, "body-plain") {
        Some(plain) => (plain.to_owned(), false),
        None => html::html_to_text_limited(
            field_text(fields, "body-html").unwrap_or_default(),
            limits.max_text_bytes,
        ),
    };
    let (text, text_cut) = cap_text(&normalize_text(&body), limits);
    let (reply_text, reply_cut) = match field_text(fields, "stripped-text") {
        Some(stripped) if !stripped.trim().is_empty() => {
            cap_text(normalize_text(stripped).trim(), limits)
        }
        _ => (strip_quoted(&text), false),
    };

    let files: Vec<(&str, &str, &[u8])> = fields
        .iter()
        .filter_map(|(name, value)| match value {
            FieldValue::File {
                filename,
                content_type,
                bytes,
            } if name.to_ascii_lowercase().starts_with("attachment") => {
                Some((filename.as_str(), content_type.as_str(), bytes.as_slice()))
            }
            _ => None,
        })
        .collect();
    let (attachments, dropped_attachments) = keep_attachments(files, limits)?;

    Ok(InboundMail {
        from,
        to: header("to").map(parse_address_list).unwrap_or_default(),
        cc: header("cc").map(parse_address_list).unwrap_or_default(),
        envelope_to,
        subject: clean_line(header("subject").unwrap_or_default(), MAX_SUBJECT_CHARS),
        message_id: header("message-id")
            .map(parse_ids)
            .and_then(|ids| ids.into_iter().next()),
        in_reply_to: last_ids(header("in-reply-to").map(parse_ids).unwrap_or_default()),
        references: last_ids(header("references").map(parse_ids).unwrap_or_default()),
        text,
        reply_text,
        attachments,
        dropped_attachments,
        truncated: text_cut || html_cut || reply_cut,
    })
}

/// The reply token of the first plus-address shaped `<local>+<token>@<domain>` (token: 20–64
/// characters of `[A-Za-z0-9_-]`), returned lowercased. With a hint, only addresses at that
/// domain (compared case-insensitively) count.
pub fn reply_token(addresses: &[Address], reply_domain_hint: Option<&str>) -> Option<String> {
    let hint = reply_domain_hint.map(|h| h.trim().trim_end_matches('.'));
    addresses.iter().find_map(|address| {
        let (local, domain) = address.email.trim().rsplit_once('@')?;
        if hint.is_some_and(|h| !domain.trim_end_matches('.').eq_ignore_ascii_case(h)) {
            return None;
        }
        let (prefix, token) = local.split_once('+')?;
        (!prefix.is_empty() && is_token(token)).then(|| token.to_ascii_lowercase())
    })
}

/// `local+token@domain`, lowercased: mail systems do not reliably keep case, so tokens should
/// be minted lowercase (what [`reply_token`] gives back).
pub fn reply_address(local: &str, token: &str, domain: &str) -> String {
    format!("{local}+{token}@{domain}").to_lowercase()
}

fn is_token(token: &str) -> bool {
    (20..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Removes path components, control, format (bidi) and Windows-reserved characters and
/// leading dots; cuts to [`MAX_FILENAME_CHARS`] keeping a short extension. Empty results
/// become `fallback`.
pub fn sanitize_filename(name: &str, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !crate::validate::is_format_char(*c))
        .map(|c| match c {
            ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return fallback.to_owned();
    }
    if cleaned.chars().count() <= MAX_FILENAME_CHARS {
        return cleaned.to_owned();
    }
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.chars().count() <= 16);
    match extension {
        Some(ext) => {
            let keep = MAX_FILENAME_CHARS - ext.chars().count() - 1;
            let stem: String = cleaned.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => cleaned.chars().take(MAX_FILENAME_CHARS).collect(),
    }
}

/// The lowercased `type/subtype` if allowlisted, else `application/octet-stream`.
fn safe_content_type(declared: &str) -> String {
    let essence = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let essence = match essence.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg".to_owned(),
        "application/x-zip-compressed" => "application/zip".to_owned(),
        _ => essence,
    };
    if SAFE_TYPES.contains(&essence.as_str()) {
        essence
    } else {
        "application/octet-stream".to_owned()
    }
}

/// Applies the count and size limits to `(filename, content type, bytes)` triples.
fn keep_attachments(
    files: Vec<(&str, &str, &[u8])>,
    limits: &Limits,
) -> Result<(Vec<Attachment>, Vec<String>), MailError> {
    if files.len() > limits.max_attachments {
        return Err(MailError::TooManyAttachments);
    }
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (index, (filename, content_type, bytes)) in files.into_iter().enumerate() {
        let filename = sanitize_filename(filename, &format!("attachment-{}", index + 1));
        if bytes.len() > limits.max_attachment_bytes {
            dropped.push(filename);
            continue;
        }
        kept.push(Attachment {
            filename,
            content_type: safe_content_type(content_type),
            bytes: bytes.to_vec(),
        });
    }
    Ok((kept, dropped))
}

fn mime_attachments(
    message: &Message<'_>,
    limits: &Limits,
) -> Result<(Vec<Attachment>, Vec<String>), MailError> {
    let mut files = Vec::new();
    for part in message.attachments() {
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{sub}", ct.ctype()),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_default();
        files.push((
            part.attachment_name().unwrap_or_default(),
            content_type,
            part.contents(),
        ));
    }
    keep_attachments(
        files
            .iter()
            .map(|(name, ct, bytes)| (*name, ct.as_str(), *bytes))
            .collect(),
        limits,
    )
}

/// The text/plain body parts joined, else the HTML body parts converted to text; and whether
/// the HTML conversion stopped early at the text cap.
fn body_text(message: &Message<'_>, limits: &Limits) -> (String, bool) {
    let plain: Vec<&str> = message
        .text_bodies()
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.as_ref()),
            _ => None,
        })
        .collect();
    if !plain.is_empty() {
        return (plain.join("\n"), false);
    }
    let mut cut = false;
    let html: Vec<String> = message
        .html_bodies()
        .filter_map(|part| match &part.body {
            PartType::Html(html) => {
                let (text, stopped) = html::html_to_text_limited(html, limits.max_text_bytes);
                cut |= stopped;
                Some(text)
            }
            _ => None,
        })
        .collect();
    (html.join("\n"), cut)
}

/// `\n` line ends, no control characters other than tab and newline, no trailing blanks.
fn normalize_text(text: &str) -> String {
    let unified: Cow<'_, str> = if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    };
    let cleaned: String = unified
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect();
    cleaned.trim_end().to_owned()
}

/// Cuts at a character boundary at or below the cap; says whether it cut.
fn cap_text(text: &str, limits: &Limits) -> (String, bool) {
    if text.len() <= limits.max_text_bytes {
        return (text.to_owned(), false);
    }
    let mut end = limits.max_text_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text.get(..end).unwrap_or_default().to_owned(), true)
}

/// One line: whitespace runs (folding included) become one space, control characters go.
fn clean_line(value: &str, max_chars: usize) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() && !crate::validate::is_format_char(*c))
        .take(max_chars)
        .collect()
}

fn clean_email(value: &str) -> Option<String> {
    let email = value.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = email.rsplit_once('@')?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    valid.then(|| email.to_lowercase())
}

fn to_address(addr: &mail_parser::Addr<'_>) -> Option<Address> {
    let email = clean_email(addr.address()?)?;
    let name = addr
        .name()
        .map(|n| clean_line(n.trim_matches('"'), MAX_NAME_CHARS))
        .filter(|n| !n.is_empty());
    Some(Address { email, name })
}

fn addresses(value: Option<&mail_parser::Address<'_>>) -> Vec<Address> {
    value
        .map(|list| {
            list.iter()
                .filter_map(to_address)
                .take(MAX_ADDRESSES)
                .collect()
        })
        .unwrap_or_default()
}

fn first_address(value: Option<&mail_parser::Address<'_>>) -> Option<Address> {
    value.and_then(|list| list.iter().find_map(to_address))
}

/// An address-list header value as Mailgun posts it (`Bob <bob@example.com>, carol@x.org`),
/// parsed with the same RFC 5322 parser as a MIME message.
fn parse_address_list(value: &str) -> Vec<Address> {
    let one_line: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let raw = format!("To: {one_line}\r\n\r\n");
    MessageParser::new()
        .parse(raw.as_bytes())
        .map(|message| addresses(message.to()))
        .unwrap_or_default()
}

/// Message ids from a `Message-Id`, `In-Reply-To` or `References` value: every `<…>` if there
/// are any, else whitespace- or comma-separated tokens; trimmed, without brackets, and
/// dropped when empty, over [`MAX_ID_LEN`] or containing whitespace or control characters.
fn parse_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    if value.contains('<') {
        let mut rest = value;
        while let Some(start) = rest.find('<') {
            let after = rest.get(start + 1..).unwrap_or_default();
            let Some(end) = after.find('>') else {
                break;
            };
            ids.extend(normalize_id(after.get(..end).unwrap_or_default()));
            rest = after.get(end + 1..).unwrap_or_default();
        }
    } else {
        ids.extend(
            value
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter_map(normalize_id),
        );
    }
    ids
}

fn normalize_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.chars().any(|c| c.is_whitespace() || c.is_control());
    valid.then(|| id.to_owned())
}

/// The last [`MAX_REFERENCES`] ids, duplicates removed (first occurrence kept).
fn last_ids(mut ids: Vec<String>) -> Vec<String> {
    if ids.len() > MAX_REFERENCES {
        ids.drain(..ids.len() - MAX_REFERENCES);
    }
    let mut unique: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    unique
}

/// The first non-blank text field of that name (case-insensitive).
fn field_text<'a>(fields: &'a [(String, FieldValue)], name: &str) -> Option<&'a str> {
    fields.iter().find_map(|(n, value)| match value {
        FieldValue::Text(text) if n.eq_ignore_ascii_case(name) && !text.trim().is_empty() => {
            Some(text.as_str())
        }
        _ => None,
    })
}

/// Mailgun's `message-headers` field: a JSON array of `[name, value]` pairs.
struct MessageHeaders(Vec<(String, String)>);

impl MessageHeaders {
    fn from_fields(fields: &[(String, FieldValue)]) -> Self {
        let pairs = field_text(fields, "message-headers")
            .and_then(|json| serde_json::from_str::<Vec<serde_json::Value>>(json).ok())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|pair| {
                let name = pair.get(0)?.as_str()?;
                let value = pair.get(1)?.as_str()?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect();
        MessageHeaders(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }
}
