//! Jobs: a visit to a customer (a contact, optionally of a company, at a service address),
//! scheduled in the workspace's time zone, worked by one or more assigned technicians through
//! the statuses `requested → scheduled → en_route → in_progress → completed` (or `cancelled`).
//! The wire types, their validation and the status rules.

use crate::field_service::time_zone::{ZoneName, utc};
use crate::validate::{self, Errors, FieldError, Lines};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Requested,
    Scheduled,
    EnRoute,
    InProgress,
    Completed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: &'static [JobStatus] = &[
        JobStatus::Requested,
        JobStatus::Scheduled,
        JobStatus::EnRoute,
        JobStatus::InProgress,
        JobStatus::Completed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Requested => "requested",
            JobStatus::Scheduled => "scheduled",
            JobStatus::EnRoute => "en_route",
            JobStatus::InProgress => "in_progress",
            JobStatus::Completed => "completed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        Self::ALL.iter().copied().find(|s| s.as_str() == text)
    }

    /// The statuses a job may move to from this one: forward through the visit, back one
    /// step when plans change (unscheduled, turned back on the way), cancelled from any open
    /// status, and a cancelled job requested again. A completed job is final.
    pub fn next(self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            Requested => &[Scheduled, Cancelled],
            Scheduled => &[EnRoute, InProgress, Requested, Cancelled],
            EnRoute => &[InProgress, Scheduled, Cancelled],
            InProgress => &[Completed, Cancelled],
            Completed => &[],
            Cancelled => &[Requested],
        }
    }
}

/// Why a status change is refused: the field and a detail that says what to do.
pub fn check_transition(
    from: JobStatus,
    to: JobStatus,
    has_window: bool,
    technicians: usize,
) -> Result<(), FieldError> {
    if !from.next().contains(&to) {
        let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
        return Err(FieldError::new(
            "status",
            if allowed.is_empty() {
                format!("a {} job cannot change status", from.as_str())
            } else {
                format!(
                    "a {} job can move to {} only, not {}",
                    from.as_str(),
                    allowed.join(" or "),
                    to.as_str()
                )
            },
        ));
    }
    let needs_window = matches!(
        to,
        JobStatus::Scheduled | JobStatus::EnRoute | JobStatus::InProgress
    );
    if needs_window && !has_window {
        return Err(FieldError::new(
            "status",
            format!("give the job a window before it is {}", to.as_str()),
        ));
    }
    if needs_window && technicians == 0 {
        return Err(FieldError::new(
            "status",
            format!("assign a technician before the job is {}", to.as_str()),
        ));
    }
    Ok(())
}

/// A scheduled window as people type it: local times in the workspace's time zone (or with an
/// offset).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowIn {
    /// Like `2026-12-08T09:00`, in the workspace's time zone.
    pub start: String,
    pub end: String,
}

/// A validated window: UTC instants (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The longest a window may be.
pub const MAX_WINDOW_MS: i64 = 14 * 24 * 3600 * 1000;

/// The ranges of window starts, `(after, before)` exclusive, where jobs that may overlap
/// `windows` start: a window overlapping `[start, end)` starts after `start − MAX_WINDOW_MS`
/// and before `end`. Ranges that meet are merged, so a day's board is one range of the window
/// index (read once), and jobs far apart in time are separate short ranges.
pub fn overlap_search_ranges(windows: impl IntoIterator<Item = Window>) -> Vec<(i64, i64)> {
    let mut ranges: Vec<(i64, i64)> = windows
        .into_iter()
        .map(|w| (w.start_ms.saturating_sub(MAX_WINDOW_MS), w.end_ms))
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (after, before) in ranges {
        match merged.last_mut() {
            // Exclusive bounds: (a, b) and (c, d) with c < b share a start in between.
            Some(last) if after < last.1 => last.1 = last.1.max(before),
            _ => merged.push((after, before)),
        }
    }
    merged
}

/// A job as the double-booking check needs it: its id, window and technicians.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking<'a> {
    pub id: &'a str,
    pub window: Window,
    pub technicians: &'a [String],
}

