//! Help-desk tickets, the wire types and rules: a ticket holds a thread of messages (the
//! customer's inbound ones, operators' replies, internal notes the customer never sees).

use crate::helpdesk::ticket_search::SearchQuery;
use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

closed_set!(
    /// Where a ticket stands: `open` (needs the team), `pending` (waits for the customer),
    /// `resolved` (answered; reopens on the customer's next message), `closed` (done for good).
    Status { Open => "open", Pending => "pending", Resolved => "resolved", Closed => "closed" }
);
closed_set!(Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" });
closed_set!(
    /// How the ticket reached the workspace: by `email`, the website `widget`, the staff `api`,
    /// or the client `portal` (a signed-in customer opened it).
    Channel { Email => "email", Widget => "widget", Api => "api", Portal => "portal" }
);
closed_set!(
    /// `inbound` from the customer, `reply` from the team to the customer, `note` for the team only.
    MessageKind { Inbound => "inbound", Reply => "reply", Note => "note" }
);

closed_set!(
    /// Where a reply mailed to the customer is: `queued` (waiting for the mail relay), `unsent`
    /// (the relay refused it on every attempt; reviving the job may still send it), `sent` (the
    /// relay took it), `deferred` (the provider will retry), `delivered` (the customer's server
    /// accepted it), `failed` (bounced or refused for good) or `complained` (the customer marked
    /// it as spam); or `blocked` (the consent check refused it: never sent, the reason in the
    /// detail).
    Delivery { Queued => "queued", Unsent => "unsent", Sent => "sent", Deferred => "deferred", Delivered => "delivered", Failed => "failed", Complained => "complained", Blocked => "blocked" }
);

impl Delivery {
    /// How far along a mail is. Reports arrive out of order and again (a provider's
    /// `delivered` can overtake the relay's `sent`, a retried webhook can repeat an old
    /// report), so a status only ever moves to a higher rank: a bounce after acceptance is
    /// final and no later `delivered` undoes it, and a complaint outranks everything.
    /// `unsent` ranks with `queued`, so a revived job's successful send still counts.
    fn rank(self) -> u8 {
        match self {
            Delivery::Queued | Delivery::Unsent => 0,
            Delivery::Sent => 1,
            Delivery::Deferred => 2,
            Delivery::Delivered => 3,
            Delivery::Failed => 4,
            Delivery::Complained => 5,
            // Refused before sending: final, no provider report can follow.
            Delivery::Blocked => 6,
        }
    }

    /// Whether a report of `self` replaces `current` (only a higher rank does; the relay's
    /// `unsent` replaces only `queued`).
    pub fn may_replace(self, current: Option<Delivery>) -> bool {
        match (self, current) {
            (_, None) => true,
            (Delivery::Unsent, Some(current)) => current == Delivery::Queued,
            // The consent check's refusal at sending stops a mail that has not gone; a status
            // the relay or the provider reported is never overwritten by it.
            (Delivery::Blocked, Some(current)) => {
                matches!(current, Delivery::Queued | Delivery::Unsent)
            }
            (report, Some(current)) => report.rank() > current.rank(),
        }
    }

    /// The status a Mailgun event reports: `delivered`, `failed` (severity `permanent`;
    /// `temporary` means Mailgun retries: `deferred`), `complained`. Other events (opens,
    /// clicks, unsubscribes) do not change the delivery status.
    pub fn from_mailgun(event: &str, severity: Option<&str>) -> Option<Delivery> {
        match (event, severity) {
            ("delivered", _) => Some(Delivery::Delivered),
            ("failed", Some("temporary")) => Some(Delivery::Deferred),
            ("failed", _) => Some(Delivery::Failed),
            ("complained", _) => Some(Delivery::Complained),
            _ => None,
        }
    }
}

/// A message body is at most this long (characters).
pub const MAX_BODY_CHARS: usize = 100_000;
pub const MAX_TAGS: usize = 20;

/// Who a new ticket is from: an email address or a phone number (or both), and a name.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRef {
    pub email: Option<String>,
    pub phone: Option<String>,
    #[schemars(length(max = 200))]
    pub name: Option<String>,
}

