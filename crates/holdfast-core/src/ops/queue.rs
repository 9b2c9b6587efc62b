//! The durable job queue's rules: which kinds of job exist, how often each is tried, and when
//! the next attempt runs (exponential backoff with jitter). The queue itself is a table
//! (`holdfast-store::queue`); this module decides, the store and the worker do.

use serde::Serialize;

/// Every kind of background job. A closed set: the worker dispatches on it, and a row with an
/// unknown kind (written by a newer version) is left for a worker that knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Turn one domain event into a delivery per subscribed webhook endpoint.
    WebhookFanout,
    /// Send one webhook message to its endpoint.
    WebhookDeliver,
    /// Act on one verified inbound provider event.
    InboundHandle,
    /// Send one staff mail (notifications to a workspace's admins).
    MailSend,
    /// Send one message to a contact, through the consent choke point (`outreach`).
    MessageSend,
    /// Run one CSV import of contacts (`contact_imports`), resuming where it stopped.
    ContactsImport,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::WebhookFanout,
        JobKind::WebhookDeliver,
        JobKind::InboundHandle,
        JobKind::MailSend,
        JobKind::MessageSend,
        JobKind::ContactsImport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::WebhookFanout => "webhook.fanout",
            JobKind::WebhookDeliver => "webhook.deliver",
            JobKind::InboundHandle => "inbound.handle",
            JobKind::MailSend => "mail.send",
            JobKind::MessageSend => "message.send",
            JobKind::ContactsImport => "contacts.import",
        }
    }

    pub fn parse(text: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Attempts before the job is dead. Webhook deliveries get the longest schedule
    /// (about 31 hours in all, see [`backoff_ms`]), so a receiver can be down
    /// overnight without losing events.
    pub fn max_attempts(self) -> i64 {
        match self {
            JobKind::WebhookDeliver => 12,
            JobKind::WebhookFanout | JobKind::InboundHandle => 8,
            JobKind::MailSend | JobKind::MessageSend | JobKind::ContactsImport => 6,
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_at`.
    Queued,
    /// Claimed by a worker until its lease ends; an ended lease makes it claimable again.
    Running,
    Done,
    /// Every attempt failed (or the job was refused for good); kept for `holdfast jobs retry`.
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// First retry delay: the one after attempt 1.
pub const BACKOFF_BASE_MS: i64 = 5_000;
/// No wait between attempts is longer than this.
pub const BACKOFF_CAP_MS: i64 = 6 * 60 * 60 * 1000;

/// The wait before the attempt after `attempt` (1-based): 5 s × 4^(attempt−1), capped at six
/// hours, then spread by `jitter` ∈ [0, 1) over ±20 % so that jobs failing together (a receiver
/// that went down) do not all come back in the same instant.
pub fn backoff_ms(attempt: i64, jitter: f64) -> i64 {
    let exponent = u32::try_from(attempt.clamp(1, 16) - 1).unwrap_or(0);
    let plain = BACKOFF_BASE_MS
        .saturating_mul(4_i64.saturating_pow(exponent))
        .min(BACKOFF_CAP_MS);
    let spread = (jitter.clamp(0.0, 1.0) * 0.4) - 0.2;
    let delta = (plain as f64 * spread) as i64;
    (plain + delta).max(1_000)
}

/// How long a claimed job belongs to its worker before another may take it over.
pub const DEFAULT_LEASE_MS: i64 = 60_000;

/// Error texts kept on a job are bounded: a failure is a line, not a dump.
pub fn bounded_error(text: &str) -> String {
    const MAX: usize = 500;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
            assert!(kind.max_attempts() >= 3);
        }
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobKind::parse("webhook.unknown"), None);
        assert_eq!(JobState::parse("QUEUED"), None);
    }

    #[test]
    fn backoff_grows_by_four_and_stops_at_the_cap() {
        assert_eq!(backoff_ms(1, 0.5), 5_000);
        assert_eq!(backoff_ms(2, 0.5), 20_000);
        assert_eq!(backoff_ms(3, 0.5), 80_000);
        assert_eq!(backoff_ms(9, 0.5), BACKOFF_CAP_MS);
        assert_eq!(backoff_ms(1_000, 0.5), BACKOFF_CAP_MS);
        // Nonsense attempts are treated as the first.
        assert_eq!(backoff_ms(0, 0.5), 5_000);
        assert_eq!(backoff_ms(-7, 0.5), 5_000);
    }

    #[test]
    fn jitter_spreads_twenty_percent_each_way() {
        assert_eq!(backoff_ms(2, 0.0), 16_000);
        assert_eq!(backoff_ms(2, 0.999_999), 23_999);
        assert_eq!(backoff_ms(2, 7.0), 24_000);
        assert_eq!(backoff_ms(2, f64::NAN.max(0.0)), 16_000);
        let spread: std::collections::BTreeSet<i64> = (0..10)
            .map(|i| backoff_ms(3, f64::from(i) / 10.0))
            .collect();
        assert_eq!(spread.len(), 10, "distinct jitter gives distinct waits");
    }

    #[test]
    fn the_whole_webhook_schedule_spans_more_than_a_day() {
        let total: i64 = (1..JobKind::WebhookDeliver.max_attempts())
            .map(|a| backoff_ms(a, 0.5))
            .sum();
        assert!(total > 24 * 60 * 60 * 1000, "{total}");
    }

    #[test]
    fn errors_are_bounded_on_a_char_boundary() {
        let long = "é".repeat(400);
        let bounded = bounded_error(&long);
        assert!(bounded.len() <= 504);
        assert!(bounded.ends_with('…'));
        assert_eq!(bounded_error("short"), "short");
    }
}
