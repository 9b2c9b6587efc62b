//! In-process GCRA rate limiting keyed by route and client. Entries whose bucket has drained
//! are pruned, so memory stays bounded by the number of recently active clients.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct RateLimiter {
    /// key → theoretical arrival time, in microseconds.
    tat: Mutex<HashMap<String, i64>>,
}

const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    /// `Ok` admits the request; `Err(seconds)` says when to retry. Up to `burst` requests may
    /// arrive at once; after that, one per `60 s / per_minute`.
    pub fn check(&self, key: &str, per_minute: u32, burst: u32, now_ms: i64) -> Result<(), u64> {
        let per_minute = i64::from(per_minute.max(1));
        let interval = 60_000_000 / per_minute;
        let burst = i64::from(burst.max(1));
        let tolerance = interval * (burst - 1);
        let now = now_ms.saturating_mul(1000);
        let Ok(mut map) = self.tat.lock() else {
            return Ok(());
        };
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        if tat - now > tolerance {
            let wait_us = tat - now - tolerance;
            return Err(u64::try_from((wait_us + 999_999) / 1_000_000)
                .unwrap_or(1)
                .max(1));
        }
        map.insert(key.to_owned(), tat + interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn admits_a_burst_then_refuses_until_the_bucket_drains() {
        let l = RateLimiter::default();
        let t = 1_000_000;
        for i in 0..6 {
            assert!(l.check("k", 60, 6, t).is_ok(), "request {i} of the burst");
        }
        let retry = l.check("k", 60, 6, t).unwrap_err();
        assert!((1..=2).contains(&retry), "retry after {retry}");
        assert!(l.check("other", 60, 6, t).is_ok(), "keys are independent");
        assert!(
            l.check("k", 60, 6, t + 1_000).is_ok(),
            "one interval later one more fits"
        );
    }

    #[test]
    fn prunes_drained_entries() {
        let l = RateLimiter::default();
        for i in 0..10_050 {
            let _ = l.check(&format!("k{i}"), 600, 60, 0);
        }
        let _ = l.check("late", 600, 60, 10_000_000);
        assert!(l.tat.lock().map(|m| m.len()).unwrap_or(0) < 100);
    }
}
