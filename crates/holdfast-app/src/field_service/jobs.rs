//! Jobs, for the API and the console alike: create, read, list for a dispatch board, change,
//! move through their statuses. Every read and write is limited to the caller's
//! `holdfast_store::field_service::jobs::JobScope` (a technician reaches only the jobs assigned
//! to them); each change is audited and published (`job.created`, `job.updated`,
//! `job.status_changed`) in its transaction.

use crate::audit::Origin;
use crate::events::publish;
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::jobs::{
    JobFields, JobIn, JobOut, JobPatch, JobStatus, NoteIn, StatusIn, check_transition,
};
use holdfast_core::field_service::time_zone::ZoneName;
use holdfast_core::ids::JobId;
use holdfast_core::validate::FieldError;
use holdfast_core::webhooks::EventType;
use holdfast_store::TenantTx;
use holdfast_store::field_service::jobs::{self as store, Filter, Job, JobScope};
use holdfast_store::identity::auth::Actor;
use holdfast_store::{Lock, Tenant};
use serde_json::json;

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("job")
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::validation(errors)
}

/// Who did it, as the job's history keeps it.
pub(crate) fn by(origin: &Origin) -> String {
    format!("{}:{}", origin.actor_type, origin.actor_id)
}

/// The workspace's time zone, read in its own short transaction (for what is checked before a
/// write transaction opens: a new job's window, a list's time filter).
pub async fn zone(state: &App, tenant: &Tenant) -> AppResult<ZoneName> {
    let mut tx = state.db.read(tenant).await?;
    let zone = store::time_zone(&mut tx).await?;
    tx.commit().await?;
    Ok(zone)
}

/// A job the caller reaches, locked for a change in a write transaction, with the workspace's
/// time zone read in the same transaction.
pub(crate) struct ForChange<'t> {
    pub(crate) tx: TenantTx<'t>,
    pub(crate) scope: JobScope,
    pub(crate) zone: ZoneName,
    pub(crate) job: Job,
}

pub(crate) async fn for_change<'t>(
    state: &App,
    actor: &'t Actor,
    id: &JobId,
) -> AppResult<ForChange<'t>> {
    let scope = JobScope::of(actor);
    let mut tx = state.db.write(&actor.tenant).await?;
    let zone = store::time_zone(&mut tx).await?;
    let job = store::get(&mut tx, &scope, id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    Ok(ForChange {
        tx,
        scope,
        zone,
        job,
    })
}

/// Refuses ids of things the workspace does not have among those `fields` sets anew (compared
/// with `before`, for a change: a reference that was valid when it was made is not checked
/// again), and a limited caller who would not reach the job afterwards (a technician must be
/// among its technicians; an API key without `jobs.all` reaches no job).
async fn check_references(
    tx: &mut TenantTx<'_>,
    scope: &JobScope,
    fields: &JobFields,
    before: Option<&JobFields>,
) -> AppResult<()> {
    if scope.is_nothing() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this API key's role reaches no job: it needs jobs.all (a key is assigned to no job)",
        ));
    }
    let fresh = JobFields {
        technician_ids: fields
            .technician_ids
            .iter()
            .filter(|t| before.is_none_or(|b| !b.technician_ids.contains(t)))
            .cloned()
            .collect(),
        company_id: fields
            .company_id
            .clone()
            .filter(|c| before.is_none_or(|b| b.company_id.as_ref() != Some(c))),
        ..fields.clone()
    };
    let mut errors: Vec<FieldError> = store::missing_references(tx, &fresh, before.is_none())
        .await?
        .into_iter()
        .map(|(field, detail)| FieldError::new(field, detail))
        .collect();
    if let Some(member) = scope.member()
        && !fields.technician_ids.iter().any(|t| t == member)
    {
        errors.push(FieldError::new(
            "technician_ids",
            "must include you: your role reaches only the jobs you are assigned to",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid(errors))
    }
}

/// A job that is done is kept as it was; a job being worked keeps a window and a technician.
fn check_change(status: JobStatus, fields: &JobFields) -> AppResult<()> {
    if matches!(status, JobStatus::Completed | JobStatus::Cancelled) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a {} job cannot be changed{}",
                status.as_str(),
                if status == JobStatus::Cancelled {
                    "; request it again first"
                } else {
                    ""
                }
            ),
        ));
    }
    let working = matches!(
        status,
        JobStatus::Scheduled | JobStatus::EnRoute | JobStatus::InProgress
    );
    if working && (fields.window.is_none() || fields.technician_ids.is_empty()) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a {} job keeps its window and at least one technician; move it back to requested first",
                status.as_str()
            ),
        ));
    }
    Ok(())
}

/// The names of the fields a change sets to something else (for the audit trail).
fn changed(before: &JobFields, after: &JobFields) -> Vec<&'static str> {
    let mut names = Vec::new();
    let mut note = |name, differs: bool| {
        if differs {
            names.push(name);
        }
    };
    note("title", before.title != after.title);
    note("description", before.description != after.description);
    note(
        "service_address",
        before.service_address != after.service_address,
    );
    note("window", before.window != after.window);
    note(
        "technician_ids",
        before.technician_ids != after.technician_ids,
    );
    note("checklist", before.checklist != after.checklist);
    note("line_items", before.line_items != after.line_items);
    names
}

