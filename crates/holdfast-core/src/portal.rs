//! The client portal's rules: a separate realm for a workspace's customers (contacts, not
//! members). A customer asks for a sign-in link by email; the link (`hfml_…`, 256 bits, stored
//! only as its SHA-256) is made when its mail is sent, opens a confirmation page, and signs in
//! only when that page is submitted, once, within 24 hours. The session rides in its own cookie
//! (`__Host-hf_portal`, `hfps_…`), never accepted on a staff route, and a staff credential is
//! never accepted on a portal route. Who may sign in: a contact with an email address whose
//! own portal access is on, or, when staff never chose for them, the workspace's default.
//! Threat note: docs/design/portal.md.

use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The kind prefix of a sign-in link's token (`hfml_…`).
pub const MAGIC_LINK_PREFIX: &str = "hfml";
/// A sign-in link opens its confirmation page for this long after its mail is sent.
pub const MAGIC_LINK_TTL_MS: i64 = DAY_MS;

/// The kind prefix of a portal session cookie's value (`hfps_…`).
pub const SESSION_COOKIE_PREFIX: &str = "hfps";
/// A portal session ends this long after it started, however busy.
pub const SESSION_ABSOLUTE_MS: i64 = 30 * DAY_MS;
/// A portal session ends after this long unused.
pub const SESSION_IDLE_MS: i64 = 7 * DAY_MS;

/// Sign-in links asked for one address (in one workspace) per hour; more are not sent.
pub const LINKS_PER_EMAIL_PER_HOUR: u32 = 5;

/// Body of `POST /api/portal/v1/auth/magic-link`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MagicLinkIn {
    /// The workspace's slug, as in its portal's address `/portal/{slug}`.
    pub workspace: String,
    pub email: String,
}

/// A valid sign-in request: the slug and the address (its domain lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MagicLinkRequest {
    pub workspace: String,
    pub email: String,
}

impl MagicLinkIn {
    /// Every field checked; all that are wrong named at once.
    pub fn validate(&self) -> Result<MagicLinkRequest, Vec<FieldError>> {
        let mut errors = Errors::default();
        let workspace = errors.take(validate::slug("workspace", self.workspace.trim()));
        let email = errors.take(validate::email("email", &self.email));
        match (workspace, email) {
            (Some(workspace), Some(email)) => errors.finish(MagicLinkRequest { workspace, email }),
            _ => Err(errors.finish(()).err().unwrap_or_default()),
        }
    }
}

/// Whether a contact may sign in to the portal: their own setting when staff chose one, else
/// the workspace's default. A contact without an email address never can (the link goes by
/// mail).
pub fn has_access(own: Option<bool>, workspace_default: bool, has_email: bool) -> bool {
    has_email && own.unwrap_or(workspace_default)
}

/// The address a sign-in link opens: the confirmation page of the workspace's portal.
pub fn sign_in_path(workspace_slug: &str, token: &str) -> String {
    format!("/portal/{workspace_slug}/sign-in/{token}")
}

/// Whether a session that started at `created_at` and was last used at `last_seen_at` is
/// still live at `now`.
pub fn session_live(created_at: i64, last_seen_at: i64, now: i64) -> bool {
    now < created_at.saturating_add(SESSION_ABSOLUTE_MS)
        && now < last_seen_at.saturating_add(SESSION_IDLE_MS)
}

/// A session as staff (and the customer) see it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PortalSessionOut {
    pub id: String,
    pub contact_id: String,
    pub user_agent: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

/// The longest subject of a request a customer opens (as a ticket's).
pub const SUBJECT_MAX_CHARS: usize = 300;

/// Body of `POST /api/portal/v1/tickets` and of the portal's "New request" form: a signed-in
/// customer opens a request, a ticket of their own contact (channel `portal`). A reply to a
/// request is a [`crate::helpdesk::tickets::MessageIn`].
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalTicketIn {
    #[schemars(length(min = 1, max = 300))]
    pub subject: String,
    /// The customer's first message.
    #[schemars(length(min = 1, max = 100000))]
    pub message: String,
}

/// A valid new request: both texts trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalRequest {
    pub subject: String,
    pub message: String,
}

