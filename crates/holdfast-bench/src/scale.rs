//! The help desk and CRM at scale (`scale`): whether the everyday reads stay flat as one
//! workspace grows.
//!
//! For a size N (`HOLDFAST_BENCH_SCALE`, default 100 000) and for 10 000, each on a database
//! of its own (SQLite: a new file; PostgreSQL: a new schema, dropped afterwards), it seeds 100
//! small workspaces of 200 contacts and 200 tickets, then one workspace with N contacts and N
//! tickets of one message each, all inside the database: contacts here, tickets through
//! [`super::seed_tickets`] (the same statements and search upkeep as the `tickets` section).
//! Then, from 32 connections each, over HTTP in the big workspace: the ticket list newest
//! first and filtered by status, search for a rare word, a common one and two words that never
//! meet (no match, every candidate checked), the contact list and contact get (ids spread over
//! the whole range, so reads are not all one cached row). It prints each size's figures, then
//! every p99 at N against the same at 10 000 (the goal is flat: at most 1.3×).
//!
//! Also: how long seeding took, the database's size per 100 000 tickets (SQLite: pages in use;
//! PostgreSQL: every relation of the schema, and `pg_database_size` before and after), and the
//! process's resident memory (`VmRSS`; the server runs in this process, beside the client) at
//! boot, idle after seeding, and the most seen while the scenarios run.

use super::{
    CONCURRENCY, Ctx, NO_LIMIT, Op, Stats, drive, load, pool_size, seed_tickets, ticket_count,
};
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ops::config::Layer;
use holdfast_store::Backend;
use holdfast_testkit::{OWNER_PASSWORD, TestApp, Workspace};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The size every other is compared with.
const BASELINE: usize = 10_000;
/// Small workspaces beside the big one, and the contacts and tickets of each.
const SMALL_WORKSPACES: usize = 100;
const SMALL_SIZE: usize = 200;
/// How many different contacts the contact-get scenario reads, spread over the whole range.
const SPREAD: usize = 1_000;

/// The scenarios, in print order: label and path (with query) in the big workspace.
const READS: [(&str, &str); 6] = [
    ("tickets newest 50", "/api/v1/tickets?limit=50"),
    ("tickets open 50", "/api/v1/tickets?status=open&limit=50"),
    ("search rare word", "/api/v1/tickets?q=chimney&limit=50"),
    ("search common word", "/api/v1/tickets?q=boiler&limit=50"),
    (
        "search no match",
        "/api/v1/tickets?q=boiler%20leak&limit=50",
    ),
    ("contact list 50", "/api/v1/contacts?limit=50"),
];
const CONTACT_GET: &str = "contact get (spread)";

/// `HOLDFAST_BENCH_SCALE`: contacts and tickets in the big workspace (default 100 000).
fn scale_size() -> usize {
    std::env::var("HOLDFAST_BENCH_SCALE")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or_else(|| ticket_count().max(BASELINE))
}

/// The process's resident set (`VmRSS` of `/proc/self/status`), in bytes; 0 where unreadable.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// One size's figures.
struct Figures {
    size: usize,
    /// Seconds: the small workspaces, the big one's contacts, its tickets.
    seed_small: f64,
    seed_contacts: f64,
    seed_tickets: f64,
    /// Every ticket in the database (the big workspace's and the small ones').
    tickets: usize,
    /// SQLite: pages in use; PostgreSQL: every relation of the schema.
    bytes: u64,
    /// PostgreSQL only: `pg_database_size` growth over the seeding.
    database_growth: Option<u64>,
    rss_boot: u64,
    rss_idle: u64,
    rss_loaded: u64,
    stats: Vec<Stats>,
}

/// Where one size's database lives; dropped (PostgreSQL: its schema) after the run.
enum Place {
    Sqlite(tempfile::TempDir),
    Postgres { base: String, schema: String },
}

impl Place {
    async fn new(postgres: Option<&str>) -> (Place, String) {
        match postgres {
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/scale.db", dir.path().display());
                (Place::Sqlite(dir), url)
            }
            Some(base) => {
                let url = holdfast_testkit::fresh_schema(base).await;
                let schema = url.rsplit("%3D").next().unwrap_or_default().to_owned();
                let place = Place::Postgres {
                    base: base.to_owned(),
                    schema,
                };
                (place, url)
            }
        }
    }

    async fn remove(self) {
        match self {
            Place::Sqlite(dir) => drop(dir),
            Place::Postgres { base, schema } => {
                let pool = sqlx::AnyPool::connect(&base).await.unwrap();
                // The schema's name was made by the test kit (`hf_alone_` and hex digits).
                let drop = format!("DROP SCHEMA {schema} CASCADE");
                sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
        }
    }
}