/// The job as the caller sees it, published (as `event`) without the overlap warning, which
/// is the dispatcher's and depends on who asks.
pub(crate) async fn published(
    state: &App,
    tx: &mut TenantTx<'_>,
    scope: &JobScope,
    job: Job,
    zone: &ZoneName,
    event: EventType,
) -> AppResult<JobOut> {
    let out = store::answer(tx, scope, job, zone).await?;
    let data = JobOut {
        overlapping_job_ids: Vec::new(),
        ..out.clone()
    };
    publish(tx, event, &data, state.clock.now_ms()).await?;
    Ok(out)
}

pub async fn create(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    body: &JobIn,
) -> AppResult<JobOut> {
    let zone = zone(state, &actor.tenant).await?;
    let fields = body.validate(&zone).map_err(invalid)?;
    let scope = JobScope::of(actor);
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    check_references(&mut tx, &scope, &fields, None).await?;
    let id = store::insert(&mut tx, &fields, &by(origin), now).await?;
    let job = store::get(&mut tx, &scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let out = published(state, &mut tx, &scope, job, &zone, EventType::JobCreated).await?;
    let event = origin.event(
        "job.created",
        "job",
        id.as_str(),
        json!({"contact_id": out.contact_id}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn get(state: &App, actor: &Actor, id: &str) -> AppResult<JobOut> {
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let zone = store::time_zone(&mut tx).await?;
    let scope = JobScope::of(actor);
    let job = store::get(&mut tx, &scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let out = store::answer(&mut tx, &scope, job, &zone).await?;
    tx.commit().await?;
    Ok(out)
}

/// A page of jobs for a dispatch board (`limit` + 1 read, for the caller's paging).
pub async fn list(
    state: &App,
    actor: &Actor,
    filter: &Filter,
    after: Option<&JobId>,
    limit: i64,
) -> AppResult<Vec<JobOut>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let zone = store::time_zone(&mut tx).await?;
    let scope = JobScope::of(actor);
    let jobs = store::list(&mut tx, &scope, filter, after, limit).await?;
    let out = store::answer_all(&mut tx, &scope, jobs, &zone).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn update(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    patch: &JobPatch,
) -> AppResult<JobOut> {
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let now = state.clock.now_ms();
    let ForChange {
        mut tx,
        scope,
        zone,
        job: current,
    } = for_change(state, actor, &id).await?;
    let fields = patch.apply(&current.fields, &zone).map_err(invalid)?;
    check_change(current.status, &fields)?;
    check_references(&mut tx, &scope, &fields, Some(&current.fields)).await?;
    store::update(&mut tx, &id, &fields, now).await?;
    let job = store::get(&mut tx, &scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let out = published(state, &mut tx, &scope, job, &zone, EventType::JobUpdated).await?;
    let event = origin.event(
        "job.updated",
        "job",
        id.as_str(),
        json!({"changed": changed(&current.fields, &fields)}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn change_status(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    body: &StatusIn,
) -> AppResult<JobOut> {
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let note = match body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(note) => Some(
            holdfast_core::validate::text("note", note, 1, 500).map_err(|e| invalid(vec![e]))?,
        ),
        None => None,
    };
    let now = state.clock.now_ms();
    let ForChange {
        mut tx,
        scope,
        zone,
        job,
    } = for_change(state, actor, &id).await?;
    check_transition(
        job.status,
        body.status,
        job.fields.window.is_some(),
        job.fields.technician_ids.len(),
    )
    .map_err(|e| ApiError::new(ErrorCode::Conflict, e.message))?;
    store::change_status(
        &mut tx,
        &job,
        body.status,
        &by(origin),
        note.as_deref(),
        now,
    )
    .await?;
    let from = job.status;
    let job = store::get(&mut tx, &scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let out = published(
        state,
        &mut tx,
        &scope,
        job,
        &zone,
        EventType::JobStatusChanged,
    )
    .await?;
    let event = origin.event(
        "job.status_changed",
        "job",
        id.as_str(),
        json!({"from": from.as_str(), "to": body.status.as_str()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Adds a note to a job the caller reaches (a technician: their own jobs), in any status: a
/// note on a finished job records what came after. Audited and published as `job.updated`.
pub async fn add_note(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    body: &NoteIn,
) -> AppResult<JobOut> {
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let text = body.validate().map_err(invalid)?;
    let now = state.clock.now_ms();
    let ForChange {
        mut tx,
        scope,
        zone,
        job,
    } = for_change(state, actor, &id).await?;
    let Some(note) =
        store::add_note(&mut tx, &job, body.visibility, &text, &by(origin), now).await?
    else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a job holds at most {} notes",
                holdfast_core::field_service::jobs::MAX_NOTES
            ),
        ));
    };
    let out = published(state, &mut tx, &scope, job, &zone, EventType::JobUpdated).await?;
    let event = origin.event(
        "job.note_added",
        "job",
        id.as_str(),
        json!({"note_id": note.as_str(), "visibility": body.visibility.as_str()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Sets the workspace's time zone (an IANA name); times already scheduled keep their instants.
pub async fn set_zone(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    name: &str,
) -> AppResult<String> {
    let zone = ZoneName::parse("time_zone", name).map_err(|e| invalid(vec![e]))?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = store::time_zone(&mut tx).await?;
    store::set_time_zone(&mut tx, &zone).await?;
    let event = origin.event(
        "workspace.time_zone_changed",
        "workspace",
        actor.tenant.workspace_id().as_str(),
        json!({"before": before.as_str(), "after": zone.as_str()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(zone.as_str().to_owned())
}
