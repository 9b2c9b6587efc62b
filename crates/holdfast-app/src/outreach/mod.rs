//! The one choke point for messages that leave Holdfast.
//!
//! - **Customer messages** (help-desk replies, double opt-in requests, the link to a person's
//!   own data asked for from the preference center; later notifications,
//!   approved AI drafts and automations) are addressed to a contact, never to a raw address:
//!   [`queue_to_contact`] checks Do Not Contact and the channel's consent under the
//!   workspace's mode (`core::crm::consent::decide`), records the decision, and either queues a
//!   `message.send` job or stores the message as blocked with the reason. The job
//!   ([`deliver_to_contact`]) checks again just before sending (consent may have changed while
//!   it waited), looks the address up then, and adds the preference-center footer and the
//!   one-click `List-Unsubscribe` headers.
//! - **Staff mail** (password reset, invitations, alerts to owners) goes to members and
//!   invitees, never to contacts: [`send_staff_mail`] / [`queue_staff_mail`].
//!
//! The transport (`transport.rs`: SMTP relay or local outbox) is private to this module and its
//! only constructor is [`Transport::from_config`] here, so no other code can send; the
//! `outreach` integration test also checks the source tree for any other way out.
//! Design note: docs/design/consent.md.

mod transport;

use crate::App;
use crate::jobs::{JobError, JobResult};
use holdfast_core::clock::SharedClock;
use holdfast_core::crm::consent::{self as rules, Channel, Purpose, Refusal};
use holdfast_core::helpdesk::tickets::Delivery;
use holdfast_core::ids::ContactId;
use holdfast_core::ops::config::Config;
use holdfast_core::ops::queue::JobKind;
use holdfast_store::ops::queue::Claimed;
use holdfast_store::{Db, StoreError, crm::consent, ops::queue};
use holdfast_store::{Lock, Tenant, TenantTx};
use serde::{Deserialize, Serialize};
use transport::{Mailer, Outgoing};

/// The mail transport, opaque outside this module.
pub struct Transport(Mailer);

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Transport {
    /// The local outbox, until `connect` reads the configuration.
    pub fn outbox(db: &Db, clock: &SharedClock) -> Transport {
        Transport(Mailer::Outbox {
            db: db.clone(),
            clock: clock.clone(),
        })
    }

    /// The SMTP relay when `smtp_url` is set, else the local outbox.
    pub fn from_config(config: &Config, db: &Db, clock: &SharedClock) -> Result<Transport, String> {
        Mailer::from_config(config, db, clock).map(Transport)
    }
}

/// Mail to a member, an invitee or an account holder about their account (no consent applies:
/// it is not marketing or customer service, and the person is not a contact). Sent now.
pub async fn send_staff_mail(
    state: &App,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    state
        .transport
        .0
        .send_mail(&Outgoing {
            to: to.to_owned(),
            subject: subject.to_owned(),
            body: body.to_owned(),
            ..Outgoing::default()
        })
        .await
}

/// Staff mail queued in the caller's transaction (a `mail.send` job).
pub async fn queue_staff_mail(
    tx: &mut TenantTx<'_>,
    to: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<(), StoreError> {
    let job = StaffJob {
        to: to.to_owned(),
        subject: subject.to_owned(),
        body: body.to_owned(),
    };
    let job = serde_json::to_value(&job).unwrap_or_default();
    queue::enqueue(tx, JobKind::MailSend, &job, now, now).await?;
    Ok(())
}

/// Staff mail's job payload; anything else (a customer message of an older version, which
/// carried the address) is refused rather than sent around the consent check.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffJob {
    to: String,
    subject: String,
    body: String,
}

/// The `mail.send` job: staff mail.
pub async fn deliver_staff_mail(state: &App, payload: &serde_json::Value) -> JobResult {
    let job: StaffJob = serde_json::from_value(payload.clone())
        .map_err(|e| JobError::Permanent(format!("mail job: {e}")))?;
    send_staff_mail(state, &job.to, &job.subject, &job.body)
        .await
        .map_err(JobError::Retry)
}