/// The scale section on one database: SQLite when `postgres` is `None`, else a fresh schema
/// of that PostgreSQL database per size.
pub(crate) async fn bench_scale(postgres: Option<&str>, duration: Duration) {
    let size = scale_size();
    let mut sizes = vec![BASELINE];
    if size != BASELINE {
        sizes.push(size);
    }
    let mut figures = Vec::new();
    for n in sizes {
        let (place, url) = Place::new(postgres).await;
        let backend = match place {
            Place::Sqlite(_) => Backend::Sqlite,
            Place::Postgres { .. } => Backend::Postgres,
        };
        let f = run_size(url, n, duration).await;
        print_size(backend, &f);
        figures.push(f);
        place.remove().await;
    }
    if let [base, big] = figures.as_slice() {
        print_ratios(base, big);
    }
}

/// A `Ctx` for workspace `ws` of `app` (the contact set once seeded).
fn ctx_for(app: &TestApp, ws: &Workspace) -> Ctx {
    Ctx {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
        base: app.base.clone(),
        admin_key: ws.admin_key.clone(),
        workspace_id: ws.id.clone(),
        contact_id: String::new(),
        slug: ws.slug.clone(),
        login: json!({ "email": ws.owner_email, "password": OWNER_PASSWORD, "workspace": ws.slug }),
        pool: app.db.unscoped_pool().clone(),
        backend: app.db.backend(),
        ticket_queries: Vec::new(),
    }
}

/// Seeds `count` contacts into the context's workspace inside the database, in one statement
/// (emails `scale-<n>@example.com`, ids sharing the prefix of an id made now and ending in the
/// row number, so they sort like real ones); returns the id prefix.
async fn seed_contacts(ctx: &Ctx, count: usize) -> String {
    let now = SystemClock.now_ms();
    let id = holdfast_core::ids::ContactId::generate(now).to_string();
    let prefix = id[..id.len() - 10].to_owned();
    let (series, hex, four) = match ctx.backend {
        Backend::Sqlite => (
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $3) ",
            "printf('%010x', i)",
            "printf('%04d', i % 10000)",
        ),
        Backend::Postgres => (
            "WITH n(i) AS (SELECT generate_series(CAST(0 AS BIGINT), $3 - 1)) ",
            "lpad(to_hex(i), 10, '0')",
            "lpad(CAST(i % 10000 AS TEXT), 4, '0')",
        ),
    };
    let sql = format!(
        "{series}INSERT INTO contacts \
         (workspace_id, id, name, email, phone, company, tags, created_at, updated_at) \
         SELECT $1, '{prefix}' || {hex}, 'Scale Contact ' || i, 'scale-' || i || '@example.com', \
         '+1415555' || {four}, NULL, '[]', $2 - ($3 - i), $2 - ($3 - i) FROM n"
    );
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let ws = ctx.workspace_id.clone();
    super::in_tenant_tx(ctx, true, async |conn| {
        // Built from fixed fragments and a generated id; values are bound.
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ws)
            .bind(now)
            .bind(count)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })
    .await
    .unwrap();
    prefix
}

/// Bytes the database takes: SQLite's pages in use, or PostgreSQL's relations in the
/// current schema (tables with their indexes and TOAST).
async fn stored_bytes(ctx: &Ctx) -> u64 {
    let sql = match ctx.backend {
        Backend::Sqlite => {
            "SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s"
        }
        Backend::Postgres => {
            "SELECT CAST(coalesce(sum(pg_total_relation_size(c.oid)), 0) AS BIGINT) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
        }
    };
    let bytes: i64 = sqlx::query_scalar(sql)
        .fetch_one(&ctx.pool)
        .await
        .unwrap_or(0);
    u64::try_from(bytes).unwrap_or(0)
}

/// PostgreSQL's `pg_database_size` of the current database; `None` on SQLite.
async fn database_size(ctx: &Ctx) -> Option<u64> {
    if ctx.backend != Backend::Postgres {
        return None;
    }
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&ctx.pool)
        .await
        .ok()?;
    u64::try_from(bytes).ok()
}

