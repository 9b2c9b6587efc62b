//! Webhooks, both ways: this module holds the outbound rules; `inbound` verifies what
//! providers send (one module per provider's published scheme).
//!
//! Outbound webhooks, the parts that are rules: the event catalogue (names, payload versions,
//! the permission an endpoint's role needs to receive each), the payload envelope, endpoint
//! secrets (`whsec_…`) and the Standard Webhooks signature header, including the overlap after
//! a rotation during which two signatures are sent.
//!
//! Signing itself is [`crate::webhooks::inbound::standard::sign`]: one implementation of the Standard
//! Webhooks scheme serves both directions.

pub mod inbound;

use crate::access::api_keys::parse_role;
use crate::access::fields::Resource;
use crate::access::policy::Permission;
use crate::access::policy::RoleRef;
use crate::clock::Millis;
use crate::secret::Secret;
use crate::validate::{self, Errors, FieldError};
use crate::webhooks::inbound::standard;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! events {
    ($($variant:ident => $name:literal, version $version:literal, $permission:ident, $resource:expr, $doc:literal;)*) => {
        /// Every event Holdfast publishes to webhooks.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
        pub enum EventType {
            $(#[doc = $doc] #[serde(rename = $name)] $variant,)*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $name,)* }
            }

            /// The payload's schema version; raised (never changed in place) when a field's
            /// meaning or type changes. Added fields do not raise it.
            pub fn version(self) -> u32 {
                match self { $(EventType::$variant => $version,)* }
            }

            /// What a role needs to receive this event at all.
            pub fn permission(self) -> Permission {
                match self { $(EventType::$variant => Permission::$permission,)* }
            }

            /// Whose field rules shape `data` (fields the endpoint's role may not see are left out).
            pub fn resource(self) -> Option<Resource> {
                match self { $(EventType::$variant => $resource,)* }
            }

            pub fn describe(self) -> &'static str {
                match self { $(EventType::$variant => $doc,)* }
            }
        }
    };
}

events! {
    ContactCreated => "contact.created", version 1, ContactsRead, Some(Resource::Contacts), "A contact was created; data is the contact";
    ContactUpdated => "contact.updated", version 1, ContactsRead, Some(Resource::Contacts), "A contact changed; data is the contact after the change";
    ContactDeleted => "contact.deleted", version 1, ContactsRead, None, "A contact was deleted; data holds its id";
    ContactErased => "contact.erased", version 1, ContactsRead, None, "A contact's personal data was erased (on request or by retention); data holds only its id";
    TicketCreated => "ticket.created", version 1, TicketsRead, None, "A ticket was opened; data is the ticket";
    TicketUpdated => "ticket.updated", version 1, TicketsRead, None, "A ticket's status, priority, assignee, tags or subject changed; data is the ticket after the change";
    MessageCreated => "message.created", version 1, TicketsRead, None, "A message was added to a ticket (inbound, reply or internal note); data is the message";
    JobCreated => "job.created", version 1, JobsAll, None, "A field-service job was booked; data is the job";
    JobUpdated => "job.updated", version 1, JobsAll, None, "A job's details, window, technicians, checklist or line items changed; data is the job after the change";
    JobStatusChanged => "job.status_changed", version 1, JobsAll, None, "A job moved to another status; data is the job with its history";
    InvoiceCreated => "invoice.created", version 1, InvoicesRead, Some(Resource::Invoices), "A draft invoice was created; data is the invoice (amounts only for roles that see them)";
    InvoiceUpdated => "invoice.updated", version 1, InvoicesRead, Some(Resource::Invoices), "A draft invoice changed; data is the invoice after the change";
    InvoiceIssued => "invoice.issued", version 1, InvoicesRead, Some(Resource::Invoices), "An invoice was issued with its number and dates; data is the invoice";
    InvoicePaid => "invoice.paid", version 1, InvoicesRead, Some(Resource::Invoices), "Nothing is owed on an invoice any more; data is the invoice";
    InvoiceVoided => "invoice.voided", version 1, InvoicesRead, Some(Resource::Invoices), "An issued invoice was voided (its number stays used); data is the invoice";
    InvoiceCredited => "invoice.credited", version 1, InvoicesRead, Some(Resource::Invoices), "A credit note was issued against an invoice; data is the credit note";
    PaymentRecorded => "payment.recorded", version 1, InvoicesRead, Some(Resource::Invoices), "Money was received against an invoice (by hand or a provider's verified webhook); data is the invoice with its payments";
    PaymentRefunded => "payment.refunded", version 1, InvoicesRead, Some(Resource::Invoices), "Money was given back against an invoice; data is the invoice with its payments";
    MessageDeliveryUpdated => "message.delivery_updated", version 1, TicketsRead, None, "A reply mailed to the customer was delivered, deferred, bounced or marked as spam (or the mail relay refused it); data is the message with its delivery_status";
}

