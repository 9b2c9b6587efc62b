//! The database side of backups: a consistent snapshot of the running database and its load
//! into an empty one. SQLite: `VACUUM INTO` a file (one read transaction, so one point in time)
//! and that file opened read-only to count and check it. PostgreSQL: every Holdfast table read
//! in ONE `REPEATABLE READ` transaction as JSON lines (`to_jsonb`, in primary-key order),
//! workspace by workspace for the tables under row-level security; loaded in one transaction,
//! parents before children, with row-level security and the tables' own triggers paused for it
//! (the loading role owns the tables; the values, derived ones included, are the snapshot's).
//!
//! Table and column names here come from the database's own catalog, never from input: each is
//! checked to be a plain lower-case identifier ([`identifier`]) before it is written into a
//! statement, which is the promise `AssertSqlSafe` asks for.

use crate::db::{Backend, Db};
use crate::error::StoreError;
use futures_util::TryStreamExt;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The latest schema version this build knows (its newest migration).
pub fn latest_schema_version(db: &Db) -> i64 {
    db.latest_migration()
}

/// The latest schema version this build knows for a backend.
pub fn latest_schema_version_of(backend: Backend) -> i64 {
    crate::db::latest_migration_of(backend)
}

/// The schema version the database is at (0 for a database never migrated).
pub async fn schema_version(db: &Db) -> Result<i64, StoreError> {
    let exists = match db.backend() {
        Backend::Sqlite => sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        ),
        Backend::Postgres => sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename = '_sqlx_migrations'",
        ),
    }
    .fetch_one(&db.pool)
    .await?;
    if exists == 0 {
        return Ok(0);
    }
    let version: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&db.pool)
        .await?;
    Ok(version.unwrap_or(0))
}

/// `name` if it is a plain lower-case SQL identifier (what every Holdfast table and column is
/// called), so it can stand in a statement as written.
pub fn identifier(name: &str) -> Result<&str, StoreError> {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63;
    if plain {
        Ok(name)
    } else {
        Err(StoreError::Setup(format!(
            "unexpected table or column name {name:?} in the catalog"
        )))
    }
}

/// Writes a consistent copy of a SQLite database to `path` (which must not exist) while
/// other connections keep writing.
pub async fn unscoped_sqlite_snapshot(db: &Db, path: &Path) -> Result<(), StoreError> {
    if db.backend() != Backend::Sqlite {
        return Err(StoreError::Setup("not a SQLite database".into()));
    }
    let path = path
        .to_str()
        .ok_or_else(|| StoreError::Setup("the snapshot path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(path.to_owned())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A SQLite snapshot opened read-only, to count and check it (never written).
pub struct Snapshot {
    db: Db,
}

impl Snapshot {
    pub async fn open(path: &Path) -> Result<Snapshot, StoreError> {
        let db = Db::open_read_only(path).await?;
        Ok(Snapshot { db })
    }

    /// The snapshot as a database handle, for read-only checks (the audit chain).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// `PRAGMA integrity_check`: `Ok` when SQLite finds nothing, else its findings.
    pub async fn integrity(&self) -> Result<Result<(), String>, StoreError> {
        let lines: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.db.pool)
            .await?;
        Ok(if lines.len() == 1 && lines[0] == "ok" {
            Ok(())
        } else {
            Err(lines.join("; "))
        })
    }

    /// Rows per table (every table but the migration ledger), by name.
    pub async fn counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&self.db.pool)
        .await?;
        count_tables(&self.db.pool, &tables).await
    }

    pub async fn close(self) {
        self.db.close().await;
    }
}

