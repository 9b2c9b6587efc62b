//! Consent: per contact and channel, the workspace's privacy mode, and the one decision every
//! outbound customer message passes (`decide`). Pure rules; the store keeps the statuses and
//! the append-only log, `holdfast-http`'s `outreach` module is the only caller of `decide`.
//! Design note: docs/design/consent.md.

use crate::validate::FieldError;
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;

type HmacSha256 = Hmac<Sha256>;

crate::closed_set!(
    /// The ways Holdfast may reach a contact.
    Channel { Email => "email", Sms => "sms", Whatsapp => "whatsapp", Phone => "phone", Postal => "postal" }
);

crate::closed_set!(
    /// A channel's consent: `granted`, `denied`, `unknown` (never asked) or `pending` (granted
    /// but waiting for the contact's double opt-in confirmation).
    Status { Granted => "granted", Denied => "denied", Unknown => "unknown", Pending => "pending" }
);

crate::closed_set!(
    /// The legal ground a status rests on (GDPR art. 6).
    LawfulBasis { Consent => "consent", Contract => "contract", LegitimateInterest => "legitimate_interest", LegalObligation => "legal_obligation", VitalInterest => "vital_interest", PublicTask => "public_task" }
);

crate::closed_set!(
    /// Where a change came from. `preference_center`, `portal` (a customer signed in to the
    /// client portal), `inbound_keyword` and `confirmation` are the contact's own acts and are
    /// only ever set by Holdfast itself; the API may state the others.
    Source { Form => "form", Import => "import", Api => "api", PreferenceCenter => "preference_center", Portal => "portal", InboundKeyword => "inbound_keyword", Operator => "operator", Confirmation => "confirmation" }
);

crate::closed_set!(
    /// The workspace's rule for sending: `gdpr` (opt-in: only `granted` may be sent to) or
    /// `ccpa` (opt-out: anything but `denied` may, and "do not sell or share" is recorded).
    Mode { Gdpr => "gdpr", Ccpa => "ccpa" }
);

crate::closed_set!(
    /// Why a message was not sent. Each is reachable and shown to the operator.
    Refusal {
        DoNotContact => "do_not_contact",
        ConsentDenied => "consent_denied",
        ConsentUnknown => "consent_unknown",
        ConsentPending => "consent_pending",
        NoAddress => "no_address",
        NotPending => "not_pending"
    }
);

impl Source {
    /// Sources the API may claim for a change it makes (the rest are the contact's own acts).
    pub fn claimable(self) -> bool {
        matches!(
            self,
            Source::Form | Source::Import | Source::Api | Source::Operator
        )
    }
}

impl Refusal {
    /// The sentence an operator reads on the blocked message.
    pub fn explain(self, channel: Channel, mode: Mode) -> String {
        let ch = channel.as_str();
        match self {
            Refusal::DoNotContact => {
                "not sent: the contact is marked Do Not Contact, which overrides every channel"
                    .into()
            }
            Refusal::ConsentDenied => format!("not sent: the contact has denied {ch} consent"),
            Refusal::ConsentUnknown => format!(
                "not sent: the workspace is in {} mode, which requires granted {ch} consent, and this contact's is unknown",
                mode.as_str().to_uppercase()
            ),
            Refusal::ConsentPending => format!(
                "not sent: the contact has not yet confirmed {ch} consent (double opt-in pending)"
            ),
            Refusal::NoAddress => format!("not sent: the contact has no {ch} address"),
            Refusal::NotPending => format!(
                "not sent: a confirmation request needs {ch} consent to be pending, and it is not"
            ),
        }
    }
}

/// What a message is for: a `message` to the customer (replies, notifications, automations,
/// approved AI drafts), the double opt-in `confirmation` request, which is the one message
/// a `pending` channel may receive, the link to the person's own data they asked for from
/// the preference center (`data_access`), or a `transactional` mail the business owes the
/// customer under their contract (an invoice, a credit note), which needs no consent but
/// still respects Do Not Contact, or the client portal's `sign_in` link the person just asked
/// for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Message,
    Confirmation,
    DataAccess,
    Transactional,
    SignIn,
}

/// The facts `decide` needs about one contact and channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub do_not_contact: bool,
    pub status: Status,
    pub has_address: bool,
}

