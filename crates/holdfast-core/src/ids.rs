//! Prefixed, time-ordered text ids (`ws_…`, `ct_…`), parsed at the edge.
//!
//! The body is the 32 lowercase hex digits of a UUIDv7 built from our own clock, so ids sort by
//! creation time as plain text on both databases.

use crate::clock::Millis;
use rand::RngCore;

fn generate_body(now_ms: Millis) -> String {
    let mut random = [0u8; 10];
    rand::rng().fill_bytes(&mut random);
    let millis = u64::try_from(now_ms).unwrap_or(0);
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
    uuid.simple().to_string()
}

/// The body one after `body` in the same millisecond (its 74 counter/random bits plus one,
/// RFC 9562 §6.2 method 1), so the records of one change sort in the order they were made.
fn body_after(body: &str) -> Option<String> {
    let uuid = uuid::Uuid::parse_str(body).ok()?;
    let bits = uuid.as_u128();
    let rand_a = (bits >> 64) & 0xfff;
    let rand_b = bits & ((1u128 << 62) - 1);
    let counter = ((rand_a << 62) | rand_b).checked_add(1)?;
    if counter >> 74 != 0 {
        return None;
    }
    let bits = (bits & !(0xfffu128 << 64) & !((1u128 << 62) - 1))
        | ((counter >> 62) << 64)
        | (counter & ((1u128 << 62) - 1));
    Some(uuid::Uuid::from_u128(bits).simple().to_string())
}

fn body_is_valid(body: &str) -> bool {
    body.len() == 32
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate(now_ms: Millis) -> Self {
                Self(format!("{}_{}", $prefix, generate_body(now_ms)))
            }

            /// The id right after this one (same time, next counter), for a batch of records
            /// that must keep their order; a fresh id in the rare case the counter is full.
            pub fn next_after(&self, now_ms: Millis) -> Self {
                let body = self.0.strip_prefix($prefix).and_then(|b| b.strip_prefix('_'));
                match body.and_then(body_after) {
                    Some(next) => Self(format!("{}_{}", $prefix, next)),
                    None => Self::generate(now_ms),
                }
            }

            /// Accepts only a well-formed id of this kind; anything else is `None`.
            pub fn parse(text: &str) -> Option<Self> {
                let body = text.strip_prefix($prefix)?.strip_prefix('_')?;
                body_is_valid(body).then(|| Self(text.to_owned()))
            }

            /// For values read back from our own database.
            pub fn from_trusted(text: String) -> Self {
                Self(text)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// A workspace: the tenant.
    WorkspaceId,
    "ws"
);
prefixed_id!(UserId, "usr");
prefixed_id!(MembershipId, "mem");
prefixed_id!(ApiKeyId, "key");
prefixed_id!(ContactId, "ct");
prefixed_id!(
    /// A field-service job (a visit to a customer).
    JobId,
    "job"
);
prefixed_id!(
    /// A note on a field-service job.
    JobNoteId,
    "jn"
);
prefixed_id!(
    /// A photo or file on a field-service job.
    JobFileId,
    "jf"
);
prefixed_id!(
    /// A public link for a customer (a job's page, later an invoice's).
    PublicLinkId,
    "plk"
);
prefixed_id!(SessionId, "ses");
prefixed_id!(
    /// A customer's signed-in browser in the client portal.
    PortalSessionId,
    "pses"
);
prefixed_id!(RefreshTokenId, "rft");
prefixed_id!(ResetTokenId, "rst");
prefixed_id!(MailId, "mail");
prefixed_id!(InvitationId, "inv");
prefixed_id!(
    /// One started OpenID Connect sign-in.
    OidcFlowId,
    "sso"
);
prefixed_id!(AuditEventId, "aud");
prefixed_id!(
    /// A workspace's custom role.
    RoleId,
    "rol"
);
prefixed_id!(
    /// A background job in the durable queue.
    QueueJobId,
    "qj"
);
prefixed_id!(
    /// A workspace's webhook endpoint.
    WebhookEndpointId,
    "ep"
);
prefixed_id!(
    /// One event sent to one webhook endpoint; its `webhook-id`, stable across retries.
    WebhookMessageId,
    "msg"
);
prefixed_id!(
    /// One attempt at delivering a webhook message.
    WebhookAttemptId,
    "atm"
);
prefixed_id!(
    /// A domain event (`contact.created`, …) as published to webhooks.
    EventId,
    "evt"
);
prefixed_id!(
    /// A help-desk ticket.
    TicketId,
    "tk"
);
prefixed_id!(
    /// One message in a ticket's thread (inbound, reply or note).
    TicketMessageId,
    "tm"
);
prefixed_id!(
    /// A file that came with a ticket message.
    AttachmentId,
    "att"
);
prefixed_id!(
    /// A saved (canned) reply of the help desk.
    SavedReplyId,
    "sr"
);
prefixed_id!(
    /// One entry of a ticket's activity timeline.
    TicketActivityId,
    "ta"
);
prefixed_id!(
    /// A company (organisation) contacts belong to.
    CompanyId,
    "co"
);
prefixed_id!(
    /// One CSV import of contacts.
    ContactImportId,
    "imp"
);
prefixed_id!(
    /// A verified event received from a provider.
    InboundEventId,
    "ibe"
);
prefixed_id!(
    /// One consent-log entry.
    ConsentLogId,
    "cl"
);
prefixed_id!(
    /// One decision of the outbound choke point.
    OutreachId,
    "out"
);
prefixed_id!(
    /// A data subject's request to be erased, waiting for an operator's decision.
    ErasureRequestId,
    "erq"
);

prefixed_id!(
    /// An invoice or a credit note.
    InvoiceId,
    "ivc"
);
prefixed_id!(
    /// A payment or refund recorded against an invoice.
    PaymentId,
    "pay"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_after_keeps_order_time_and_shape() {
        let mut id = ContactId::generate(1_700_000_000_000);
        for _ in 0..1000 {
            let next = id.next_after(1_700_000_000_000);
            assert!(next > id, "{next} after {id}");
            assert!(ContactId::parse(next.as_str()).is_some(), "{next}");
            assert_eq!(&next.as_str()[..15], &id.as_str()[..15], "same millisecond");
            id = next;
        }
        let full = ContactId::from_trusted(format!("ct_{}", "0189f0a1b2c37fffbfffffffffffffff"));
        let next = full.next_after(5);
        assert!(ContactId::parse(next.as_str()).is_some());
    }

    #[test]
    fn generated_ids_parse_back_and_sort_by_time() {
        let a = ContactId::generate(1_700_000_000_000);
        let b = ContactId::generate(1_700_000_000_001);
        assert!(a.as_str().starts_with("ct_"));
        assert_eq!(ContactId::parse(a.as_str()), Some(a.clone()));
        assert!(a < b, "{a} should sort before {b}");
    }

    #[test]
    fn parse_rejects_wrong_prefix_length_and_case() {
        let good = ContactId::generate(1).to_string();
        assert!(WorkspaceId::parse(&good).is_none());
        assert!(ContactId::parse(&good.to_uppercase()).is_none());
        assert!(ContactId::parse(&good[..good.len() - 1]).is_none());
        assert!(ContactId::parse("ct_").is_none());
        assert!(ContactId::parse("ct_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz").is_none());
        assert!(ContactId::parse("").is_none());
    }
}