impl PortalTicketIn {
    /// Both fields checked (as the help desk checks a ticket's subject and message); all that
    /// are wrong named at once.
    pub fn validate(&self) -> Result<PortalRequest, Vec<FieldError>> {
        let mut errors = Errors::default();
        let subject = errors.take(validate::text(
            "subject",
            &self.subject,
            1,
            SUBJECT_MAX_CHARS,
        ));
        let message = errors.take(crate::helpdesk::tickets::check_body(
            "message",
            &self.message,
        ));
        match (subject, message) {
            (Some(subject), Some(message)) => errors.finish(PortalRequest { subject, message }),
            _ => Err(errors.finish(()).err().unwrap_or_default()),
        }
    }
}

/// Whether a customer may add to a request in this status: not to a closed one (closed is
/// done for good, and a message there would wait unseen); they open a new request instead.
pub fn takes_replies(status: &str) -> bool {
    status != crate::helpdesk::tickets::Status::Closed.as_str()
}

closed_set!(
    /// Who wrote a message of a request, as its customer sees it: `you` (the customer) or
    /// `team` (the business's reply).
    MessageFrom { You => "you", Team => "team" }
);

/// A request (ticket) as its customer sees it: no assignee, tags, priority, channel or the
/// team's timings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PortalTicketOut {
    pub id: String,
    pub subject: String,
    /// `open`, `pending` (waits for the customer), `resolved` or `closed`.
    pub status: String,
    /// When it was opened (UTC milliseconds).
    pub created_at: i64,
    /// When its latest message came (UTC milliseconds).
    pub last_message_at: i64,
}

/// A message of a request as its customer sees it: their own, or a reply of the team. The
/// team's internal notes are never one.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PortalMessageOut {
    pub id: String,
    pub from: MessageFrom,
    pub body: String,
    /// UTC milliseconds.
    pub created_at: i64,
}

/// `GET /api/portal/v1/tickets/{id}` (and the answer to opening one): the request and its
/// conversation, oldest message first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PortalThread {
    #[serde(flatten)]
    pub ticket: PortalTicketOut,
    pub messages: Vec<PortalMessageOut>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_every_bad_field() {
        let ok = MagicLinkIn {
            workspace: " acme ".into(),
            email: "Pat@Example.COM".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.workspace, "acme");
        assert_eq!(ok.email, "Pat@example.com");
        let bad = MagicLinkIn {
            workspace: "A".into(),
            email: "nobody".into(),
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["workspace", "email"]);
    }

    #[test]
    fn access_follows_the_contact_then_the_workspace() {
        assert!(has_access(Some(true), false, true));
        assert!(!has_access(Some(false), true, true));
        assert!(has_access(None, true, true));
        assert!(!has_access(None, false, true));
        assert!(!has_access(Some(true), true, false), "no address, no link");
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let start = 1_000;
        assert!(session_live(start, start, start + 1));
        assert!(!session_live(start, start, start + SESSION_IDLE_MS));
        let busy = start + SESSION_ABSOLUTE_MS - 1;
        assert!(session_live(start, busy - 1, busy));
        assert!(!session_live(start, busy, busy + 1));
    }

    #[test]
    fn a_new_request_names_every_bad_field() {
        let ok = PortalTicketIn {
            subject: " Leaking tap ".into(),
            message: "It drips.\n".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.subject, "Leaking tap");
        assert_eq!(ok.message, "It drips.");
        let bad = PortalTicketIn {
            subject: "x".repeat(SUBJECT_MAX_CHARS + 1),
            message: "   ".into(),
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["subject", "message"]);
        let long = PortalTicketIn {
            subject: "Tap".into(),
            message: "x".repeat(crate::helpdesk::tickets::MAX_BODY_CHARS + 1),
        }
        .validate()
        .unwrap_err();
        assert_eq!(long[0].field, "message");
        let unknown = serde_json::from_value::<PortalTicketIn>(
            serde_json::json!({"subject": "a", "message": "b", "contact_id": "ct_x"}),
        );
        assert!(unknown.is_err(), "a customer cannot name another contact");
    }

    #[test]
    fn a_closed_request_takes_no_more_messages() {
        assert!(takes_replies("open"));
        assert!(takes_replies("pending"));
        assert!(takes_replies("resolved"));
        assert!(!takes_replies("closed"));
    }

    #[test]
    fn the_link_opens_the_confirmation_page() {
        assert_eq!(
            sign_in_path("acme", "hfml_x"),
            "/portal/acme/sign-in/hfml_x"
        );
    }
}