/// For each job of `page`, the ids (ascending) of the `others` whose window overlaps its own
/// and that share a technician with it; a job never overlaps itself.
pub fn double_bookings(
    page: &[Booking<'_>],
    others: &[Booking<'_>],
) -> std::collections::HashMap<String, Vec<String>> {
    let mut found = std::collections::HashMap::new();
    for job in page {
        let mut ids: Vec<String> = others
            .iter()
            .filter(|o| o.id != job.id)
            .filter(|o| {
                o.window.start_ms < job.window.end_ms && o.window.end_ms > job.window.start_ms
            })
            .filter(|o| o.technicians.iter().any(|t| job.technicians.contains(t)))
            .map(|o| o.id.to_owned())
            .collect();
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            found.insert(job.id.to_owned(), ids);
        }
    }
    found
}

impl WindowIn {
    pub fn validate(&self, zone: &ZoneName, errors: &mut Errors) -> Option<Window> {
        let start = errors.take(zone.instant("window.start", &self.start));
        let end = errors.take(zone.instant("window.end", &self.end));
        let (start_ms, end_ms) = (start?, end?);
        if end_ms <= start_ms {
            errors.push("window.end", "must be after the start");
            return None;
        }
        if end_ms - start_ms > MAX_WINDOW_MS {
            errors.push("window.end", "must be at most 14 days after the start");
            return None;
        }
        Some(Window { start_ms, end_ms })
    }
}

/// A window as answered: UTC and the workspace's local times.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct WindowOut {
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    /// The same times in `time_zone`, as people read them.
    pub start_local: String,
    pub end_local: String,
    pub time_zone: String,
}

impl WindowOut {
    pub fn of(window: Window, zone: &ZoneName) -> WindowOut {
        WindowOut {
            start: utc(window.start_ms),
            end: utc(window.end_ms),
            start_local: zone.local(window.start_ms),
            end_local: zone.local(window.end_ms),
            time_zone: zone.as_str().to_owned(),
        }
    }
}

/// What a line item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Service,
    Material,
}

/// A service done or a material used on the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    pub kind: LineKind,
    #[schemars(length(min = 1, max = 500))]
    pub description: String,
    /// An exact decimal with up to 3 places, like `1`, `2.5` or `0.125` (hours, metres, units).
    pub quantity: String,
}

/// An item of the job's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    #[schemars(length(min = 1, max = 300))]
    pub text: String,
    #[serde(default)]
    pub done: bool,
}

/// A quantity: an exact decimal, positive, up to 3 places and 9 whole digits, returned in its
/// plain form (`2.50` → `2.5`, `007` → `7`).
pub fn quantity(field: &str, text: &str) -> Result<String, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "must be a positive number with up to 3 decimal places, like 2.5",
        )
    };
    let text = text.trim();
    let (whole, fraction) = match text.split_once('.') {
        Some((_, "")) => return Err(bad()),
        Some(parts) => parts,
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 9
        || !digits(whole)
        || fraction.len() > 3
        || !digits(fraction)
    {
        return Err(bad());
    }
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    if whole.is_empty() && fraction.is_empty() {
        return Err(bad());
    }
    let whole = if whole.is_empty() { "0" } else { whole };
    Ok(if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    })
}

/// Body of `POST /api/v1/jobs`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobIn {
    pub contact_id: String,
    pub company_id: Option<String>,
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    #[schemars(length(max = 5000))]
    pub description: Option<String>,
    /// Where the work is done, if not the contact's own address.
    #[schemars(length(max = 500))]
    pub service_address: Option<String>,
    pub window: Option<WindowIn>,
    /// Members (user ids) who do the work.
    #[serde(default)]
    pub technician_ids: Vec<String>,
    #[serde(default)]
    pub checklist: Vec<ChecklistItem>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
}

/// Body of `PATCH /api/v1/jobs/{id}` (absent = unchanged, null = clear).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub service_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<WindowIn>")]
    pub window: Option<Option<WindowIn>>,
    pub technician_ids: Option<Vec<String>>,
    pub checklist: Option<Vec<ChecklistItem>>,
    pub line_items: Option<Vec<LineItem>>,
}

/// Body of `POST /api/v1/jobs/{id}/status`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    pub status: JobStatus,
    /// Why (kept with the change; shown in the job's history).
    #[schemars(length(max = 500))]
    pub note: Option<String>,
}

