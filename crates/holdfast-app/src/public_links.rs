//! What issuing and revoking a customer's public link (a job's `/p/jobs/…`, an invoice's
//! `/p/invoices/…`) share, written once: a fresh 256-bit token stored as its hash, the link
//! before revoked, the change audited as `<subject>.public_link_issued|revoked`, and the
//! address shown this once. Each feature first finds (and locks) its subject as the caller
//! may reach it, in the transaction passed here; it commits after. Rules:
//! `holdfast_core::public_links`.

use crate::audit::Origin;
use crate::{App, AppResult};
use holdfast_core::public_links::{self as rules, PublicLinkKind};
use holdfast_core::secret::Secret;
use holdfast_store::TenantTx;
use holdfast_store::public_links as store;
use serde_json::json;

/// A link just issued: its page's address, with the token (shown this once).
pub struct IssuedLink {
    pub url: Secret<String>,
    pub token: Secret<String>,
}

/// The subject a link opens: its kind, the audit trail's name for it (`job`, `invoice`), the
/// audit actions of issuing and revoking, and its id.
pub(crate) struct Subject<'a> {
    pub kind: PublicLinkKind,
    pub name: &'static str,
    pub issued: &'static str,
    pub revoked: &'static str,
    pub id: &'a str,
}

/// Issues a link for `subject` in `tx` (revoking the one before) and audits it; the address
/// is the instance's public URL and the kind's path.
pub(crate) async fn issue(
    state: &App,
    tx: &mut TenantTx<'_>,
    origin: &Origin,
    subject: &Subject<'_>,
    now: i64,
) -> AppResult<IssuedLink> {
    let link = rules::issue(subject.kind);
    let issued = store::issue(
        tx,
        subject.kind,
        subject.id,
        &link.token_hash,
        &format!("{}:{}", origin.actor_type, origin.actor_id),
        now,
    )
    .await?;
    let event = origin.event(
        subject.issued,
        subject.name,
        subject.id,
        json!({
            "link_id": issued.id.as_str(),
            "replaced_link_id": issued.replaced.as_ref().map(|r| r.as_str()),
        }),
    );
    holdfast_store::ops::audit::append(tx, &event, now).await?;
    let base = state.config.public_url.trim_end_matches('/');
    let url = format!("{base}{}", subject.kind.path(link.token.expose()));
    Ok(IssuedLink {
        url: Secret::new(url),
        token: link.token,
    })
}

/// Revokes `subject`'s live link in `tx`, audited; `false` when it had none (nothing is
/// written then).
pub(crate) async fn revoke(
    tx: &mut TenantTx<'_>,
    origin: &Origin,
    subject: &Subject<'_>,
    now: i64,
) -> AppResult<bool> {
    let Some(revoked) = store::revoke(tx, subject.kind, subject.id, now).await? else {
        return Ok(false);
    };
    let event = origin.event(
        subject.revoked,
        subject.name,
        subject.id,
        json!({"link_id": revoked.as_str()}),
    );
    holdfast_store::ops::audit::append(tx, &event, now).await?;
    Ok(true)
}