/// Body of `POST /api/v1/tickets`: the ticket and its first (inbound) message.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketIn {
    #[schemars(length(min = 1, max = 300))]
    pub subject: String,
    /// The customer; found by email, then phone, or created.
    pub contact: ContactRef,
    /// The customer's message.
    #[schemars(length(min = 1, max = 100000))]
    pub message: String,
    /// `low`, `normal` (default), `high` or `urgent`.
    pub priority: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A validated new ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub subject: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub message: String,
    pub priority: Priority,
    pub tags: Vec<String>,
}

/// A message's text, trimmed: not empty, at most [`MAX_BODY_CHARS`], no control characters
/// but line breaks and tabs. Every way a message is written goes through it (the API, the
/// console, the client portal).
pub(crate) fn check_body(field: &str, text: &str) -> Result<String, FieldError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > MAX_BODY_CHARS {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_BODY_CHARS} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

fn check_tags(tags: &[String]) -> Result<Vec<String>, FieldError> {
    if tags.len() > MAX_TAGS {
        return Err(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = validate::text("tags", tag, 1, 40)?.to_lowercase();
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn check_priority(text: &str) -> Result<Priority, FieldError> {
    Priority::parse(text.trim()).ok_or_else(|| {
        FieldError::new("priority", format!("must be one of: {}", Priority::names()))
    })
}

fn check_status(text: &str) -> Result<Status, FieldError> {
    Status::parse(text.trim())
        .ok_or_else(|| FieldError::new("status", format!("must be one of: {}", Status::names())))
}

impl TicketIn {
    pub fn validate(&self) -> Result<NewTicket, Vec<FieldError>> {
        let mut errors = Errors::default();
        let subject = errors.take(validate::text("subject", &self.subject, 1, 300));
        let email = match &self.contact.email {
            Some(e) => errors.take(validate::email("contact.email", e)).map(Some),
            None => Some(None),
        };
        let phone = match &self.contact.phone {
            Some(p) => errors.take(validate::phone("contact.phone", p)).map(Some),
            None => Some(None),
        };
        let name = match &self.contact.name {
            Some(n) => errors
                .take(validate::text("contact.name", n, 1, 200))
                .map(Some),
            None => Some(None),
        };
        if self.contact.email.is_none() && self.contact.phone.is_none() {
            errors.push("contact", "give the customer's email or phone");
        }
        let message = errors.take(check_body("message", &self.message));
        let priority = match &self.priority {
            Some(p) => errors.take(check_priority(p)),
            None => Some(Priority::Normal),
        };
        let tags = errors.take(check_tags(&self.tags));
        match (subject, email, phone, name, message, priority, tags) {
            (
                Some(subject),
                Some(email),
                Some(phone),
                Some(name),
                Some(message),
                Some(priority),
                Some(tags),
            ) => errors.finish(NewTicket {
                subject,
                email,
                phone,
                name,
                message,
                priority,
                tags,
            }),
            _ => Err(errors.finish(()).err().unwrap_or_default()),
        }
    }
}

/// Body of `PATCH /api/v1/tickets/{id}`: any subset.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    #[schemars(length(min = 1, max = 300))]
    pub subject: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// A member's user id (`usr_…`), or null to unassign.
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub assignee: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
}

/// A validated change; `assignee: Some(None)` unassigns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketChange {
    pub subject: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
}

impl TicketPatch {
    pub fn validate(&self) -> Result<TicketChange, Vec<FieldError>> {
        let mut errors = Errors::default();
        let mut change = TicketChange::default();
        if let Some(subject) = &self.subject {
            change.subject = errors.take(validate::text("subject", subject, 1, 300));
        }
        if let Some(status) = &self.status {
            change.status = errors.take(check_status(status));
        }
        if let Some(priority) = &self.priority {
            change.priority = errors.take(check_priority(priority));
        }
        match &self.assignee {
            Some(Some(user)) => match crate::ids::UserId::parse(user.trim()) {
                Some(id) => change.assignee = Some(Some(id.to_string())),
                None => errors.push("assignee", "must be a member's user id (usr_…) or null"),
            },
            Some(None) => change.assignee = Some(None),
            None => {}
        }
        if let Some(tags) = &self.tags {
            change.tags = errors.take(check_tags(tags));
        }
        if change == TicketChange::default() && errors.is_empty() {
            errors.push(
                "",
                "name at least one of subject, status, priority, assignee, tags",
            );
        }
        errors.finish(change)
    }
}

/// Body of `POST /api/v1/tickets/{id}/notes`, and of a customer's reply in the client portal
/// (`POST /api/portal/v1/tickets/{id}/replies`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    #[schemars(length(min = 1, max = 100000))]
    pub body: String,
}