/// A contact as a webhook event's data while it waits in the outbox (the queue job): whole,
/// because each endpoint receives it cut to its own role's fields at fan-out
/// (`fields::Visible::stored`); never an answer by itself.
pub fn contact_event_data(contact: &crate::crm::contacts::ContactOut) -> serde_json::Value {
    contact.to_json()
}

impl EventType {
    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.iter().copied().find(|e| e.as_str() == text)
    }
}

/// The body of every delivery: `{"id","type","version","timestamp","data"}` — the Standard
/// Webhooks envelope (type, timestamp, data) plus the event id and payload version.
pub fn envelope(
    event_id: &str,
    event: EventType,
    occurred_at_ms: Millis,
    data: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "id": event_id,
        "type": event.as_str(),
        "version": event.version(),
        "timestamp": rfc3339_ms(occurred_at_ms),
        "data": data,
    })
}

/// `2026-11-23T14:05:09.123Z` for a UTC millisecond time.
pub fn rfc3339_ms(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A new endpoint secret: `whsec_` and the base64 of 32 random bytes.
pub fn generate_secret() -> Secret<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(format!("whsec_{}", B64.encode(bytes)))
}

/// The `webhook-signature` header value: one `v1,<sig>` per secret, space-separated (the
/// current secret first, then the previous one while its overlap lasts). Secrets that do not
/// decode are skipped; `None` when none is usable.
pub fn signature_header(
    secrets: &[&str],
    msg_id: &str,
    timestamp_s: i64,
    body: &[u8],
) -> Option<String> {
    let signatures: Vec<String> = secrets
        .iter()
        .filter_map(|secret| standard::decode_secret(secret).ok())
        .map(|key| standard::sign(&key, msg_id, timestamp_s, body))
        .collect();
    (!signatures.is_empty()).then(|| signatures.join(" "))
}

/// How long the previous secret keeps signing after a rotation, by default and at most.
pub const DEFAULT_ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;
pub const MAX_ROTATION_OVERLAP_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// A response body kept in the delivery log is cut to this many bytes.
pub const LOGGED_RESPONSE_BYTES: usize = 2048;

/// Where one message (one event for one endpoint) is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    /// Waiting for its first attempt (or, after a recovery, for its next one).
    Pending,
    /// An attempt failed; its job retries on the backoff schedule.
    Failing,
    /// Every attempt of its job failed while the endpoint stayed enabled; recoverable.
    Failed,
    /// Not sent because the endpoint is disabled; kept until an admin recovers it.
    Held,
    Delivered,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Failing => "failing",
            MessageStatus::Failed => "failed",
            MessageStatus::Held => "held",
            MessageStatus::Delivered => "delivered",
        }
    }

    /// What a recovery re-queues: messages no job will try again.
    pub const RECOVERABLE: [MessageStatus; 2] = [MessageStatus::Failed, MessageStatus::Held];
}

/// Whether a failed attempt disables its (enabled) endpoint: only when every attempt has
/// failed for the whole period since the first failure of the streak (`failing_since`, this
/// attempt's time when it starts the streak). A burst of failures in a short outage, however
/// many, never does; hosted webhook services use the same rule (five days).
pub fn should_disable(failing_since: Millis, now_ms: Millis, period_ms: i64) -> bool {
    now_ms.saturating_sub(failing_since) >= period_ms
}

