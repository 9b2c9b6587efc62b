//! A job's photos and files, for the API and the console alike: add (a technician's photo from
//! a phone on site), list, open for download, remove. Every call reaches the job through the
//! caller's `JobScope` (a technician: only the jobs assigned to them; any other job, and so its
//! files, is 404). Adding and removing need what changing the job needs (`jobs.write`, checked
//! by the route's guard), are audited (`job.file_added`, `job.file_removed`) and publish
//! `job.updated` with the job after the change, in the change's transaction.
//!
//! The bytes go to the shared content-addressed store (`crate::attachments`); the type is the
//! one the bytes show (`holdfast_core::field_service::files::check`), never the client's word.
//!
//! For the console's job page:
//! - [`add`]`(state, actor, origin, job_id, filename, declared_type, bytes)` → the new file
//! - [`list`]`(state, actor, job_id)` → the job's files, oldest first
//! - [`open`]`(state, actor, job_id, file_id)` → a [`Download`] (bytes, type, name, `inline`)
//! - [`remove`]`(state, actor, origin, job_id, file_id)`
//!
//! Ids are taken as text (from a path) and parsed here: a malformed one is 404 like a missing one.

use crate::App;
use crate::AppResult;
use crate::audit::Origin;
use crate::field_service::jobs::{ForChange, by, for_change, not_found, published};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::files::{
    self as rules, FileType, JobFileOut, MAX_FILES_PER_JOB, sanitize_filename,
};
use holdfast_core::ids::{JobFileId, JobId};
use holdfast_core::webhooks::EventType;
use holdfast_store::Lock;
use holdfast_store::field_service::files::{self as store, NewJobFile};
use holdfast_store::field_service::jobs::{self as jobs_store, JobScope};
use holdfast_store::identity::auth::Actor;
use serde_json::json;

fn file_not_found() -> ApiError {
    ApiError::not_found("file")
}

fn job_id(text: &str) -> AppResult<JobId> {
    JobId::parse(text).ok_or_else(not_found)
}

fn file_id(text: &str) -> AppResult<JobFileId> {
    JobFileId::parse(text).ok_or_else(file_not_found)
}

/// A file ready to be sent: its bytes, the type to send them as, its name, and whether a
/// browser may show it in place (JPEG, PNG and WebP only; everything else downloads).
#[derive(Debug, Clone)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub content_type: String,
    pub filename: String,
    pub inline: bool,
}

/// Whether the caller reaches the job (404 otherwise). The upload route asks this before it
/// reads a body of up to 10 MiB, so a job out of reach costs nothing and answers 404 whatever
/// the body; [`add`] checks again under lock.
pub async fn check_reach(state: &App, actor: &Actor, job: &str) -> AppResult<()> {
    let id = job_id(job)?;
    let scope = JobScope::of(actor);
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = jobs_store::get(&mut tx, &scope, &id, Lock::Read).await?;
    tx.commit().await?;
    found.map(|_| ()).ok_or_else(not_found)
}

/// Adds a photo or file to a job the caller reaches, in any status (a photo after the work is
/// done records it). `filename` is the client's (sanitised here: no path, no control
/// characters, at most 200 characters); `declared_type` is the client's content type, only
/// named in a refusal: the bytes decide. Refused: an empty file (422), over 10 MiB (413), a
/// format other than JPEG, PNG, WebP, HEIC/HEIF or PDF (415), a job holding 50 files (409).
fn full() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!(
            "a job holds at most {MAX_FILES_PER_JOB} photos and files; remove one to add another"
        ),
    )
}

