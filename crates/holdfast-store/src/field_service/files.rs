//! A job's photos and files (`job_files`, 0057): rows naming bytes in the content-addressed
//! file store by SHA-256. Every function takes the [`Job`] the caller reached through
//! `jobs::get` with its [`super::jobs::JobScope`], so a file is found only under a job the
//! caller reaches (another technician's job's files do not exist for them). Inserting and
//! deleting a row counts its digest in `attachment_blobs` (triggers), which decides when the
//! bytes may go (`privacy::unscoped_release_blobs`).

use crate::error::StoreError;
use crate::field_service::jobs::Job;
use crate::tenant::TenantTx;
use holdfast_core::field_service::files::{FileKind, FileType, JobFileOut, MAX_FILES_PER_JOB};
use holdfast_core::ids::JobFileId;
use std::collections::HashMap;

/// A stored file: what is answered, and where its bytes are.
#[derive(Debug, Clone)]
pub struct JobFile {
    pub out: JobFileOut,
    pub sha256: String,
}

impl JobFile {
    /// The format its bytes showed at upload (`None` only for a row this version does not
    /// know, which is then served as a download of `application/octet-stream`).
    pub fn file_type(&self) -> Option<FileType> {
        FileType::of_content_type(&self.out.content_type)
    }
}

/// A file about to be stored (checked by the caller: type sniffed, name sanitised, size).
#[derive(Debug, Clone)]
pub struct NewJobFile<'a> {
    pub filename: &'a str,
    pub file_type: FileType,
    pub size: i64,
    pub sha256: &'a str,
    pub uploaded_by: &'a str,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    filename: String,
    content_type: String,
    size: i64,
    sha256: String,
    kind: String,
    uploaded_by: String,
    created_at: i64,
}

impl Row {
    fn file(self) -> JobFile {
        JobFile {
            out: JobFileOut {
                id: self.id,
                filename: self.filename,
                content_type: self.content_type,
                size: self.size,
                kind: FileKind::parse(&self.kind).unwrap_or(FileKind::File),
                uploaded_by: self.uploaded_by,
                created_at: self.created_at,
            },
            sha256: self.sha256,
        }
    }
}

/// The job's files, oldest first.
pub async fn list(tx: &mut TenantTx<'_>, job: &Job) -> Result<Vec<JobFileOut>, StoreError> {
    Ok(of_jobs(tx, &[job.id.as_str()])
        .await?
        .remove(job.id.as_str())
        .unwrap_or_default())
}

#[derive(sqlx::FromRow)]
struct JobRow {
    job_id: String,
    #[sqlx(flatten)]
    row: Row,
}

/// For the jobs' answers (`jobs::answer_all`), which hold the reached jobs by value: each
/// job's files, oldest first, read in one statement.
pub(crate) async fn of_jobs(
    tx: &mut TenantTx<'_>,
    jobs: &[&str],
) -> Result<HashMap<String, Vec<JobFileOut>>, StoreError> {
    let rows: Vec<JobRow> = super::jobs::per_job(
        tx,
        "SELECT job_id, id, filename, content_type, size, sha256, kind, uploaded_by, created_at \
         FROM job_files WHERE workspace_id = $1 AND job_id",
        jobs,
        " ORDER BY job_id, id",
    )
    .await?;
    let mut by_job: HashMap<String, Vec<JobFileOut>> = HashMap::new();
    for r in rows {
        by_job.entry(r.job_id).or_default().push(r.row.file().out);
    }
    Ok(by_job)
}

/// One of the job's files.
pub async fn get(
    tx: &mut TenantTx<'_>,
    job: &Job,
    id: &JobFileId,
) -> Result<Option<JobFile>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, filename, content_type, size, sha256, kind, uploaded_by, created_at \
         FROM job_files WHERE workspace_id = $1 AND job_id = $2 AND id = $3",
    )
    .bind(ws)
    .bind(job.id.as_str())
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(Row::file))
}

/// Whether the job holds [`MAX_FILES_PER_JOB`] files already (asked while the job is held,
/// before any bytes are written, so a refused upload leaves nothing on disk).
pub async fn is_full(tx: &mut TenantTx<'_>, job: &Job) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM job_files WHERE workspace_id = $1 AND job_id = $2",
    )
    .bind(ws)
    .bind(job.id.as_str())
    .fetch_one(tx.conn())
    .await?;
    Ok(count >= MAX_FILES_PER_JOB)
}

/// Records a file on a job the caller reached and holds under lock (so two uploads cannot
/// both pass the count); `None` when the job has [`MAX_FILES_PER_JOB`] already.
pub async fn insert(
    tx: &mut TenantTx<'_>,
    job: &Job,
    file: &NewJobFile<'_>,
    now_ms: i64,
) -> Result<Option<JobFileOut>, StoreError> {
    if is_full(tx, job).await? {
        return Ok(None);
    }
    let ws = tx.ws().to_owned();
    let id = JobFileId::generate(now_ms);
    let kind = file.file_type.kind();
    sqlx::query(
        "INSERT INTO job_files (workspace_id, id, job_id, filename, content_type, size, sha256, \
         kind, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(job.id.as_str())
    .bind(file.filename)
    .bind(file.file_type.content_type())
    .bind(file.size)
    .bind(file.sha256)
    .bind(kind.as_str())
    .bind(file.uploaded_by)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(Some(JobFileOut {
        id: id.to_string(),
        filename: file.filename.to_owned(),
        content_type: file.file_type.content_type().to_owned(),
        size: file.size,
        kind,
        uploaded_by: file.uploaded_by.to_owned(),
        created_at: now_ms,
    }))
}

/// Deletes one of the job's files; the row as it was (its digest is a candidate for
/// `privacy::unscoped_release_blobs` after the commit), `None` when there is no such file.
pub async fn delete(
    tx: &mut TenantTx<'_>,
    job: &Job,
    id: &JobFileId,
) -> Result<Option<JobFile>, StoreError> {
    let Some(found) = get(tx, job, id).await? else {
        return Ok(None);
    };
    let ws = tx.ws().to_owned();
    sqlx::query("DELETE FROM job_files WHERE workspace_id = $1 AND job_id = $2 AND id = $3")
        .bind(ws)
        .bind(job.id.as_str())
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok(Some(found))
}
