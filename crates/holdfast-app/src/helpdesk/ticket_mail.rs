//! Email to ticket: a verified Mailgun inbound-route delivery (stored by the receiver) becomes
//! a ticket, or a message in the ticket it answers. Threading goes by the Message-IDs the mail
//! answers (`In-Reply-To`, `References`), then by the reply token in the address it was sent
//! to, never by subject. Attachments are written into the content-addressed store
//! (`crate::attachments`) first (a leftover file is harmless), then recorded with the message
//! in one transaction.

use crate::App;
use crate::jobs::{JobError, JobResult};
use holdfast_core::helpdesk::mail_in::{self, FieldValue, InboundMail, Limits};
use holdfast_core::helpdesk::tickets::{
    Channel, Delivery, MAX_BODY_CHARS, MessageKind, Priority, TicketOut,
};
use holdfast_core::ids::TicketId;
use holdfast_core::webhooks::EventType;
use holdfast_core::webhooks::inbound::InboundEventOut;
use holdfast_store::helpdesk::tickets::{self as store, Author, NewTicketRow};
use holdfast_store::{StoreError, Tenant, TenantTx};
use std::path::Path;

/// The form fields of a stored Mailgun delivery, or `None` when it is not an inbound mail
/// (Mailgun's JSON event notifications arrive at the same receiver).
fn mail_fields(event: &InboundEventOut) -> Result<Option<Vec<(String, FieldValue)>>, JobError> {
    let bytes = if event.body_encoding == "base64" {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&event.body)
            .map_err(|_| JobError::Permanent("stored body is not base64".into()))?
    } else {
        event.body.as_bytes().to_vec()
    };
    let media = event
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let fields = match media.as_str() {
        "multipart/form-data" => {
            mail_in::parse_multipart_form(&event.content_type, &bytes, &Limits::default())
                .map_err(|e| JobError::Permanent(format!("inbound mail: {e}")))?
        }
        "application/x-www-form-urlencoded" => {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .map_err(|_| JobError::Permanent("inbound mail: malformed form".into()))?
                .into_iter()
                .map(|(k, v)| (k, FieldValue::Text(v)))
                .collect()
        }
        _ => return Ok(None),
    };
    let is_mail = fields.iter().any(|(name, _)| {
        matches!(
            name.to_ascii_lowercase().as_str(),
            "sender" | "from" | "body-mime" | "body-plain"
        )
    });
    Ok(is_mail.then_some(fields))
}

/// Writes an attachment into the shared content-addressed store (`crate::attachments`); a
/// disk that refuses is worth a retry.
fn store_attachment(data_dir: &Path, bytes: &[u8]) -> Result<String, JobError> {
    crate::attachments::store_attachment(data_dir, bytes).map_err(|e| match e {
        crate::attachments::StoreFileError::NoParent => JobError::Permanent(e.to_string()),
        crate::attachments::StoreFileError::Io { .. } => JobError::Retry(e.to_string()),
    })
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text.get(..end).unwrap_or(text).to_owned(),
        None => text.to_owned(),
    }
}

/// Takes in one stored Mailgun delivery; deliveries that are not mail are left alone.
pub async fn take_in(state: &App, tenant: &Tenant, event: &InboundEventOut) -> JobResult {
    let Some(fields) = mail_fields(event)? else {
        return take_report(state, tenant, event).await;
    };
    let mail = mail_in::from_mailgun_fields(&fields, &Limits::default())
        .map_err(|e| JobError::Permanent(format!("inbound mail: {e}")))?;
    let stored: Vec<(String, &mail_in::Attachment)> = mail
        .attachments
        .iter()
        .map(|a| store_attachment(&state.config.data_dir, &a.bytes).map(|sha| (sha, a)))
        .collect::<Result<_, _>>()?;
    record(state, tenant, &mail, &stored).await
}

