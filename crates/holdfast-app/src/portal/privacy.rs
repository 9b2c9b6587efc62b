//! A signed-in customer's consent preferences and their data, for the client portal's pages
//! and its API alike, through the very functions the preference center uses: their choices
//! per channel (`crm::consent::own_choices`, logged as the contact's own act with source
//! `portal`, the request's address and user agent), a copy of their data
//! (`privacy::subject::mail_data_link`: the session alone is not enough to hand it over, so a
//! single-use link goes to the address on file) and a deletion request staff decide
//! (`privacy::subject::file_erasure_request`). Every call names the contact of the customer's
//! scope (`scope.contact()`), never an id from the request, so no customer reaches another's
//! consent or data. The routes sit in the `client_portal` module only: a person's rights over
//! their data do not depend on which of the business's modules are on.

use crate::audit::Origin;
use crate::crm::consent::{contacts_own, own_choices, own_view};
use crate::privacy::subject::{DataLink, file_erasure_request, mail_data_link};
use crate::{App, AppResult};
use holdfast_core::crm::consent::{Channel, Source, Status};
use holdfast_core::crm::preferences::PreferencesOut;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::time_zone::ZoneName;
use holdfast_core::privacy::ErasureRequestOut;
use holdfast_store::Lock;
use holdfast_store::crm::consent as consent_store;
use holdfast_store::portal::auth::PortalActor;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What asking for a copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// A single-use link, valid for one hour, is on its way to the address on file.
    Mailed,
    /// One was mailed in the last ten minutes: no second one is sent; use that one.
    AlreadyMailed,
}

/// `POST /api/portal/v1/data/export`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalExportOut {
    pub status: ExportStatus,
}

/// Where the customer's request to delete their data stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureStatus {
    /// Never asked for.
    None,
    /// Waiting for the business's decision, due by `due_at`.
    Open,
    /// The business declined (`reason` says why); a new request may be filed.
    Rejected,
    /// Approved: the data is being deleted (the portal closes with it).
    Approved,
}

/// `GET`/`POST /api/portal/v1/data/erasure-request`: the customer's latest request to delete
/// their data (who decided is the business's own, not shown).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalErasureOut {
    pub status: ErasureStatus,
    pub id: Option<String>,
    /// Epoch ms.
    pub requested_at: Option<i64>,
    /// The business decides by then (30 days after asking).
    pub due_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// Why it was declined.
    pub reason: Option<String>,
}

impl PortalErasureOut {
    fn of(latest: Option<ErasureRequestOut>) -> PortalErasureOut {
        let Some(r) = latest else {
            return PortalErasureOut {
                status: ErasureStatus::None,
                id: None,
                requested_at: None,
                due_at: None,
                decided_at: None,
                reason: None,
            };
        };
        PortalErasureOut {
            status: match r.status.as_str() {
                "open" => ErasureStatus::Open,
                "approved" => ErasureStatus::Approved,
                _ => ErasureStatus::Rejected,
            },
            id: Some(r.id),
            requested_at: Some(r.requested_at),
            due_at: Some(r.due_at),
            decided_at: r.decided_at,
            reason: r.reason,
        }
    }
}

/// The deletion request with the workspace's zone, for a page to show its dates.
pub struct Erasure {
    pub out: PortalErasureOut,
    pub zone: ZoneName,
}

impl Erasure {
    /// `ms` as a day in the workspace's zone, like `2026-12-08`.
    pub fn day(&self, ms: i64) -> String {
        self.zone
            .local(ms)
            .split('T')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The signed-in customer is gone (erased while the request ran): nothing to show.
fn gone() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "your record is no longer held here; sign in again if you still have access",
    )
}

/// The customer's choice for each channel, and Do Not Contact.
pub async fn preferences(app: &App, actor: &PortalActor) -> AppResult<PreferencesOut> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let standing = consent_store::standing(&mut tx, actor.scope.contact(), Lock::Read)
        .await?
        .ok_or_else(gone)?;
    tx.commit().await?;
    Ok(own_view(&standing))
}

/// Records the customer's choices (already validated: `holdfast_core::crm::preferences`) as
/// their own act, source `portal`, with `origin`'s address and user agent; a choice equal to
/// the current one writes nothing. Answers the choices as they now stand.
pub async fn change_preferences(
    app: &App,
    actor: &PortalActor,
    origin: &Origin,
    choices: &[(Channel, Status)],
) -> AppResult<PreferencesOut> {
    let contact = actor.scope.contact();
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    let before = consent_store::standing(&mut tx, contact, Lock::ForUpdate)
        .await?
        .ok_or_else(gone)?;
    let who = contacts_own(origin, Source::Portal, None);
    own_choices(&mut tx, contact, &before, choices, &who, now).await?;
    let after = consent_store::standing(&mut tx, contact, Lock::Read)
        .await?
        .ok_or_else(gone)?;
    tx.commit().await?;
    Ok(own_view(&after))
}

/// "Download my data": a single-use link to the address on file (see
/// [`mail_data_link`]); 409 when there is none to send it to.
pub async fn request_copy(
    app: &App,
    actor: &PortalActor,
    origin: &Origin,
) -> AppResult<ExportStatus> {
    let contact = actor.scope.contact();
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    // Locked like a consent change: the contact is there while the link is queued.
    consent_store::standing(&mut tx, contact, Lock::ForUpdate)
        .await?
        .ok_or_else(gone)?;
    let sent = mail_data_link(&mut tx, contact, Source::Portal, origin, now).await?;
    tx.commit().await?;
    match sent {
        DataLink::Mailed => Ok(ExportStatus::Mailed),
        DataLink::AlreadyMailed => Ok(ExportStatus::AlreadyMailed),
        DataLink::NoAddress => Err(ApiError::new(
            ErrorCode::Conflict,
            "there is no email address on file to send the download link to; ask the \
             business directly",
        )),
    }
}

/// The customer's latest request to delete their data.
pub async fn erasure(app: &App, actor: &PortalActor) -> AppResult<Erasure> {
    let now = app.clock.now_ms();
    let mut tx = app.db.read(&actor.tenant).await?;
    let latest =
        holdfast_store::privacy::contact_erasure_requests(&mut tx, actor.scope.contact(), now)
            .await?
            .pop();
    let zone = holdfast_store::field_service::jobs::time_zone(&mut tx).await?;
    tx.commit().await?;
    Ok(Erasure {
        out: PortalErasureOut::of(latest),
        zone,
    })
}

/// "Delete my data": files the request staff approve or reject within 30 days (source
/// `portal`), or answers the one already open; `true` when it is new.
pub async fn request_erasure(
    app: &App,
    actor: &PortalActor,
    origin: &Origin,
) -> AppResult<(PortalErasureOut, bool)> {
    let contact = actor.scope.contact();
    let now = app.clock.now_ms();
    let mut tx = app.db.write(&actor.tenant).await?;
    consent_store::standing(&mut tx, contact, Lock::ForUpdate)
        .await?
        .ok_or_else(gone)?;
    let filed =
        file_erasure_request(&mut tx, contact, Source::Portal.as_str(), origin, now).await?;
    tx.commit().await?;
    Ok((PortalErasureOut::of(Some(filed.request)), filed.created))
}
