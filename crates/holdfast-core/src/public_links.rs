//! Public links for the customer: a page of a job (`/p/jobs/hfpj_…`), later of an invoice
//! (`/p/invoices/hfpi_…`), opened without signing in. The token is the credential: 256 bits
//! from the opaque token format of `crate::token` (43 base62 characters after the kind's
//! prefix, so one kind is never accepted as another), shown once and stored only as its
//! SHA-256. A link expires by the rules below, can be revoked, and a new one revokes the old.
//! Unknown, malformed, expired and revoked links are the same 404 to the caller. Threat note:
//! docs/design/public-links.md.

use crate::field_service::jobs::JobStatus;
use crate::invoicing::invoices::{DocumentKind, InvoiceStatus};
use crate::secret::Secret;
use crate::token::{generate_opaque, parse_opaque};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;

/// A job's link keeps opening this many days after the job was completed or cancelled.
pub const JOB_LINK_DAYS_AFTER_FINISH: i64 = 30;

/// An invoice's link keeps opening this many days after it was paid or voided.
pub const INVOICE_LINK_DAYS_AFTER_SETTLED: i64 = 90;

closed_set!(
    /// What a public link shows.
    PublicLinkKind {
        Job => "job",
        Invoice => "invoice",
    }
);

impl PublicLinkKind {
    /// The token's prefix (before its `_`): the kind, readable in the token itself.
    pub fn token_prefix(self) -> &'static str {
        match self {
            PublicLinkKind::Job => "hfpj",
            PublicLinkKind::Invoice => "hfpi",
        }
    }

    /// The page's path for `token`, relative to the server's public URL.
    pub fn path(self, token: &str) -> String {
        match self {
            PublicLinkKind::Job => format!("/p/jobs/{token}"),
            PublicLinkKind::Invoice => format!("/p/invoices/{token}"),
        }
    }
}

/// A link just made: the token (shown once) and the digest that is stored.
pub struct NewPublicLink {
    pub token: Secret<String>,
    pub token_hash: String,
}

/// A fresh link of `kind`.
pub fn issue(kind: PublicLinkKind) -> NewPublicLink {
    let (token, token_hash) = generate_opaque(kind.token_prefix());
    NewPublicLink { token, token_hash }
}

/// The digest of a presented token of `kind`, or `None` when its shape is wrong (checked
/// before any database work).
pub fn token_hash(kind: PublicLinkKind, text: &str) -> Option<String> {
    parse_opaque(kind.token_prefix(), text)
}

/// When a job's link stops opening: never while the job is open (a cancelled job requested
/// again is open again); 30 days after it was completed or cancelled. A finished job without
/// a finishing time fails closed: its link has expired.
pub fn job_link_expires_at(status: JobStatus, finished_at_ms: Option<i64>) -> Option<i64> {
    match status {
        JobStatus::Completed | JobStatus::Cancelled => {
            Some(finished_at_ms.map_or(i64::MIN, |at| {
                at.saturating_add(JOB_LINK_DAYS_AFTER_FINISH * DAY_MS)
            }))
        }
        JobStatus::Requested
        | JobStatus::Scheduled
        | JobStatus::EnRoute
        | JobStatus::InProgress => None,
    }
}

/// When an invoice's link stops opening: 90 days after it was paid or voided (`settled_at_ms`),
/// never before.
pub fn invoice_link_expires_at(settled_at_ms: Option<i64>) -> Option<i64> {
    settled_at_ms.map(|at| at.saturating_add(INVOICE_LINK_DAYS_AFTER_SETTLED * DAY_MS))
}

/// Whether a link with this expiry has expired at `now_ms` (the instant itself is past it).
pub fn is_expired(expires_at_ms: Option<i64>, now_ms: i64) -> bool {
    expires_at_ms.is_some_and(|at| now_ms >= at)
}

/// A job's status as the customer reads it on the page.
pub fn job_status_words(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Requested => "Requested: we will schedule your visit",
        JobStatus::Scheduled => "Scheduled",
        JobStatus::EnRoute => "On the way",
        JobStatus::InProgress => "In progress",
        JobStatus::Completed => "Completed",
        JobStatus::Cancelled => "Cancelled",
    }
}

/// An invoice's status as the customer reads it (on its public page and in the client
/// portal): `credit_due` when more came in than is owed now (credited after it was paid),
/// `overdue` when it is issued, unpaid and past its due date.
pub fn invoice_status_words(
    kind: DocumentKind,
    status: InvoiceStatus,
    credit_due: bool,
    overdue: bool,
) -> &'static str {
    match (kind, status) {
        (DocumentKind::CreditNote, _) => "Credit note",
        (_, InvoiceStatus::Paid) if credit_due => "Paid — a credit is due to you",
        (_, InvoiceStatus::Paid) => "Paid — thank you",
        (_, InvoiceStatus::PartiallyPaid) => "Partly paid",
        (_, InvoiceStatus::Void) => "Cancelled (void)",
        (_, InvoiceStatus::Draft) => "Draft",
        (_, InvoiceStatus::Issued) if overdue => "Overdue",
        (_, InvoiceStatus::Issued) => "Awaiting payment",
    }
}

