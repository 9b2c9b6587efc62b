//! Prometheus metrics: requests by method, route template and status; a latency histogram per
//! route; database pool usage. Route templates (not raw paths) keep label cardinality bounded.

use holdfast_store::PoolStats;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    /// (kind, outcome) → attempts, and total seconds spent.
    jobs: BTreeMap<(String, &'static str), (u64, f64)>,
    /// provider → refused inbound webhook requests (one count whatever the reason: the
    /// metrics endpoint is public, and reasons would tell which workspaces exist).
    inbound_refused: BTreeMap<String, u64>,
    /// reason (origin, bot, identity, rate) → refused website-widget requests.
    widget_refused: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
pub struct Metrics(Mutex<Inner>);

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut inner) = self.0.lock() else { return };
        *inner
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let h = inner.latency.entry(route.to_owned()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.counts[i] += 1;
            }
        }
    }

    /// One job attempt finished with `outcome` (done, retry, dead).
    pub fn job_finished(&self, kind: &str, outcome: &'static str, took: std::time::Duration) {
        let Ok(mut inner) = self.0.lock() else { return };
        let entry = inner.jobs.entry((kind.to_owned(), outcome)).or_default();
        entry.0 += 1;
        entry.1 += took.as_secs_f64();
    }

    /// An inbound webhook request was refused (unknown receiver, bad signature, stale, …).
    pub fn inbound_refused(&self, provider: &str) {
        let Ok(mut inner) = self.0.lock() else { return };
        *inner
            .inbound_refused
            .entry(provider.to_owned())
            .or_default() += 1;
    }

    /// A website-widget request was refused; `reason` is one of [`Refusal`].
    pub fn widget_refused(&self, reason: &'static str) {
        let Ok(mut inner) = self.0.lock() else { return };
        *inner.widget_refused.entry(reason).or_default() += 1;
    }

    pub fn render(&self, pool: PoolStats) -> String {
        let mut out = String::new();
        let Ok(inner) = self.0.lock() else { return out };
        let _ = writeln!(
            out,
            "# HELP holdfast_http_requests_total HTTP requests by method, route template and status."
        );
        let _ = writeln!(out, "# TYPE holdfast_http_requests_total counter");
        for ((method, route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "holdfast_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP holdfast_http_request_duration_seconds Time to handle a request, by route template."
        );
        let _ = writeln!(
            out,
            "# TYPE holdfast_http_request_duration_seconds histogram"
        );
        for (route, h) in &inner.latency {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "holdfast_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "holdfast_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "holdfast_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "holdfast_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP holdfast_job_attempts_total Background job attempts by kind and outcome."
        );
        let _ = writeln!(out, "# TYPE holdfast_job_attempts_total counter");
        for ((kind, outcome), (n, _)) in &inner.jobs {
            let _ = writeln!(
                out,
                "holdfast_job_attempts_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP holdfast_job_seconds_total Time spent in background job attempts by kind."
        );
        let _ = writeln!(out, "# TYPE holdfast_job_seconds_total counter");
        for ((kind, outcome), (_, seconds)) in &inner.jobs {
            let _ = writeln!(
                out,
                "holdfast_job_seconds_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {seconds}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP holdfast_inbound_webhooks_refused_total Inbound webhook requests refused, by provider (reasons are in the log)."
        );
        let _ = writeln!(
            out,
            "# TYPE holdfast_inbound_webhooks_refused_total counter"
        );
        for (provider, n) in &inner.inbound_refused {
            let _ = writeln!(
                out,
                "holdfast_inbound_webhooks_refused_total{{provider=\"{provider}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP holdfast_widget_refused_total Website-widget requests refused, by reason (origin, bot, identity, rate)."
        );
        let _ = writeln!(out, "# TYPE holdfast_widget_refused_total counter");
        for reason in Refusal::ALL {
            let n = inner
                .widget_refused
                .get(reason.as_str())
                .copied()
                .unwrap_or(0);
            let _ = writeln!(
                out,
                "holdfast_widget_refused_total{{reason=\"{}\"}} {n}",
                reason.as_str()
            );
        }
        let _ = writeln!(
            out,
            "# HELP holdfast_db_pool_connections Database pool connections by state."
        );
        let _ = writeln!(out, "# TYPE holdfast_db_pool_connections gauge");
        let _ = writeln!(
            out,
            "holdfast_db_pool_connections{{state=\"idle\"}} {}",
            pool.idle
        );
        let _ = writeln!(
            out,
            "holdfast_db_pool_connections{{state=\"in_use\"}} {}",
            pool.size.saturating_sub(pool.idle)
        );
        let _ = writeln!(
            out,
            "# HELP holdfast_db_pool_max_connections Configured pool size."
        );
        let _ = writeln!(out, "# TYPE holdfast_db_pool_max_connections gauge");
        let _ = writeln!(out, "holdfast_db_pool_max_connections {}", pool.max);
        out
    }
}

/// Why the widget refused a request: a closed set, the label of
/// `holdfast_widget_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Origin,
    Bot,
    Identity,
    Rate,
}

impl Refusal {
    pub const ALL: [Refusal; 4] = [
        Refusal::Origin,
        Refusal::Bot,
        Refusal::Identity,
        Refusal::Rate,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Origin => "origin",
            Refusal::Bot => "bot",
            Refusal::Identity => "identity",
            Refusal::Rate => "rate",
        }
    }
}