async fn record(
    state: &App,
    tenant: &Tenant,
    mail: &InboundMail,
    attachments: &[(String, &mail_in::Attachment)],
) -> JobResult {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    if let Some(id) = &mail.message_id
        && store::has_email_message(&mut tx, id).await?
    {
        return Ok(());
    }
    let contact = store::find_or_create_contact(
        &mut tx,
        Some(&mail.from.email),
        None,
        mail.from.name.as_deref(),
        now,
    )
    .await?;
    let (ticket, created) = thread_or_open(&mut tx, mail, &contact, now).await?;
    let body = message_body(mail, created.is_some());
    let message = store::add_message(
        &mut tx,
        &ticket,
        MessageKind::Inbound,
        &Author {
            kind: "contact",
            id: Some(&contact),
        },
        &body,
        now,
    )
    .await?;
    if let Some(id) = &mail.message_id {
        store::set_email_message_id(&mut tx, &message.id, id).await?;
    }
    for (sha, attachment) in attachments {
        let size = i64::try_from(attachment.bytes.len()).unwrap_or(i64::MAX);
        store::add_attachment(
            &mut tx,
            &message.id,
            &attachment.filename,
            &attachment.content_type,
            size,
            sha,
            now,
        )
        .await?;
    }
    if let Some(created) = &created {
        let data = serde_json::to_value(created).unwrap_or_default();
        holdfast_store::webhooks::publish(&mut tx, EventType::TicketCreated, data, now).await?;
    }
    let data = serde_json::to_value(&message).unwrap_or_default();
    holdfast_store::webhooks::publish(&mut tx, EventType::MessageCreated, data, now).await?;
    tx.commit().await?;
    tracing::info!(ticket = %ticket, new_ticket = created.is_some(), attachments = attachments.len(), "inbound mail taken in");
    Ok(())
}

/// The ticket a mail answers (by the Message-IDs it answers, then its reply token), or a new
/// ticket from the contact when it answers none (returned too, to be published).
async fn thread_or_open(
    tx: &mut TenantTx<'_>,
    mail: &InboundMail,
    contact: &str,
    now: i64,
) -> Result<(TicketId, Option<TicketOut>), StoreError> {
    let answered: Vec<String> = mail
        .in_reply_to
        .iter()
        .chain(&mail.references)
        .cloned()
        .collect();
    let token = mail_in::reply_token(&mail.all_recipients(), None);
    if let Some(id) = store::thread_of(tx, &answered, token.as_deref()).await? {
        return Ok((id, None));
    }
    let subject = cut(mail.subject.trim(), 300);
    let subject = if subject.is_empty() {
        "(no subject)".to_owned()
    } else {
        subject
    };
    let created = store::create(
        tx,
        &NewTicketRow {
            subject: &subject,
            priority: Priority::Normal,
            tags: &[],
            contact_id: Some(contact),
            channel: Channel::Email,
        },
        &Author {
            kind: "contact",
            id: Some(contact),
        },
        now,
    )
    .await?;
    Ok((TicketId::from_trusted(created.id.clone()), Some(created)))
}

/// The message's text: a new ticket keeps the whole text, an answer what is new in it, never
/// empty.
fn message_body(mail: &InboundMail, new_ticket: bool) -> String {
    let text = if new_ticket {
        &mail.text
    } else {
        &mail.reply_text
    };
    let body = cut(text.trim(), MAX_BODY_CHARS);
    if body.is_empty() {
        "(no text)".to_owned()
    } else {
        body
    }
}

/// A Mailgun event notification (`{"signature": …, "event-data": {"event", "severity",
/// "message": {"headers": {"message-id"}}, "delivery-status": …}}`) about a reply this
/// workspace mailed: its delivery status moves forward. Reports of other mail, or of events
/// that are not about delivery (opens, clicks), change nothing.
async fn take_report(state: &App, tenant: &Tenant, event: &InboundEventOut) -> JobResult {
    let Ok(body) = serde_json::from_str::<serde_json::Value>(&event.body) else {
        return Ok(());
    };
    let data = &body["event-data"];
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    let Some(kind) = text(&data["event"]) else {
        return Ok(());
    };
    let Some(status) = Delivery::from_mailgun(&kind, data["severity"].as_str()) else {
        return Ok(());
    };
    let Some(message_id) = text(&data["message"]["headers"]["message-id"]) else {
        return Ok(());
    };
    let message_id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let detail = match status {
        Delivery::Complained => Some("the customer marked the mail as spam".to_owned()),
        Delivery::Failed | Delivery::Deferred => {
            let report = &data["delivery-status"];
            let code = report["code"].as_i64().map(|c| c.to_string());
            let words = text(&report["description"])
                .filter(|d| !d.trim().is_empty())
                .or_else(|| text(&report["message"]))
                .or_else(|| text(&data["reason"]));
            let detail = [code, words]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!detail.is_empty()).then(|| detail.chars().take(500).collect())
        }
        _ => None,
    };
    crate::outreach::report_delivery(state, tenant, message_id, status, detail.as_deref()).await
}
