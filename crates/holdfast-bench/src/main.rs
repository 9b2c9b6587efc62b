//! Holdfast throughput benchmark: `cargo run --release -p holdfast-bench`.
//!
//! For SQLite (always, in a temp dir) and PostgreSQL (when `HOLDFAST_BENCH_DATABASE_URL` or
//! `HOLDFAST_TEST_DATABASE_URL` is set) it boots the whole server in-process through the test
//! kit, seeds one workspace with 200 contacts, and drives it with 32 concurrent keep-alive
//! connections for a fixed time per scenario (`HOLDFAST_BENCH_SECONDS`, default 3, after an
//! unmeasured 0.5 s warm-up):
//!
//! * over HTTP: `GET /healthz`, contact create, contact get and a 50-contact list page;
//! * straight on the database pool: the same SQL the API runs for get, list and create, in the
//!   same transaction shape (PostgreSQL: `BEGIN; set_config(app.workspace_id); …; COMMIT`;
//!   SQLite: `BEGIN`, or `BEGIN IMMEDIATE` for the insert), as the "raw driver" baseline.
//!
//! It prints requests/s, p50 and p99 latency and the number of failed requests (any non-2xx
//! status or driver error) per scenario, then the HTTP ÷ driver ratio for get, list and create.
//! It only reports figures; it never asserts timing.
//!
//! Caveats: client and server share the process and its cores, so HTTP figures include the
//! client's own cost. The test kit captures every log line (one access-log line per request)
//! in an in-memory buffer behind a mutex; that is extra work per HTTP request that a server
//! logging to stdout would also pay in some form, so it is left in.

// A benchmark harness may abort on a setup failure; measured operations never unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use holdfast_core::config::Layer;
use holdfast_core::ids::ContactId;
use holdfast_store::Backend;
use holdfast_testkit::TestApp;
use serde_json::json;
use sqlx::AnyPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CONCURRENCY: usize = 32;
const WARM_UP: Duration = Duration::from_millis(500);
const SEED_CONTACTS: usize = 200;

const SELECT_ONE: &str = "SELECT id, name, email, phone, company, tags, created_at, updated_at \
     FROM contacts WHERE workspace_id = $1 AND id = $2";
const SELECT_PAGE: &str = "SELECT id, name, email, phone, company, tags, created_at, updated_at \
     FROM contacts WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3";
const INSERT: &str = "INSERT INTO contacts \
     (workspace_id, id, name, email, phone, company, tags, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";

type ContactRow = (String, Option<String>, Option<String>, Option<String>, Option<String>, String, i64, i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Healthz,
    HttpCreate,
    HttpGet,
    HttpList,
    DriverGet,
    DriverList,
    DriverInsert,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Healthz => "HTTP GET /healthz",
            Op::HttpCreate => "HTTP contact create",
            Op::HttpGet => "HTTP contact get",
            Op::HttpList => "HTTP contact list 50",
            Op::DriverGet => "driver contact get",
            Op::DriverList => "driver contact list 50",
            Op::DriverInsert => "driver contact insert",
        }
    }
}

/// Everything one operation needs; shared by the driving tasks.
struct Ctx {
    http: reqwest::Client,
    base: String,
    bearer: String,
    workspace_id: String,
    contact_id: String,
    pool: AnyPool,
    backend: Backend,
}

