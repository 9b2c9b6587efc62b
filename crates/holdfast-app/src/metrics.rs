//! Prometheus metrics: requests by method, route template and status; a latency histogram per
//! route; database pool usage; the days left on the served TLS certificate. Route templates (not raw paths) keep label cardinality bounded.

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
    /// Expiry (unix seconds) of the certificate Holdfast serves, once one is loaded.
    tls_not_after: Option<i64>,
    /// The last scheduled backup this instance wrote: when (ms), bytes, milliseconds taken.
    backup_last: Option<(i64, u64, u64)>,
    backup_failures: u64,
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

    /// The certificate now served (from files or ACME) expires at `not_after` (unix seconds).
    pub fn tls_certificate(&self, not_after: i64) {
        let Ok(mut inner) = self.0.lock() else { return };
        inner.tls_not_after = Some(not_after);
    }

    /// A scheduled backup was written at `at_ms`: `bytes` long, in `millis`.
    pub fn backup_succeeded(&self, at_ms: i64, bytes: u64, millis: u64) {
        let Ok(mut inner) = self.0.lock() else { return };
        inner.backup_last = Some((at_ms, bytes, millis));
    }

    /// A scheduled backup failed.
    pub fn backup_failed(&self) {
        let Ok(mut inner) = self.0.lock() else { return };
        inner.backup_failures += 1;
    }

    pub fn render(&self, pool: PoolStats, now_ms: i64) -> String {
        let mut out = String::new();
        let Ok(inner) = self.0.lock() else { return out };
        render_requests(&mut out, &inner);
        render_jobs(&mut out, &inner.jobs);
        render_refusals(&mut out, &inner);
        render_pool(&mut out, pool);
        if let Some(not_after) = inner.tls_not_after {
            render_certificate(&mut out, not_after, now_ms);
        }
        render_backup(&mut out, &inner);
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
/// Writes a metric's `# HELP` and `# TYPE` lines.
fn describe(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Writes the request counters and the latency histogram, by route template.
fn render_requests(out: &mut String, inner: &Inner) {
    describe(
        out,
        "holdfast_http_requests_total",
        "counter",
        "HTTP requests by method, route template and status.",
    );
    for ((method, route, status), n) in &inner.requests {
        let _ = writeln!(
            out,
            "holdfast_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
        );
    }
    describe(
        out,
        "holdfast_http_request_duration_seconds",
        "histogram",
        "Time to handle a request, by route template.",
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
}

/// Writes the job attempt counters and the time spent, by kind and outcome.
fn render_jobs(out: &mut String, jobs: &BTreeMap<(String, &'static str), (u64, f64)>) {
    describe(
        out,
        "holdfast_job_attempts_total",
        "counter",
        "Background job attempts by kind and outcome.",
    );
    for ((kind, outcome), (n, _)) in jobs {
        let _ = writeln!(
            out,
            "holdfast_job_attempts_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    describe(
        out,
        "holdfast_job_seconds_total",
        "counter",
        "Time spent in background job attempts by kind.",
    );
    for ((kind, outcome), (_, seconds)) in jobs {
        let _ = writeln!(
            out,
            "holdfast_job_seconds_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {seconds}"
        );
    }
}

/// Writes the refused inbound webhooks by provider and the refused widget requests by reason
/// (every reason, zero included).
fn render_refusals(out: &mut String, inner: &Inner) {
    describe(
        out,
        "holdfast_inbound_webhooks_refused_total",
        "counter",
        "Inbound webhook requests refused, by provider (reasons are in the log).",
    );
    for (provider, n) in &inner.inbound_refused {
        let _ = writeln!(
            out,
            "holdfast_inbound_webhooks_refused_total{{provider=\"{provider}\"}} {n}"
        );
    }
    describe(
        out,
        "holdfast_widget_refused_total",
        "counter",
        "Website-widget requests refused, by reason (origin, bot, identity, rate).",
    );
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
}

/// Writes the database pool's connections by state and its configured size.
fn render_backup(out: &mut String, inner: &Inner) {
    describe(
        out,
        "holdfast_backup_failures_total",
        "counter",
        "Scheduled backups this instance attempted that failed.",
    );
    let _ = writeln!(
        out,
        "holdfast_backup_failures_total {}",
        inner.backup_failures
    );
    let Some((at_ms, bytes, millis)) = inner.backup_last else {
        return;
    };
    describe(
        out,
        "holdfast_backup_last_success_timestamp_seconds",
        "gauge",
        "When this instance last wrote a scheduled backup (Unix time).",
    );
    let _ = writeln!(
        out,
        "holdfast_backup_last_success_timestamp_seconds {}",
        at_ms / 1000
    );
    describe(
        out,
        "holdfast_backup_last_size_bytes",
        "gauge",
        "Size of the last scheduled backup file.",
    );
    let _ = writeln!(out, "holdfast_backup_last_size_bytes {bytes}");
    describe(
        out,
        "holdfast_backup_last_duration_seconds",
        "gauge",
        "How long the last scheduled backup took.",
    );
    let _ = writeln!(
        out,
        "holdfast_backup_last_duration_seconds {:.3}",
        millis as f64 / 1000.0
    );
}

fn render_pool(out: &mut String, pool: PoolStats) {
    describe(
        out,
        "holdfast_db_pool_connections",
        "gauge",
        "Database pool connections by state.",
    );
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
    describe(
        out,
        "holdfast_db_pool_max_connections",
        "gauge",
        "Configured pool size.",
    );
    let _ = writeln!(out, "holdfast_db_pool_max_connections {}", pool.max);
}

/// Writes the served certificate's expiry and the days left until it (negative once expired),
/// for an alert well before renewal would be too late.
fn render_certificate(out: &mut String, not_after: i64, now_ms: i64) {
    describe(
        out,
        "holdfast_tls_certificate_expiry_timestamp_seconds",
        "gauge",
        "When the served TLS certificate expires (unix seconds).",
    );
    let _ = writeln!(
        out,
        "holdfast_tls_certificate_expiry_timestamp_seconds {not_after}"
    );
    describe(
        out,
        "holdfast_tls_certificate_days_left",
        "gauge",
        "Days until the served TLS certificate expires.",
    );
    let days = (not_after as f64 - now_ms as f64 / 1000.0) / 86_400.0;
    let _ = writeln!(out, "holdfast_tls_certificate_days_left {days:.6}");
}
