//! Holdfast throughput benchmark: `cargo run --release -p holdfast-bench`. Prints, never asserts.
//!
//! For SQLite (always, in a temp dir) and PostgreSQL (when `HOLDFAST_BENCH_DATABASE_URL`, or
//! else `HOLDFAST_TEST_DATABASE_URL`, is set) it boots the whole server in-process through the
//! test kit with a pool of `HOLDFAST_BENCH_POOL` connections (default 16, the server's default),
//! seeds one workspace with 200 contacts and drives it from 32 concurrent keep-alive connections
//! for `HOLDFAST_BENCH_SECONDS` (default 3) per scenario, after an unmeasured 0.5 s warm-up.
//! Scenarios: over HTTP, `GET /healthz`, contact create, get and list (50) and sign-in; then the
//! same SQL the API runs for get, list and create, straight on the database pool and in the same
//! transaction shape (PostgreSQL: `BEGIN; set_config('app.workspace_id'); …; COMMIT`; SQLite:
//! reads on a plain connection with no transaction, inserts in `BEGIN IMMEDIATE`), as the
//! raw-driver baseline. Last, contention: contact list from 16 connections alone, then the same
//! while 16 more sign in, to see whether Argon2id hashing starves ordinary requests. Per
//! scenario it prints requests/s, p50 and p99 latency and failures (non-2xx or driver error).
//!
//! Sign-in hashes with Argon2id (64 MiB, t=3) at most one hash per core at a time, so it manages
//! a handful per second per core and its latency is mostly queueing behind that pool. Rate
//! limits are raised out of the way (public, hence `/healthz` at ten times that; sign-in per
//! address; the API budget per credential), all kept in-process (no `redis_url`); correct
//! sign-ins never trip the per-account failed-login throttle.
//!
//! Then webhooks: contact create with a subscribed endpoint (the outbox insert's cost), and
//! deliveries per second from a worker draining that backlog to a receiver on 127.0.0.1. Last,
//! inbound mail: signed Mailgun deliveries per second at the receiver, then tickets per second
//! from a worker parsing them. Then the help desk at size: 100 000 tickets (one message each,
//! `HOLDFAST_BENCH_TICKETS` to change) seeded straight into the database (search indexes kept by
//! the schema's own triggers and generated columns), and `GET /api/v1/tickets` newest first,
//! filtered by status, and full-text searched for a rare and a common word, each from 32
//! connections, and the console's inbox (plain and searched) and a ticket page from 16.
//!
//! Field service and invoicing (`field`): 50 000 jobs over two years and 20 technicians seeded
//! into the database, then the dispatch board (`GET /api/v1/jobs` for one day, and one
//! technician's week) from 32 connections; invoice totals per second (lines validated, each
//! rounded, taxes summed: the core's arithmetic on one core) and draft invoices created over
//! HTTP; and the latency from a signed Stripe `payment_intent.succeeded` at the receiver to
//! the invoice read as paid, with one worker running (200 payments, one at a time).
//!
//! Last, backups (`backup`): an encrypted backup of the whole database (with the tickets above;
//! seeded here when `tickets` did not run) while the server runs, then its restore into a fresh
//! target (a temp dir; on PostgreSQL a new schema), each in MB/s of the uncompressed parts.
//!
//! Then, per database, the help desk and CRM at scale (`scale`, see [`scale`]): one workspace
//! of `HOLDFAST_BENCH_SCALE` contacts and tickets beside 100 small ones, its everyday reads'
//! p99 against the same at 10 000, the database's size and the process's resident memory.
//!
//! `HOLDFAST_BENCH_ONLY` (e.g. `mail,tickets,crm`) runs only some sections; by default, all.
//!
//! Caveats: client and server share the process and its cores, so HTTP figures include the
//! client's cost. The test kit captures every log line (an access-log line per request) in an
//! in-memory buffer behind a mutex: per-request work comparable to a server logging to stdout,
//! so it is left in.

// A benchmark harness may abort on a setup failure; measured operations never unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ids::ContactId;
use holdfast_core::ops::config::Layer;
use holdfast_store::Backend;
use holdfast_testkit::{OWNER_PASSWORD, TestApp};
use serde_json::{Value, json};
use sqlx::{AnyConnection, AnyPool};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod scale;

const CONCURRENCY: usize = 32;
/// Connections per side in the contention measurement: list alone, then list plus sign-in.
const HALF: usize = CONCURRENCY / 2;
const WARM_UP: Duration = Duration::from_millis(500);
const SEED_CONTACTS: u64 = 200;
/// Every rate limit, per minute: far above any rate here, yet at most 60 M so the limiter's
/// interval (60 s ÷ limit in whole µs) stays above 0; at 0 it has no burst tolerance and refuses
/// concurrent requests whose clock reads reach it out of order.
const NO_LIMIT: u32 = 6_000_000;

const SELECT_ONE: &str = "SELECT id, name, email, phone, company, tags, created_at, updated_at \
     FROM contacts WHERE workspace_id = $1 AND id = $2";
const SELECT_PAGE: &str = "SELECT id, name, email, phone, company, tags, created_at, updated_at \
     FROM contacts WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3";
const INSERT: &str = "INSERT INTO contacts \
     (workspace_id, id, name, email, phone, company, tags, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";

