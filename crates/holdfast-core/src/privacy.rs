//! Data-subject rights and retention: the wire types of export, erasure, erasure requests and
//! retention settings, their validation, and the pure rules (due dates, cut-offs, what counts
//! as mentioning a person in a stored raw payload). Design note: docs/design/privacy.md.

use crate::clock::Millis;
use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const DAY_MS: Millis = 24 * 60 * 60 * 1000;
/// An erasure request is due this many days after it was made (GDPR art. 12(3): one month).
pub const ERASURE_DUE_DAYS: i64 = 30;
/// The shortest retention period: less is more likely a typo than a policy.
pub const MIN_RETENTION_DAYS: i64 = 7;
/// About a hundred years.
pub const MAX_RETENTION_DAYS: i64 = 36_500;

/// The UTC day (days since the epoch) of an instant: the daily retention run's key.
pub fn utc_day(now_ms: Millis) -> i64 {
    now_ms.div_euclid(DAY_MS)
}

/// When a request made at `requested_at` is due.
pub fn erasure_due(requested_at: Millis) -> Millis {
    requested_at.saturating_add(ERASURE_DUE_DAYS * DAY_MS)
}

fn reason(errors: &mut Errors, value: &str) -> Option<String> {
    errors.take(validate::text("reason", value, 1, 500))
}

/// A retention period in days, or `None`; `none_means` says what `null` does there.
fn days(errors: &mut Errors, field: &str, value: Option<i64>, none_means: &str) -> Option<i64> {
    match value {
        Some(d) if !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&d) => {
            errors.push(
                field,
                format!(
                    "must be a whole number of days from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}, or null {none_means}"
                ),
            );
            None
        }
        other => other,
    }
}

/// Body of `POST /api/v1/contacts/{id}/erase` and of rejecting an erasure request.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    /// Why (kept in the audit trail: name no personal data here).
    #[schemars(length(min = 1, max = 500))]
    pub reason: String,
}

impl ReasonIn {
    pub fn validate(&self) -> Result<String, Vec<FieldError>> {
        let mut errors = Errors::default();
        let reason = reason(&mut errors, &self.reason);
        errors.finish(reason.unwrap_or_default())
    }
}

/// Body of `PATCH /api/v1/contacts/{id}/privacy`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPrivacyPatch {
    /// While set, the contact cannot be erased and retention leaves its data alone.
    pub legal_hold: Option<bool>,
    /// Days that replace the workspace's retention periods for this contact's data; `null`
    /// returns to the workspace's.
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<i64>")]
    pub retention_days: Option<Option<i64>>,
    #[schemars(length(min = 1, max = 500))]
    pub reason: String,
}

/// A validated privacy change: `None` = unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyChange {
    pub legal_hold: Option<bool>,
    pub retention_days: Option<Option<i64>>,
    pub reason: String,
}

impl ContactPrivacyPatch {
    pub fn validate(&self) -> Result<PrivacyChange, Vec<FieldError>> {
        let mut errors = Errors::default();
        let reason = reason(&mut errors, &self.reason).unwrap_or_default();
        let retention_days = self.retention_days.map(|d| {
            days(
                &mut errors,
                "retention_days",
                d,
                "for the workspace's periods",
            )
        });
        if self.legal_hold.is_none() && self.retention_days.is_none() {
            errors.push("legal_hold", "send legal_hold, retention_days or both");
        }
        errors.finish(PrivacyChange {
            legal_hold: self.legal_hold,
            retention_days,
            reason,
        })
    }
}

/// A contact's privacy flags.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ContactPrivacyOut {
    pub id: String,
    pub legal_hold: bool,
    pub retention_days: Option<i64>,
}

/// Body of `PUT /api/v1/settings/retention`: every period in days, `null` (or absent) keeps
/// forever.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionIn {
    /// Tickets resolved or closed longer ago than this are deleted with their messages,
    /// attachments and timeline.
    #[serde(default)]
    #[schemars(range(min = 7, max = 36500))]
    pub closed_tickets_days: Option<i64>,
    /// Messages (of any ticket) older than this are deleted with their attachments.
    #[serde(default)]
    #[schemars(range(min = 7, max = 36500))]
    pub messages_days: Option<i64>,
    /// Contacts with no change and no ticket activity for this long are erased.
    #[serde(default)]
    #[schemars(range(min = 7, max = 36500))]
    pub inactive_contacts_days: Option<i64>,
}

/// A workspace's retention periods in days (`None`: keep forever).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionSettings {
    pub closed_tickets_days: Option<i64>,
    pub messages_days: Option<i64>,
    pub inactive_contacts_days: Option<i64>,
}

impl RetentionIn {
    pub fn validate(&self) -> Result<RetentionSettings, Vec<FieldError>> {
        let mut errors = Errors::default();
        let settings = RetentionSettings {
            closed_tickets_days: days(
                &mut errors,
                "closed_tickets_days",
                self.closed_tickets_days,
                "to keep forever",
            ),
            messages_days: days(
                &mut errors,
                "messages_days",
                self.messages_days,
                "to keep forever",
            ),
            inactive_contacts_days: days(
                &mut errors,
                "inactive_contacts_days",
                self.inactive_contacts_days,
                "to keep forever",
            ),
        };
        errors.finish(settings)
    }
}

/// What one retention run removed (or, in a preview, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionCounts {
    /// Closed tickets deleted (with their messages, attachments and timeline).
    pub tickets: u64,
    /// Messages deleted from tickets that stay.
    pub messages: u64,
    /// Inactive contacts erased (with their tickets).
    pub contacts: u64,
}

