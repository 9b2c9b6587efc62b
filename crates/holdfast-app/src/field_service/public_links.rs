//! A job's public link for the customer: issued (again) and revoked by a member who reaches
//! the job (the store's `JobScope`: a technician only their own jobs), audited as
//! `job.public_link_issued` / `job.public_link_revoked`; and the page it opens, `/p/jobs/{token}`,
//! which shows the workspace's name, the job's title, its status in words, its window in the
//! workspace's time zone, the first names of its technicians and its customer-visible notes —
//! never internal notes, amounts, addresses or contacts. A link that opens nothing (malformed,
//! unknown, revoked, expired, its job gone, field service off, the workspace suspended) is
//! `None`, so the page answers one 404 for all of them. Rules: `holdfast_core::public_links`.

use crate::audit::Origin;
use crate::public_links::{self as links, Subject};
use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::error::ApiError;
use holdfast_core::field_service::jobs::{JobStatus, WindowOut};
use holdfast_core::field_service::time_zone::ZoneName;
use holdfast_core::ids::JobId;
use holdfast_core::public_links::{self as rules, PublicLinkKind};
use holdfast_store::field_service::jobs::{self as jobs, JobScope, PublicJob};
use holdfast_store::identity::auth::Actor;
use holdfast_store::public_links as store;
use holdfast_store::{Lock, StoreError};

fn not_found() -> ApiError {
    ApiError::not_found("job")
}

pub use crate::public_links::IssuedLink;

fn subject(id: &JobId) -> Subject<'_> {
    Subject {
        kind: PublicLinkKind::Job,
        name: "job",
        issued: "job.public_link_issued",
        revoked: "job.public_link_revoked",
        id: id.as_str(),
    }
}

/// Issues a public link for a job the caller reaches, revoking the one before (which opens
/// nothing from then on).
pub async fn issue_job_link(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
) -> AppResult<IssuedLink> {
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let scope = JobScope::of(actor);
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    jobs::get(&mut tx, &scope, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    let issued = links::issue(state, &mut tx, origin, &subject(&id), now).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Revokes the job's live public link, if it has one (`true` when it had).
pub async fn revoke_job_link(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
) -> AppResult<bool> {
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let scope = JobScope::of(actor);
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    jobs::get(&mut tx, &scope, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    let revoked = links::revoke(&mut tx, origin, &subject(&id), now).await?;
    tx.commit().await?;
    Ok(revoked)
}

/// What a job's public page shows.
#[derive(Debug, Clone)]
pub struct JobPage {
    pub workspace: String,
    pub title: String,
    pub status: JobStatus,
    /// The status as the customer reads it.
    pub status_words: &'static str,
    pub window: Option<WindowOut>,
    /// First names only; a technician without a name is not listed.
    pub technicians: Vec<String>,
    /// Customer-visible notes: (local time in the workspace's zone, text), oldest first.
    pub notes: Vec<(String, String)>,
}

/// The page a job's link opens, or `None` when it opens nothing.
pub async fn job_page(state: &App, token: &str) -> AppResult<Option<JobPage>> {
    let Some(hash) = rules::token_hash(PublicLinkKind::Job, token) else {
        return Ok(None);
    };
    let Some((tenant, subject)) =
        store::unscoped_public_link_target(&state.db, PublicLinkKind::Job, &hash).await?
    else {
        return Ok(None);
    };
    let Some(id) = JobId::parse(&subject) else {
        return Ok(None);
    };
    let mut tx = match state.db.read(&tenant).await {
        Ok(tx) => tx,
        Err(StoreError::Suspended) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !holdfast_store::access::workspaces::modules(&mut tx)
        .await?
        .contains(Module::FieldService)
    {
        return Ok(None);
    }
    let Some(job) = jobs::public_view(&mut tx, &id).await? else {
        return Ok(None);
    };
    let expires_at = rules::job_link_expires_at(job.status, job.finished_at);
    if rules::is_expired(expires_at, state.clock.now_ms()) {
        return Ok(None);
    }
    let zone = jobs::time_zone(&mut tx).await?;
    let workspace = holdfast_store::access::workspaces::get(&mut tx)
        .await?
        .map(|w| w.name)
        .unwrap_or_default();
    tx.commit().await?;
    Ok(Some(customer_view(workspace, job, &zone)))
}

/// A job as its customer reads it (a public link's page, or the client portal's), from what
/// the store read within the customer's reach: the status in words, the window in the
/// workspace's zone, technicians by first name, the customer-visible notes.
pub fn customer_view(workspace: String, job: PublicJob, zone: &ZoneName) -> JobPage {
    JobPage {
        workspace,
        title: job.title,
        status: job.status,
        status_words: rules::job_status_words(job.status),
        window: job.window.map(|w| WindowOut::of(w, zone)),
        technicians: job
            .technician_names
            .iter()
            .flatten()
            .filter_map(|name| rules::first_name(name))
            .collect(),
        notes: job
            .customer_notes
            .into_iter()
            .map(|(at, body)| (zone.local(at), body))
            .collect(),
    }
}