type Text = Option<String>;
type ContactRow = (String, Text, Text, Text, Text, String, i64, i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Healthz,
    HttpCreate,
    /// Contact create with a webhook subscribed (other emails than `HttpCreate`'s).
    HttpCreateHooked,
    /// A Mailgun-signed inbound mail to the workspace's receiver.
    MailIn,
    /// `GET /api/v1/tickets` with the query in `Ctx::ticket_queries` at this index.
    TicketList(usize),
    /// A console page at this path, rendered on the server (opened with the admin key).
    ConsolePage(&'static str),
    /// `GET` of this API path (and query) with the admin key.
    ApiGet(&'static str),
    /// `GET` of one of these paths with the admin key, a different one each time.
    ApiGetSpread(&'static [String]),
    /// `POST /api/v1/invoices`: a draft of five lines for the seeded contact.
    InvoiceCreate,
    HttpGet,
    HttpList,
    HttpLogin,
    DriverGet,
    DriverList,
    DriverInsert,
}

/// A group of `connections` tasks, each running `op` back to back.
#[derive(Debug, Clone, Copy)]
struct Load {
    op: Op,
    label: &'static str,
    connections: usize,
}

const fn load(op: Op, label: &'static str, connections: usize) -> Load {
    Load {
        op,
        label,
        connections,
    }
}

/// Run one at a time, each from `CONCURRENCY` connections.
const SCENARIOS: [Load; 8] = [
    load(Op::Healthz, "HTTP GET /healthz", CONCURRENCY),
    load(Op::HttpCreate, "HTTP contact create", CONCURRENCY),
    load(Op::HttpGet, "HTTP contact get", CONCURRENCY),
    load(Op::HttpList, "HTTP contact list 50", CONCURRENCY),
    load(Op::HttpLogin, "HTTP login", CONCURRENCY),
    load(Op::DriverGet, "driver contact get", CONCURRENCY),
    load(Op::DriverList, "driver contact list 50", CONCURRENCY),
    load(Op::DriverInsert, "driver contact insert", CONCURRENCY),
];
const LIST_ALONE: Load = load(Op::HttpList, "list 50 ×16, no flood", HALF);
const LIST_FLOODED: Load = load(Op::HttpList, "list 50 ×16, in flood", HALF);
const LOGIN_FLOOD: Load = load(Op::HttpLogin, "login ×16 (the flood)", HALF);

/// Everything an operation needs; shared by the driving tasks.
struct Ctx {
    http: reqwest::Client,
    base: String,
    admin_key: String,
    workspace_id: String,
    contact_id: String,
    slug: String,
    /// `POST /api/v1/auth/login` body for the workspace owner.
    login: Value,
    pool: AnyPool,
    backend: Backend,
    /// Query strings of the ticket-list scenarios (`Op::TicketList`).
    ticket_queries: Vec<&'static str>,
}

/// The figures of one scenario; `errors` maps an error kind (status or driver message) to a count.
struct Stats {
    load: Load,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: BTreeMap<String, usize>,
}

/// A valid E.164 number, +1415555 and four digits.
fn phone(n: u64) -> String {
    format!("+1415555{:04}", n % 10_000)
}

/// A contact as `POST /api/v1/contacts` takes it, e.g. "Bench Contact 7", "bench-7@example.com".
fn contact_body(prefix: &str, suffix: &str, n: u64) -> Value {
    let (name, email) = (
        format!("Bench Contact {suffix}"),
        format!("{prefix}-{suffix}@example.com"),
    );
    json!({ "name": name, "email": email, "phone": phone(n), "tags": ["bench"] })
}

/// Sends one HTTP request and reads the whole body, so the connection is reused.
async fn http(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = response.status();
    response.bytes().await.map_err(|e| format!("body: {e}"))?;
    match status.is_success() {
        true => Ok(()),
        false => Err(format!("HTTP {}", status.as_u16())),
    }
}

/// Runs `statement` scoped the way the server scopes tenant work: SQLite readers on a plain
/// connection, SQLite writers in `BEGIN IMMEDIATE`, PostgreSQL in a transaction that sets
/// `app.workspace_id` first.
async fn in_tenant_tx(
    ctx: &Ctx,
    write: bool,
    statement: impl AsyncFnOnce(&mut AnyConnection) -> Result<(), sqlx::Error>,
) -> Result<(), sqlx::Error> {
    if ctx.backend == Backend::Sqlite && !write {
        let mut conn = ctx.pool.acquire().await?;
        return statement(&mut conn).await;
    }
    let mut tx = match ctx.backend {
        Backend::Sqlite => ctx.pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => ctx.pool.begin().await?,
    };
    if ctx.backend == Backend::Postgres {
        sqlx::query("SELECT set_config('app.workspace_id', $1, true)")
            .bind(ctx.workspace_id.as_str())
            .execute(&mut *tx)
            .await?;
    }
    statement(&mut tx).await?;
    tx.commit().await
}

/// Whether to run a section: `HOLDFAST_BENCH_ONLY` lists some of `http` (the scenarios and the
/// contention), `webhooks` (needs `http`), `mail`, `tickets`, `crm`, `field`, `backup` and
/// `scale`, comma-separated; unset or empty runs them all.
fn section(name: &str) -> bool {
    let only = std::env::var("HOLDFAST_BENCH_ONLY").unwrap_or_default();
    only.trim().is_empty() || only.split(',').any(|s| s.trim() == name)
}

/// Pool size for the server under test: `HOLDFAST_BENCH_POOL` (default 16, the server's default).
fn pool_size() -> u32 {
    std::env::var("HOLDFAST_BENCH_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

/// One request or statement of scenario `op`; `task` and `n` make created contacts unique.
async fn run_once(ctx: &Ctx, op: Op, task: usize, n: u64) -> Result<(), String> {
    let contacts = format!("{}/api/v1/contacts", ctx.base);
    let ws = ctx.workspace_id.as_str();
    let driver = |e: sqlx::Error| format!("driver: {e}");
    match op {
        Op::Healthz => http(ctx.http.get(format!("{}/healthz", ctx.base))).await,
        Op::HttpCreate | Op::HttpCreateHooked => {
            let prefix = if op == Op::HttpCreate {
                "http"
            } else {
                "hooked"
            };
            let body = contact_body(prefix, &format!("{task}-{n}"), n);
            let request = ctx.http.post(contacts).bearer_auth(&ctx.admin_key);
            http(request.json(&body)).await
        }
        Op::HttpGet => {
            let url = format!("{contacts}/{}", ctx.contact_id);
            http(ctx.http.get(url).bearer_auth(&ctx.admin_key)).await
        }
        Op::HttpList => {
            let url = format!("{contacts}?limit=50");
            http(ctx.http.get(url).bearer_auth(&ctx.admin_key)).await
        }
        Op::HttpLogin => {
            let url = format!("{}/api/v1/auth/login", ctx.base);
            http(ctx.http.post(url).json(&ctx.login)).await
        }
        Op::TicketList(query) => {
            let query = ctx.ticket_queries.get(query).copied().unwrap_or_default();
            let url = format!("{}/api/v1/tickets?{query}", ctx.base);
            http(ctx.http.get(url).bearer_auth(&ctx.admin_key)).await
        }
        Op::ConsolePage(path) | Op::ApiGet(path) => {
            let url = format!("{}{path}", ctx.base);
            http(ctx.http.get(url).bearer_auth(&ctx.admin_key)).await
        }
        Op::ApiGetSpread(paths) => {
            let at = task
                .wrapping_mul(7919)
                .wrapping_add(usize::try_from(n).unwrap_or(0));
            let path = paths
                .get(at % paths.len().max(1))
                .map_or("", String::as_str);
            let url = format!("{}{path}", ctx.base);
            http(ctx.http.get(url).bearer_auth(&ctx.admin_key)).await
        }
        Op::InvoiceCreate => {
            let url = format!("{}/api/v1/invoices", ctx.base);
            let body = invoice_body(&ctx.contact_id, 5);
            http(ctx.http.post(url).bearer_auth(&ctx.admin_key).json(&body)).await
        }
        Op::MailIn => {
            let (content_type, body) = mailgun_mail(task, n);
            let url = format!("{}/hooks/mailgun/{}", ctx.base, ctx.slug);
            http(
                ctx.http
                    .post(url)
                    .header("content-type", content_type)
                    .body(body),
            )
            .await
        }
        Op::DriverGet => in_tenant_tx(ctx, false, async |c| {
            let query = sqlx::query_as::<_, ContactRow>(SELECT_ONE);
            let row = query
                .bind(ws)
                .bind(ctx.contact_id.as_str())
                .fetch_optional(c)
                .await?;
            row.map(drop).ok_or(sqlx::Error::RowNotFound)
        })
        .await
        .map_err(driver),
        Op::DriverList => in_tenant_tx(ctx, false, async |c| {
            let query = sqlx::query_as::<_, ContactRow>(SELECT_PAGE);
            let rows = query.bind(ws).bind("").bind(51i64).fetch_all(c).await?;
            if rows.is_empty() {
                Err(sqlx::Error::RowNotFound)
            } else {
                Ok(())
            }
        })
        .await
        .map_err(driver),
        Op::DriverInsert => in_tenant_tx(ctx, true, async |c| {
            let now = SystemClock.now_ms();
            let id = ContactId::generate(now).to_string();
            let email = format!("driver-{task}-{n}@example.com");
            sqlx::query(INSERT)
                .bind(ws)
                .bind(id)
                .bind("Driver contact")
                .bind(email)
                .bind(phone(n))
                .bind(Option::<String>::None)
                .bind("[]")
                .bind(now)
                .execute(c)
                .await
                .map(drop)
        })
        .await
        .map_err(driver),
    }
}

/// Drives every load at once, each from its own connections: warm-up, then `duration`
/// measured; one `Stats` per load, in order. Latencies and errors are of the requests that
/// start inside the measured window; the rate counts those that finish inside it, so it holds
/// for sign-in too, where one request takes seconds (a closed loop: rate ≈ connections ÷ p50).
async fn drive(ctx: &Arc<Ctx>, loads: &[Load], duration: Duration) -> Vec<Stats> {
    let measure_from = Instant::now() + WARM_UP;
    let end = measure_from + duration;
    let mut groups = Vec::new();
    let mut next_task = 0;
    for &load in loads {
        let tasks: Vec<_> = (next_task..next_task + load.connections)
            .map(|task| {
                let ctx = Arc::clone(ctx);
                tokio::spawn(async move {
                    let (mut latencies, mut errors) =
                        (Vec::new(), BTreeMap::<String, usize>::new());
                    let mut completed = 0usize;
                    for n in 0u64.. {
                        let started = Instant::now();
                        if started >= end {
                            break;
                        }
                        let result = run_once(&ctx, load.op, task, n).await;
                        let done = Instant::now();
                        completed += usize::from(done >= measure_from && done < end);
                        if started >= measure_from {
                            latencies.push(done - started);
                            if let Err(kind) = result {
                                *errors.entry(kind).or_default() += 1;
                            }
                        }
                    }
                    (latencies, errors, completed)
                })
            })
            .collect();
        next_task += load.connections;
        groups.push((load, tasks));
    }
    let mut results = Vec::new();
    for (load, tasks) in groups {
        let (mut latencies, mut errors, mut completed) = (Vec::new(), BTreeMap::new(), 0);
        for task in tasks {
            let (task_latencies, task_errors, task_completed) =
                task.await.expect("driving task failed");
            latencies.extend(task_latencies);
            for (kind, count) in task_errors {
                *errors.entry(kind).or_default() += count;
            }
            completed += task_completed;
        }
        latencies.sort_unstable();
        results.push(Stats {
            load,
            rate: completed as f64 / duration.as_secs_f64(),
            p50_ms: percentile_ms(&latencies, 50.0),
            p99_ms: percentile_ms(&latencies, 99.0),
            errors,
        });
    }
    results
}

/// Nearest-rank percentile of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Boots a server on `database_url`, seeds it, runs every scenario and prints the figures.
async fn bench_backend(database_url: String, duration: Duration) {
    let layer = Layer {
        database_url: Some(database_url),
        public_rate_limit_per_minute: Some(NO_LIMIT),
        auth_rate_limit_per_minute: Some(NO_LIMIT),
        api_rate_limit_per_minute: Some(NO_LIMIT),
        db_max_connections: Some(pool_size()),
        // The job worker starts only for the webhook measurement, so it cannot skew the rest.
        worker: Some(false),
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Layer::default()
    };
    let app = TestApp::spawn_with(layer).await;
    let ws = app.workspace("bench").await;
    let login =
        json!({ "email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug });
    let mut ctx = Ctx {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
        base: app.base.clone(),
        admin_key: ws.admin_key,
        workspace_id: ws.id,
        contact_id: String::new(),
        slug: ws.slug.clone(),
        login,
        pool: app.db.unscoped_pool().clone(),
        backend: app.db.backend(),
        ticket_queries: TICKET_QUERIES.iter().map(|(_, q)| *q).collect(),
    };
    for n in 0..SEED_CONTACTS {
        let body = contact_body("bench", &n.to_string(), n);
        let request = ctx.http.post(format!("{}/api/v1/contacts", ctx.base));
        let response = request
            .bearer_auth(&ctx.admin_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let created: Value = response.error_for_status().unwrap().json().await.unwrap();
        if n == 0 {
            ctx.contact_id = created["id"].as_str().unwrap().to_owned();
        }
    }

    let ctx = Arc::new(ctx);
    if section("http") {
        let mut results = Vec::new();
        for scenario in SCENARIOS {
            results.extend(drive(&ctx, &[scenario], duration).await);
        }
        let mut contention = drive(&ctx, &[LIST_ALONE], duration).await;
        contention.extend(drive(&ctx, &[LIST_FLOODED, LOGIN_FLOOD], duration).await);
        print_report(ctx.backend, &results, &contention);
        if section("webhooks") {
            bench_webhooks(&app, &ctx, &results, duration).await;
        }
    }
    if section("mail") {
        bench_mail_in(&app, &ctx, duration).await;
    }
    if section("tickets") {
        bench_ticket_list(&ctx, duration).await;
    }
    if section("crm") {
        bench_crm(&app, &ctx).await;
    }
    if section("field") {
        bench_field(&app, &ctx, duration).await;
    }
    if section("backup") {
        if !section("tickets") {
            seed_tickets(&ctx, ticket_count()).await;
        }
        bench_backup(&app, &ctx).await;
    }
    drop(ctx);
    app.db.close().await;
    drop(app);
}

/// Prints the scenarios, HTTP ÷ driver, the contention figures and every error kind.
fn print_report(backend: Backend, results: &[Stats], contention: &[Stats]) {
    println!(
        "\n== {} ({SEED_CONTACTS} seeded contacts) ==",
        backend.name()
    );
    let columns = ["scenario", "req/s", "p50 ms", "p99 ms", "errors"];
    let [scenario, rate, p50, p99, errors] = columns;
    println!("{scenario:<24} {rate:>10} {p50:>9} {p99:>9} {errors:>8}");
    let row = |s: &Stats| {
        let errors: usize = s.errors.values().sum();
        let (label, rate, p50, p99) = (s.load.label, s.rate, s.p50_ms, s.p99_ms);
        println!("{label:<24} {rate:>10.1} {p50:>9.2} {p99:>9.2} {errors:>8}");
    };
    results.iter().for_each(row);
    let rate = |op: Op| {
        results
            .iter()
            .find(|s| s.load.op == op)
            .map_or(f64::NAN, |s| s.rate)
    };
    println!("HTTP ÷ driver:");
    for (name, http, driver) in [
        ("contact get:", Op::HttpGet, Op::DriverGet),
        ("contact list 50:", Op::HttpList, Op::DriverList),
        ("contact create:", Op::HttpCreate, Op::DriverInsert),
    ] {
        let (h, d) = (rate(http), rate(driver));
        let ratio = h / d * 100.0;
        println!("  {name:<16} HTTP {h:>6.0} req/s vs driver {d:>6.0} req/s → {ratio:>3.0}%");
    }
    println!("Contention ({HALF} list connections alone, then with {HALF} signing in):");
    contention.iter().for_each(row);
    let p99 = |label: &str| {
        contention
            .iter()
            .find(|s| s.load.label == label)
            .map_or(f64::NAN, |s| s.p99_ms)
    };
    let (alone, flooded) = (p99(LIST_ALONE.label), p99(LIST_FLOODED.label));
    println!(
        "GET /api/v1/contacts p99: {alone:.1} ms alone vs {flooded:.1} ms during a login flood \
         ({HALF} + {HALF} connections)"
    );
    for s in results.iter().chain(contention) {
        for (kind, count) in &s.errors {
            println!("  errors in {}: {count} × {kind}", s.load.label);
        }
    }
}

/// Contact create again with a webhook endpoint subscribed (each create also enqueues its
/// fan-out job in the same transaction; no worker runs, so this is the enqueue cost alone);
/// then a worker drains that backlog for `duration` against a local receiver: fan-out,
/// signing, the POST and the delivery log, counted as deliveries per second.
async fn bench_webhooks(app: &TestApp, ctx: &Arc<Ctx>, results: &[Stats], duration: Duration) {
    let receiver = holdfast_testkit::receiver::Receiver::start().await;
    let endpoint = ctx
        .http
        .post(format!("{}/api/v1/webhooks", ctx.base))
        .bearer_auth(&ctx.admin_key)
        .json(
            &json!({"url": format!("{}/bench", receiver.base), "event_types": ["contact.created"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(endpoint.status().as_u16(), 201, "webhook endpoint");
    let with_hook = drive(
        ctx,
        &[load(
            Op::HttpCreateHooked,
            "HTTP create + webhook",
            CONCURRENCY,
        )],
        duration,
    )
    .await;
    let Some(plain) = results.iter().find(|s| s.load.op == Op::HttpCreate) else {
        return;
    };
    let hooked = &with_hook[0];
    println!("Webhooks (outbox enqueue in the create transaction; no worker running):");
    for s in [plain, hooked] {
        let errors: usize = s.errors.values().sum();
        println!(
            "  {:<24} {:>10.1} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {errors}",
            s.load.label, s.rate, s.p50_ms, s.p99_ms
        );
    }
    println!(
        "  added latency of enqueueing: p50 {:+.2} ms, p99 {:+.2} ms",
        hooked.p50_ms - plain.p50_ms,
        hooked.p99_ms - plain.p99_ms
    );
    let backlog: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM queue_jobs WHERE workspace_id = $1 AND state = 'queued'",
    )
    .bind(&ctx.workspace_id)
    .fetch_one(&ctx.pool)
    .await
    .unwrap();
    // The backlog drains in queue order: every fan-out first, then the deliveries they made,
    // so the rate is taken over the whole drain (or its first two minutes).
    let expected = usize::try_from(backlog).unwrap_or(0);
    let stop = app.extra_worker();
    let started = Instant::now();
    while receiver.requests().len() < expected && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = receiver.requests().len();
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    #[allow(clippy::cast_precision_loss)]
    let rate = delivered as f64 / elapsed;
    println!(
        "  deliveries to a local receiver: {delivered} of {backlog} in {elapsed:.1} s → {rate:.0}/s \
         (fan-out, signing, POST and log; one worker, 16 jobs at a time)"
    );
    // Let the worker stop before the database closes.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// The Mailgun signing key the benchmark workspace stores.
const MAILGUN_KEY: &str = "key-bench-0123456789abcdef";

/// A Mailgun inbound-route POST (multipart form, signed now) with a unique Message-ID.
fn mailgun_mail(task: usize, n: u64) -> (String, Vec<u8>) {
    use hmac::{Hmac, Mac};
    let timestamp = (SystemClock.now_ms() / 1000).to_string();
    let token = format!("bench-token-{task:04}-{n:012}-aaaaaaaaaaaaaaaaaaaa");
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(MAILGUN_KEY.as_bytes()) else {
        return (String::new(), Vec::new());
    };
    mac.update(format!("{timestamp}{token}").as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let boundary = "holdfast-bench-boundary";
    let mut body = String::new();
    for (name, value) in [
        ("timestamp", timestamp.as_str()),
        ("token", token.as_str()),
        ("signature", signature.as_str()),
        ("sender", "customer@example.com"),
        ("from", "A Customer <customer@example.com>"),
        ("recipient", "support@inbound.example.com"),
        ("subject", "The heating is off"),
        (
            "Message-Id",
            &format!("<bench-{task}-{n}@mail.example.com>"),
        ),
        (
            "body-plain",
            "Hello,\n\nthe heating stopped this morning. Can someone come today?\n\nThanks",
        ),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

/// Inbound mail: signed Mailgun deliveries to the receiver (signature verified, replay key
/// remembered, event stored, handling queued) from 32 connections, with no worker running;
/// then one worker turns the backlog into tickets (parse, thread, store), timed to the end.
async fn bench_mail_in(app: &TestApp, ctx: &Arc<Ctx>, duration: Duration) {
    let set = ctx
        .http
        .put(format!("{}/api/v1/inbound-hooks/mailgun", ctx.base))
        .bearer_auth(&ctx.admin_key)
        .json(&json!({"secret": MAILGUN_KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 200, "mailgun key");
    let received = drive(
        ctx,
        &[load(Op::MailIn, "mail in (receiver)", CONCURRENCY)],
        duration,
    )
    .await;
    let r = &received[0];
    let errors: usize = r.errors.values().sum();
    println!("Inbound mail (Mailgun route, multipart, signed):");
    println!(
        "  receiver (verify + store + enqueue) {:>8.1} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {errors}",
        r.rate, r.p50_ms, r.p99_ms
    );
    for (kind, count) in &r.errors {
        println!("  errors: {count} × {kind}");
    }
    let backlog: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM queue_jobs WHERE workspace_id = $1 AND state = 'queued' AND kind = 'inbound.handle'",
    )
    .bind(&ctx.workspace_id)
    .fetch_one(&ctx.pool)
    .await
    .unwrap();
    let stop = app.extra_worker();
    let started = Instant::now();
    let mut remaining = backlog;
    while remaining > 0 && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        remaining = sqlx::query_scalar(
            "SELECT count(*) FROM queue_jobs WHERE workspace_id = $1 AND state IN ('queued', 'running') AND kind = 'inbound.handle'",
        )
        .bind(&ctx.workspace_id)
        .fetch_one(&ctx.pool)
        .await
        .unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    #[allow(clippy::cast_precision_loss)]
    let rate = (backlog - remaining) as f64 / elapsed;
    println!(
        "  worker (parse + thread + store as tickets): {} of {backlog} in {elapsed:.1} s → {rate:.0}/s",
        backlog - remaining
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Rows of the CSV import scenario.
const IMPORT_ROWS: usize = 20_000;

/// The CRM at size, one operation at a time: a 20 000-row CSV (with consent columns) checked
/// by a dry run, then imported by one worker (consent written through the consent path);
/// every contact exported as CSV; one contact erased (its every stored copy searched).
async fn bench_crm(app: &TestApp, ctx: &Arc<Ctx>) {
    let mut csv = String::from("name,email,phone,consent.email,consent.sms\n");
    for n in 0..IMPORT_ROWS {
        csv.push_str(&format!(
            "Imported Person {n},imported.{n}@bench.example.com,+3161{:07},yes,no\n",
            n
        ));
    }
    println!("CRM ({IMPORT_ROWS}-row CSV, {} KiB):", csv.len() / 1024);
    let started = Instant::now();
    let dry = ctx
        .http
        .post(format!("{}/api/v1/contacts/imports?dry_run=true", ctx.base))
        .bearer_auth(&ctx.admin_key)
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status().as_u16(), 200, "dry run");
    println!(
        "  dry run (parse, check, look up every row): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let created: Value = ctx
        .http
        .post(format!("{}/api/v1/contacts/imports", ctx.base))
        .bearer_auth(&ctx.admin_key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let import = created["id"].as_str().unwrap().to_owned();
    let stop = app.extra_worker();
    let started = Instant::now();
    let mut status = Value::Null;
    while started.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = ctx
            .http
            .get(format!("{}/api/v1/contacts/imports/{import}", ctx.base))
            .bearer_auth(&ctx.admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["status"] == "done" || status["status"] == "failed" {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = status["rows_processed"].as_i64().unwrap_or(0) as f64 / elapsed;
    println!(
        "  import job ({}; contacts + consent + log + events): {} rows in {elapsed:.1} s → {rate:.0} rows/s",
        status["status"], status["rows_processed"]
    );
    let _ = stop.send(());
    let started = Instant::now();
    let export = ctx
        .http
        .get(format!("{}/api/v1/contacts/export?format=csv", ctx.base))
        .bearer_auth(&ctx.admin_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows = export.lines().count().saturating_sub(1);
    let elapsed = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = rows as f64 / elapsed;
    println!("  export (streamed CSV): {rows} contacts in {elapsed:.2} s → {rate:.0} rows/s");
    let listed: Value = ctx
        .http
        .get(format!(
            "{}/api/v1/contacts?q=imported.7@bench.example.com",
            ctx.base
        ))
        .bearer_auth(&ctx.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if let Some(id) = listed["data"][0]["id"].as_str() {
        let started = Instant::now();
        let erased = ctx
            .http
            .post(format!("{}/api/v1/contacts/{id}/erase", ctx.base))
            .bearer_auth(&ctx.admin_key)
            .json(&json!({"reason": "benchmark"}))
            .send()
            .await
            .unwrap();
        println!(
            "  erase one contact (every table searched for its copies): {} in {:.0} ms",
            erased.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// The ticket-list scenarios: label and query string.
/// A seeded ticket's words all follow from its number modulo 16, so `boiler` (1 in 16) and
/// `leak` never meet: "boiler leak" matches nothing, the worst case (every candidate checked);
/// `radiator leak*` matches 1 ticket in 16.
const TICKET_QUERIES: [(&str, &str); 6] = [
    ("tickets newest 50", "limit=50"),
    ("tickets open 50", "status=open&limit=50"),
    ("search rare word", "q=chimney&limit=50"),
    ("search common word", "q=boiler%20leak&limit=50"),
    (
        "search common, open",
        "q=boiler%20leak&status=open&limit=50",
    ),
    ("search 2 words, found", "q=radiator%20leak&limit=50"),
];
/// Words of seeded subjects and bodies; `chimney` only in every 500th ticket.
const WORDS: [&str; 16] = [
    "boiler",
    "leak",
    "invoice",
    "quote",
    "heating",
    "radiator",
    "tap",
    "drain",
    "visit",
    "warranty",
    "pressure",
    "thermostat",
    "pipe",
    "noise",
    "filter",
    "valve",
];
fn ticket_count() -> usize {
    std::env::var("HOLDFAST_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// `CASE (<expr>) % 16 WHEN 0 THEN 'boiler' … END`: a seeded word, from `WORDS` only.
fn word_sql(expr: &str) -> String {
    let arms: String = WORDS
        .iter()
        .enumerate()
        .map(|(n, w)| format!(" WHEN {n} THEN '{w}'"))
        .collect();
    format!("CASE ({expr}) % {}{arms} END", WORDS.len())
}

/// Seeds `count` tickets with one inbound message each into the bench workspace, generated
/// inside the database (a recursive series; the schema's own triggers and generated columns
/// index them for search), newest last; returns how long it took. Ids share the prefix of an
/// id made now and end in the row number, so they sort like real ones.
async fn seed_tickets(ctx: &Ctx, count: usize) -> Duration {
    let started = Instant::now();
    let now = SystemClock.now_ms();
    let hex = match ctx.backend {
        Backend::Sqlite => "printf('%010x', i)",
        Backend::Postgres => "lpad(to_hex(i), 10, '0')",
    };
    let prefix = |id: String| id[..id.len() - 10].to_owned();
    let ticket_prefix = prefix(holdfast_core::ids::TicketId::generate(now).to_string());
    let message_prefix = prefix(holdfast_core::ids::TicketMessageId::generate(now).to_string());
    let series = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $3)";
    let tickets = format!(
        "{series} INSERT INTO tickets (workspace_id, id, subject, status, priority, assignee_id, \
         tags, contact_id, channel, created_at, updated_at, last_message_at, reply_token) \
         SELECT $1, '{ticket_prefix}' || {hex}, \
         {} || ' ' || {} || ' ' || {} || CASE WHEN i % 500 = 0 THEN ' chimney' ELSE '' END, \
         CASE i % 4 WHEN 0 THEN 'open' WHEN 1 THEN 'pending' WHEN 2 THEN 'resolved' ELSE 'closed' END, \
         'normal', NULL, '[]', $4, 'email', $2 - ($3 - i) * 1000, $2 - ($3 - i) * 1000, \
         $2 - ($3 - i) * 1000, 'seed' || {hex} FROM n",
        word_sql("i * 3 + 3"),
        word_sql("i * 5 + 5"),
        word_sql("i * 7 + 7"),
    );
    let messages = format!(
        "{series} INSERT INTO ticket_messages (workspace_id, id, ticket_id, kind, author_type, \
         author_id, body, created_at) \
         SELECT $1, '{message_prefix}' || {hex}, '{ticket_prefix}' || {hex}, 'inbound', 'contact', $4, \
         'Hello, the ' || {} || ' in the ' || {} || ' makes a ' || {} || ' since the last ' || {} \
         || '. Could you ' || {} || ' it?', $2 - ($3 - i) * 1000 FROM n",
        word_sql("i * 11 + 11"),
        word_sql("i * 13 + 13"),
        word_sql("i * 17 + 17"),
        word_sql("i * 19 + 19"),
        word_sql("i * 23 + 23"),
    );
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    for sql in [tickets, messages] {
        let (ws, contact) = (ctx.workspace_id.clone(), ctx.contact_id.clone());
        in_tenant_tx(ctx, true, async |conn| {
            // Built from fixed fragments, generated ids and the word list; values are bound.
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ws)
                .bind(now)
                .bind(count)
                .bind(contact)
                .execute(&mut *conn)
                .await
                .map(|_| ())
        })
        .await
        .unwrap();
        // As after any bulk load: fresh statistics, or PostgreSQL checks each message's
        // foreign key with a plan made for the near-empty table (a scan per row).
        sqlx::query("ANALYZE").execute(&ctx.pool).await.unwrap();
    }
    started.elapsed()
}

/// The ticket list with 100 000 tickets in the workspace: newest first, by status, and
/// full-text search, each from 32 connections; then the console's inbox and a ticket page
/// from 16.
async fn bench_ticket_list(ctx: &Arc<Ctx>, duration: Duration) {
    let count = ticket_count();
    let seeded = seed_tickets(ctx, count).await;
    println!(
        "Help desk at size ({count} tickets seeded in {:.1} s):",
        seeded.as_secs_f64()
    );
    for (index, (label, _)) in TICKET_QUERIES.iter().enumerate() {
        let stats = drive(
            ctx,
            &[load(Op::TicketList(index), label, CONCURRENCY)],
            duration,
        )
        .await;
        let s = &stats[0];
        let errors: usize = s.errors.values().sum();
        println!(
            "  {label:<20} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors}",
            s.rate, s.p50_ms, s.p99_ms
        );
        for (kind, n) in &s.errors {
            println!("  errors: {n} × {kind}");
        }
    }
    // The console's pages over the same 100 000 tickets, from 16 connections.
    let newest: Value = ctx
        .http
        .get(format!("{}/api/v1/tickets?limit=1", ctx.base))
        .bearer_auth(&ctx.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = newest["data"][0]["id"].as_str().unwrap_or_default();
    // One path made at run time, kept for the rest of the run.
    let ticket_page: &'static str = Box::leak(format!("/app/tickets/{id}").into_boxed_str());
    for (label, path) in [
        ("console inbox", "/app/inbox"),
        ("console inbox search", "/app/inbox?q=chimney"),
        ("console ticket page", ticket_page),
    ] {
        let stats = drive(ctx, &[load(Op::ConsolePage(path), label, HALF)], duration).await;
        let s = &stats[0];
        let errors: usize = s.errors.values().sum();
        println!(
            "  {label:<20} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors} (×{HALF})",
            s.rate, s.p50_ms, s.p99_ms
        );
        for (kind, n) in &s.errors {
            println!("  errors: {n} × {kind}");
        }
    }
}

/// A draft invoice's body: `lines` lines with awkward quantities, prices, discounts and rates.
fn invoice_body(contact_id: &str, lines: usize) -> Value {
    let lines: Vec<Value> = (0..lines)
        .map(|n| {
            let rate = ["0", "7.625", "19", "20"][n % 4];
            json!({"description": format!("Line {n}"), "quantity": format!("{}.{}", n + 1, n % 1000),
                   "unit_price": format!("{}.{:04}", 10 + n * 7, n * 37 % 10_000),
                   "tax_percent": rate,
                   "discount_percent": if n % 3 == 0 { "12.5" } else { "0" }})
        })
        .collect();
    json!({"contact_id": contact_id, "lines": lines})
}

/// Field service and invoicing: the dispatch board over 50 000 jobs, invoice totals per
/// second, and a Stripe payment's latency from webhook to invoice paid.
async fn bench_field(app: &TestApp, ctx: &Arc<Ctx>, duration: Duration) {
    const JOBS: i64 = 50_000;
    const TECHNICIANS: u64 = 20;
    let started = Instant::now();
    let now = SystemClock.now_ms();
    let day0 = now - now.rem_euclid(86_400_000);
    let hex = match ctx.backend {
        Backend::Sqlite => "printf('%010x', i)",
        Backend::Postgres => "lpad(to_hex(i), 10, '0')",
    };
    let job_prefix = {
        let id = holdfast_core::ids::JobId::generate(now).to_string();
        id[..id.len() - 10].to_owned()
    };
    let technicians: Vec<String> = (0..TECHNICIANS)
        .map(|k| {
            holdfast_core::ids::UserId::generate(now + i64::try_from(k).unwrap_or(0)).to_string()
        })
        .collect();
    let tech_case: String = technicians
        .iter()
        .enumerate()
        .map(|(k, id)| format!(" WHEN {k} THEN '{id}'"))
        .collect();
    let series = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $3)";
    // About 68 jobs a day for two years, an hour each between 08:00 and 18:00.
    let jobs = format!(
        "{series} INSERT INTO jobs (workspace_id, id, contact_id, title, status, window_start, \
         window_end, checklist, line_items, created_at, updated_at) \
         SELECT $1, '{job_prefix}' || {hex}, $4, 'Visit ' || i, \
         CASE i % 3 WHEN 0 THEN 'scheduled' WHEN 1 THEN 'completed' ELSE 'requested' END, \
         $2 + CAST(i % 730 AS BIGINT) * 86400000 + CAST(8 + (i / 730) % 10 AS BIGINT) * 3600000, \
         $2 + CAST(i % 730 AS BIGINT) * 86400000 + CAST(9 + (i / 730) % 10 AS BIGINT) * 3600000, '[]', \
         '[{{\"kind\":\"service\",\"description\":\"Service\",\"quantity\":\"1\"}}]', $2, $2 FROM n"
    );
    let assigned = format!(
        "{series} INSERT INTO job_technicians (workspace_id, job_id, user_id) \
         SELECT $1, '{job_prefix}' || {hex}, CASE i % {TECHNICIANS}{tech_case} END FROM n"
    );
    for sql in [jobs, assigned] {
        let (ws, contact) = (ctx.workspace_id.clone(), ctx.contact_id.clone());
        in_tenant_tx(ctx, true, async |conn| {
            // Built from fixed fragments and generated ids; values are bound.
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ws)
                .bind(day0)
                .bind(JOBS)
                .bind(contact)
                .execute(&mut *conn)
                .await
                .map(|_| ())
        })
        .await
        .unwrap();
    }
    sqlx::query("ANALYZE").execute(&ctx.pool).await.unwrap();
    println!(
        "Field service and invoicing ({JOBS} jobs, {TECHNICIANS} technicians, seeded in {:.1} s):",
        started.elapsed().as_secs_f64()
    );
    let zone = holdfast_core::field_service::time_zone::ZoneName::utc();
    let day = |offset: i64| zone.local(day0 + offset * 86_400_000);
    let board_day: &'static str = Box::leak(
        format!("/api/v1/jobs?from={}&to={}&limit=50", day(40), day(41)).into_boxed_str(),
    );
    let board_week: &'static str = Box::leak(
        format!(
            "/api/v1/jobs?technician_id={}&from={}&to={}&limit=50",
            technicians[3],
            day(40),
            day(47)
        )
        .into_boxed_str(),
    );
    // One request alone first: what a dispatcher waits for when nobody else is busy.
    for (label, path) in [("one day", board_day), ("tech's week", board_week)] {
        let started = Instant::now();
        let response = ctx
            .http
            .get(format!("{}{path}", ctx.base))
            .bearer_auth(&ctx.admin_key)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let jobs: Value = response.json().await.unwrap_or_default();
        println!(
            "  board alone, {label:<13} {:>7.2} ms ({status}, {} jobs)",
            started.elapsed().as_secs_f64() * 1000.0,
            jobs["data"].as_array().map_or(0, Vec::len)
        );
    }
    for (label, op) in [
        ("board: one day", Op::ApiGet(board_day)),
        ("board: tech's week", Op::ApiGet(board_week)),
        ("invoice create (5 lines)", Op::InvoiceCreate),
    ] {
        let stats = drive(ctx, &[load(op, label, CONCURRENCY)], duration).await;
        let s = &stats[0];
        let errors: usize = s.errors.values().sum();
        println!(
            "  {label:<26} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors}",
            s.rate, s.p50_ms, s.p99_ms
        );
        for (kind, n) in &s.errors {
            println!("  errors: {n} × {kind}");
        }
    }

    // The arithmetic alone: a 20-line invoice validated, rounded line by line and summed.
    let body = invoice_body(&ctx.contact_id, 20);
    let lines: Vec<holdfast_core::invoicing::invoices::LineIn> =
        serde_json::from_value(body["lines"].clone()).unwrap();
    let currency = holdfast_core::invoicing::money::Currency::EUR;
    let (mut count, started) = (0u64, Instant::now());
    let mut check = 0i64;
    while started.elapsed() < duration {
        let mut errors = holdfast_core::validate::Errors::default();
        let valid = holdfast_core::invoicing::invoices::lines(&mut errors, &lines);
        let sums = holdfast_core::invoicing::invoices::sums(currency, &valid);
        check = check.wrapping_add(sums.total.minor_i64(currency).unwrap_or(0));
        count += 1;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "  invoice totals (20 lines)  {rate:>10.0} invoices/s, {:.0} lines/s on one core (checksum {check})",
        rate * 20.0
    );

    bench_payment_latency(app, ctx).await;
}

/// The Stripe endpoint secret the benchmark workspace stores.
const STRIPE_SECRET: &str = "whsec_benchstripesecret0123456789";

/// 200 issued invoices, each paid by a signed `payment_intent.succeeded`: the time from the
/// delivery's answer to the invoice read as paid (one worker, polling every 25 ms when idle).
async fn bench_payment_latency(app: &TestApp, ctx: &Arc<Ctx>) {
    use hmac::{Hmac, Mac};
    const PAYMENTS: usize = 200;
    let hooks = format!("{}/api/v1/inbound-hooks/stripe", ctx.base);
    ctx.http
        .put(hooks)
        .bearer_auth(&ctx.admin_key)
        .json(&json!({"secret": STRIPE_SECRET}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut invoices = Vec::with_capacity(PAYMENTS);
    for _ in 0..PAYMENTS {
        let created: Value = ctx
            .http
            .post(format!("{}/api/v1/invoices", ctx.base))
            .bearer_auth(&ctx.admin_key)
            .json(&invoice_body(&ctx.contact_id, 3))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let issued: Value = ctx
            .http
            .post(format!("{}/api/v1/invoices/{id}/issue", ctx.base))
            .bearer_auth(&ctx.admin_key)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let total = issued["total"].as_str().unwrap().replace('.', "");
        invoices.push((id, total.parse::<i64>().unwrap()));
    }
    let stop = app.extra_worker();
    // The sections before queued work (an event fan-out per invoice created): let the worker
    // drain it first, so each payment is measured on an idle queue.
    let drain = Instant::now();
    loop {
        let queued: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM queue_jobs WHERE workspace_id = $1 AND state = 'queued'",
        )
        .bind(&ctx.workspace_id)
        .fetch_one(&ctx.pool)
        .await
        .unwrap_or(0);
        if queued == 0 || drain.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained = drain.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(PAYMENTS);
    let mut failures = 0;
    for (n, (id, total)) in invoices.iter().enumerate() {
        let body = json!({"id": format!("evt_bench_{n}"), "object": "event",
            "type": "payment_intent.succeeded", "data": {"object": {
                "id": format!("pi_bench_{n}"), "amount_received": total, "currency": "eur",
                "metadata": {"holdfast_invoice": id}}}})
        .to_string();
        let t = SystemClock.now_ms() / 1000;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(STRIPE_SECRET.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        let v1: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let sent = Instant::now();
        let answered = ctx
            .http
            .post(format!("{}/hooks/stripe/{}", ctx.base, ctx.slug))
            .header("stripe-signature", format!("t={t},v1={v1}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        if !answered.status().is_success() {
            failures += 1;
            continue;
        }
        loop {
            // Read as the server reads: in the workspace's scope (row-level security on
            // PostgreSQL shows nothing outside it).
            let mut status: Option<String> = None;
            let _ = in_tenant_tx(ctx, false, async |conn| {
                status = sqlx::query_scalar(
                    "SELECT status FROM invoices WHERE workspace_id = $1 AND id = $2",
                )
                .bind(&ctx.workspace_id)
                .bind(id)
                .fetch_optional(conn)
                .await?;
                Ok(())
            })
            .await;
            if status.as_deref() == Some("paid") {
                latencies.push(sent.elapsed());
                break;
            }
            if sent.elapsed() > Duration::from_secs(10) {
                failures += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let _ = stop.send(());
    latencies.sort_unstable();
    println!(
        "  payment webhook → paid     p50 {:>7.2} ms  p99 {:>7.2} ms  ({} payments, {failures} failed; \
         one worker polling every 25 ms when idle; earlier queued work drained first in {drained:.1} s)",
        percentile_ms(&latencies, 50.0),
        percentile_ms(&latencies, 99.0),
        latencies.len()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// A backup of the whole database and its restore into a fresh target, in MB/s of the
/// uncompressed parts (the snapshot or table dumps and the attachments).
#[allow(deprecated)] // age's X25519 keys, as the backups use (see holdfast_app::backup)
async fn bench_backup(app: &TestApp, ctx: &Ctx) {
    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let recipients = [identity.to_public()];
    let created = holdfast_app::backup::create(
        &app.db,
        &app.config.data_dir,
        &dir.path().join("out"),
        &recipients,
        SystemClock.now_ms(),
    )
    .await
    .unwrap();
    let plain: u64 = created.manifest.parts.iter().map(|p| p.bytes).sum();
    let mb = plain as f64 / 1e6;
    let tickets = created
        .manifest
        .tables
        .iter()
        .find(|t| t.table == "tickets")
        .map_or(0, |t| t.rows);
    println!(
        "Backup ({}, {tickets} tickets, {mb:.1} MB uncompressed, {:.1} MB written):",
        ctx.backend.name(),
        created.bytes as f64 / 1e6
    );
    let seconds = created.millis as f64 / 1000.0;
    println!(
        "  create   {:>8.1} MB/s  ({seconds:.2} s: snapshot, zstd, age)",
        mb / seconds.max(0.001)
    );
    let data_dir = dir.path().join("restored");
    let database_url = match ctx.backend {
        Backend::Sqlite => format!("sqlite://{}/holdfast.db", data_dir.display()),
        Backend::Postgres => holdfast_testkit::fresh_schema(&app.config.database_url).await,
    };
    let started = Instant::now();
    let restored = holdfast_app::backup::restore(
        &created.path,
        &[identity],
        holdfast_app::backup::Target {
            data_dir: &data_dir,
            database_url: &database_url,
        },
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    match restored {
        Ok(r) => println!(
            "  restore  {:>8.1} MB/s  ({seconds:.2} s: decrypt, every check, load; {} rows)",
            mb / seconds.max(0.001),
            r.checked.rows
        ),
        Err(e) => println!("  restore  failed: {e}"),
    }
}

#[tokio::main]
async fn main() {
    holdfast_app::outbound::install_crypto_provider();
    let seconds = std::env::var("HOLDFAST_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok());
    let seconds: f64 = seconds.filter(|s: &f64| *s > 0.0).unwrap_or(3.0);
    let duration = Duration::from_secs_f64(seconds);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let warm_up = WARM_UP.as_secs_f64();
    println!(
        "Holdfast benchmark: {cores} cores, concurrency {CONCURRENCY}, {seconds} s per scenario"
    );
    println!("after a {warm_up} s warm-up; client and server share this process");

    // Named explicitly: the test kit would otherwise use HOLDFAST_TEST_DATABASE_URL.
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}/bench.db", sqlite_dir.path().display());
    bench_backend(sqlite_url, duration).await;
    drop(sqlite_dir);
    if section("scale") {
        scale::bench_scale(None, duration).await;
    }

    let postgres = ["HOLDFAST_BENCH_DATABASE_URL", "HOLDFAST_TEST_DATABASE_URL"]
        .into_iter()
        .find_map(|var| Some((var, std::env::var(var).ok().filter(|u| !u.is_empty())?)));
    match postgres {
        Some((var, url)) => {
            println!("\nPostgreSQL: URL from {var}");
            bench_backend(url.clone(), duration).await;
            if section("scale") {
                scale::bench_scale(Some(&url), duration).await;
            }
        }
        None => println!(
            "\nPostgreSQL skipped: neither HOLDFAST_BENCH_DATABASE_URL nor \
             HOLDFAST_TEST_DATABASE_URL is set"
        ),
    }
}