/// How far back a recovery reaches: the longest failing period (two weeks) plus two weeks
/// to notice.
pub const RECOVER_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Messages re-queued by one recovery call, oldest first; call again for the rest.
pub const RECOVER_BATCH: u32 = 10_000;

/// Body of `POST /api/v1/webhooks/{id}/recover`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverIn {
    /// Re-queue the endpoint's undelivered messages (failed, or held while it was disabled)
    /// created at or after this time: UTC milliseconds since 1970, as every time in this API;
    /// not in the future and at most 30 days back.
    #[schemars(with = "i64")]
    pub since: Option<serde_json::Value>,
}

impl RecoverIn {
    pub fn since_ms(&self, now_ms: Millis) -> Result<Millis, Vec<FieldError>> {
        let example = now_ms - 24 * 60 * 60 * 1000;
        let since = match &self.since {
            None | Some(serde_json::Value::Null) => {
                return Err(vec![FieldError::new(
                    "since",
                    format!(
                        "is required: the time (UTC milliseconds since 1970) of the oldest message to recover, e.g. {example} for a day ago"
                    ),
                )]);
            }
            Some(value) => value.as_i64().ok_or_else(|| {
                vec![FieldError::new(
                    "since",
                    format!(
                        "must be a time in UTC milliseconds since 1970, a whole number like every time in this API (e.g. {example} for a day ago)"
                    ),
                )]
            })?,
        };
        if since > now_ms {
            return Err(vec![FieldError::new(
                "since",
                format!(
                    "is in the future ({}); nothing can have failed yet",
                    rfc3339_ms(since)
                ),
            )]);
        }
        let oldest = now_ms - RECOVER_WINDOW_MS;
        if since < oldest {
            return Err(vec![FieldError::new(
                "since",
                format!(
                    "is more than 30 days ago ({}); recovery reaches back to {} ({oldest})",
                    rfc3339_ms(since),
                    rfc3339_ms(oldest)
                ),
            )]);
        }
        Ok(since)
    }
}

/// Answer of a recovery.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecoverOut {
    /// Messages queued for delivery now (each keeps its `webhook-id`).
    pub queued: u64,
    /// True when more than one call's worth matched: call again with the same `since`.
    pub more: bool,
    pub since: i64,
}

/// An endpoint as the API shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EndpointOut {
    pub id: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    /// The role whose permissions and field rules shape what this endpoint receives.
    pub role: String,
    pub enabled: bool,
    /// `manual` or `failing` (disabled after every attempt failed for
    /// `webhook_disable_after_hours`).
    pub disabled_reason: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
    /// When the current streak of failures began (no success since); null while healthy.
    pub failing_since: Option<i64>,
    /// While set, deliveries are also signed with the previous secret (after a rotation).
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A logged attempt as the API shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AttemptOut {
    pub id: String,
    pub message_id: String,
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first try of the message, then 2, 3, …
    pub attempt: i64,
    /// `auto` (the queue), `manual` (a redelivery) or `recover` (a recovery).
    pub trigger: String,
    pub url: String,
    /// The request's headers (webhook-id, webhook-timestamp, webhook-signature, content-type).
    #[schemars(with = "serde_json::Value")]
    pub request_headers: serde_json::Value,
    /// The signed body.
    pub request_body: String,
    pub response_status: Option<i64>,
    /// At most 2 KiB of the response body.
    pub response_body: Option<String>,
    /// Why no status was received (refused address, timeout, connection error).
    pub error: Option<String>,
    pub latency_ms: i64,
    pub created_at: i64,
}