/// A job's editable fields after validation (ids checked for shape; their existence in the
/// workspace is the store's to check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFields {
    pub contact_id: String,
    pub company_id: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub service_address: Option<String>,
    pub window: Option<Window>,
    pub technician_ids: Vec<String>,
    pub checklist: Vec<ChecklistItem>,
    pub line_items: Vec<LineItem>,
}

/// At most this many technicians, checklist items and line items on one job.
pub const MAX_TECHNICIANS: usize = 20;
pub const MAX_ITEMS: usize = 200;

fn technicians(errors: &mut Errors, ids: &[String]) -> Vec<String> {
    if ids.len() > MAX_TECHNICIANS {
        errors.push(
            "technician_ids",
            format!("at most {MAX_TECHNICIANS} technicians"),
        );
    }
    let mut out: Vec<String> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match crate::ids::UserId::parse(id) {
            Some(user) if !out.contains(&user.to_string()) => out.push(user.to_string()),
            Some(_) => {}
            None => errors.push(format!("technician_ids[{i}]"), "is not a member's user id"),
        }
    }
    out
}

fn checklist(errors: &mut Errors, items: &[ChecklistItem]) -> Vec<ChecklistItem> {
    if items.len() > MAX_ITEMS {
        errors.push("checklist", format!("at most {MAX_ITEMS} items"));
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            errors
                .take(validate::plain_text(
                    &format!("checklist[{i}].text"),
                    item.text.trim(),
                    1,
                    300,
                ))
                .map(|text| ChecklistItem {
                    text,
                    done: item.done,
                })
        })
        .collect()
}

fn line_items(errors: &mut Errors, items: &[LineItem]) -> Vec<LineItem> {
    if items.len() > MAX_ITEMS {
        errors.push("line_items", format!("at most {MAX_ITEMS} items"));
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let description = errors.take(validate::plain_text(
                &format!("line_items[{i}].description"),
                item.description.trim(),
                1,
                500,
            ));
            let quantity = errors.take(quantity(
                &format!("line_items[{i}].quantity"),
                &item.quantity,
            ));
            Some(LineItem {
                kind: item.kind,
                description: description?,
                quantity: quantity?,
            })
        })
        .collect()
}

impl JobIn {
    pub fn validate(&self, zone: &ZoneName) -> Result<JobFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        if crate::ids::ContactId::parse(&self.contact_id).is_none() {
            errors.push("contact_id", "is not a contact id");
        }
        if let Some(company) = &self.company_id
            && crate::ids::CompanyId::parse(company).is_none()
        {
            errors.push("company_id", "is not a company id");
        }
        let title = errors.take(validate::plain_text("title", self.title.trim(), 1, 200));
        let fields = JobFields {
            contact_id: self.contact_id.clone(),
            company_id: self.company_id.clone(),
            title: title.unwrap_or_default(),
            description: validate::optional(
                &mut errors,
                "description",
                self.description.as_deref(),
                5000,
                Lines::Many,
            ),
            service_address: validate::optional(
                &mut errors,
                "service_address",
                self.service_address.as_deref(),
                500,
                Lines::One,
            ),
            window: self
                .window
                .as_ref()
                .and_then(|w| w.validate(zone, &mut errors)),
            technician_ids: technicians(&mut errors, &self.technician_ids),
            checklist: checklist(&mut errors, &self.checklist),
            line_items: line_items(&mut errors, &self.line_items),
        };
        errors.finish(fields)
    }
}

impl JobPatch {
    /// The job's fields with this patch applied to `current`.
    pub fn apply(
        &self,
        current: &JobFields,
        zone: &ZoneName,
    ) -> Result<JobFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let mut next = current.clone();
        if let Some(title) = &self.title {
            next.title = errors
                .take(validate::plain_text("title", title.trim(), 1, 200))
                .unwrap_or_default();
        }
        if let Some(description) = &self.description {
            next.description = validate::optional(
                &mut errors,
                "description",
                description.as_deref(),
                5000,
                Lines::Many,
            );
        }
        if let Some(address) = &self.service_address {
            next.service_address = validate::optional(
                &mut errors,
                "service_address",
                address.as_deref(),
                500,
                Lines::One,
            );
        }
        if let Some(window) = &self.window {
            next.window = window.as_ref().and_then(|w| w.validate(zone, &mut errors));
        }
        if let Some(ids) = &self.technician_ids {
            next.technician_ids = technicians(&mut errors, ids);
        }
        if let Some(items) = &self.checklist {
            next.checklist = checklist(&mut errors, items);
        }
        if let Some(items) = &self.line_items {
            next.line_items = line_items(&mut errors, items);
        }
        errors.finish(next)
    }
}