/// The one decision: may this message go out? Do Not Contact overrides everything, then the
/// channel's status under the workspace's mode. A pending channel receives only its
/// confirmation request.
pub fn decide(mode: Mode, standing: Standing, purpose: Purpose) -> Result<(), Refusal> {
    // The person asked for their own data (right of access), or for a link to sign in to the
    // portal, and the link goes only to the address on file: no consent status or Do Not
    // Contact may keep the answer from them.
    if matches!(purpose, Purpose::DataAccess | Purpose::SignIn) {
        return if standing.has_address {
            Ok(())
        } else {
            Err(Refusal::NoAddress)
        };
    }
    if standing.do_not_contact {
        return Err(Refusal::DoNotContact);
    }
    if !standing.has_address {
        return Err(Refusal::NoAddress);
    }
    match (purpose, standing.status) {
        (Purpose::DataAccess | Purpose::SignIn, _) => Ok(()),
        // Owed under the contract (an invoice): the lawful basis is the contract, not consent.
        (Purpose::Transactional, _) => Ok(()),
        (Purpose::Confirmation, Status::Pending) => Ok(()),
        (Purpose::Confirmation, _) => Err(Refusal::NotPending),
        (Purpose::Message, Status::Granted) => Ok(()),
        (Purpose::Message, Status::Denied) => Err(Refusal::ConsentDenied),
        (Purpose::Message, Status::Pending) => Err(Refusal::ConsentPending),
        (Purpose::Message, Status::Unknown) => match mode {
            Mode::Gdpr => Err(Refusal::ConsentUnknown),
            Mode::Ccpa => Ok(()),
        },
    }
}

/// The status a requested change actually records: with double opt-in on for the channel, a
/// new grant from anyone but the contact themselves (confirmation link, preference center, the
/// client portal — each reached through a link mailed to their address) waits as `pending`
/// until confirmed. A channel already granted stays granted (re-asserting a grant, or changing
/// its lawful basis, asks nothing again).
pub fn effective_status(
    requested: Status,
    current: Status,
    source: Source,
    double_opt_in: bool,
) -> Status {
    let contacts_own_act = matches!(
        source,
        Source::Confirmation | Source::PreferenceCenter | Source::Portal
    );
    if requested == Status::Granted
        && double_opt_in
        && !contacts_own_act
        && current != Status::Granted
    {
        Status::Pending
    } else {
        requested
    }
}

/// Whether an inbound text message is an opt-out keyword (`STOP`, `UNSUBSCRIBE`, …), as
/// carriers define them: the whole message, any case, surrounding spaces and punctuation ignored.
pub fn is_stop_keyword(text: &str) -> bool {
    let word = text
        .trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_ascii_uppercase();
    matches!(
        word.as_str(),
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "OPT OUT"
    )
}

/// A workspace's privacy settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PrivacySettings {
    pub mode: Mode,
    /// Channels on which a new grant waits for the contact's confirmation.
    pub double_opt_in: Vec<Channel>,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        PrivacySettings {
            mode: Mode::Ccpa,
            double_opt_in: Vec::new(),
        }
    }
}

impl PrivacySettings {
    pub fn double_opt_in_on(&self, channel: Channel) -> bool {
        self.double_opt_in.contains(&channel)
    }
}

/// Body of `PUT /api/v1/settings/privacy`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettingsIn {
    /// `gdpr` or `ccpa`.
    pub mode: String,
    /// Channels whose new grants need the contact's confirmation. Only `email` can send a
    /// confirmation today.
    #[serde(default)]
    pub double_opt_in: Vec<String>,
}

impl PrivacySettingsIn {
    pub fn validate(&self) -> Result<PrivacySettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mode = Mode::parse(&self.mode);
        if mode.is_none() {
            errors.push(FieldError::new(
                "mode",
                format!("must be one of: {}", Mode::names()),
            ));
        }
        let mut channels = Vec::new();
        for (i, name) in self.double_opt_in.iter().enumerate() {
            match Channel::parse(name) {
                Some(Channel::Email) if !channels.contains(&Channel::Email) => {
                    channels.push(Channel::Email)
                }
                Some(Channel::Email) => {}
                Some(_) => errors.push(FieldError::new(
                    format!("double_opt_in[{i}]"),
                    "only email can send a confirmation request today",
                )),
                None => errors.push(FieldError::new(
                    format!("double_opt_in[{i}]"),
                    format!("must be one of: {}", Channel::names()),
                )),
            }
        }
        match mode {
            Some(mode) if errors.is_empty() => Ok(PrivacySettings {
                mode,
                double_opt_in: channels,
            }),
            _ => Err(errors),
        }
    }
}

