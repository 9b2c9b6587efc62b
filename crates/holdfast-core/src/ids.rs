//! Prefixed, time-ordered text ids (`ws_…`, `ct_…`), parsed at the edge.
//!
//! The body is the 32 lowercase hex digits of a UUIDv7 built from our own clock, so ids sort by
//! creation time as plain text on both databases.

use crate::clock::Millis;
use rand::RngCore;

/// A UUIDv7 body. Ids made in the same millisecond by this process count on from the last
/// one (RFC 9562 §6.2, method 2), so a change and its log entries sort in the order made.
fn generate_body(now_ms: Millis) -> String {
    static LAST: std::sync::Mutex<(u64, u128)> = std::sync::Mutex::new((0, 0));
    const RANDOM_BITS: u32 = 74;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let fresh = u128::from_be_bytes(bytes) >> (128 - RANDOM_BITS);
    let millis = u64::try_from(now_ms).unwrap_or(0);
    let (millis, random) = {
        let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only the same millisecond counts on: an id always carries the time it was given
        // (tests run clocks of their own in one process).
        let next = if millis == last.0 {
            (millis, (last.1 + 1) & ((1u128 << RANDOM_BITS) - 1))
        } else {
            (millis, fresh)
        };
        *last = next;
        next
    };
    // The 74 bits fill rand_a (12) and rand_b (62) around the version and variant bits.
    let rand_a = ((random >> 62) & 0xfff) as u16;
    let rand_b = (random & ((1u128 << 62) - 1)) as u64;
    let mut tail = [0u8; 10];
    tail[..2].copy_from_slice(&rand_a.to_be_bytes());
    tail[2..].copy_from_slice(&rand_b.to_be_bytes());
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &tail).into_uuid();
    uuid.simple().to_string()
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
prefixed_id!(SessionId, "ses");
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

#[cfg(test)]
mod tests {
    #[test]
    fn ids_of_one_millisecond_sort_in_the_order_made() {
        let ids: Vec<super::ContactId> = (0..1000)
            .map(|_| super::ContactId::generate(1_700_000_000_000))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ids.iter()
                .all(|id| super::ContactId::parse(id.as_str()).is_some())
        );
    }

    use super::*;

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