/// A status change as the job's history keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct StatusChangeOut {
    pub from: Option<JobStatus>,
    pub to: JobStatus,
    /// Who: `user:<id>`, `key:<id>` or `system`.
    pub by: String,
    pub at: i64,
    pub note: Option<String>,
}

/// Who may read a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoteVisibility {
    /// The team only (the default).
    #[default]
    Internal,
    /// The customer too: the client portal and the job's public page show it.
    Customer,
}

impl NoteVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteVisibility::Internal => "internal",
            NoteVisibility::Customer => "customer",
        }
    }

    pub fn parse(text: &str) -> Option<NoteVisibility> {
        [NoteVisibility::Internal, NoteVisibility::Customer]
            .into_iter()
            .find(|v| v.as_str() == text)
    }
}

/// Body of `POST /api/v1/jobs/{id}/notes`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    #[schemars(length(min = 1, max = 5000))]
    pub body: String,
    #[serde(default)]
    pub visibility: NoteVisibility,
}

impl NoteIn {
    /// The note's text, trimmed, 1 to 5000 characters.
    pub fn validate(&self) -> Result<String, Vec<FieldError>> {
        // A note keeps its lines (a technician's list of what was done).
        let body = validate::multiline("body", &self.body, 5000).map_err(|e| vec![e])?;
        if body.is_empty() {
            return Err(vec![FieldError::new("body", "must not be empty")]);
        }
        Ok(body)
    }
}

/// A note as answered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct NoteOut {
    pub id: String,
    pub visibility: NoteVisibility,
    pub body: String,
    /// Who: `user:<id>` or `api_key:<id>`.
    pub by: String,
    pub created_at: i64,
}

/// At most this many notes on one job.
pub const MAX_NOTES: i64 = 500;

