//! Rate limiting with GCRA (the generic cell rate algorithm): up to `burst` requests at once,
//! then one per `60 s / per_minute`. State is a "theoretical arrival time" per key, kept
//! in-process by default or in Redis (`redis_url`) so that every instance shares one budget.
//! If Redis cannot be reached, the in-process store answers and the failure is logged: limits
//! degrade to per-instance rather than failing requests.

use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::Mutex;

/// Entries beyond this many trigger pruning of drained buckets.
const PRUNE_ABOVE: usize = 10_000;

/// One atomic step of GCRA in Redis. Times are microseconds since the epoch (exact in Lua's
/// doubles until the year 2255). Returns 0 to admit, else the microseconds to wait.
const GCRA_LUA: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now - tolerance
if wait > 0 then return wait end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
";

#[derive(Default)]
pub struct RateLimiter {
    /// key → theoretical arrival time, in microseconds.
    local: Mutex<HashMap<String, i64>>,
    redis: Option<ConnectionManager>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RateLimiter({})",
            if self.redis.is_some() {
                "redis"
            } else {
                "local"
            }
        )
    }
}

struct Step {
    now: i64,
    interval: i64,
    tolerance: i64,
}

impl Step {
    fn new(per_minute: u32, burst: u32, now_ms: i64) -> Step {
        let per_minute = i64::from(per_minute.max(1));
        // Computed from the totals, not from a rounded interval: above 60 million a minute the
        // interval would round to 0 µs and take the burst tolerance with it.
        Step {
            now: now_ms.saturating_mul(1000),
            interval: (60_000_000 / per_minute).max(1),
            tolerance: 60_000_000 * (i64::from(burst.max(1)) - 1) / per_minute,
        }
    }

    fn retry_after_s(wait_us: i64) -> u64 {
        u64::try_from((wait_us + 999_999) / 1_000_000)
            .unwrap_or(1)
            .max(1)
    }
}

impl RateLimiter {
    /// A limiter whose state lives in Redis at `url`.
    pub async fn connect_redis(url: &str) -> Result<RateLimiter, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL: {e}"))?;
        let manager = ConnectionManager::new(client)
            .await
            .map_err(|e| format!("cannot reach Redis: {e}"))?;
        Ok(RateLimiter {
            local: Mutex::default(),
            redis: Some(manager),
        })
    }

    pub fn is_shared(&self) -> bool {
        self.redis.is_some()
    }

    /// `Ok` admits the request; `Err(seconds)` says when to retry.
    pub async fn check(
        &self,
        key: &str,
        per_minute: u32,
        burst: u32,
        now_ms: i64,
    ) -> Result<(), u64> {
        let step = Step::new(per_minute, burst, now_ms);
        if let Some(manager) = &self.redis {
            let mut conn = manager.clone();
            let outcome: Result<i64, redis::RedisError> = redis::Script::new(GCRA_LUA)
                .key(format!("holdfast:rl:{key}"))
                .arg(step.now)
                .arg(step.interval)
                .arg(step.tolerance)
                .invoke_async(&mut conn)
                .await;
            match outcome {
                Ok(0) => return Ok(()),
                Ok(wait) => return Err(Step::retry_after_s(wait)),
                Err(e) => {
                    tracing::error!(error = %e, "Redis rate-limit store failed; using this instance's limits")
                }
            }
        }
        self.check_local(key, &step)
    }

    fn check_local(&self, key: &str, step: &Step) -> Result<(), u64> {
        let Ok(mut map) = self.local.lock() else {
            return Ok(());
        };
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, tat| *tat > step.now);
        }
        let tat = map.get(key).copied().unwrap_or(step.now).max(step.now);
        let wait = tat - step.now - step.tolerance;
        if wait > 0 {
            return Err(Step::retry_after_s(wait));
        }
        map.insert(key.to_owned(), tat + step.interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[tokio::test]
    async fn admits_a_burst_then_refuses_until_the_bucket_drains() {
        let l = RateLimiter::default();
        let t = 1_000_000;
        for i in 0..6 {
            assert!(
                l.check("k", 60, 6, t).await.is_ok(),
                "request {i} of the burst"
            );
        }
        let retry = l.check("k", 60, 6, t).await.unwrap_err();
        assert!((1..=2).contains(&retry), "retry after {retry}");
        assert!(
            l.check("other", 60, 6, t).await.is_ok(),
            "keys are independent"
        );
        assert!(
            l.check("k", 60, 6, t + 1_000).await.is_ok(),
            "one interval later one more fits"
        );
    }

    #[tokio::test]
    async fn very_high_limits_keep_their_burst() {
        let l = RateLimiter::default();
        for i in 0..1000 {
            assert!(
                l.check("k", 100_000_000, 1_000_000, 5).await.is_ok(),
                "request {i}"
            );
        }
    }

    #[tokio::test]
    async fn prunes_drained_entries() {
        let l = RateLimiter::default();
        for i in 0..10_050 {
            let _ = l.check(&format!("k{i}"), 600, 60, 0).await;
        }
        let _ = l.check("late", 600, 60, 10_000_000).await;
        assert!(l.local.lock().map(|m| m.len()).unwrap_or(0) < 100);
    }
}