impl MessageIn {
    pub fn validate(&self) -> Result<String, Vec<FieldError>> {
        check_body("body", &self.body).map_err(|e| vec![e])
    }
}

/// Body of `POST /api/v1/tickets/{id}/replies`: exactly one of `body` or `saved_reply_id`
/// (a saved reply rendered for this ticket's contact and the sender).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyIn {
    #[schemars(length(min = 1, max = 100000))]
    pub body: Option<String>,
    /// A saved reply (`sr_…`) to send instead of `body`.
    pub saved_reply_id: Option<String>,
}

/// What a reply is made from.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplySource {
    Body(String),
    Saved(crate::ids::SavedReplyId),
}

impl ReplyIn {
    pub fn validate(&self) -> Result<ReplySource, Vec<FieldError>> {
        match (&self.body, &self.saved_reply_id) {
            (Some(body), None) => check_body("body", body)
                .map(ReplySource::Body)
                .map_err(|e| vec![e]),
            (None, Some(id)) => crate::ids::SavedReplyId::parse(id.trim())
                .map(ReplySource::Saved)
                .ok_or_else(|| {
                    vec![FieldError::new(
                        "saved_reply_id",
                        "is not a saved reply of this workspace",
                    )]
                }),
            _ => Err(vec![FieldError::new(
                "",
                "give exactly one of body or saved_reply_id",
            )]),
        }
    }
}

/// Checks a rendered reply like a typed one (a saved reply can render empty when every
/// placeholder in it is blank).
pub fn check_reply_text(text: &str) -> Result<String, FieldError> {
    check_body("body", text)
}

/// At most this many tickets in one bulk change.
pub const MAX_BULK: usize = 100;

/// Body of `POST /api/v1/tickets/bulk`: one change for up to 100 tickets, all or nothing.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkIn {
    /// 1 to 100 distinct ticket ids.
    pub ids: Vec<String>,
    pub status: Option<String>,
    /// A member's user id, or null to unassign.
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub assignee: Option<Option<String>>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
}

/// A validated bulk change.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkChange {
    pub ids: Vec<crate::ids::TicketId>,
    pub status: Option<Status>,
    pub assignee: Option<Option<String>>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

/// `POST /api/v1/tickets/bulk`: how many tickets changed, and every named ticket as it is now,
/// in the order given.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BulkOut {
    pub updated: usize,
    pub tickets: Vec<TicketOut>,
}

fn shown(id: &str) -> String {
    let mut s: String = id.chars().take(40).collect();
    if s.len() < id.len() {
        s.push('…');
    }
    s
}