/// One channel's state as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ChannelConsent {
    pub status: Status,
    pub lawful_basis: Option<LawfulBasis>,
    pub source: Option<Source>,
    pub updated_at: Option<i64>,
}

impl ChannelConsent {
    pub fn unknown() -> ChannelConsent {
        ChannelConsent {
            status: Status::Unknown,
            lawful_basis: None,
            source: None,
            updated_at: None,
        }
    }
}

/// `GET /api/v1/contacts/{id}/consent`: every channel (unknown when never set), the master
/// switch and the CCPA "do not sell or share" flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConsentOut {
    pub contact_id: String,
    pub mode: Mode,
    pub do_not_contact: bool,
    pub do_not_sell: bool,
    pub channels: BTreeMap<String, ChannelConsent>,
}

/// One channel's requested change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelChangeIn {
    /// `granted`, `denied` or `unknown` (`pending` is Holdfast's to set).
    pub status: String,
    /// Required with `granted`: `consent`, `contract`, `legitimate_interest`, …
    pub lawful_basis: Option<String>,
}

/// Body of `PATCH /api/v1/contacts/{id}/consent`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentPatch {
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelChangeIn>,
    pub do_not_contact: Option<bool>,
    pub do_not_sell: Option<bool>,
    /// Where the change came from: `operator` (default for a signed-in user), `api` (default for
    /// an API key), `form` or `import`.
    pub source: Option<String>,
    /// Why, in the operator's words (kept in the consent log).
    #[schemars(length(max = 500))]
    pub note: Option<String>,
}

/// A validated change to one contact's consent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsentChange {
    pub channels: Vec<(Channel, Status, Option<LawfulBasis>)>,
    pub do_not_contact: Option<bool>,
    pub do_not_sell: Option<bool>,
    pub source: Option<Source>,
    pub note: Option<String>,
}

impl ConsentPatch {
    pub fn validate(&self) -> Result<ConsentChange, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut channels = Vec::new();
        for (name, change) in &self.channels {
            let field = format!("channels.{name}");
            let Some(channel) = Channel::parse(name) else {
                errors.push(FieldError::new(
                    field.clone(),
                    format!("is not a channel; channels are: {}", Channel::names()),
                ));
                continue;
            };
            let status = match Status::parse(&change.status) {
                Some(Status::Pending) => {
                    errors.push(FieldError::new(
                        format!("{field}.status"),
                        "pending is set by Holdfast when double opt-in is on; send granted",
                    ));
                    continue;
                }
                Some(status) => status,
                None => {
                    errors.push(FieldError::new(
                        format!("{field}.status"),
                        "must be granted, denied or unknown",
                    ));
                    continue;
                }
            };
            let basis = match change.lawful_basis.as_deref().map(LawfulBasis::parse) {
                Some(Some(basis)) => Some(basis),
                Some(None) => {
                    errors.push(FieldError::new(
                        format!("{field}.lawful_basis"),
                        format!("must be one of: {}", LawfulBasis::names()),
                    ));
                    continue;
                }
                None if status == Status::Granted => {
                    errors.push(FieldError::new(
                        format!("{field}.lawful_basis"),
                        "is required with granted (usually consent)",
                    ));
                    continue;
                }
                None => None,
            };
            channels.push((channel, status, basis));
        }
        let source = match self.source.as_deref() {
            None => None,
            Some(text) => match Source::parse(text).filter(|s| s.claimable()) {
                Some(source) => Some(source),
                None => {
                    errors.push(FieldError::new(
                        "source",
                        "must be operator, api, form or import",
                    ));
                    None
                }
            },
        };
        let note = self
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 500) {
            errors.push(FieldError::new("note", "must be at most 500 characters"));
        }
        if channels.is_empty()
            && self.do_not_contact.is_none()
            && self.do_not_sell.is_none()
            && errors.is_empty()
        {
            errors.push(FieldError::new(
                "channels",
                "nothing to change: send channels, do_not_contact or do_not_sell",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ConsentChange {
            channels,
            do_not_contact: self.do_not_contact,
            do_not_sell: self.do_not_sell,
            source,
            note: note.map(str::to_owned),
        })
    }
}