/// The figures of one scenario.
struct Stats {
    op: Op,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// Error kind (status or driver message) → count.
    error_kinds: BTreeMap<String, usize>,
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn phone(n: u64) -> String {
    format!("+1415555{:04}", n % 10_000)
}

/// Sends one HTTP request and reads the whole body, so the connection can be reused.
async fn http(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request.send().await.map_err(|e| format!("transport: {e}"))?;
    let status = response.status();
    response.bytes().await.map_err(|e| format!("body: {e}"))?;
    if status.is_success() { Ok(()) } else { Err(format!("HTTP {}", status.as_u16())) }
}

/// Runs `statement` the way the server's tenant transactions do.
async fn in_tenant_tx<T>(
    ctx: &Ctx,
    write: bool,
    statement: impl AsyncFnOnce(&mut sqlx::AnyConnection) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    let mut tx = match (ctx.backend, write) {
        (Backend::Sqlite, true) => ctx.pool.begin_with("BEGIN IMMEDIATE").await?,
        _ => ctx.pool.begin().await?,
    };
    if ctx.backend == Backend::Postgres {
        sqlx::query("SELECT set_config('app.workspace_id', $1, true)")
            .bind(ctx.workspace_id.as_str())
            .execute(&mut *tx)
            .await?;
    }
    let out = statement(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

async fn driver(ctx: &Ctx, op: Op, task: usize, n: u64) -> Result<(), sqlx::Error> {
    let ws = ctx.workspace_id.as_str();
    match op {
        Op::DriverGet => {
            let row: Option<ContactRow> = in_tenant_tx(ctx, false, async |c| {
                sqlx::query_as(SELECT_ONE).bind(ws).bind(ctx.contact_id.as_str()).fetch_optional(c).await
            })
            .await?;
            row.map(drop).ok_or(sqlx::Error::RowNotFound)
        }
        Op::DriverList => {
            let rows: Vec<ContactRow> = in_tenant_tx(ctx, false, async |c| {
                sqlx::query_as(SELECT_PAGE).bind(ws).bind("").bind(51i64).fetch_all(c).await
            })
            .await?;
            if rows.is_empty() { Err(sqlx::Error::RowNotFound) } else { Ok(()) }
        }
        _ => {
            let now = now_ms();
            let id = ContactId::generate(now).to_string();
            in_tenant_tx(ctx, true, async |c| {
                sqlx::query(INSERT)
                    .bind(ws)
                    .bind(id.as_str())
                    .bind("Driver Contact")
                    .bind(format!("driver-{task}-{n}@example.com"))
                    .bind(phone(n))
                    .bind(Option::<String>::None)
                    .bind("[]")
                    .bind(now)
                    .execute(c)
                    .await
            })
            .await
            .map(drop)
        }
    }
}

/// One request or statement of scenario `op`; `task` and `n` make created contacts unique.
async fn run_once(ctx: &Ctx, op: Op, task: usize, n: u64) -> Result<(), String> {
    let contacts = format!("{}/api/v1/contacts", ctx.base);
    match op {
        Op::Healthz => http(ctx.http.get(format!("{}/healthz", ctx.base))).await,
        Op::HttpCreate => {
            let body = json!({
                "name": format!("Bench Contact {task}-{n}"),
                "email": format!("http-{task}-{n}@example.com"),
                "phone": phone(n),
                "tags": ["bench"],
            });
            http(ctx.http.post(contacts).header("authorization", &ctx.bearer).json(&body)).await
        }
        Op::HttpGet => {
            let url = format!("{contacts}/{}", ctx.contact_id);
            http(ctx.http.get(url).header("authorization", &ctx.bearer)).await
        }
        Op::HttpList => {
            let url = format!("{contacts}?limit=50");
            http(ctx.http.get(url).header("authorization", &ctx.bearer)).await
        }
        Op::DriverGet | Op::DriverList | Op::DriverInsert => {
            driver(ctx, op, task, n).await.map_err(|e| format!("driver: {e}"))
        }
    }
}

/// What one driving task saw in the measured window.
#[derive(Default)]
struct TaskLog {
    latencies: Vec<Duration>,
    errors: BTreeMap<String, usize>,
    last_done: Option<Instant>,
}

/// Drives `op` from `CONCURRENCY` tasks: warm-up, then `duration` measured. A request counts
/// when it starts inside the measured window; the rate divides by the time until the last of
/// those finished.
async fn drive(ctx: &Arc<Ctx>, op: Op, duration: Duration) -> Stats {
    let measure_from = Instant::now() + WARM_UP;
    let end = measure_from + duration;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|task| {
            let ctx = Arc::clone(ctx);
            tokio::spawn(async move {
                let mut log = TaskLog::default();
                let mut n = 0u64;
                loop {
                    let started = Instant::now();
                    if started >= end {
                        return log;
                    }
                    let result = run_once(&ctx, op, task, n).await;
                    n += 1;
                    if started >= measure_from {
                        let done = Instant::now();
                        log.latencies.push(done - started);
                        log.last_done = Some(done);
                        if let Err(kind) = result {
                            *log.errors.entry(kind).or_default() += 1;
                        }
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut error_kinds = BTreeMap::new();
    let mut last_done = end;
    for task in tasks {
        let log = task.await.expect("driving task failed");
        latencies.extend(log.latencies);
        for (kind, count) in log.errors {
            *error_kinds.entry(kind).or_default() += count;
        }
        last_done = last_done.max(log.last_done.unwrap_or(end));
    }
    latencies.sort_unstable();
    let elapsed = (last_done - measure_from).as_secs_f64();
    Stats {
        op,
        rate: latencies.len() as f64 / elapsed,
        p50_ms: percentile_ms(&latencies, 50.0),
        p99_ms: percentile_ms(&latencies, 99.0),
        errors: error_kinds.values().sum(),
        error_kinds,
    }
}

/// Nearest-rank percentile of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Boots a server on `database_url`, seeds it and runs every scenario.
async fn bench_backend(database_url: String, duration: Duration) {
    let layer = Layer {
        database_url: Some(database_url),
        public_rate_limit_per_minute: Some(100_000_000),
        db_max_connections: Some(32),
        ..Layer::default()
    };
    let app = TestApp::spawn_with(layer).await;
    let backend = app.db.backend();
    let ws = app.workspace("bench").await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let bearer = format!("Bearer {}", ws.admin_key);

    let mut contact_id = String::new();
    for n in 0..SEED_CONTACTS {
        let body = json!({
            "name": format!("Bench Contact {n}"),
            "email": format!("bench-{n}@example.com"),
            "phone": phone(n as u64),
            "tags": ["bench"],
        });
        let response = http
            .post(format!("{}/api/v1/contacts", app.base))
            .header("authorization", &bearer)
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        let created: serde_json::Value = response.json().await.unwrap();
        if contact_id.is_empty() {
            contact_id = created["id"].as_str().unwrap().to_owned();
        }
    }

    let ctx = Arc::new(Ctx {
        http,
        base: app.base.clone(),
        bearer,
        workspace_id: ws.id.clone(),
        contact_id,
        pool: app.db.unscoped_pool().clone(),
        backend,
    });
    let mut results = Vec::new();
    for op in [
        Op::Healthz,
        Op::HttpCreate,
        Op::HttpGet,
        Op::HttpList,
        Op::DriverGet,
        Op::DriverList,
        Op::DriverInsert,
    ] {
        results.push(drive(&ctx, op, duration).await);
    }
    print_report(backend, &results);

    drop(ctx);
    app.db.close().await;
    drop(app);
}

fn print_report(backend: Backend, results: &[Stats]) {
    println!();
    println!("== {} ({SEED_CONTACTS} seeded contacts) ==", backend.name());
    println!("{:<24} {:>10} {:>9} {:>9} {:>8}", "scenario", "req/s", "p50 ms", "p99 ms", "errors");
    for s in results {
        println!(
            "{:<24} {:>10.0} {:>9.2} {:>9.2} {:>8}",
            s.op.label(),
            s.rate,
            s.p50_ms,
            s.p99_ms,
            s.errors
        );
    }
    let rate = |op: Op| results.iter().find(|s| s.op == op).map_or(f64::NAN, |s| s.rate);
    println!("HTTP ÷ driver:");
    for (name, http, driver) in [
        ("contact get", Op::HttpGet, Op::DriverGet),
        ("contact list 50", Op::HttpList, Op::DriverList),
        ("contact create", Op::HttpCreate, Op::DriverInsert),
    ] {
        let (h, d) = (rate(http), rate(driver));
        println!(
            "  {:<16} HTTP {:>7.0} req/s vs driver {:>7.0} req/s → {:>3.0}%",
            format!("{name}:"),
            h,
            d,
            h / d * 100.0
        );
    }
    for s in results.iter().filter(|s| s.errors > 0) {
        for (kind, count) in &s.error_kinds {
            println!("  errors in {}: {count} × {kind}", s.op.label());
        }
    }
}

#[tokio::main]
async fn main() {
    let seconds: f64 = std::env::var("HOLDFAST_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(3.0);
    let duration = Duration::from_secs_f64(seconds);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("Holdfast benchmark");
    println!(
        "cores: {cores}, concurrency: {CONCURRENCY}, duration: {seconds} s per scenario \
         (after {} s warm-up), client and server in one process",
        WARM_UP.as_secs_f64()
    );

    // Named explicitly: the test kit would otherwise pick up HOLDFAST_TEST_DATABASE_URL.
    let sqlite_dir = tempfile::tempdir().unwrap();
    bench_backend(format!("sqlite://{}/bench.db", sqlite_dir.path().display()), duration).await;
    drop(sqlite_dir);

    let postgres = ["HOLDFAST_BENCH_DATABASE_URL", "HOLDFAST_TEST_DATABASE_URL"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|u| !u.is_empty()).map(|u| (var, u)));
    match postgres {
        Some((var, url)) => {
            println!();
            println!("PostgreSQL from {var}");
            bench_backend(url, duration).await;
        }
        None => {
            println!();
            println!(
                "PostgreSQL skipped: neither HOLDFAST_BENCH_DATABASE_URL nor \
                 HOLDFAST_TEST_DATABASE_URL is set"
            );
        }
    }
}