async fn count_tables(
    pool: &AnyPool,
    tables: &[String],
) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut counts = BTreeMap::new();
    for table in tables {
        let statement = format!("SELECT count(*) FROM {}", identifier(table)?);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(statement))
            .fetch_one(pool)
            .await?;
        counts.insert(table.clone(), u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// A PostgreSQL table of the current schema: its name and whether row-level security applies.
struct PgTable {
    name: String,
    secured: bool,
}

async fn pg_tables(conn: &mut sqlx::AnyConnection) -> Result<Vec<PgTable>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.relname::text AS name, CASE WHEN c.relrowsecurity THEN 1 ELSE 0 END::bigint AS secured \
         FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace \
         AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations' ORDER BY c.relname",
    )
    .fetch_all(&mut *conn)
    .await?;
    let tables: Vec<PgTable> = rows
        .iter()
        .map(|r| {
            Ok(PgTable {
                name: r.try_get::<String, _>("name")?,
                secured: r.try_get::<i64, _>("secured")? == 1,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT child.relname::text, parent.relname::text FROM pg_constraint k \
         JOIN pg_class child ON child.oid = k.conrelid \
         JOIN pg_class parent ON parent.oid = k.confrelid \
         WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(parents_first(tables, &edges))
}

/// Orders tables so that every table comes after the tables its foreign keys reference (a
/// table's references to itself aside); ties by name.
fn parents_first(tables: Vec<PgTable>, edges: &[(String, String)]) -> Vec<PgTable> {
    let mut pending: BTreeMap<String, PgTable> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut placed = BTreeSet::new();
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready: Vec<String> = pending
            .keys()
            .filter(|name| {
                edges.iter().all(|(child, parent)| {
                    child != *name
                        || parent == *name
                        || placed.contains(parent)
                        || !pending.contains_key(parent)
                })
            })
            .cloned()
            .collect();
        // A cycle between tables (none today) loads in name order and fails loudly if it must.
        let ready = if ready.is_empty() {
            pending.keys().take(1).cloned().collect()
        } else {
            ready
        };
        for name in ready {
            if let Some(table) = pending.remove(&name) {
                placed.insert(name);
                ordered.push(table);
            }
        }
    }
    ordered
}

/// Reads every Holdfast table of a PostgreSQL database in one `REPEATABLE READ` transaction,
/// parents before children, handing `row` each table's name and then its rows as JSON text
/// (`None` marks the start of a table). Returns the tables in that order with their counts.
pub async fn unscoped_postgres_dump(
    db: &Db,
    mut row: impl FnMut(&str, Option<&str>) -> Result<(), String>,
) -> Result<Vec<(String, u64)>, StoreError> {
    if db.backend() != Backend::Postgres {
        return Err(StoreError::Setup("not a PostgreSQL database".into()));
    }
    let mut tx = db
        .pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let tables = pg_tables(&mut tx).await?;
    let workspaces: Vec<String> = if tables.iter().any(|t| t.name == "workspaces") {
        sqlx::query_scalar("SELECT id FROM workspaces ORDER BY id")
            .fetch_all(&mut *tx)
            .await?
    } else {
        Vec::new()
    };
    let mut counts = Vec::with_capacity(tables.len());
    for table in &tables {
        let name = identifier(&table.name)?;
        row(name, None).map_err(StoreError::Setup)?;
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = $1::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
        let key = key
            .iter()
            .map(|c| identifier(c).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        // In primary-key order, so the same data dumps the same way.
        let statement = if key.is_empty() {
            format!("SELECT to_jsonb(t)::text FROM {name} t")
        } else {
            format!(
                "SELECT to_jsonb(t)::text FROM {name} t ORDER BY {}",
                key.join(", ")
            )
        };
        let mut n = 0u64;
        // Row-level security shows a secured table one workspace at a time.
        let scopes: Vec<Option<&String>> = if table.secured {
            workspaces.iter().map(Some).collect()
        } else {
            vec![None]
        };
        for scope in scopes {
            if let Some(ws) = scope {
                sqlx::query("SELECT set_config('app.workspace_id', $1, true)")
                    .bind(ws.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            let mut rows =
                sqlx::query_scalar::<_, String>(AssertSqlSafe(statement.clone())).fetch(&mut *tx);
            while let Some(text) = rows.try_next().await? {
                row(name, Some(&text)).map_err(StoreError::Setup)?;
                n += 1;
            }
        }
        counts.push((table.name.clone(), n));
    }
    tx.commit().await?;
    Ok(counts)
}

/// Rows per Holdfast table of a PostgreSQL database, every workspace's (for comparing a
/// restored database with its backup's manifest).
pub async fn unscoped_postgres_counts(db: &Db) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut counts = BTreeMap::new();
    unscoped_postgres_dump(db, |table, row| {
        let n = counts.entry(table.to_owned()).or_insert(0u64);
        if row.is_some() {
            *n += 1;
        }
        Ok(())
    })
    .await?;
    Ok(counts)
}

/// A load into an empty, migrated PostgreSQL database: one transaction, committed by
/// [`PostgresLoad::finish`]; dropped unfinished, it rolls back and leaves the database empty.
pub struct PostgresLoad {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    tables: Vec<PgTable>,
    forced: Vec<String>,
    columns: BTreeMap<String, String>,
}

impl PostgresLoad {
    /// Opens the load: pauses row-level security and the tables' triggers for this
    /// transaction's duration, then refuses unless every table is empty.
    pub async fn unscoped_begin(db: &Db) -> Result<PostgresLoad, StoreError> {
        if db.backend() != Backend::Postgres {
            return Err(StoreError::Setup("not a PostgreSQL database".into()));
        }
        refuse_visible_rows(db).await?;
        let mut tx = db.pool.begin().await?;
        let tables = pg_tables(&mut tx).await?;
        let forced: Vec<String> = sqlx::query_scalar(
            "SELECT relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace \
             AND relkind = 'r' AND relforcerowsecurity ORDER BY relname",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut columns = BTreeMap::new();
        for table in &tables {
            let name = identifier(&table.name)?;
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 AND is_generated = 'NEVER' ORDER BY ordinal_position",
            )
            .bind(name)
            .fetch_all(&mut *tx)
            .await?;
            let names = names
                .iter()
                .map(|c| identifier(c).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?;
            columns.insert(name.to_owned(), names.join(", "));
            sqlx::query(AssertSqlSafe(format!(
                "ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY"
            )))
            .execute(&mut *tx)
            .await?;
            sqlx::query(AssertSqlSafe(format!(
                "ALTER TABLE {name} DISABLE TRIGGER USER"
            )))
            .execute(&mut *tx)
            .await?;
        }
        let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
        let counts = count_tables_tx(&mut tx, &names).await?;
        if let Some((table, n)) = counts.iter().find(|(_, n)| **n > 0) {
            return Err(StoreError::Setup(format!(
                "the target database is not empty (table {table} has {n} rows); restore into an \
                 empty database"
            )));
        }
        Ok(PostgresLoad {
            tx,
            tables,
            forced,
            columns,
        })
    }

    /// The tables this database has, parents first.
    pub fn tables(&self) -> Vec<String> {
        self.tables.iter().map(|t| t.name.clone()).collect()
    }

    /// Inserts `rows` (a JSON array of the table's rows as the dump wrote them) into `table`.
    pub async fn load(&mut self, table: &str, rows: &str) -> Result<u64, StoreError> {
        let name = identifier(table)?;
        let columns = self.columns.get(name).ok_or_else(|| {
            StoreError::Setup(format!(
                "the backup has table {name}, which this database does not"
            ))
        })?;
        let statement = format!(
            "INSERT INTO {name} ({columns}) SELECT {columns} \
             FROM json_populate_recordset(NULL::{name}, $1::json)"
        );
        let done = sqlx::query(AssertSqlSafe(statement))
            .bind(rows.to_owned())
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    /// Turns triggers and forced row-level security back on and commits.
    pub async fn finish(mut self) -> Result<(), StoreError> {
        for table in &self.tables {
            let name = identifier(&table.name)?;
            sqlx::query(AssertSqlSafe(format!(
                "ALTER TABLE {name} ENABLE TRIGGER USER"
            )))
            .execute(&mut *self.tx)
            .await?;
        }
        for table in &self.forced {
            let name = identifier(table)?;
            sqlx::query(AssertSqlSafe(format!(
                "ALTER TABLE {name} FORCE ROW LEVEL SECURITY"
            )))
            .execute(&mut *self.tx)
            .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// Refuses a PostgreSQL database whose tables outside row-level security hold rows (the
/// workspaces and accounts of a live instance show there), without locking anything.
pub async fn refuse_visible_rows(db: &Db) -> Result<(), StoreError> {
    let mut conn = db.pool.acquire().await?;
    let open: Vec<String> = pg_tables(&mut conn)
        .await?
        .into_iter()
        .filter(|t| !t.secured)
        .map(|t| t.name)
        .collect();
    let counts = count_tables(&db.pool, &open).await?;
    match counts.iter().find(|(_, n)| **n > 0) {
        Some((table, n)) => Err(StoreError::Setup(format!(
            "the target database is not empty (table {table} has {n} rows); restore into an \
             empty database"
        ))),
        None => Ok(()),
    }
}

async fn count_tables_tx(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tables: &[String],
) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut counts = BTreeMap::new();
    for table in tables {
        let statement = format!("SELECT count(*) FROM {}", identifier(table)?);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(statement))
            .fetch_one(&mut **tx)
            .await?;
        counts.insert(table.clone(), u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// Whether a PostgreSQL database (its current schema) has any Holdfast table yet.
pub async fn postgres_has_tables(db: &Db) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename <> '_sqlx_migrations'",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// Claims the scheduled backup of UTC day `day` for this instance: true when the day had no
/// run yet, or its run was claimed before `stale_before` and never finished (that instance
/// died). One instance wins the insert or the update.
pub async fn unscoped_claim_backup_day(
    db: &Db,
    day: i64,
    now_ms: i64,
    stale_before: i64,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO backup_runs (day, claimed_at) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
    )
    .bind(day)
    .bind(now_ms)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(true);
    }
    let retaken = sqlx::query(
        "UPDATE backup_runs SET claimed_at = $2 \
         WHERE day = $1 AND finished_at IS NULL AND claimed_at < $3",
    )
    .bind(day)
    .bind(now_ms)
    .bind(stale_before)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(retaken == 1)
}

/// What a scheduled backup did: the file, its size and duration, or why it failed (`error`).
pub struct RunOutcome<'a> {
    pub file: &'a str,
    pub bytes: u64,
    pub millis: u64,
    pub error: &'a str,
}

/// Records how the day's scheduled backup ended.
pub async fn unscoped_finish_backup_day(
    db: &Db,
    day: i64,
    now_ms: i64,
    outcome: RunOutcome<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE backup_runs SET finished_at = $2, file = $3, bytes = $4, millis = $5, error = $6 \
         WHERE day = $1",
    )
    .bind(day)
    .bind(now_ms)
    .bind(outcome.file.to_owned())
    .bind(i64::try_from(outcome.bytes).unwrap_or(i64::MAX))
    .bind(i64::try_from(outcome.millis).unwrap_or(i64::MAX))
    .bind(outcome.error.to_owned())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// When the last scheduled backup succeeded, and when the first was ever claimed (the
/// schedule's start), in UTC milliseconds.
pub async fn unscoped_backup_history(db: &Db) -> Result<(Option<i64>, Option<i64>), StoreError> {
    let row: (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT max(finished_at) FROM backup_runs WHERE finished_at IS NOT NULL AND error = ''), \
         (SELECT min(claimed_at) FROM backup_runs)",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::{PgTable, identifier, parents_first};

    #[test]
    fn only_plain_identifiers_pass() {
        assert!(identifier("ticket_messages").is_ok());
        assert!(identifier("_sqlx_migrations").is_ok());
        for bad in [
            "",
            "Tickets",
            "a b",
            "t; DROP TABLE x",
            "x\"",
            "1abc",
            "naïve",
        ] {
            assert!(identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parents_come_before_children() {
        let t = |name: &str| PgTable {
            name: name.into(),
            secured: false,
        };
        let edges = [
            ("tickets".to_owned(), "contacts".to_owned()),
            ("contacts".to_owned(), "workspaces".to_owned()),
            ("tickets".to_owned(), "tickets".to_owned()),
            ("attachments".to_owned(), "tickets".to_owned()),
        ];
        let order: Vec<String> = parents_first(
            vec![
                t("attachments"),
                t("contacts"),
                t("tickets"),
                t("workspaces"),
            ],
            &edges,
        )
        .into_iter()
        .map(|t| t.name)
        .collect();
        assert_eq!(order, ["workspaces", "contacts", "tickets", "attachments"]);
    }
}