impl BulkIn {
    pub fn validate(&self) -> Result<BulkChange, Vec<FieldError>> {
        let mut errors = Errors::default();
        let mut ids = Vec::new();
        let mut malformed = Vec::new();
        let mut repeated = Vec::new();
        if self.ids.is_empty() || self.ids.len() > MAX_BULK {
            // Counted before anything is parsed: a huge list costs nothing more.
            errors.push("ids", format!("give 1 to {MAX_BULK} ticket ids"));
        } else {
            let mut seen = std::collections::HashSet::new();
            for text in &self.ids {
                match crate::ids::TicketId::parse(text.trim()) {
                    Some(id) if !seen.insert(id.clone()) => {
                        if !repeated.contains(&id) {
                            repeated.push(id)
                        }
                    }
                    Some(id) => ids.push(id),
                    None => malformed.push(shown(text)),
                }
            }
        }
        if !malformed.is_empty() {
            errors.push(
                "ids",
                format!("not ticket ids (tk_…): {}", malformed.join(", ")),
            );
        }
        if !repeated.is_empty() {
            let names: Vec<&str> = repeated.iter().map(|id| id.as_str()).collect();
            errors.push("ids", format!("named more than once: {}", names.join(", ")));
        }
        let status = self
            .status
            .as_deref()
            .and_then(|s| errors.take(check_status(s)));
        let assignee = match &self.assignee {
            Some(Some(user)) => match crate::ids::UserId::parse(user.trim()) {
                Some(id) => Some(Some(id.to_string())),
                None => {
                    errors.push("assignee", "must be a member's user id (usr_…) or null");
                    None
                }
            },
            Some(None) => Some(None),
            None => None,
        };
        let add_tags = errors
            .take(check_tags(&self.add_tags).map_err(|e| FieldError::new("add_tags", e.message)))
            .unwrap_or_default();
        let remove_tags = errors
            .take(
                check_tags(&self.remove_tags)
                    .map_err(|e| FieldError::new("remove_tags", e.message)),
            )
            .unwrap_or_default();
        let both: Vec<&str> = add_tags
            .iter()
            .filter(|t| remove_tags.contains(t))
            .map(String::as_str)
            .collect();
        if !both.is_empty() {
            errors.push(
                "remove_tags",
                format!("both added and removed: {}", both.join(", ")),
            );
        }
        if self.status.is_none()
            && self.assignee.is_none()
            && self.add_tags.is_empty()
            && self.remove_tags.is_empty()
        {
            errors.push(
                "",
                "name at least one of status, assignee, add_tags, remove_tags",
            );
        }
        errors.finish(BulkChange {
            ids,
            status,
            assignee,
            add_tags,
            remove_tags,
        })
    }
}

impl BulkChange {
    /// The single-ticket change this bulk change makes to a ticket with `tags`.
    pub fn for_ticket(&self, id: &str, tags: &[String]) -> Result<TicketChange, FieldError> {
        let tags = if self.add_tags.is_empty() && self.remove_tags.is_empty() {
            None
        } else {
            let mut next: Vec<String> = tags
                .iter()
                .filter(|t| !self.remove_tags.contains(t))
                .cloned()
                .collect();
            for t in &self.add_tags {
                if !next.contains(t) {
                    next.push(t.clone());
                }
            }
            if next.len() > MAX_TAGS {
                return Err(FieldError::new(
                    "add_tags",
                    format!("ticket {id} would have more than {MAX_TAGS} tags"),
                ));
            }
            Some(next)
        };
        Ok(TicketChange {
            subject: None,
            status: self.status,
            priority: None,
            assignee: self.assignee.clone(),
            tags,
        })
    }
}

/// A ticket as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TicketOut {
    pub id: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub contact_id: Option<String>,
    /// `email`, `widget`, `api` or `portal` (see [`Channel`]).
    pub channel: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_at: i64,
    /// When the team first replied (for reporting).
    pub first_response_at: Option<i64>,
    /// When it was resolved or closed; cleared when it reopens.
    pub resolved_at: Option<i64>,
    /// Seconds from opening to the team's first reply.
    pub first_response_seconds: Option<i64>,
    /// Seconds from opening to `resolved_at`.
    pub resolution_seconds: Option<i64>,
}

/// Whole seconds from `from` to `to` (milliseconds), never negative.
pub fn seconds_between(from: i64, to: Option<i64>) -> Option<i64> {
    to.map(|to| to.saturating_sub(from).max(0) / 1000)
}