/// Stands in a confirmation request's body for its link, which is made when the mail is
/// sent.
pub const CONFIRMATION_LINK: &str = "{confirmation_link}";

/// Stands in a portal sign-in mail's body for its single-use link, made when the mail is sent
/// (so the token never waits in the queue in clear, and its 24 hours start then).
pub const SIGN_IN_LINK: &str = "{sign_in_link}";

/// Stands in a portal password reset mail's body for its single-use link (`hfpw_…`), made when
/// the mail is sent (so its 2 hours start then).
pub const PASSWORD_RESET_LINK: &str = "{password_reset_link}";

/// Stands in a data-access mail's body for its single-use download link, made when the mail
/// is sent (so the token never waits in the queue in clear, and its hour starts then).
pub const DATA_LINK: &str = "{data_link}";

/// An email to a contact. The address is not part of it: the choke point reads the contact's
/// current address when it sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContactEmail {
    pub subject: String,
    pub body: String,
    /// Without angle brackets.
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub in_reply_to: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The ticket reply (`tm_…`) this mail carries: its delivery status follows the mail
    /// (`blocked`, `sent`, `unsent`).
    #[serde(default)]
    pub ticket_message: Option<String>,
    /// Files sent with it (an invoice's PDF), at most [`MAX_ATTACHMENT_BYTES`] in all.
    #[serde(default)]
    pub attachments: Vec<MailAttachment>,
    /// The body carries [`SIGN_IN_LINK`], a client portal sign-in link made when the mail is
    /// sent. Set only by the portal's own mails (a link the person asked for, an invitation
    /// staff sent), never from a body's text.
    #[serde(default)]
    pub sign_in_link: bool,
    /// The body carries [`PASSWORD_RESET_LINK`], a portal password reset link made when the
    /// mail is sent. Set only by the portal's own reset mail, never from a body's text.
    #[serde(default)]
    pub password_reset_link: bool,
}

/// A file attached to a customer mail; its bytes travel base64-encoded in the queued job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    /// Base64 (standard alphabet).
    pub data: String,
}

/// The most attachment bytes (decoded) one customer mail may carry.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct ContactJob {
    contact_id: String,
    /// `message`, `confirmation` or `data_access`.
    purpose: String,
    mail: ContactEmail,
}

fn purpose_name(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Message => "message",
        Purpose::Confirmation => "confirmation",
        Purpose::DataAccess => "data_access",
        Purpose::Transactional => "transactional",
        Purpose::SignIn => "sign_in",
    }
}

/// What the choke point decided for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Queued,
    Blocked { reason: Refusal, detail: String },
}

/// The gate's check, the same at queueing and at sending: the decision and its record.
async fn check(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    channel: Channel,
    purpose: Purpose,
    stage: &str,
    ticket_message: Option<&str>,
    now: i64,
) -> Result<Result<consent::Standing, (Refusal, String)>, StoreError> {
    let settings = consent::settings(tx).await?;
    let standing = consent::standing(tx, contact, Lock::Read).await?;
    let verdict = match &standing {
        None => Err(Refusal::NoAddress),
        Some(s) => rules::decide(
            settings.mode,
            rules::Standing {
                do_not_contact: s.do_not_contact,
                status: s.status(channel),
                has_address: s.has_address(channel),
            },
            purpose,
        ),
    };
    let (decision, reason) = match verdict {
        Ok(()) => ("allowed", None),
        Err(r) => ("blocked", Some(r.as_str().to_owned())),
    };
    if standing.is_some() {
        consent::record_outreach(
            tx,
            &holdfast_core::crm::consent::OutreachEntry {
                id: consent::outreach_id(now),
                contact_id: contact.to_string(),
                channel: channel.as_str().to_owned(),
                purpose: purpose_name(purpose).to_owned(),
                stage: stage.to_owned(),
                decision: decision.to_owned(),
                reason,
                ticket_message_id: ticket_message.map(str::to_owned),
                created_at: now,
            },
        )
        .await?;
    }
    let mode = settings.mode;
    Ok(match (verdict, standing) {
        (Ok(()), Some(standing)) => Ok(standing),
        (Err(r), _) => Err((r, r.explain(channel, mode))),
        (Ok(()), None) => Err((
            Refusal::NoAddress,
            Refusal::NoAddress.explain(channel, mode),
        )),
    })
}

