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

/// The kind prefix of a portal API session's refresh token (`hfpr_…`).
pub const REFRESH_PREFIX: &str = "hfpr";
/// A portal access token (`typ = portal`) lives this long; its refresh token gets the next.
pub const ACCESS_TTL_S: i64 = 15 * 60;

closed_set!(
    /// What a portal session is signed in with: a browser's `__Host-hf_portal` cookie, or an
    /// API client's access and refresh tokens. A credential of one kind never opens a session
    /// of the other.
    SessionKind { Browser => "browser", Api => "api" }
);

/// Body of `POST /api/portal/v1/auth/token`: a sign-in link from the mail, spent into an API
/// session (as its confirmation page's button spends it into a browser session).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalTokenIn {
    /// The link's token (`hfml_…`), or the whole link as the mail shows it.
    pub link: String,
}

impl PortalTokenIn {
    /// The token of the link: the last segment of a pasted address, or the text itself.
    pub fn token(&self) -> &str {
        let text = self.link.trim();
        let text = text.split(['?', '#']).next().unwrap_or_default();
        text.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
    }
}

/// Body of `POST /api/portal/v1/auth/refresh`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalRefreshIn {
    pub refresh_token: String,
}

/// The answer to a token sign-in or refresh: a short-lived access token (`typ = portal`) for
/// `Authorization: Bearer`, and the single-use refresh token that gets the next pair.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PortalTokensOut {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub session_id: String,
}

/// The longest list of origins a workspace may let call its portal API.
pub const ORIGINS_MAX: usize = 20;

/// A web origin a workspace lets call its portal API from a browser, normalised
/// (`https://host[:port]`, lower-case, no path); `http://` only for a loopback host, for
/// development.
pub fn portal_origin(field: &str, text: &str) -> Result<String, FieldError> {
    let bad = |why: &str| {
        FieldError::new(
            field,
            format!("{why}; give an origin such as https://shop.example.com"),
        )
    };
    let text = text.trim().trim_end_matches('/');
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| bad("an origin starts with https://"))?;
    let scheme = scheme.to_ascii_lowercase();
    let host_port = rest.to_ascii_lowercase();
    if host_port.is_empty()
        || host_port.len() > 253
        || !host_port
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err(bad(
            "an origin is a scheme and a host (and a port), with no path, query or user",
        ));
    }
    let host = host_port
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty())
        .map_or(host_port.as_str(), |(host, _)| host);
    if host.is_empty() || host.starts_with('.') || host.ends_with('.') {
        return Err(bad("the origin's host is not a host name"));
    }
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match scheme.as_str() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "a portal origin must use https (http only for localhost)",
            ));
        }
        _ => return Err(bad("an origin's scheme is https")),
    }
    Ok(format!("{scheme}://{host_port}"))
}

/// Body of `PUT /api/v1/portal/settings`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSettingsIn {
    /// Whether contacts staff never chose for may sign in.
    pub default_access: bool,
    /// The origins whose pages may call the portal API (`/api/portal/v1/…`) from a browser
    /// (CORS, without credentials). Left out: unchanged; `[]`: none.
    #[serde(default)]
    pub origins: Option<Vec<String>>,
}

/// Valid portal settings: the origins normalised, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSettings {
    pub default_access: bool,
    pub origins: Option<Vec<String>>,
}

impl PortalSettingsIn {
    /// Every origin checked; all that are wrong named at once.
    pub fn validate(&self) -> Result<PortalSettings, Vec<FieldError>> {
        let mut errors = Errors::default();
        let origins = self.origins.as_ref().map(|list| {
            if list.len() > ORIGINS_MAX {
                errors.push("origins", format!("at most {ORIGINS_MAX} origins"));
            }
            let mut out: Vec<String> = Vec::new();
            for (i, text) in list.iter().enumerate() {
                if let Some(origin) = errors.take(portal_origin(&format!("origins[{i}]"), text))
                    && !out.contains(&origin)
                {
                    out.push(origin);
                }
            }
            out
        });
        errors.finish(PortalSettings {
            default_access: self.default_access,
            origins,
        })
    }
}