/// A message as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MessageOut {
    pub id: String,
    pub ticket_id: String,
    /// `inbound`, `reply` or `note`.
    pub kind: String,
    /// `contact`, `user`, `api_key` or `system`.
    pub author_type: String,
    pub author_id: Option<String>,
    pub body: String,
    pub created_at: i64,
    /// For a reply mailed to the customer: where the mail is (see [`Delivery`]); `null` for
    /// messages that were not mailed.
    pub delivery_status: Option<Delivery>,
    /// The provider's words on a failure or complaint (e.g. `550 5.1.1 mailbox unknown`).
    pub delivery_detail: Option<String>,
}

impl MessageOut {
    /// The message as `role` may read it. The delivery detail is the words of the mail
    /// provider or relay about a failed delivery, which often name the recipient
    /// (`550 5.1.1 <ada@example.com>: Recipient address rejected`) and cannot be cut field by
    /// field: a role that does not see every contact field gets it withheld (`null`), as the
    /// raw bodies at `/api/v1/inbound-events`. The status stays.
    pub fn for_role(mut self, role: &crate::access::policy::Role) -> Self {
        if !crate::access::fields::sees_every_field(role, crate::access::fields::Resource::Contacts)
        {
            self.delivery_detail = None;
        }
        self
    }

    /// [`MessageOut::for_role`] on a message as webhook event data.
    pub fn cut_event_data(role: &crate::access::policy::Role, data: &mut serde_json::Value) {
        if !crate::access::fields::sees_every_field(role, crate::access::fields::Resource::Contacts)
            && let Some(map) = data.as_object_mut()
            && map.contains_key("delivery_detail")
        {
            map.insert("delivery_detail".to_owned(), serde_json::Value::Null);
        }
    }
}

/// A file that came with a message; download it at
/// `GET /api/v1/tickets/{ticket}/attachments/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AttachmentOut {
    pub id: String,
    pub message_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// `GET /api/v1/tickets/{id}`: the ticket and its thread, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TicketThread {
    #[serde(flatten)]
    pub ticket: TicketOut,
    pub messages: Vec<MessageOut>,
    #[serde(default)]
    pub attachments: Vec<AttachmentOut>,
}

/// List filters, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFilter {
    pub status: Option<Status>,
    pub assignee: Option<String>,
    pub tag: Option<String>,
    pub contact: Option<String>,
    pub q: Option<SearchQuery>,
    /// Only tickets nobody is assigned (the console's "unassigned" view).
    pub unassigned: bool,
}