/// The way every customer email leaves: checked, recorded, then queued in the caller's
/// transaction, or refused. A ticket reply's delivery status is recorded with it: `queued`
/// (with its Message-ID) or `blocked` with the reason.
pub async fn queue_to_contact(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    purpose: Purpose,
    mail: ContactEmail,
    now: i64,
) -> Result<Decision, StoreError> {
    let ticket_message = mail.ticket_message.clone();
    let verdict = check(
        tx,
        contact,
        Channel::Email,
        purpose,
        "queue",
        ticket_message.as_deref(),
        now,
    )
    .await?;
    match verdict {
        Ok(_) => {
            // A ticket reply's delivery status is written here, and only here: `queued` with
            // the Message-ID its thread will know it by (only a mail that may go gets one).
            if let (Some(id), Some(email_id)) = (&ticket_message, &mail.message_id) {
                holdfast_store::helpdesk::tickets::mark_mailed(tx, id, email_id, now).await?;
            }
            let job = ContactJob {
                contact_id: contact.to_string(),
                purpose: purpose_name(purpose).to_owned(),
                mail,
            };
            let job = serde_json::to_value(&job).unwrap_or_default();
            queue::enqueue(tx, JobKind::MessageSend, &job, now, now).await?;
            Ok(Decision::Queued)
        }
        Err((reason, detail)) => {
            if let Some(id) = &ticket_message {
                holdfast_store::helpdesk::tickets::mark_blocked(tx, id, &detail, now).await?;
            }
            tracing::info!(reason = reason.as_str(), "a customer message was blocked");
            Ok(Decision::Blocked { reason, detail })
        }
    }
}

/// Whether a message of `purpose` to the contact was queued in the last `within_ms` (so a
/// request the person can repeat, such as their data link, does not flood their inbox).
pub async fn queued_recently(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    purpose: Purpose,
    within_ms: i64,
    now: i64,
) -> Result<bool, StoreError> {
    consent::queued_since(tx, contact, purpose_name(purpose), now - within_ms).await
}

/// The `message.send` job: checks again, then sends to the contact's current address with the
/// preference-center footer and one-click unsubscribe headers.
pub async fn deliver_to_contact(
    state: &App,
    tenant: &Tenant,
    job: &Claimed,
    payload: &serde_json::Value,
) -> JobResult {
    let (work, contact, purpose) = read_contact_job(payload)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    let verdict = check(
        &mut tx,
        &contact,
        Channel::Email,
        purpose,
        "send",
        work.mail.ticket_message.as_deref(),
        now,
    )
    .await?;
    let standing = match verdict {
        Ok(standing) => standing,
        Err((reason, detail)) => {
            tx.commit().await?;
            tracing::info!(job = %job.id, reason = reason.as_str(), "a queued customer message was blocked before sending");
            if let Some(email_id) = &work.mail.message_id {
                report_delivery(state, tenant, email_id, Delivery::Blocked, Some(&detail)).await?;
            }
            return Ok(());
        }
    };
    let body = with_single_use_link(&mut tx, state, &contact, purpose, &work.mail, now).await?;
    let ws = tenant.workspace_id().to_string();
    let token = state
        .link_key
        .preference_token(&ws, contact.as_str(), standing.link_generation);
    let digest = holdfast_core::token::sha256_hex(&token);
    consent::ensure_preference_link(&mut tx, &contact, &digest, standing.link_generation, now)
        .await?;
    tx.commit().await?;
    let base = state.config.public_url.trim_end_matches('/');
    let page = format!("{base}/preferences/{token}");
    let mail = &work.mail;
    let outgoing = Outgoing {
        workspace: Some(ws),
        to: standing.email.clone().unwrap_or_default(),
        subject: mail.subject.clone(),
        body: format!(
            "{}\n\n-- \nYour email preferences, unsubscribe, your data: {page}\n",
            body.trim_end()
        ),
        message_id: mail.message_id.clone(),
        in_reply_to: mail.in_reply_to.clone(),
        references: mail.references.clone(),
        reply_to: mail.reply_to.clone(),
        list_unsubscribe: Some(format!("{page}/unsubscribe")),
        attachments: decode_attachments(&mail.attachments).map_err(JobError::Permanent)?,
    };
    let sent = state.transport.0.send_mail(&outgoing).await;
    record_reply_delivery(state, tenant, job, mail, &sent).await;
    sent.map_err(JobError::Retry)
}

