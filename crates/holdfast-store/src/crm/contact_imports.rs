//! CSV imports of contacts: the file, its options, and its progress and report. The import job
//! (`contacts.import`) advances `rows_processed` in the same transaction as the rows it wrote,
//! so an import taken over after a crash resumes where the last commit left it.

use crate::error::StoreError;
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::crm::contact_import::ImportOut;
use holdfast_core::ids::ContactImportId;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    status: String,
    mode: String,
    rows_total: i64,
    rows_processed: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    errors: String,
    failure: Option<String>,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

impl From<Row> for ImportOut {
    fn from(r: Row) -> Self {
        ImportOut {
            id: r.id,
            status: r.status,
            mode: r.mode,
            rows_total: r.rows_total,
            rows_processed: r.rows_processed,
            created: r.created,
            updated: r.updated,
            skipped: r.skipped,
            // Written only by `advance`/`finish` below, always a JSON array of RowError.
            errors: serde_json::from_str(&r.errors).unwrap_or_default(),
            failure: r.failure,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

const COLUMNS: &str = "id, status, mode, rows_total, rows_processed, created, updated, skipped, \
    errors, failure, created_at, updated_at, finished_at";

/// A stored import with what the job needs to run it.
pub struct ImportJob {
    pub import: ImportOut,
    pub options: String,
    pub csv: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut TenantTx<'_>,
    mode: &str,
    options: &serde_json::Value,
    csv: &str,
    rows_total: i64,
    created_by: Option<&str>,
    now_ms: i64,
) -> Result<ImportOut, StoreError> {
    let id = ContactImportId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO contact_imports (workspace_id, id, status, mode, options, csv, rows_total, created_by, created_at, updated_at) \
         VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(mode)
    .bind(options.to_string())
    .bind(csv)
    .bind(rows_total)
    .bind(created_by)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(ImportOut {
        id: id.to_string(),
        status: "queued".into(),
        mode: mode.to_owned(),
        rows_total,
        rows_processed: 0,
        created: 0,
        updated: 0,
        skipped: 0,
        errors: Vec::new(),
        failure: None,
        created_at: now_ms,
        updated_at: now_ms,
        finished_at: None,
    })
}

pub async fn get(
    tx: &mut TenantTx<'_>,
    id: &ContactImportId,
) -> Result<Option<ImportOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM contact_imports WHERE workspace_id = $1 AND id = $2",
    ]);
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(ImportOut::from))
}

/// The import with its file, locked for the transaction on PostgreSQL (the job's start).
pub async fn get_job(
    tx: &mut TenantTx<'_>,
    id: &ContactImportId,
) -> Result<Option<ImportJob>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct JobRow {
        #[sqlx(flatten)]
        row: Row,
        options: String,
        csv: String,
    }
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        ", options, csv FROM contact_imports WHERE workspace_id = $1 AND id = $2",
        Lock::ForUpdate.clause(tx.backend),
    ]);
    let ws = tx.ws().to_owned();
    let row: Option<JobRow> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(|r| ImportJob {
        import: ImportOut::from(r.row),
        options: r.options,
        csv: r.csv,
    }))
}

/// The import's progress, locked for the transaction on PostgreSQL (SQLite writers hold the
/// write gate): what a chunk reads before writing, without the file.
pub async fn lock_progress(
    tx: &mut TenantTx<'_>,
    id: &ContactImportId,
) -> Result<Option<ImportOut>, StoreError> {
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM contact_imports WHERE workspace_id = $1 AND id = $2",
        Lock::ForUpdate.clause(tx.backend),
    ]);
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(ImportOut::from))
}

/// Progress after a chunk, in the chunk's transaction.
pub async fn advance(
    tx: &mut TenantTx<'_>,
    import: &ImportOut,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE contact_imports SET status = $3, rows_processed = $4, created = $5, updated = $6, \
         skipped = $7, errors = $8, failure = $9, updated_at = $10, finished_at = $11 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(&import.id)
    .bind(&import.status)
    .bind(import.rows_processed)
    .bind(import.created)
    .bind(import.updated)
    .bind(import.skipped)
    .bind(serde_json::to_string(&import.errors).unwrap_or_else(|_| "[]".into()))
    .bind(import.failure.as_deref())
    .bind(now_ms)
    .bind(import.finished_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Who started the import (`usr_…`/`key_…`), for the consent log of the rows it writes.
pub async fn started_by(tx: &mut TenantTx<'_>, id: &str) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    let found: Option<Option<String>> = sqlx::query_scalar(
        "SELECT created_by FROM contact_imports WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.flatten())
}
