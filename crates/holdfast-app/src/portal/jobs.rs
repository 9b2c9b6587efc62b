//! A signed-in customer's own jobs (their visits), for the client portal's pages and API:
//! listed, and one read whole as the customer may read it — the same view a job's public link
//! gives (`field_service::public_links::customer_view`: status in words, window in the
//! workspace's zone, technicians by first name, customer-visible notes; never internal notes,
//! amounts or addresses). Read through the customer's scope, so another contact's job is 404.
//! The portal's routes sit in the `client_portal` module; field service off in the workspace
//! is a 404 here too.

use crate::field_service::public_links::customer_view;
use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::jobs::{JobStatus, Window, WindowOut};
use holdfast_core::ids::JobId;
use holdfast_core::public_links::job_status_words;
use holdfast_store::field_service::jobs::time_zone;
use holdfast_store::portal::auth::PortalActor;
use holdfast_store::portal::jobs as store;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One of the customer's jobs in a list.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalJobOut {
    pub id: String,
    pub title: String,
    pub status: JobStatus,
    /// The status as the customer reads it, like "On the way".
    pub status_words: String,
    /// When the visit is planned: UTC and the workspace's local times; null until scheduled.
    pub window: Option<WindowOut>,
}

/// A note the team left for the customer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalNoteOut {
    /// When it was written, in the workspace's time zone (`2026-12-08T09:00`).
    pub at: String,
    pub body: String,
}

/// One of the customer's jobs, whole as the customer may read it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalJobDetailOut {
    pub id: String,
    pub title: String,
    pub status: JobStatus,
    /// The status as the customer reads it, like "On the way".
    pub status_words: String,
    pub window: Option<WindowOut>,
    /// The technicians' first names.
    pub technicians: Vec<String>,
    /// The notes the team left for the customer, oldest first (internal notes never).
    pub notes: Vec<PortalNoteOut>,
}

/// Refuses the customer's jobs when field service is off in their workspace: 404, as if the
/// routes were not there (the portal's routes sit in the `client_portal` module only).
fn field_service_on(actor: &PortalActor) -> AppResult<()> {
    if actor.modules.contains(Module::FieldService) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            "visits are not shown in this client portal: the field_service module is off in \
             this workspace",
        ))
    }
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no visit of yours with this id")
}

/// The customer's jobs, newest first, after the cursor `after` (`limit` rows at most).
pub async fn list(
    app: &App,
    actor: &PortalActor,
    after: Option<&JobId>,
    limit: i64,
) -> AppResult<Vec<PortalJobOut>> {
    field_service_on(actor)?;
    let mut tx = app.db.read(&actor.tenant).await?;
    let zone = time_zone(&mut tx).await?;
    let rows = store::list(&mut tx, &actor.scope, after, limit).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|j| {
            let status = JobStatus::parse(&j.status).unwrap_or(JobStatus::Requested);
            PortalJobOut {
                id: j.id,
                title: j.title,
                status,
                status_words: job_status_words(status).to_owned(),
                window: match (j.window_start, j.window_end) {
                    (Some(start_ms), Some(end_ms)) => {
                        Some(WindowOut::of(Window { start_ms, end_ms }, &zone))
                    }
                    _ => None,
                },
            }
        })
        .collect())
}

/// One of the customer's jobs; 404 for a malformed id and for any job that is not theirs.
pub async fn get(app: &App, actor: &PortalActor, id: &str) -> AppResult<PortalJobDetailOut> {
    field_service_on(actor)?;
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let mut tx = app.db.read(&actor.tenant).await?;
    let job = store::get(&mut tx, &actor.scope, &id)
        .await?
        .ok_or_else(not_found)?;
    let zone = time_zone(&mut tx).await?;
    tx.commit().await?;
    let view = customer_view(actor.workspace_name.clone(), job, &zone);
    Ok(PortalJobDetailOut {
        id: id.to_string(),
        title: view.title,
        status: view.status,
        status_words: view.status_words.to_owned(),
        window: view.window,
        technicians: view.technicians,
        notes: view
            .notes
            .into_iter()
            .map(|(at, body)| PortalNoteOut { at, body })
            .collect(),
    })
}