/// The attachments' bytes; an unreadable or oversized set is a permanent failure.
fn decode_attachments(
    attachments: &[MailAttachment],
) -> Result<Vec<transport::OutgoingAttachment>, String> {
    use base64::Engine as _;
    let mut total = 0;
    let mut out = Vec::with_capacity(attachments.len());
    for a in attachments {
        let data = base64::engine::general_purpose::STANDARD
            .decode(&a.data)
            .map_err(|_| format!("attachment {} is not base64", a.filename))?;
        total += data.len();
        if total > MAX_ATTACHMENT_BYTES {
            return Err("the attachments are too large".into());
        }
        out.push(transport::OutgoingAttachment {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            data,
        });
    }
    Ok(out)
}

/// A `message.send` job's payload, its contact id and its purpose (an unreadable one is
/// permanent; an unknown purpose is an ordinary message).
fn read_contact_job(
    payload: &serde_json::Value,
) -> Result<(ContactJob, ContactId, Purpose), JobError> {
    let work: ContactJob = serde_json::from_value(payload.clone())
        .map_err(|e| JobError::Permanent(format!("message job: {e}")))?;
    let contact = ContactId::parse(&work.contact_id)
        .ok_or_else(|| JobError::Permanent("message job: bad contact id".into()))?;
    let purpose = match work.purpose.as_str() {
        "confirmation" => Purpose::Confirmation,
        "data_access" => Purpose::DataAccess,
        "transactional" => Purpose::Transactional,
        "sign_in" => Purpose::SignIn,
        _ => Purpose::Message,
    };
    Ok((work, contact, purpose))
}