/// A job as answered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct JobOut {
    pub id: String,
    pub contact_id: String,
    pub company_id: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub service_address: Option<String>,
    pub status: JobStatus,
    pub window: Option<WindowOut>,
    pub technician_ids: Vec<String>,
    pub checklist: Vec<ChecklistItem>,
    pub line_items: Vec<LineItem>,
    /// Every status change, oldest first.
    pub history: Vec<StatusChangeOut>,
    /// Notes, oldest first: internal ones for the team, customer ones shown to the customer.
    pub notes: Vec<NoteOut>,
    /// Photos and files, oldest first (the bytes: `GET /api/v1/jobs/{id}/files/{file_id}`).
    #[serde(default)]
    pub files: Vec<crate::field_service::files::JobFileOut>,
    /// Other jobs of an assigned technician whose windows overlap this one's (a warning for
    /// the dispatcher; double-booking is allowed).
    pub overlapping_job_ids: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start_ms: i64, end_ms: i64) -> Window {
        Window { start_ms, end_ms }
    }

    #[test]
    fn overlap_search_merges_ranges_close_in_time() {
        const H: i64 = 3_600_000;
        // A day's jobs: one range from 14 days before the first to the end of the last.
        let day = [w(9 * H, 10 * H), w(8 * H, 9 * H), w(14 * H, 16 * H)];
        assert_eq!(
            overlap_search_ranges(day),
            vec![(8 * H - MAX_WINDOW_MS, 16 * H)]
        );
        // Two jobs a month apart: two ranges.
        let far = [w(0, H), w(30 * 24 * H, 31 * 24 * H)];
        assert_eq!(
            overlap_search_ranges(far),
            vec![
                (-MAX_WINDOW_MS, H),
                (30 * 24 * H - MAX_WINDOW_MS, 31 * 24 * H)
            ]
        );
        assert!(overlap_search_ranges([]).is_empty());
    }

    #[test]
    fn double_bookings_need_overlapping_windows_and_a_shared_technician() {
        let (tom, tess) = (vec!["usr_tom".to_owned()], vec!["usr_tess".to_owned()]);
        let both = vec!["usr_tess".to_owned(), "usr_tom".to_owned()];
        let page = [Booking {
            id: "job_a",
            window: w(10, 20),
            technicians: &tom,
        }];
        let others = [
            Booking {
                id: "job_a",
                window: w(10, 20),
                technicians: &tom,
            },
            Booking {
                id: "job_c",
                window: w(15, 25),
                technicians: &both,
            },
            Booking {
                id: "job_b",
                window: w(19, 30),
                technicians: &tom,
            },
            Booking {
                id: "job_d",
                window: w(20, 30),
                technicians: &tom,
            },
            Booking {
                id: "job_e",
                window: w(0, 10),
                technicians: &tom,
            },
            Booking {
                id: "job_f",
                window: w(12, 14),
                technicians: &tess,
            },
        ];
        let found = double_bookings(&page, &others);
        // Itself, touching windows (job_d, job_e) and another technician's (job_f) are not.
        assert_eq!(found["job_a"], vec!["job_b".to_owned(), "job_c".to_owned()]);
        let alone = [Booking {
            id: "job_f",
            window: w(12, 14),
            technicians: &tess,
        }];
        assert!(double_bookings(&alone, &others[..2]).is_empty());
    }

    #[test]
    fn statuses_move_forward_back_one_step_or_to_cancelled() {
        use JobStatus::*;
        assert!(check_transition(Requested, Scheduled, true, 1).is_ok());
        assert!(check_transition(Scheduled, EnRoute, true, 1).is_ok());
        assert!(check_transition(EnRoute, InProgress, true, 1).is_ok());
        assert!(check_transition(InProgress, Completed, true, 1).is_ok());
        assert!(check_transition(Cancelled, Requested, false, 0).is_ok());
        let skipped = check_transition(Requested, Completed, true, 1).unwrap_err();
        assert!(
            skipped.message.contains("scheduled or cancelled"),
            "{}",
            skipped.message
        );
        let done = check_transition(Completed, Requested, true, 1).unwrap_err();
        assert!(done.message.contains("cannot change"), "{}", done.message);
        let no_window = check_transition(Requested, Scheduled, false, 1).unwrap_err();
        assert!(
            no_window.message.contains("window"),
            "{}",
            no_window.message
        );
        let nobody = check_transition(Scheduled, EnRoute, true, 0).unwrap_err();
        assert!(nobody.message.contains("technician"), "{}", nobody.message);
        for from in JobStatus::ALL {
            assert!(!from.next().contains(from), "{from:?} to itself");
            assert_eq!(JobStatus::parse(from.as_str()), Some(*from));
        }
    }

    #[test]
    fn quantities_are_exact_decimals_in_plain_form() {
        for (text, plain) in [
            ("1", "1"),
            ("2.50", "2.5"),
            ("007", "7"),
            ("0.125", "0.125"),
            (" 3 ", "3"),
            ("10.0", "10"),
        ] {
            assert_eq!(quantity("q", text).unwrap(), plain, "{text}");
        }
        for bad in [
            "",
            "0",
            "0.000",
            "-1",
            "1.2345",
            "1e3",
            "1,5",
            ".5",
            "1.",
            "1234567890",
            "NaN",
        ] {
            assert!(quantity("q", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_job_is_validated_field_by_field() {
        let zone = ZoneName::parse("tz", "Europe/London").unwrap();
        let body: JobIn = serde_json::from_value(serde_json::json!({
            "contact_id": "nope",
            "title": " ",
            "window": {"start": "2026-07-01T12:00", "end": "2026-07-01T11:00"},
            "technician_ids": ["usr_bad"],
            "checklist": [{"text": ""}],
            "line_items": [{"kind": "material", "description": "Valve", "quantity": "-2"}],
        }))
        .unwrap();
        let errors = body.validate(&zone).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "contact_id",
            "title",
            "window.end",
            "technician_ids[0]",
            "checklist[0].text",
            "line_items[0].quantity",
        ] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
    }
}