impl RetentionCounts {
    pub fn is_empty(&self) -> bool {
        self.tickets == 0 && self.messages == 0 && self.contacts == 0
    }
}

/// The last daily run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct RetentionRun {
    /// The UTC day it ran for, as `YYYY-MM-DD`.
    pub day: String,
    pub counts: RetentionCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RetentionOut {
    #[serde(flatten)]
    pub settings: RetentionSettings,
    pub last_run: Option<RetentionRun>,
}

/// What retention would remove now, with the ids.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct RetentionPreview {
    pub counts: RetentionCounts,
    pub ticket_ids: Vec<String>,
    pub message_ids: Vec<String>,
    pub contact_ids: Vec<String>,
}

/// The date (`YYYY-MM-DD`, proleptic Gregorian, UTC) of a day number.
pub fn day_text(day: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// An erasure request as the operator sees it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ErasureRequestOut {
    pub id: String,
    pub contact_id: String,
    /// Where it came from: `operator`, `preference_center` …
    pub source: String,
    /// `open`, `approved` or `rejected`.
    pub status: String,
    pub requested_at: i64,
    pub due_at: i64,
    /// Open and past its due date.
    pub overdue: bool,
    pub decided_at: Option<i64>,
    /// `user:<id>` or `api_key:<id>` of whoever decided.
    pub decided_by: Option<String>,
    pub reason: Option<String>,
}

/// The text a needle is looked for in a stored raw payload: the payload itself and its
/// percent-decoded form (form bodies encode `@` and `+`), lower-cased.
pub fn searchable(raw: &str) -> String {
    let mut out = raw.to_lowercase();
    out.push('\n');
    out.push_str(&percent_decode(raw).to_lowercase());
    out
}

/// `%XX` and `+` decoded; anything malformed is kept as it is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What identifies a person in free text: their email (lower-cased), their phone as stored
/// (E.164) and as bare digits. Short values are left out (they would match everything).
pub fn needles(email: Option<&str>, phone: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(email) = email.filter(|e| e.len() >= 5) {
        out.push(email.to_lowercase());
    }
    if let Some(phone) = phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 7 {
            out.push(phone.to_lowercase());
            out.push(digits);
        }
    }
    out
}

/// Whether `text` (from [`searchable`]) mentions any needle.
pub fn mentions(text: &str, needles: &[String]) -> bool {
    needles.iter().any(|n| text.contains(n.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_due_dates() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(DAY_MS - 1), 0);
        assert_eq!(utc_day(DAY_MS), 1);
        assert_eq!(utc_day(-1), -1);
        assert_eq!(erasure_due(1_000), 1_000 + 30 * DAY_MS);
        assert_eq!(day_text(0), "1970-01-01");
        assert_eq!(day_text(utc_day(1_800_000_000_000)), "2027-01-15");
        assert_eq!(day_text(11_016), "2000-02-29");
    }

    #[test]
    fn retention_bounds_name_every_bad_field() {
        let ok: RetentionIn =
            serde_json::from_str(r#"{"closed_tickets_days": 30, "messages_days": null}"#).unwrap();
        assert_eq!(
            ok.validate().unwrap(),
            RetentionSettings {
                closed_tickets_days: Some(30),
                messages_days: None,
                inactive_contacts_days: None
            }
        );
        let bad: RetentionIn = serde_json::from_str(
            r#"{"closed_tickets_days": 0, "messages_days": 6, "inactive_contacts_days": 40000}"#,
        )
        .unwrap();
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "closed_tickets_days",
                "messages_days",
                "inactive_contacts_days"
            ]
        );
        assert!(serde_json::from_str::<RetentionIn>(r#"{"days": 9}"#).is_err());
    }

    #[test]
    fn a_privacy_patch_needs_a_reason_and_a_change() {
        let p: ContactPrivacyPatch =
            serde_json::from_str(r#"{"legal_hold": true, "reason": "litigation"}"#).unwrap();
        let c = p.validate().unwrap();
        assert_eq!(c.legal_hold, Some(true));
        assert_eq!(c.retention_days, None);
        let p: ContactPrivacyPatch =
            serde_json::from_str(r#"{"retention_days": null, "reason": "back to default"}"#)
                .unwrap();
        assert_eq!(p.validate().unwrap().retention_days, Some(None));
        let p: ContactPrivacyPatch = serde_json::from_str(r#"{"reason": ""}"#).unwrap();
        let fields: Vec<String> = p
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["reason", "legal_hold"]);
        assert!(serde_json::from_str::<ContactPrivacyPatch>(r#"{"legal_hold": true}"#).is_err());
    }

    #[test]
    fn raw_payloads_are_searched_decoded() {
        let needles = needles(Some("Zed@Example.com"), Some("+14155550199"));
        assert_eq!(needles, ["zed@example.com", "+14155550199", "14155550199"]);
        assert!(mentions(
            &searchable("sender=zed%40example.com&x=1"),
            &needles
        ));
        assert!(mentions(&searchable("phone=%2B14155550199"), &needles));
        assert!(mentions(
            &searchable("{\"recipient\":\"ZED@example.com\"}"),
            &needles
        ));
        assert!(!mentions(
            &searchable("sender=other%40example.com"),
            &needles
        ));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz+%41"), "%zz A");
        assert!(super::needles(Some("a@b"), Some("+1")).is_empty());
    }
}