/// The first name of a member's display name, the only part of it a customer sees: its first
/// word, at most 40 characters. `None` for a name of blanks.
pub fn first_name(display_name: &str) -> Option<String> {
    display_name
        .split_whitespace()
        .next()
        .map(|word| word.chars().take(40).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::sha256_hex;

    const NOW: i64 = 1_796_000_000_000;

    #[test]
    fn a_link_is_256_bits_after_its_kind_and_only_its_digest_is_kept() {
        let link = issue(PublicLinkKind::Job);
        let text = link.token.expose();
        assert!(text.starts_with("hfpj_"), "{text}");
        // 43 base62 characters: log2(62^43) > 256.
        assert_eq!(text.len(), "hfpj_".len() + 43);
        assert!(43.0 * 62f64.log2() >= 256.0);
        assert_eq!(link.token_hash, sha256_hex(text));
        assert_eq!(
            token_hash(PublicLinkKind::Job, text),
            Some(link.token_hash.clone())
        );
        assert_ne!(issue(PublicLinkKind::Job).token_hash, link.token_hash);
        assert!(
            issue(PublicLinkKind::Invoice)
                .token
                .expose()
                .starts_with("hfpi_")
        );
    }

    #[test]
    fn a_token_of_another_kind_or_shape_is_refused_before_any_look_up() {
        let job = issue(PublicLinkKind::Job);
        let text = job.token.expose();
        assert_eq!(token_hash(PublicLinkKind::Invoice, text), None);
        assert_eq!(
            token_hash(PublicLinkKind::Job, &text[..text.len() - 1]),
            None
        );
        assert_eq!(token_hash(PublicLinkKind::Job, &format!("{text}a")), None);
        assert_eq!(
            token_hash(PublicLinkKind::Job, &text.replace("hfpj_", "hfpc_")),
            None
        );
        assert_eq!(
            token_hash(PublicLinkKind::Job, &format!("hfpj_{}!", "a".repeat(42))),
            None
        );
        assert_eq!(token_hash(PublicLinkKind::Job, ""), None);
    }

    #[test]
    fn open_jobs_keep_their_link_and_finished_ones_keep_it_thirty_days() {
        for status in [
            JobStatus::Requested,
            JobStatus::Scheduled,
            JobStatus::EnRoute,
            JobStatus::InProgress,
        ] {
            assert_eq!(job_link_expires_at(status, Some(NOW)), None, "{status:?}");
            assert_eq!(job_link_expires_at(status, None), None, "{status:?}");
        }
        for status in [JobStatus::Completed, JobStatus::Cancelled] {
            let at = job_link_expires_at(status, Some(NOW));
            assert_eq!(at, Some(NOW + 30 * DAY_MS), "{status:?}");
            assert!(!is_expired(at, NOW + 30 * DAY_MS - 1));
            assert!(is_expired(at, NOW + 30 * DAY_MS));
            // No finishing time: closed.
            assert!(is_expired(job_link_expires_at(status, None), NOW));
        }
        assert!(!is_expired(None, i64::MAX));
    }

    #[test]
    fn invoice_links_last_ninety_days_after_paid_or_void() {
        assert_eq!(invoice_link_expires_at(None), None);
        let at = invoice_link_expires_at(Some(NOW));
        assert_eq!(at, Some(NOW + 90 * DAY_MS));
        assert!(!is_expired(at, NOW + 90 * DAY_MS - 1));
        assert!(is_expired(at, NOW + 90 * DAY_MS));
        assert_eq!(invoice_link_expires_at(Some(i64::MAX)), Some(i64::MAX));
    }

    #[test]
    fn the_customer_reads_words_and_a_first_name() {
        assert_eq!(job_status_words(JobStatus::EnRoute), "On the way");
        assert_eq!(
            first_name("  Tess  Okafor-Lindqvist "),
            Some("Tess".to_owned())
        );
        assert_eq!(first_name("   "), None);
        assert_eq!(first_name(&"x".repeat(60)).map(|n| n.len()), Some(40));
    }

    #[test]
    fn the_customer_reads_an_invoice_status_in_words() {
        use DocumentKind::{CreditNote, Invoice};
        use InvoiceStatus::{Issued, Paid, PartiallyPaid, Void};
        assert_eq!(
            invoice_status_words(Invoice, Issued, false, false),
            "Awaiting payment"
        );
        assert_eq!(
            invoice_status_words(Invoice, Issued, false, true),
            "Overdue"
        );
        assert_eq!(
            invoice_status_words(Invoice, PartiallyPaid, false, true),
            "Partly paid"
        );
        assert_eq!(
            invoice_status_words(Invoice, Paid, false, false),
            "Paid — thank you"
        );
        assert_eq!(
            invoice_status_words(Invoice, Paid, true, false),
            "Paid — a credit is due to you"
        );
        assert_eq!(
            invoice_status_words(Invoice, Void, false, false),
            "Cancelled (void)"
        );
        assert_eq!(
            invoice_status_words(CreditNote, Issued, false, false),
            "Credit note"
        );
    }

    #[test]
    fn kinds_name_their_pages() {
        assert_eq!(PublicLinkKind::parse("job"), Some(PublicLinkKind::Job));
        assert_eq!(PublicLinkKind::Job.path("hfpj_x"), "/p/jobs/hfpj_x");
        assert_eq!(PublicLinkKind::Invoice.path("hfpi_x"), "/p/invoices/hfpi_x");
    }
}