impl TicketFilter {
    pub fn parse(
        status: Option<&str>,
        assignee: Option<&str>,
        tag: Option<&str>,
        contact: Option<&str>,
        q: Option<&str>,
        errors: &mut Errors,
    ) -> TicketFilter {
        TicketFilter {
            status: status.and_then(|s| errors.take(check_status(s))),
            assignee: assignee.and_then(|a| match crate::ids::UserId::parse(a.trim()) {
                Some(id) => Some(id.to_string()),
                None => {
                    errors.push("assignee", "must be a user id (usr_…)");
                    None
                }
            }),
            tag: tag.and_then(|t| {
                errors
                    .take(validate::text("tag", t, 1, 40))
                    .map(|t| t.to_lowercase())
            }),
            contact: contact.and_then(|c| match crate::ids::ContactId::parse(c.trim()) {
                Some(id) => Some(id.to_string()),
                None => {
                    errors.push("contact", "must be a contact id (ct_…)");
                    None
                }
            }),
            q: q.and_then(|q| {
                errors
                    .take(validate::text("q", q, 1, 200))
                    .and_then(|q| errors.take(SearchQuery::parse("q", &q)))
            }),
            unassigned: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> TicketIn {
        TicketIn {
            subject: " Leaking tap ".into(),
            contact: ContactRef {
                email: Some("Ada@Example.COM".into()),
                phone: None,
                name: Some("Ada".into()),
            },
            message: "The kitchen tap drips.\n".into(),
            priority: None,
            tags: vec!["Plumbing".into(), "plumbing".into()],
        }
    }

    #[test]
    fn a_new_ticket_is_normalised() {
        let t = ticket().validate().unwrap();
        assert_eq!(t.subject, "Leaking tap");
        assert_eq!(t.email.as_deref(), Some("Ada@example.com"));
        assert_eq!(t.priority, Priority::Normal);
        assert_eq!(t.tags, vec!["plumbing"]);
        assert_eq!(t.message, "The kitchen tap drips.");
    }

    #[test]
    fn a_bad_ticket_names_every_field() {
        let bad = TicketIn {
            subject: String::new(),
            contact: ContactRef::default(),
            message: "  ".into(),
            priority: Some("asap".into()),
            tags: vec!["x".repeat(41)],
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["subject", "contact", "message", "priority", "tags"]
        );
        let control = TicketIn {
            message: "bell\u{7}".into(),
            ..ticket()
        };
        assert_eq!(control.validate().unwrap_err()[0].field, "message");
        let phone = TicketIn {
            contact: ContactRef {
                email: None,
                phone: Some("0207 946 0958".into()),
                name: None,
            },
            ..ticket()
        };
        assert_eq!(phone.validate().unwrap_err()[0].field, "contact.phone");
    }

    #[test]
    fn a_patch_validates_what_it_names_and_can_unassign() {
        let patch: TicketPatch =
            serde_json::from_str(r#"{"assignee": null, "status": "pending"}"#).unwrap();
        let change = patch.validate().unwrap();
        assert_eq!(change.assignee, Some(None));
        assert_eq!(change.status, Some(Status::Pending));
        let empty: TicketPatch = serde_json::from_str("{}").unwrap();
        assert!(empty.validate().is_err());
        let bad: TicketPatch =
            serde_json::from_str(r#"{"assignee": "bob", "status": "done"}"#).unwrap();
        assert_eq!(bad.validate().unwrap_err().len(), 2);
    }

    #[test]
    fn a_bulk_change_names_bad_and_repeated_ids_and_merges_tags() {
        let id = "tk_0192f0c0a0b07000800000000000000a";
        let bad: BulkIn = serde_json::from_value(serde_json::json!({
            "ids": [id, id, "tk_nope", "x".repeat(100)],
            "add_tags": ["a"], "remove_tags": ["A"], "assignee": "bob"
        }))
        .unwrap();
        let errors = bad.validate().unwrap_err();
        let text = serde_json::to_string(&errors).unwrap();
        assert!(
            text.contains("tk_nope") && text.contains("more than once"),
            "{text}"
        );
        assert!(!text.contains(&"x".repeat(41)), "long input is cut: {text}");
        assert!(text.contains("assignee") && text.contains("both added and removed"));
        let nothing: BulkIn = serde_json::from_value(serde_json::json!({"ids": [id]})).unwrap();
        assert!(nothing.validate().is_err());
        let too_many: BulkIn = serde_json::from_value(serde_json::json!({
            "ids": vec![id; 101], "status": "open"
        }))
        .unwrap();
        assert!(too_many.validate().is_err());

        let ok: BulkIn = serde_json::from_value(serde_json::json!({
            "ids": [id], "add_tags": ["VIP", "billing"], "remove_tags": ["old"]
        }))
        .unwrap();
        let change = ok.validate().unwrap();
        let per = change
            .for_ticket(id, &["old".into(), "billing".into()])
            .unwrap();
        assert_eq!(per.tags, Some(vec!["billing".into(), "vip".into()]));
        assert_eq!(per.status, None);
        let full: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        assert!(change.for_ticket(id, &full).is_err(), "the tag limit holds");
    }

    #[test]
    fn a_reply_is_a_body_or_a_saved_reply_never_both() {
        let both: ReplyIn = serde_json::from_value(
            serde_json::json!({"body": "hi", "saved_reply_id": "sr_0192f0c0a0b07000800000000000000a"}),
        )
        .unwrap();
        assert!(both.validate().is_err());
        let neither: ReplyIn = serde_json::from_value(serde_json::json!({})).unwrap();
        assert!(neither.validate().is_err());
        let saved: ReplyIn = serde_json::from_value(
            serde_json::json!({"saved_reply_id": "sr_0192f0c0a0b07000800000000000000a"}),
        )
        .unwrap();
        assert!(matches!(saved.validate(), Ok(ReplySource::Saved(_))));
        let bad: ReplyIn =
            serde_json::from_value(serde_json::json!({"saved_reply_id": "x"})).unwrap();
        assert_eq!(bad.validate().unwrap_err()[0].field, "saved_reply_id");
    }

    #[test]
    fn the_sets_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Channel::parse("fax"), None);
        assert_eq!(Channel::parse("portal"), Some(Channel::Portal));
    }

    #[test]
    fn a_delivery_status_only_moves_forward() {
        use Delivery::*;
        assert!(Queued.may_replace(None));
        assert!(Sent.may_replace(Some(Queued)));
        assert!(Delivered.may_replace(Some(Sent)));
        // A provider report overtakes the relay's; the relay's late word changes nothing.
        assert!(Delivered.may_replace(Some(Queued)));
        assert!(!Sent.may_replace(Some(Delivered)));
        assert!(!Deferred.may_replace(Some(Delivered)));
        assert!(Failed.may_replace(Some(Deferred)));
        // A bounce after acceptance is final: a retried webhook's old `delivered` does not
        // undo it.
        assert!(Failed.may_replace(Some(Delivered)));
        assert!(!Delivered.may_replace(Some(Failed)));
        assert!(Complained.may_replace(Some(Delivered)));
        assert!(Complained.may_replace(Some(Failed)));
        assert!(!Delivered.may_replace(Some(Complained)));
        // A repeated report is no change.
        assert!(!Delivered.may_replace(Some(Delivered)));
        assert!(!Failed.may_replace(Some(Failed)));
        // The relay's refusal counts only before anything else; a revived job that sends
        // still moves the status on.
        assert!(Unsent.may_replace(Some(Queued)));
        assert!(!Unsent.may_replace(Some(Sent)));
        assert!(Sent.may_replace(Some(Unsent)));
        assert!(Delivered.may_replace(Some(Unsent)));
        // The consent check's refusal at sending replaces the queued status; it is final.
        assert!(Blocked.may_replace(Some(Queued)));
        assert!(Blocked.may_replace(Some(Unsent)));
        for later in [Sent, Delivered, Failed, Complained, Unsent, Deferred] {
            assert!(!later.may_replace(Some(Blocked)), "{later:?}");
        }
        for reported in [Sent, Deferred, Delivered, Failed, Complained] {
            assert!(!Blocked.may_replace(Some(reported)), "{reported:?}");
        }
    }

    #[test]
    fn mailgun_events_map_to_delivery_statuses() {
        assert_eq!(
            Delivery::from_mailgun("delivered", None),
            Some(Delivery::Delivered)
        );
        assert_eq!(
            Delivery::from_mailgun("failed", Some("permanent")),
            Some(Delivery::Failed)
        );
        assert_eq!(
            Delivery::from_mailgun("failed", Some("temporary")),
            Some(Delivery::Deferred)
        );
        assert_eq!(
            Delivery::from_mailgun("failed", None),
            Some(Delivery::Failed)
        );
        assert_eq!(
            Delivery::from_mailgun("complained", None),
            Some(Delivery::Complained)
        );
        assert_eq!(Delivery::from_mailgun("opened", None), None);
        assert_eq!(Delivery::from_mailgun("accepted", None), None);
    }

    #[test]
    fn a_bulk_list_over_the_limit_is_refused_before_any_id_is_read() {
        let ids: Vec<String> = (0..30_000).map(|n| format!("tk_{:032x}", n)).collect();
        let refused = BulkIn {
            ids,
            status: Some("open".into()),
            assignee: None,
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
        }
        .validate()
        .unwrap_err();
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0].field, "ids");
        assert!(refused[0].message.contains("1 to 100"), "{refused:?}");
    }
}