/// One append-only consent-log entry. `field` is `channel` (with `channel` set),
/// `do_not_contact` or `do_not_sell`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConsentLogEntry {
    pub id: String,
    pub contact_id: String,
    pub field: String,
    pub channel: Option<String>,
    pub old_value: String,
    pub new_value: String,
    pub lawful_basis: Option<String>,
    pub source: String,
    /// `usr_…`/`key_…` for staff, `contact` for the contact's own acts, `system`.
    pub actor: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
}

/// One decision of the outbound choke point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OutreachEntry {
    pub id: String,
    pub contact_id: String,
    pub channel: String,
    /// `message`, `confirmation` or `data_access` (the link to the person's own data).
    pub purpose: String,
    /// `queue` (when the message was made) or `send` (checked again just before sending).
    pub stage: String,
    /// `allowed` or `blocked`.
    pub decision: String,
    /// The refusal code when blocked (`do_not_contact`, `consent_denied`, …).
    pub reason: Option<String>,
    pub ticket_message_id: Option<String>,
    pub created_at: i64,
}

/// Signs preference-center links: a contact's token is an HMAC under a key derived from the
/// master key over workspace, contact and the contact's link generation, so every email can
/// carry it without storing it in clear, and revoking (a new generation) kills every old link.
/// By generation: the newest makes links, every one held still opens them (a rotation's overlap).
#[derive(Clone)]
pub struct LinkKey(crate::crypto::Generations);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

/// The preference-center token prefix.
pub const PREFERENCE_TOKEN_PREFIX: &str = "hfpc_";
/// The double opt-in confirmation token kind (`token::generate_opaque`).
pub const CONFIRM_TOKEN_KIND: &str = "hfoc";
/// A confirmation link works for this long.
pub const CONFIRM_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// The "download my data" link's token kind.
pub const DATA_LINK_TOKEN_KIND: &str = "hfdl";
/// A data-download link works once, for this long after it is mailed.
pub const DATA_LINK_TTL_MS: i64 = 3600 * 1000;
/// Asking again within this long sends no new data-download link (the first one is on its way).
pub const DATA_LINK_RESEND_MS: i64 = 10 * 60 * 1000;

/// The label of the key a Holdfast that never rotated its token keys derives from the master.
pub const LINK_KEY_FIRST_LABEL: &str = "holdfast/preference-link/v1";