/// The body with its single-use link made now, for the mails that carry one (a double opt-in
/// confirmation, a data download, a portal sign-in); other bodies unchanged.
async fn with_single_use_link(
    tx: &mut TenantTx<'_>,
    state: &App,
    contact: &ContactId,
    purpose: Purpose,
    mail: &ContactEmail,
    now: i64,
) -> Result<String, StoreError> {
    let mut body = mail.body.clone();
    if purpose == Purpose::Confirmation {
        let (token, digest) = holdfast_core::token::generate_opaque(rules::CONFIRM_TOKEN_KIND);
        consent::create_confirmation(
            tx,
            contact,
            Channel::Email,
            &digest,
            now,
            now + rules::CONFIRM_TTL_MS,
        )
        .await?;
        let base = state.config.public_url.trim_end_matches('/');
        body = body.replace(
            CONFIRMATION_LINK,
            &format!("{base}/consent/confirm/{}", token.expose()),
        );
    }
    if purpose == Purpose::DataAccess {
        let (token, digest) = holdfast_core::token::generate_opaque(rules::DATA_LINK_TOKEN_KIND);
        consent::create_data_link(tx, contact, &digest, now, now + rules::DATA_LINK_TTL_MS).await?;
        let base = state.config.public_url.trim_end_matches('/');
        body = body.replace(
            DATA_LINK,
            &format!("{base}/preferences/download/{}", token.expose()),
        );
    }
    if mail.sign_in_link {
        let (token, digest) =
            holdfast_core::token::generate_opaque(holdfast_core::portal::MAGIC_LINK_PREFIX);
        let expires = now + holdfast_core::portal::MAGIC_LINK_TTL_MS;
        holdfast_store::portal::links::create(tx, contact, &digest, now, expires).await?;
        let site = holdfast_store::portal::access::site(tx).await?;
        let base = state.config.public_url.trim_end_matches('/');
        let path = holdfast_core::portal::sign_in_path(&site.slug, token.expose());
        body = body.replace(SIGN_IN_LINK, &format!("{base}{path}"));
    }
    if mail.password_reset_link {
        let (token, digest) =
            holdfast_core::token::generate_opaque(holdfast_core::portal::PASSWORD_RESET_PREFIX);
        let expires = now + holdfast_core::portal::PASSWORD_RESET_TTL_MS;
        holdfast_store::portal::passwords::create_reset(tx, contact, &digest, now, expires).await?;
        let site = holdfast_store::portal::access::site(tx).await?;
        let base = state.config.public_url.trim_end_matches('/');
        let path = holdfast_core::portal::password_reset_path(&site.slug, token.expose());
        body = body.replace(PASSWORD_RESET_LINK, &format!("{base}{path}"));
    }
    Ok(body)
}

/// Records a ticket reply's delivery status after a sending attempt: sent, or unsent once the
/// last attempt failed (an attempt that will be retried records nothing).
async fn record_reply_delivery(
    state: &App,
    tenant: &Tenant,
    job: &Claimed,
    mail: &ContactEmail,
    sent: &Result<(), String>,
) {
    if let (Some(_), Some(email_id)) = (&mail.ticket_message, &mail.message_id) {
        let report = match sent {
            Ok(()) => Some((Delivery::Sent, None)),
            Err(error) if job.attempt >= job.max_attempts => Some((
                Delivery::Unsent,
                Some(format!("the mail relay refused it: {error}")),
            )),
            Err(_) => None,
        };
        if let Some((status, detail)) = report {
            // The mail is out either way: a failed status write must not send it again.
            let recorded =
                report_delivery(state, tenant, email_id, status, detail.as_deref()).await;
            if let Err(error) = recorded {
                tracing::warn!(job = %job.id, ?error, "recording a reply's delivery status failed");
            }
        }
    }
}

/// Applies a delivery report to this workspace's mailed reply with the RFC 5322 Message-ID
/// `email_message_id` (no angle brackets); a change is published as
/// `message.delivery_updated`.
pub async fn report_delivery(
    state: &App,
    tenant: &Tenant,
    email_message_id: &str,
    status: Delivery,
    detail: Option<&str>,
) -> JobResult {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    match holdfast_store::helpdesk::tickets::report_delivery(
        &mut tx,
        email_message_id,
        status,
        detail,
        now,
    )
    .await?
    {
        holdfast_store::helpdesk::tickets::Reported::Changed(message) => {
            // `sent` is the relay's routine word: only what the customer's side reported
            // (or the relay's final refusal, `unsent`) is published.
            if status != Delivery::Sent {
                let data = serde_json::to_value(&message).unwrap_or_default();
                holdfast_store::webhooks::publish(
                    &mut tx,
                    holdfast_core::webhooks::EventType::MessageDeliveryUpdated,
                    data,
                    now,
                )
                .await?;
            }
        }
        holdfast_store::helpdesk::tickets::Reported::Unchanged => {}
        holdfast_store::helpdesk::tickets::Reported::Unknown => {
            tracing::info!(
                status = status.as_str(),
                "a delivery report names no reply of this workspace"
            );
        }
    }
    tx.commit().await?;
    Ok(())
}