/// Body of `POST /api/v1/webhooks`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where deliveries are POSTed: an `http://` or `https://` URL on a public address (private,
    /// loopback and link-local addresses are refused unless the operator allows them).
    #[schemars(length(min = 8, max = 2048))]
    pub url: String,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub description: String,
    /// Events to receive (`GET /api/v1/webhooks/event-types` lists them).
    #[schemars(length(min = 1))]
    pub event_types: Vec<String>,
    /// The role whose permissions and field rules shape what the endpoint receives; your own
    /// role when left out, and never one with more than yours.
    pub role: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// Body of `PATCH /api/v1/webhooks/{id}`: any subset of the fields.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[schemars(length(min = 8, max = 2048))]
    pub url: Option<String>,
    #[schemars(length(max = 200))]
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub role: Option<String>,
    /// Enabling a disabled endpoint also clears its failure count (its held messages stay
    /// held until recovered).
    pub enabled: Option<bool>,
}

/// A validated endpoint definition.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookFields {
    pub url: String,
    pub description: String,
    pub event_types: Vec<EventType>,
    /// `None`: the creating credential's own role.
    pub role: Option<RoleRef>,
    pub enabled: bool,
}

impl WebhookFields {
    pub fn event_type_names(&self) -> Vec<String> {
        self.event_types
            .iter()
            .map(|e| e.as_str().to_owned())
            .collect()
    }
}

fn check_url(url: &str) -> Result<String, FieldError> {
    let url = url.trim();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok
        || url.len() > 2048
        || url.len() < 8
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(FieldError::new(
            "url",
            "must be an http:// or https:// URL of at most 2048 characters, without spaces",
        ));
    }
    Ok(url.to_owned())
}

fn check_event_types(names: &[String]) -> Result<Vec<EventType>, FieldError> {
    if names.is_empty() {
        return Err(FieldError::new(
            "event_types",
            "name at least one event, e.g. [\"contact.created\"]",
        ));
    }
    let mut out: Vec<EventType> = Vec::new();
    for name in names {
        let Some(event) = EventType::parse(name.trim()) else {
            let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
            return Err(FieldError::new(
                "event_types",
                format!(
                    "'{}' is not an event Holdfast sends; one of: {}",
                    name.chars().take(60).collect::<String>(),
                    known.join(", ")
                ),
            ));
        };
        if !out.contains(&event) {
            out.push(event);
        }
    }
    Ok(out)
}

impl WebhookIn {
    pub fn validate(&self) -> Result<WebhookFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let url = errors.take(check_url(&self.url));
        let description = errors.take(validate::text("description", &self.description, 0, 200));
        let event_types = errors.take(check_event_types(&self.event_types));
        let role = match &self.role {
            None => Some(None),
            Some(text) => errors.take(parse_role(text)).map(Some),
        };
        match (url, description, event_types, role) {
            (Some(url), Some(description), Some(event_types), Some(role)) => {
                errors.finish(WebhookFields {
                    url,
                    description,
                    event_types,
                    role,
                    enabled: self.enabled.unwrap_or(true),
                })
            }
            _ => Err(errors.finish(()).err().unwrap_or_default()),
        }
    }
}

impl WebhookPatch {
    /// The endpoint after the patch; `current_role` is what the stored endpoint names.
    pub fn apply(&self, current: &WebhookFields) -> Result<WebhookFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let mut next = current.clone();
        if let Some(url) = &self.url
            && let Some(url) = errors.take(check_url(url))
        {
            next.url = url;
        }
        if let Some(description) = &self.description
            && let Some(d) = errors.take(validate::text("description", description, 0, 200))
        {
            next.description = d;
        }
        if let Some(names) = &self.event_types
            && let Some(events) = errors.take(check_event_types(names))
        {
            next.event_types = events;
        }
        if let Some(role) = &self.role
            && let Some(role) = errors.take(parse_role(role))
        {
            next.role = Some(role);
        }
        if let Some(enabled) = self.enabled {
            next.enabled = enabled;
        }
        errors.finish(next)
    }
}

/// Answer of `POST /api/v1/webhooks`: the endpoint and its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub endpoint: EndpointOut,
    /// `whsec_…`: verify deliveries with it (any Standard Webhooks library). Not shown again.
    pub secret: String,
}