/// Boots a server on `url`, seeds `size`, and measures every scenario.
async fn run_size(url: String, size: usize, duration: Duration) -> Figures {
    let layer = Layer {
        database_url: Some(url),
        public_rate_limit_per_minute: Some(NO_LIMIT),
        auth_rate_limit_per_minute: Some(NO_LIMIT),
        api_rate_limit_per_minute: Some(NO_LIMIT),
        db_max_connections: Some(pool_size()),
        worker: Some(false),
        ..Layer::default()
    };
    let app = TestApp::spawn_with(layer).await;
    let rss_boot = rss_bytes();

    // The small workspaces first: each seed ends with an ANALYZE, cheap while tables are small.
    let started = Instant::now();
    let mut database_before = None;
    for k in 0..SMALL_WORKSPACES {
        let ws = app.workspace("small").await;
        let mut ctx = ctx_for(&app, &ws);
        if k == 0 {
            database_before = database_size(&ctx).await;
        }
        let prefix = seed_contacts(&ctx, SMALL_SIZE).await;
        ctx.contact_id = format!("{prefix}{:010x}", 0);
        seed_tickets(&ctx, SMALL_SIZE).await;
    }
    let seed_small = started.elapsed().as_secs_f64();

    let ws = app.workspace("scale").await;
    let mut ctx = ctx_for(&app, &ws);
    let started = Instant::now();
    let prefix = seed_contacts(&ctx, size).await;
    let seed_contacts = started.elapsed().as_secs_f64();
    ctx.contact_id = format!("{prefix}{:010x}", 0);
    let seed_tickets = seed_tickets(&ctx, size).await.as_secs_f64();

    let bytes = stored_bytes(&ctx).await;
    let database_growth = match (database_before, database_size(&ctx).await) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let rss_idle = rss_bytes();

    // Contact get over ids spread across the whole range (one path per read, in turn).
    let spread: Vec<String> = (0..SPREAD)
        .map(|k| {
            let i = k * size / SPREAD;
            format!("/api/v1/contacts/{prefix}{i:010x}")
        })
        .collect();
    let spread: &'static [String] = Box::leak(spread.into_boxed_slice());

    let ctx = Arc::new(ctx);
    let peak = Arc::new(AtomicU64::new(rss_bytes()));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut stats = Vec::new();
    let ops = READS
        .iter()
        .map(|&(label, path)| (label, Op::ApiGet(path)))
        .chain([(CONTACT_GET, Op::ApiGetSpread(spread))]);
    for (label, op) in ops {
        stats.extend(drive(&ctx, &[load(op, label, CONCURRENCY)], duration).await);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    drop(ctx);
    app.db.close().await;
    drop(app);
    Figures {
        size,
        seed_small,
        seed_contacts,
        seed_tickets,
        tickets: size + SMALL_WORKSPACES * SMALL_SIZE,
        bytes,
        database_growth,
        rss_boot,
        rss_idle,
        rss_loaded: peak.load(Ordering::Relaxed),
        stats,
    }
}

fn print_size(backend: Backend, f: &Figures) {
    let per_100k = |bytes: u64| mib(bytes) * 100_000.0 / f.tickets as f64;
    println!(
        "\n== {} at scale: {} contacts and tickets in one workspace, plus {SMALL_WORKSPACES} \
         workspaces of {SMALL_SIZE} ==",
        backend.name(),
        f.size
    );
    let rate = |secs: f64| f.size as f64 / secs.max(0.001);
    println!(
        "  seeding: contacts {:.1} s ({:.0}/s), tickets with a message each {:.1} s ({:.0}/s), \
         small workspaces {:.1} s",
        f.seed_contacts,
        rate(f.seed_contacts),
        f.seed_tickets,
        rate(f.seed_tickets),
        f.seed_small
    );
    let what = match backend {
        Backend::Sqlite => "pages in use",
        Backend::Postgres => "relations of the schema",
    };
    println!(
        "  database: {:.1} MiB ({what}) for {} tickets → {:.1} MiB per 100 000 tickets \
         (each with one message and one contact)",
        mib(f.bytes),
        f.tickets,
        per_100k(f.bytes)
    );
    if let Some(growth) = f.database_growth {
        println!(
            "  pg_database_size grew {:.1} MiB while seeding → {:.1} MiB per 100 000 tickets",
            mib(growth),
            per_100k(growth)
        );
    }
    println!(
        "  resident memory (VmRSS, server and client in one process): {:.0} MiB at boot, \
         {:.0} MiB idle after seeding, {:.0} MiB at most under load",
        mib(f.rss_boot),
        mib(f.rss_idle),
        mib(f.rss_loaded)
    );
    for s in &f.stats {
        let errors: usize = s.errors.values().sum();
        println!(
            "  {:<22} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors}",
            s.load.label, s.rate, s.p50_ms, s.p99_ms
        );
        for (kind, n) in &s.errors {
            println!("  errors: {n} × {kind}");
        }
    }
}

fn print_ratios(base: &Figures, big: &Figures) {
    println!(
        "  p99 at {} ÷ p99 at {} (goal: at most 1.3×):",
        big.size, base.size
    );
    for (b, n) in base.stats.iter().zip(&big.stats) {
        let ratio = n.p99_ms / b.p99_ms;
        let verdict = if ratio <= 1.3 { "flat" } else { "grows" };
        println!(
            "  {:<22} {:>8.2} ms → {:>8.2} ms  {ratio:>5.2}×  {verdict}",
            b.load.label, b.p99_ms, n.p99_ms
        );
    }
}