/// `GET`/`PUT /api/v1/portal/settings`: the workspace's client portal settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PortalSettingsOut {
    pub default_access: bool,
    /// Origins allowed to call the portal API from a browser, sorted.
    pub origins: Vec<String>,
}

/// The kind prefix of a portal password reset link's token (`hfpw_…`).
pub const PASSWORD_RESET_PREFIX: &str = "hfpw";
/// A portal password reset link works once, within 2 hours of its mail being sent.
pub const PASSWORD_RESET_TTL_MS: i64 = 2 * 60 * 60 * 1000;

/// The address a portal password reset link opens.
pub fn password_reset_path(workspace_slug: &str, token: &str) -> String {
    format!("/portal/{workspace_slug}/password-reset/{token}")
}

/// Body of `PUT /api/portal/v1/auth/password`: a signed-in customer sets or changes their
/// portal password (`current_password` is required once one is set).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalPasswordIn {
    pub password: String,
    #[serde(default)]
    pub current_password: Option<String>,
}

/// Body of `POST /api/portal/v1/auth/password`: signing in with an address and a password.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalPasswordSignInIn {
    /// The workspace's slug, as in its portal's address `/portal/{slug}`.
    pub workspace: String,
    pub email: String,
    pub password: String,
}

impl PortalPasswordSignInIn {
    /// Every field checked; all that are wrong named at once.
    pub fn validate(&self) -> Result<MagicLinkRequest, Vec<FieldError>> {
        let asked = MagicLinkIn {
            workspace: self.workspace.clone(),
            email: self.email.clone(),
        };
        let mut errors = match asked.validate() {
            Ok(request) if !self.password.is_empty() => return Ok(request),
            Ok(_) => Vec::new(),
            Err(errors) => errors,
        };
        if self.password.is_empty() {
            errors.push(FieldError::new("password", "the password is required"));
        }
        Err(errors)
    }
}

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
    /// `browser` (the portal's cookie) or `api` (access and refresh tokens).
    pub kind: String,
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
    fn a_pasted_link_gives_its_token() {
        let token = |link: &str| PortalTokenIn { link: link.into() }.token().to_owned();
        assert_eq!(token(" hfml_abc "), "hfml_abc");
        assert_eq!(
            token("https://hd.example.com/portal/acme/sign-in/hfml_abc"),
            "hfml_abc"
        );
        assert_eq!(
            token("https://hd.example.com/portal/acme/sign-in/hfml_abc/?x=1#f"),
            "hfml_abc"
        );
        assert_eq!(token(""), "");
    }

    #[test]
    fn portal_origins_are_https_hosts_without_paths() {
        let ok = |t: &str| portal_origin("origins[0]", t).unwrap();
        assert_eq!(ok("https://Shop.Example.com/"), "https://shop.example.com");
        assert_eq!(
            ok("https://shop.example.com:8443"),
            "https://shop.example.com:8443"
        );
        assert_eq!(ok("http://localhost:3000"), "http://localhost:3000");
        assert_eq!(ok("http://127.0.0.1:5173"), "http://127.0.0.1:5173");
        for bad in [
            "",
            "shop.example.com",
            "http://shop.example.com",
            "https://shop.example.com/path",
            "https://user@shop.example.com",
            "https://shop.example.com?x",
            "ftp://shop.example.com",
            "https://",
            "https://.example.com",
            "*",
            "null",
        ] {
            let err = portal_origin("origins[0]", bad).unwrap_err();
            assert_eq!(err.field, "origins[0]", "{bad}");
            assert!(
                err.message.contains("https://shop.example.com"),
                "{bad}: {}",
                err.message
            );
        }
    }

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