/// Body of `POST /api/v1/webhooks/{id}/rotate-secret`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateIn {
    /// How long the old secret keeps signing too (both signatures are sent), 0 to 604800
    /// seconds; default 86400 (a day).
    pub overlap_seconds: Option<i64>,
}

impl RotateIn {
    pub fn overlap_ms(&self) -> Result<i64, Vec<FieldError>> {
        match self.overlap_seconds {
            None => Ok(DEFAULT_ROTATION_OVERLAP_MS),
            Some(s) if (0..=MAX_ROTATION_OVERLAP_MS / 1000).contains(&s) => Ok(s * 1000),
            Some(_) => Err(vec![FieldError::new(
                "overlap_seconds",
                "must be from 0 (the old secret stops at once) to 604800 (seven days)",
            )]),
        }
    }
}

/// Answer of the rotation: the new secret, shown this once.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RotateOut {
    pub secret: String,
    /// Until then deliveries carry a signature with the old secret as well.
    pub previous_secret_expires_at: Option<i64>,
}

/// One entry of `GET /api/v1/webhooks/event-types`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventTypeOut {
    pub name: &'static str,
    pub version: u32,
    pub description: &'static str,
    /// The permission an endpoint's role needs to receive it.
    pub permission: &'static str,
}

pub fn catalogue() -> Vec<EventTypeOut> {
    EventType::ALL
        .iter()
        .map(|e| EventTypeOut {
            name: e.as_str(),
            version: e.version(),
            description: e.describe(),
            permission: e.permission().as_str(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_round_trips_and_names_a_permission() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(*event));
            assert!(event.version() >= 1);
            assert!(!event.describe().is_empty());
            let json = serde_json::to_value(event).unwrap();
            assert_eq!(json, event.as_str());
        }
        assert_eq!(EventType::parse("contact.exploded"), None);
    }

    #[test]
    fn a_new_endpoint_is_validated_field_by_field() {
        let good = WebhookIn {
            url: " https://hooks.example.com/holdfast ".into(),
            description: "CRM sync".into(),
            event_types: vec![
                "contact.created".into(),
                "contact.created".into(),
                "contact.deleted".into(),
            ],
            role: None,
            enabled: None,
        };
        let fields = good.validate().unwrap();
        assert_eq!(fields.url, "https://hooks.example.com/holdfast");
        assert_eq!(
            fields.event_types,
            vec![EventType::ContactCreated, EventType::ContactDeleted]
        );
        assert!(fields.enabled && fields.role.is_none());

        let bad = WebhookIn {
            url: "ftp://files.example.com".into(),
            description: "x".repeat(201),
            event_types: vec!["contact.exploded".into()],
            role: Some("client".into()),
            enabled: Some(true),
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["url", "description", "event_types", "role"]);
        let none = WebhookIn {
            event_types: vec![],
            ..good.clone()
        };
        assert_eq!(none.validate().unwrap_err()[0].field, "event_types");
        let spaced = WebhookIn {
            url: "https://a.example/x y".into(),
            ..good
        };
        assert_eq!(spaced.validate().unwrap_err()[0].field, "url");
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let current = WebhookFields {
            url: "https://a.example/h".into(),
            description: String::new(),
            event_types: vec![EventType::ContactCreated],
            role: None,
            enabled: false,
        };
        let next = WebhookPatch {
            enabled: Some(true),
            ..Default::default()
        }
        .apply(&current)
        .unwrap();
        assert_eq!(
            next,
            WebhookFields {
                enabled: true,
                ..current.clone()
            }
        );
        let errors = WebhookPatch {
            event_types: Some(vec![]),
            url: Some("nope".into()),
            ..Default::default()
        }
        .apply(&current)
        .unwrap_err();
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn rotation_overlap_is_bounded() {
        assert_eq!(
            RotateIn::default().overlap_ms().unwrap(),
            DEFAULT_ROTATION_OVERLAP_MS
        );
        assert_eq!(
            RotateIn {
                overlap_seconds: Some(0)
            }
            .overlap_ms()
            .unwrap(),
            0
        );
        assert_eq!(
            RotateIn {
                overlap_seconds: Some(604_800)
            }
            .overlap_ms()
            .unwrap(),
            MAX_ROTATION_OVERLAP_MS
        );
        assert!(
            RotateIn {
                overlap_seconds: Some(604_801)
            }
            .overlap_ms()
            .is_err()
        );
        assert!(
            RotateIn {
                overlap_seconds: Some(-1)
            }
            .overlap_ms()
            .is_err()
        );
    }

    #[test]
    fn only_a_failing_period_disables_never_a_burst() {
        let hour = 60 * 60 * 1000;
        let period = 120 * hour;
        // A thousand failures in one minute: not a reason.
        assert!(!should_disable(1_000, 61_000, period));
        assert!(!should_disable(0, period - 1, period));
        assert!(should_disable(0, period, period));
        assert!(should_disable(0, 10 * period, period));
        // A clock that went back never disables.
        assert!(!should_disable(period, 0, period));
    }

    #[test]
    fn recovery_takes_a_recent_past_time_in_milliseconds() {
        let now = 1_800_000_000_000;
        let since = |v: serde_json::Value| RecoverIn { since: Some(v) }.since_ms(now);
        assert_eq!(since(serde_json::json!(now - 1000)), Ok(now - 1000));
        assert_eq!(since(serde_json::json!(now)), Ok(now));
        assert_eq!(
            since(serde_json::json!(now - RECOVER_WINDOW_MS)),
            Ok(now - RECOVER_WINDOW_MS)
        );
        for bad in [
            serde_json::json!(now + 1),
            serde_json::json!(now - RECOVER_WINDOW_MS - 1),
            serde_json::json!("2026-11-23T15:05:09Z"),
            serde_json::json!(1.5),
            serde_json::Value::Null,
        ] {
            let errors = since(bad.clone()).unwrap_err();
            assert_eq!(errors[0].field, "since", "{bad}");
        }
        assert!(RecoverIn::default().since_ms(now).is_err());
        let future = since(serde_json::json!(now + 1)).unwrap_err();
        assert!(future[0].message.contains("future"), "{future:?}");
        let old = since(serde_json::json!(0)).unwrap_err();
        assert!(old[0].message.contains("30 days"), "{old:?}");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_795_446_309_123), "2026-11-23T15:05:09.123Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn secrets_have_the_standard_shape_and_differ() {
        let a = generate_secret();
        let b = generate_secret();
        assert!(a.expose().starts_with("whsec_"));
        assert_ne!(a.expose(), b.expose());
        let key = standard::decode_secret(a.expose()).unwrap();
        assert_eq!(key.len(), 32);
    }

    #[test]
    fn a_rotation_overlap_sends_both_signatures_current_first() {
        let current = generate_secret();
        let previous = generate_secret();
        let body = br#"{"type":"contact.created"}"#;
        let one = signature_header(&[current.expose()], "msg_1", 1_700_000_000, body).unwrap();
        let two = signature_header(
            &[current.expose(), previous.expose()],
            "msg_1",
            1_700_000_000,
            body,
        )
        .unwrap();
        assert!(one.starts_with("v1,") && !one.contains(' '));
        let parts: Vec<&str> = two.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], one);
        assert!(parts[1].starts_with("v1,") && parts[1] != parts[0]);
        assert_eq!(signature_header(&["not a secret"], "m", 1, body), None);
    }

    #[test]
    fn the_envelope_carries_id_type_version_timestamp_and_data() {
        let body = envelope(
            "evt_1",
            EventType::ContactDeleted,
            0,
            serde_json::json!({"id": "ct_1"}),
        );
        assert_eq!(body["id"], "evt_1");
        assert_eq!(body["type"], "contact.deleted");
        assert_eq!(body["version"], 1);
        assert_eq!(body["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(body["data"]["id"], "ct_1");
    }
}
