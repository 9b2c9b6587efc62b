//! Jobs, for the API and the console alike: create, read, list for a dispatch board, change,
//! move through their statuses. Every read and write is limited to the caller's
//! `holdfast_store::field_service::jobs::JobScope` (a technician reaches only the jobs assigned
//! to them); each change is audited and published (`job.created`, `job.updated`,
//! `job.status_changed`) in its transaction.

use crate::audit::Origin;
use crate::events::publish;
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::jobs::{JobIn, JobOut, JobPatch, StatusIn, check_transition};
use holdfast_core::field_service::time_zone::ZoneName;
use holdfast_core::ids::JobId;
use holdfast_core::validate::FieldError;
use holdfast_core::webhooks::EventType;
use holdfast_store::TenantTx;
use holdfast_store::field_service::jobs::{self as store, Filter, Job, JobScope};
use holdfast_store::identity::auth::Actor;
use holdfast_store::{Lock, Tenant};
use serde_json::json;

fn not_found() -> ApiError {
    ApiError::not_found("job")
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::validation(errors)
}

/// Who did it, as the job's history keeps it.
fn by(origin: &Origin) -> String {
    format!("{}:{}", origin.actor_type, origin.actor_id)
}

/// The workspace's time zone, read in its own short transaction.
pub async fn zone(state: &App, tenant: &Tenant) -> AppResult<ZoneName> {
    let mut tx = state.db.read(tenant).await?;
    let zone = store::time_zone(&mut tx).await?;
    tx.commit().await?;
    Ok(zone)
}

/// Refuses ids of things the workspace does not have, and a limited caller who would not
/// reach the job afterwards (a technician must be among its technicians).
async fn check_references(
    tx: &mut TenantTx<'_>,
    scope: &JobScope,
    fields: &holdfast_core::field_service::jobs::JobFields,
) -> AppResult<()> {
    let mut errors: Vec<FieldError> = store::missing_references(tx, fields)
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

async fn published(
    state: &App,
    tx: &mut TenantTx<'_>,
    job: Job,
    zone: &ZoneName,
    event: EventType,
) -> AppResult<JobOut> {
    let out = store::answer(tx, job, zone).await?;
    publish(tx, event, &out, state.clock.now_ms()).await?;
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
    check_references(&mut tx, &scope, &fields).await?;
    let id = store::insert(&mut tx, &fields, &by(origin), now).await?;
    let job = store::get(&mut tx, &scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let out = published(state, &mut tx, job, &zone, EventType::JobCreated).await?;
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
    let zone = zone(state, &actor.tenant).await?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let job = store::get(&mut tx, &JobScope::of(actor), &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let out = store::answer(&mut tx, job, &zone).await?;
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
    let zone = zone(state, &actor.tenant).await?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let jobs = store::list(&mut tx, &JobScope::of(actor), filter, after, limit).await?;
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        out.push(store::answer(&mut tx, job, &zone).await?);
    }
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
    let zone = zone(state, &actor.tenant).await?;
    let scope = JobScope::of(actor);
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = store::get(&mut tx, &scope, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    let fields = patch.apply(&current.fields, &zone).map_err(invalid)?;
    check_references(&mut tx, &scope, &fields).await?;
    store::update(&mut tx, &id, &fields, now).await?;
    let job = store::get(&mut tx, &scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let out = published(state, &mut tx, job, &zone, EventType::JobUpdated).await?;
    let event = origin.event("job.updated", "job", id.as_str(), json!({}));
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
    let zone = zone(state, &actor.tenant).await?;
    let scope = JobScope::of(actor);
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let job = store::get(&mut tx, &scope, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
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
    let out = published(state, &mut tx, job, &zone, EventType::JobStatusChanged).await?;
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
