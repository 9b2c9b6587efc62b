//! The mail transport: an SMTP relay when `smtp_url` is set (plain, STARTTLS with
//! `?tls=required`, or `smtps://`), otherwise the local outbox in the database. Private to
//! `outreach`: nothing outside that module can construct or call it, so every mail passes the
//! choke point (customer messages) or is staff mail by name.

use holdfast_core::clock::SharedClock;
use holdfast_core::ops::config::Config;
use holdfast_store::{Db, ops::mail_outbox};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A mail to send; ids are without angle brackets.
#[derive(Debug, Clone, Default)]
pub(super) struct Outgoing {
    /// The workspace a customer mail is sent for (kept with it in the local outbox, so the
    /// workspace's erasure finds it); `None` for staff and account mail.
    pub workspace: Option<String>,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub reply_to: Option<String>,
    /// The preference center's one-click unsubscribe URL (RFC 8058): `List-Unsubscribe` and
    /// `List-Unsubscribe-Post` on every customer mail.
    pub list_unsubscribe: Option<String>,
    /// Files sent with the text (a multipart/mixed mail); the local outbox keeps a line per
    /// file under the text instead.
    pub attachments: Vec<OutgoingAttachment>,
}

/// A file sent with a mail.
#[derive(Debug, Clone, Default)]
pub(super) struct OutgoingAttachment {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

pub(super) enum Mailer {
    Outbox {
        db: Db,
        clock: SharedClock,
    },
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mailer::Outbox { .. } => "Mailer(outbox)",
            Mailer::Smtp { .. } => "Mailer(smtp)",
        })
    }
}

impl Mailer {
    pub(super) fn from_config(
        config: &Config,
        db: &Db,
        clock: &SharedClock,
    ) -> Result<Mailer, String> {
        let Some(url) = &config.smtp_url else {
            return Ok(Mailer::Outbox {
                db: db.clone(),
                clock: clock.clone(),
            });
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("invalid SMTP URL (HOLDFAST_SMTP_URL): {e}"))?
            .build();
        let from = config
            .mail_from
            .parse()
            .map_err(|e| format!("invalid sender (HOLDFAST_MAIL_FROM): {e}"))?;
        Ok(Mailer::Smtp { transport, from })
    }

    /// Sends a mail that may continue a thread (a ticket reply): its own `Message-ID`, the
    /// `In-Reply-To` and `References` of the conversation, and a `Reply-To` carrying the
    /// ticket's reply token, so the customer's mail client threads it and their answer comes
    /// back to the ticket.
    pub(super) async fn send_mail(&self, mail: &Outgoing) -> Result<(), String> {
        let (to, subject, body) = (mail.to.as_str(), mail.subject.as_str(), mail.body.as_str());
        match self {
            Mailer::Outbox { db, clock } => {
                let mut text = body.to_owned();
                for a in &mail.attachments {
                    text.push_str(&format!(
                        "\n[attached: {} ({}, {} bytes)]",
                        a.filename,
                        a.content_type,
                        a.data.len()
                    ));
                }
                mail_outbox::unscoped_store(
                    db,
                    mail.workspace.as_deref(),
                    to,
                    subject,
                    &text,
                    clock.now_ms(),
                )
                .await
                .map_err(|e| e.to_string())
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
                let mut builder = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(subject);
                if mail.attachments.is_empty() {
                    builder = builder.header(ContentType::TEXT_PLAIN);
                }
                if let Some(id) = &mail.message_id {
                    builder = builder.message_id(Some(format!("<{id}>")));
                }
                if let Some(parent) = &mail.in_reply_to {
                    builder = builder.in_reply_to(format!("<{parent}>"));
                }
                if !mail.references.is_empty() {
                    let refs: Vec<String> =
                        mail.references.iter().map(|r| format!("<{r}>")).collect();
                    builder = builder.references(refs.join(" "));
                }
                if let Some(reply_to) = &mail.reply_to {
                    let mailbox: Mailbox =
                        reply_to.parse().map_err(|e| format!("reply-to: {e}"))?;
                    builder = builder.reply_to(mailbox);
                }
                if let Some(url) = &mail.list_unsubscribe {
                    for (name, value) in [
                        ("List-Unsubscribe", format!("<{url}>")),
                        (
                            "List-Unsubscribe-Post",
                            "List-Unsubscribe=One-Click".to_owned(),
                        ),
                    ] {
                        let name = HeaderName::new_from_ascii(name.to_owned())
                            .map_err(|e| e.to_string())?;
                        builder = builder.raw_header(HeaderValue::new(name, value));
                    }
                }
                let message = if mail.attachments.is_empty() {
                    builder.body(body.to_owned())
                } else {
                    let mut parts =
                        MultiPart::mixed().singlepart(SinglePart::plain(body.to_owned()));
                    for a in &mail.attachments {
                        let content_type = ContentType::parse(&a.content_type)
                            .map_err(|e| format!("attachment type: {e}"))?;
                        parts = parts.singlepart(
                            Attachment::new(a.filename.clone()).body(a.data.clone(), content_type),
                        );
                    }
                    builder.multipart(parts)
                }
                .map_err(|e| e.to_string())?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}
