//! The connection pool over both databases (sqlx `Any`): connecting with the refusal of unsafe
//! roles, migrations, readiness, and the SQLite write gate that tenant scopes (`tenant.rs`) queue on.

use crate::error::StoreError;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The database handle: a pool plus the backend it talks to.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pool: AnyPool,
    backend: Backend,
    max_connections: u32,
    /// SQLite has one writer. Writers of this process queue here, in order, instead of
    /// sleeping in SQLite's busy handler, which backs off and makes a long latency tail.
    /// Other processes (an admin command) still meet the busy timeout.
    pub(crate) write_gate: Arc<Semaphore>,
    /// Realtime notices of committed changes, for this instance's live views
    /// (`crate::ops::notices`).
    pub(crate) notices: tokio::sync::broadcast::Sender<crate::ops::notices::Heard>,
    /// The suspended workspaces, as this process last read them: no tenant transaction opens
    /// for one (`crate::ops::controls`).
    pub(crate) suspended: Arc<crate::ops::controls::Suspended>,
}

impl Db {
    /// Connects and checks that the database is safe to use. Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else {
            (Backend::Postgres, url.to_owned())
        };
        // A pinged acquire costs a round trip; an embedded SQLite connection cannot go stale,
        // a PostgreSQL one can (server restart), so only PostgreSQL pings.
        let options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(backend == Backend::Postgres);
        let options = match backend {
            Backend::Sqlite => options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            // Holdfast's statements are short reads and writes over indexes; the planner's
            // cost estimates under row-level security run high enough to start the JIT
            // compiler, which then spends hundreds of milliseconds compiling a statement that
            // runs in tens (a dispatch board's page: 25 ms run, 400 ms with JIT).
            Backend::Postgres => options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("SET jit = off").await?;
                    Ok(())
                })
            }),
        };
        let pool = options.connect(&url).await?;
        let db = Db {
            pool,
            backend,
            max_connections,
            write_gate: Arc::new(Semaphore::new(1)),
            notices: crate::ops::notices::hub(),
            suspended: Arc::default(),
        };
        if backend == Backend::Postgres {
            db.refuse_rls_bypassing_role().await?;
        }
        Ok(db)
    }

    async fn refuse_rls_bypassing_role(&self) -> Result<(), StoreError> {
        let (name, bypasses): (String, i64) = sqlx::query_as(
            "SELECT current_user::text, CASE WHEN rolsuper OR rolbypassrls THEN 1 ELSE 0 END::bigint \
             FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&self.pool)
        .await?;
        if bypasses == 1 {
            return Err(StoreError::Setup(format!(
                "database role '{name}' is a superuser or has BYPASSRLS, so it would bypass Holdfast's \
                 row-level security; connect as an ordinary role instead, e.g. as a superuser run \
                 CREATE ROLE holdfast LOGIN; CREATE DATABASE holdfast OWNER holdfast; and use \
                 postgres://holdfast@HOST/holdfast"
            )));
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        migrator_of(self.backend)
    }

    /// The newest migration this build carries.
    pub(crate) fn latest_migration(&self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// A SQLite file opened read-only and immutable (a backup's snapshot): one connection, no
    /// journal changes, nothing written.
    pub(crate) async fn open_read_only(path: &std::path::Path) -> Result<Db, StoreError> {
        install_default_drivers();
        let path = path
            .to_str()
            .ok_or_else(|| StoreError::Setup("the snapshot path is not UTF-8".into()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&format!("sqlite://{path}?mode=ro&immutable=true"))
            .await?;
        Ok(Db {
            pool,
            backend: Backend::Sqlite,
            max_connections: 1,
            write_gate: Arc::new(Semaphore::new(1)),
            notices: crate::ops::notices::hub(),
            suspended: Arc::default(),
        })
    }

    /// Applies pending migrations; safe to run concurrently from several instances.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let before = self.applied_migrations().await.unwrap_or(0);
        self.migrator().run(&self.pool).await?;
        let after = self.applied_migrations().await?;
        Ok(usize::try_from(after - before).unwrap_or(0))
    }

    async fn applied_migrations(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
    }

    /// Ready means: the database answers and every embedded migration is applied.
    pub async fn readiness(&self) -> Result<(), String> {
        let latest = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(|_| "database unreachable or not migrated".to_owned())?;
        match applied {
            Some(v) if v >= latest => Ok(()),
            _ => Err(format!(
                "migrations pending: database at {}, code expects {latest}; run `holdfast migrate`",
                applied.unwrap_or(0)
            )),
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.max_connections,
        }
    }

    /// The raw pool, for the benchmark's driver baseline only.
    pub fn unscoped_pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A write transaction outside any tenant, for the few cross-workspace writers (the job
    /// queue's claims). SQLite writers queue on the write gate and take the lock up front.
    pub(crate) async fn system_write(&self) -> Result<SystemTx, StoreError> {
        let (permit, tx) = match self.backend {
            Backend::Sqlite => (
                self.write_gate.clone().acquire_owned().await.ok(),
                self.pool.begin_with("BEGIN IMMEDIATE").await?,
            ),
            Backend::Postgres => (None, self.pool.begin().await?),
        };
        Ok(SystemTx {
            tx,
            _permit: permit,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn migrator_of(backend: Backend) -> &'static sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    }
}

/// The newest migration this build carries for `backend`.
pub(crate) fn latest_migration_of(backend: Backend) -> i64 {
    migrator_of(backend)
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// See [`Db::system_write`].
pub(crate) struct SystemTx {
    pub(crate) tx: sqlx::Transaction<'static, sqlx::Any>,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl SystemTx {
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
