//! The data subject's own requests, whichever door they come through — the preference center
//! (a mail footer's link), the client portal (a signed-in customer) — and, for deletion, the
//! staff who file one for them: a copy of their data is never served to the door itself but
//! mailed as a single-use link to the address on file ([`mail_data_link`]), and a deletion is a
//! request staff decide within 30 days ([`file_erasure_request`]). One function each, so the
//! doors cannot drift apart. Design notes: docs/design/privacy.md, docs/design/portal.md.

use crate::AppResult;
use crate::audit::Origin;
use crate::outreach::{self, ContactEmail, Decision};
use holdfast_core::clock::Millis;
use holdfast_core::crm::consent::{DATA_LINK_RESEND_MS, Purpose, Source};
use holdfast_core::error::ApiError;
use holdfast_core::ids::{ContactId, ErasureRequestId};
use holdfast_core::privacy::ErasureRequestOut;
use holdfast_store::privacy as store;
use holdfast_store::{StoreError, TenantTx};
use serde_json::json;

/// What asking for a copy of one's data did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataLink {
    /// A single-use link (one hour) is on its way to the address on file.
    Mailed,
    /// One was mailed minutes ago ([`DATA_LINK_RESEND_MS`]): no second one, so whoever holds
    /// the door cannot flood the person's inbox.
    AlreadyMailed,
    /// No address on file to send it to.
    NoAddress,
}

/// "Download my data", asked through `via` (`Source::PreferenceCenter`, `Source::Portal`): the
/// door itself is not proof enough to hand the data over (a footer's link is forwarded and
/// scanned; a portal session outlives a moment at someone else's screen), so a single-use link
/// valid for one hour goes to the contact's own address, through the choke point like every
/// customer mail (purpose `data_access`: allowed whatever the consent, refused only without an
/// address). Audited as `contact.export_requested` by `origin` (not when one was mailed
/// minutes ago). In the caller's transaction; the contact must exist (the caller checked).
pub async fn mail_data_link(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    via: Source,
    origin: &Origin,
    now: Millis,
) -> Result<DataLink, StoreError> {
    if outreach::queued_recently(tx, contact, Purpose::DataAccess, DATA_LINK_RESEND_MS, now).await?
    {
        return Ok(DataLink::AlreadyMailed);
    }
    let name = holdfast_store::access::workspaces::get(tx)
        .await?
        .map(|w| w.name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "us".to_owned());
    let mail = ContactEmail {
        subject: format!("Your data held by {name}"),
        body: format!(
            "You asked for a copy of the data {name} holds about you. Download it here:\n\n{}\n\n\
             The link works once, for one hour. If you did not ask for this, ignore this message.\n",
            outreach::DATA_LINK
        ),
        ..ContactEmail::default()
    };
    let mailed = outreach::queue_to_contact(tx, contact, Purpose::DataAccess, mail, now).await?
        == Decision::Queued;
    let event = origin.event(
        "contact.export_requested",
        "contact",
        contact.as_str(),
        json!({"by": "contact", "via": via.as_str(), "mailed": mailed}),
    );
    holdfast_store::ops::audit::append(tx, &event, now).await?;
    Ok(if mailed {
        DataLink::Mailed
    } else {
        DataLink::NoAddress
    })
}

/// A request to erase a contact, as filed.
#[derive(Debug, Clone)]
pub struct Filed {
    pub request: ErasureRequestOut,
    /// A new request (false: one was open already, and that one is answered).
    pub created: bool,
}

/// Files a request to erase `contact` (`source`: `operator`, `preference_center`, `portal`),
/// due in 30 days for staff to approve or reject; while one is open, that one is answered and
/// nothing is written. A new one is audited as `erasure_request.filed` by `origin`. In the
/// caller's transaction; the contact must exist (the caller checked).
pub async fn file_erasure_request(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    source: &str,
    origin: &Origin,
    now: Millis,
) -> AppResult<Filed> {
    let before = store::contact_erasure_requests(tx, contact, now).await?;
    let id = store::request_erasure(tx, contact, source, now).await?;
    let created = !before.iter().any(|r| r.id == id);
    // Just filed, or found open, in this transaction: it is there.
    let request = store::erasure_request(tx, &ErasureRequestId::from_trusted(id), now)
        .await?
        .ok_or_else(ApiError::internal)?;
    if created {
        let event = origin.event(
            "erasure_request.filed",
            "contact",
            contact.as_str(),
            json!({"request_id": request.id, "source": source, "due_at": request.due_at}),
        );
        holdfast_store::ops::audit::append(tx, &event, now).await?;
    }
    Ok(Filed { request, created })
}