fn preference_token_under(
    key: &[u8; 32],
    workspace_id: &str,
    contact_id: &str,
    generation: i64,
) -> String {
    use base64::Engine;
    let Ok(mut m) = <HmacSha256 as Mac>::new_from_slice(key) else {
        return String::new();
    };
    m.update(b"preferences|");
    m.update(workspace_id.as_bytes());
    m.update(b"|");
    m.update(contact_id.as_bytes());
    m.update(b"|");
    m.update(generation.to_string().as_bytes());
    format!(
        "{PREFERENCE_TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    )
}

impl LinkKey {
    pub fn derive(master_key: &[u8]) -> LinkKey {
        LinkKey::from_generations(vec![(
            1,
            crate::crypto::derive_key(master_key, LINK_KEY_FIRST_LABEL),
        )])
    }

    pub fn from_generations(keys: Vec<(u32, [u8; 32])>) -> LinkKey {
        LinkKey(crate::crypto::Generations::new(keys))
    }

    /// Puts these keys in place of the current ones, for every clone.
    pub fn replace(&self, keys: Vec<(u32, [u8; 32])>) {
        self.0.replace(keys);
    }

    /// The contact's preference link token under the newest key (`generation` is the
    /// contact's link generation, which revocation raises).
    pub fn preference_token(
        &self,
        workspace_id: &str,
        contact_id: &str,
        generation: i64,
    ) -> String {
        self.0
            .newest()
            .map(|(_, key)| preference_token_under(&key, workspace_id, contact_id, generation))
            .unwrap_or_default()
    }
}

/// Whether `token` has the shape of a link token with `prefix` (checked before any lookup).
pub fn token_shape_ok(token: &str, prefix: &str) -> bool {
    token.strip_prefix(prefix).is_some_and(|body| {
        (20..=64).contains(&body.len())
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(dnc: bool, status: Status) -> Standing {
        Standing {
            do_not_contact: dnc,
            status,
            has_address: true,
        }
    }

    #[test]
    fn do_not_contact_overrides_every_status_in_both_modes() {
        for mode in Mode::ALL {
            for status in Status::ALL {
                for purpose in [Purpose::Message, Purpose::Confirmation] {
                    assert_eq!(
                        decide(*mode, standing(true, *status), purpose),
                        Err(Refusal::DoNotContact),
                        "{mode:?} {status:?} {purpose:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn gdpr_sends_only_to_granted() {
        let m = Mode::Gdpr;
        assert_eq!(
            decide(m, standing(false, Status::Granted), Purpose::Message),
            Ok(())
        );
        assert_eq!(
            decide(m, standing(false, Status::Unknown), Purpose::Message),
            Err(Refusal::ConsentUnknown)
        );
        assert_eq!(
            decide(m, standing(false, Status::Denied), Purpose::Message),
            Err(Refusal::ConsentDenied)
        );
        assert_eq!(
            decide(m, standing(false, Status::Pending), Purpose::Message),
            Err(Refusal::ConsentPending)
        );
    }

    #[test]
    fn ccpa_sends_unless_denied() {
        let m = Mode::Ccpa;
        assert_eq!(
            decide(m, standing(false, Status::Granted), Purpose::Message),
            Ok(())
        );
        assert_eq!(
            decide(m, standing(false, Status::Unknown), Purpose::Message),
            Ok(())
        );
        assert_eq!(
            decide(m, standing(false, Status::Denied), Purpose::Message),
            Err(Refusal::ConsentDenied)
        );
        assert_eq!(
            decide(m, standing(false, Status::Pending), Purpose::Message),
            Err(Refusal::ConsentPending)
        );
    }

    #[test]
    fn a_pending_channel_gets_only_its_confirmation() {
        for mode in Mode::ALL {
            assert_eq!(
                decide(
                    *mode,
                    standing(false, Status::Pending),
                    Purpose::Confirmation
                ),
                Ok(())
            );
            for status in [Status::Granted, Status::Denied, Status::Unknown] {
                assert_eq!(
                    decide(*mode, standing(false, status), Purpose::Confirmation),
                    Err(Refusal::NotPending)
                );
            }
        }
    }

    #[test]
    fn the_persons_own_data_link_needs_only_an_address() {
        for mode in Mode::ALL {
            for status in [
                Status::Granted,
                Status::Denied,
                Status::Unknown,
                Status::Pending,
            ] {
                for dnc in [false, true] {
                    for purpose in [Purpose::DataAccess, Purpose::SignIn] {
                        assert_eq!(
                            decide(*mode, standing(dnc, status), purpose),
                            Ok(()),
                            "{mode:?} {status:?} dnc={dnc} {purpose:?}"
                        );
                    }
                }
            }
        }
        let none = Standing {
            do_not_contact: false,
            status: Status::Granted,
            has_address: false,
        };
        assert_eq!(
            decide(Mode::Gdpr, none, Purpose::DataAccess),
            Err(Refusal::NoAddress)
        );
        assert_eq!(
            decide(Mode::Gdpr, none, Purpose::SignIn),
            Err(Refusal::NoAddress)
        );
    }

    #[test]
    fn no_address_is_refused() {
        let s = Standing {
            do_not_contact: false,
            status: Status::Granted,
            has_address: false,
        };
        assert_eq!(
            decide(Mode::Ccpa, s, Purpose::Message),
            Err(Refusal::NoAddress)
        );
    }

    #[test]
    fn every_refusal_has_an_explanation_naming_the_channel_or_switch() {
        for r in Refusal::ALL {
            let text = r.explain(Channel::Email, Mode::Gdpr);
            assert!(text.starts_with("not sent: "), "{text}");
            if *r != Refusal::DoNotContact {
                assert!(text.contains("email"), "{text}");
            }
        }
    }

    #[test]
    fn double_opt_in_turns_new_grants_pending_except_the_contacts_own() {
        for source in Source::ALL {
            let own = matches!(
                source,
                Source::Confirmation | Source::PreferenceCenter | Source::Portal
            );
            for current in [Status::Unknown, Status::Denied, Status::Pending] {
                let got = effective_status(Status::Granted, current, *source, true);
                assert_eq!(
                    got,
                    if own {
                        Status::Granted
                    } else {
                        Status::Pending
                    }
                );
            }
            // Already granted: a repeated grant (a re-run import, a new basis) keeps it.
            assert_eq!(
                effective_status(Status::Granted, Status::Granted, *source, true),
                Status::Granted
            );
            assert_eq!(
                effective_status(Status::Granted, Status::Unknown, *source, false),
                Status::Granted
            );
            assert_eq!(
                effective_status(Status::Denied, Status::Granted, *source, true),
                Status::Denied
            );
        }
    }

    #[test]
    fn stop_keywords() {
        for yes in [
            "STOP",
            "stop",
            " Stop. ",
            "unsubscribe",
            "STOPALL",
            "cancel!",
        ] {
            assert!(is_stop_keyword(yes), "{yes}");
        }
        for no in ["please stop calling at night", "", "stopp", "don't stop"] {
            assert!(!is_stop_keyword(no), "{no}");
        }
    }

    #[test]
    fn patch_validation_reports_every_bad_field() {
        let patch: ConsentPatch = serde_json::from_value(serde_json::json!({
            "channels": {
                "email": {"status": "granted"},
                "fax": {"status": "granted", "lawful_basis": "consent"},
                "sms": {"status": "pending"},
                "phone": {"status": "maybe"},
                "postal": {"status": "granted", "lawful_basis": "vibes"}
            },
            "source": "preference_center"
        }))
        .unwrap_or_default();
        let errors = patch.validate().err().unwrap_or_default();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "channels.email.lawful_basis",
            "channels.fax",
            "channels.sms.status",
            "channels.phone.status",
            "channels.postal.lawful_basis",
            "source",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn an_empty_patch_is_refused_and_a_good_one_accepted() {
        assert!(ConsentPatch::default().validate().is_err());
        let patch: ConsentPatch = serde_json::from_value(serde_json::json!({
            "channels": {"email": {"status": "granted", "lawful_basis": "consent"}},
            "do_not_sell": true, "source": "form", "note": "  signed up at the fair  "
        }))
        .unwrap_or_default();
        let change = patch.validate().unwrap_or_default();
        assert_eq!(
            change.channels,
            vec![(Channel::Email, Status::Granted, Some(LawfulBasis::Consent))]
        );
        assert_eq!(change.source, Some(Source::Form));
        assert_eq!(change.note.as_deref(), Some("signed up at the fair"));
        assert_eq!(change.do_not_sell, Some(true));
    }

    #[test]
    fn settings_validation() {
        let ok = PrivacySettingsIn {
            mode: "gdpr".into(),
            double_opt_in: vec!["email".into(), "email".into()],
        };
        assert_eq!(
            ok.validate(),
            Ok(PrivacySettings {
                mode: Mode::Gdpr,
                double_opt_in: vec![Channel::Email]
            })
        );
        let bad = PrivacySettingsIn {
            mode: "strict".into(),
            double_opt_in: vec!["sms".into(), "fax".into()],
        };
        assert_eq!(bad.validate().err().map(|e| e.len()), Some(3));
    }

    #[test]
    fn the_newest_key_generation_makes_the_links() {
        let key = LinkKey::derive(b"master");
        let old = key.preference_token("ws_1", "ct_1", 0);
        key.replace(vec![
            (
                1,
                crate::crypto::derive_key(b"master", LINK_KEY_FIRST_LABEL),
            ),
            (2, [5u8; 32]),
        ]);
        let new = key.preference_token("ws_1", "ct_1", 0);
        assert_ne!(old, new);
        assert!(token_shape_ok(&new, PREFERENCE_TOKEN_PREFIX));
    }

    #[test]
    fn preference_tokens_are_keyed_and_generational() {
        let key = LinkKey::derive(b"master");
        let a = key.preference_token("ws_1", "ct_1", 0);
        assert!(token_shape_ok(&a, PREFERENCE_TOKEN_PREFIX), "{a}");
        assert_eq!(a, key.preference_token("ws_1", "ct_1", 0));
        assert_ne!(a, key.preference_token("ws_1", "ct_1", 1));
        assert_ne!(a, key.preference_token("ws_1", "ct_2", 0));
        assert_ne!(a, key.preference_token("ws_2", "ct_1", 0));
        assert_ne!(
            a,
            LinkKey::derive(b"other").preference_token("ws_1", "ct_1", 0)
        );
        assert!(!token_shape_ok("hfpc_short", PREFERENCE_TOKEN_PREFIX));
        assert!(!token_shape_ok(
            &a.replace("hfpc_", "hfx_"),
            PREFERENCE_TOKEN_PREFIX
        ));
        assert!(!token_shape_ok(&format!("{a}'--"), PREFERENCE_TOKEN_PREFIX));
    }
}
