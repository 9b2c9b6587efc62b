//! Public links for the customer (0054): `public_links` holds each link of a workspace (its
//! kind, subject, token digest, who made it, when it was revoked) under row-level security;
//! `public_link_tokens` maps a live link's digest to its workspace and nothing else, for the
//! one read made before a workspace is known ([`unscoped_public_link_target`]). One live link
//! per subject: issuing revokes the one before, and revoking deletes its directory row, so an
//! old link opens nothing at once. The rules (token format, expiry) are
//! `holdfast_core::public_links`.

use crate::db::Db;
use crate::error::StoreError;
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::ids::{PublicLinkId, WorkspaceId};
use holdfast_core::public_links::PublicLinkKind;

/// The workspace and subject (a job's or an invoice's id) of a live link of `kind`, by its
/// token's digest: the public pages' one cross-tenant read. The directory names the workspace;
/// the link itself is then read in that workspace's own transaction. `None` for an unknown or
/// revoked link, a link of another kind, and a suspended workspace (its links open nothing,
/// and say nothing more than an unknown one).
pub async fn unscoped_public_link_target(
    db: &Db,
    kind: PublicLinkKind,
    token_hash: &str,
) -> Result<Option<(Tenant, String)>, StoreError> {
    let ws: Option<String> =
        sqlx::query_scalar("SELECT workspace_id FROM public_link_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&db.pool)
            .await?;
    let Some(ws) = ws else {
        return Ok(None);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(ws));
    let mut tx = match db.read(&tenant).await {
        Ok(tx) => tx,
        Err(StoreError::Suspended) => return Ok(None),
        Err(e) => return Err(e),
    };
    let subject = live_subject(&mut tx, kind, token_hash).await?;
    tx.commit().await?;
    Ok(subject.map(|s| (tenant, s)))
}

/// The subject of the live link of `kind` with this digest in the transaction's workspace.
pub async fn live_subject(
    tx: &mut TenantTx<'_>,
    kind: PublicLinkKind,
    token_hash: &str,
) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT subject_id FROM public_links WHERE workspace_id = $1 AND token_hash = $2 \
         AND kind = $3 AND revoked_at IS NULL",
    )
    .bind(ws)
    .bind(token_hash)
    .bind(kind.as_str())
    .fetch_optional(tx.conn())
    .await?)
}

/// Revokes the live link of `kind` for `subject`, if there is one; its id when there was.
pub async fn revoke(
    tx: &mut TenantTx<'_>,
    kind: PublicLinkKind,
    subject: &str,
    now_ms: i64,
) -> Result<Option<PublicLinkId>, StoreError> {
    let ws = tx.ws().to_owned();
    let live: Option<(String, String)> = sqlx::query_as(
        "SELECT id, token_hash FROM public_links WHERE workspace_id = $1 AND kind = $2 \
         AND subject_id = $3 AND revoked_at IS NULL",
    )
    .bind(&ws)
    .bind(kind.as_str())
    .bind(subject)
    .fetch_optional(tx.conn())
    .await?;
    let Some((id, token_hash)) = live else {
        return Ok(None);
    };
    sqlx::query("UPDATE public_links SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(&ws)
        .bind(&id)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM public_link_tokens WHERE workspace_id = $1 AND token_hash = $2")
        .bind(&ws)
        .bind(&token_hash)
        .execute(tx.conn())
        .await?;
    Ok(Some(PublicLinkId::from_trusted(id)))
}

/// A link issued by [`issue`]: its id, and the link it replaced.
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: PublicLinkId,
    pub replaced: Option<PublicLinkId>,
}

/// Stores a new live link of `kind` for `subject` (its token's digest only), revoking the one
/// before. The caller has checked that the subject exists and is within its reach.
pub async fn issue(
    tx: &mut TenantTx<'_>,
    kind: PublicLinkKind,
    subject: &str,
    token_hash: &str,
    created_by: &str,
    now_ms: i64,
) -> Result<Issued, StoreError> {
    let replaced = revoke(tx, kind, subject, now_ms).await?;
    let ws = tx.ws().to_owned();
    let id = PublicLinkId::generate(now_ms);
    sqlx::query(
        "INSERT INTO public_links (workspace_id, id, kind, subject_id, token_hash, created_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(kind.as_str())
    .bind(subject)
    .bind(token_hash)
    .bind(created_by)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    sqlx::query("INSERT INTO public_link_tokens (token_hash, workspace_id) VALUES ($1, $2)")
        .bind(token_hash)
        .bind(&ws)
        .execute(tx.conn())
        .await?;
    Ok(Issued { id, replaced })
}

/// Deletes the links of a contact's jobs (with their directory rows), for the contact's
/// erasure, before its jobs go.
pub(crate) async fn forget_jobs_of_contact(
    tx: &mut TenantTx<'_>,
    contact_id: &str,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "DELETE FROM public_link_tokens WHERE workspace_id = $1 AND token_hash IN \
         (SELECT token_hash FROM public_links WHERE workspace_id = $1 AND kind = $2 \
         AND subject_id IN (SELECT id FROM jobs WHERE workspace_id = $1 AND contact_id = $3))",
    )
    .bind(&ws)
    .bind(PublicLinkKind::Job.as_str())
    .bind(contact_id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "DELETE FROM public_links WHERE workspace_id = $1 AND kind = $2 \
         AND subject_id IN (SELECT id FROM jobs WHERE workspace_id = $1 AND contact_id = $3)",
    )
    .bind(&ws)
    .bind(PublicLinkKind::Job.as_str())
    .bind(contact_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Deletes the links of a contact's invoices (with their directory rows), for the contact's
/// erasure: the issued invoices stay (an accounting record), but nothing opens them publicly.
pub(crate) async fn forget_invoices_of_contact(
    tx: &mut TenantTx<'_>,
    contact_id: &str,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "DELETE FROM public_link_tokens WHERE workspace_id = $1 AND token_hash IN \
         (SELECT token_hash FROM public_links WHERE workspace_id = $1 AND kind = $2 \
         AND subject_id IN (SELECT id FROM invoices WHERE workspace_id = $1 AND contact_id = $3))",
    )
    .bind(&ws)
    .bind(PublicLinkKind::Invoice.as_str())
    .bind(contact_id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "DELETE FROM public_links WHERE workspace_id = $1 AND kind = $2 \
         AND subject_id IN (SELECT id FROM invoices WHERE workspace_id = $1 AND contact_id = $3)",
    )
    .bind(&ws)
    .bind(PublicLinkKind::Invoice.as_str())
    .bind(contact_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}