pub async fn add(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    job: &str,
    filename: &str,
    declared_type: Option<&str>,
    bytes: &[u8],
) -> AppResult<JobFileOut> {
    let id = job_id(job)?;
    let file_type = rules::check(bytes, declared_type)?;
    let filename = sanitize_filename(filename, file_type);
    let size = i64::try_from(bytes.len()).map_err(|_| rules::too_large())?;
    let now = state.clock.now_ms();
    let ForChange {
        mut tx,
        scope,
        zone,
        job,
    } = for_change(state, actor, &id).await?;
    // A full job is refused before the bytes are written, while the job is held (so two
    // uploads cannot both pass): a refused upload leaves nothing on disk.
    if store::is_full(&mut tx, &job).await? {
        return Err(full());
    }
    // Written while the job is held: a refusal above writes nothing; a commit that fails
    // after this leaves a file no row names, which is harmless.
    let sha256 =
        crate::attachments::store_attachment_async(state.config.data_dir.clone(), bytes.to_vec())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "storing a job file failed");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the file could not be stored on this server; try again shortly",
                )
            })?;
    let uploaded_by = by(origin);
    let new = NewJobFile {
        filename: &filename,
        file_type,
        size,
        sha256: &sha256,
        uploaded_by: &uploaded_by,
    };
    let Some(out) = store::insert(&mut tx, &job, &new, now).await? else {
        return Err(full());
    };
    published(state, &mut tx, &scope, job, &zone, EventType::JobUpdated).await?;
    let event = origin.event(
        "job.file_added",
        "job",
        id.as_str(),
        json!({"file_id": out.id, "kind": out.kind.as_str(), "content_type": out.content_type,
               "size": out.size}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// The photos and files of a job the caller reaches, oldest first.
pub async fn list(state: &App, actor: &Actor, job: &str) -> AppResult<Vec<JobFileOut>> {
    let id = job_id(job)?;
    let scope = JobScope::of(actor);
    let mut tx = state.db.read(&actor.tenant).await?;
    let job = jobs_store::get(&mut tx, &scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let files = store::list(&mut tx, &job).await?;
    tx.commit().await?;
    Ok(files)
}

/// One file of a job the caller reaches, with its bytes. A row whose bytes are missing on this
/// server is logged and answered 404 with a detail saying so.
pub async fn open(state: &App, actor: &Actor, job: &str, file: &str) -> AppResult<Download> {
    let id = job_id(job)?;
    let scope = JobScope::of(actor);
    let mut tx = state.db.read(&actor.tenant).await?;
    let job = jobs_store::get(&mut tx, &scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let file_id = file_id(file)?;
    let found = store::get(&mut tx, &job, &file_id)
        .await?
        .ok_or_else(file_not_found)?;
    tx.commit().await?;
    let bytes = crate::attachments::read_attachment(&state.config.data_dir, &found.sha256)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, file = %found.out.id, "a job file's bytes are missing");
            ApiError::new(
                ErrorCode::NotFound,
                "the file's bytes are missing on this server",
            )
        })?;
    let file_type = found.file_type();
    Ok(Download {
        bytes,
        content_type: file_type
            .map(FileType::content_type)
            .unwrap_or("application/octet-stream")
            .to_owned(),
        filename: found.out.filename,
        inline: file_type.is_some_and(FileType::inline),
    })
}

/// Removes a file from a job the caller reaches; its bytes are deleted after the commit when
/// nothing else (another job, a ticket attachment, of any workspace) refers to them.
pub async fn remove(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    job: &str,
    file: &str,
) -> AppResult<()> {
    let id = job_id(job)?;
    let now = state.clock.now_ms();
    let ForChange {
        mut tx,
        scope,
        zone,
        job,
    } = for_change(state, actor, &id).await?;
    let file_id = file_id(file)?;
    let gone = store::delete(&mut tx, &job, &file_id)
        .await?
        .ok_or_else(file_not_found)?;
    published(state, &mut tx, &scope, job, &zone, EventType::JobUpdated).await?;
    let event = origin.event(
        "job.file_removed",
        "job",
        id.as_str(),
        json!({"file_id": gone.out.id, "kind": gone.out.kind.as_str()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    crate::attachments::remove_files(&state.db, &state.config.data_dir, &[gone.sha256]).await;
    Ok(())
}
