//! A signed-in customer's own jobs (their visits), read through their [`PortalScope`]: every
//! statement names the scope's contact (and, for a company's billing contact, that company),
//! so another contact's job is not found (404, never 403). What is read is what a customer's view shows (`field_service::jobs::public_parts`):
//! no address, amounts, line items or internal notes.

use super::auth::PortalScope;
use super::overview::PortalJob;
use crate::error::StoreError;
use crate::field_service::jobs::{PUBLIC_COLUMNS, PublicJob, PublicRow, public_parts};
use crate::sql::Sql;
use crate::tenant::TenantTx;
use holdfast_core::ids::JobId;

/// The customer's jobs, newest first, after the cursor `after`.
pub async fn list(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
    after: Option<&JobId>,
    limit: i64,
) -> Result<Vec<PortalJob>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as(
        "SELECT id, title, status, window_start, window_end FROM jobs \
         WHERE workspace_id = $1 AND (contact_id = $2 OR company_id = $5) \
         AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
    )
    .bind(ws)
    .bind(scope.contact().as_str())
    .bind(after.map(JobId::as_str))
    .bind(limit)
    .bind(scope.billing_company_param())
    .fetch_all(tx.conn())
    .await?)
}

/// One of the customer's jobs as their view shows it; `None` for any job that is not theirs.
pub async fn get(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
    id: &JobId,
) -> Result<Option<PublicJob>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT ",
        PUBLIC_COLUMNS,
        " FROM jobs WHERE workspace_id = $1 AND id = $2 AND (contact_id = $3 OR company_id = $4)",
    ]);
    let row: Option<PublicRow> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .bind(scope.contact().as_str())
        .bind(scope.billing_company_param())
        .fetch_optional(tx.conn())
        .await?;
    match row {
        Some(row) => Ok(Some(public_parts(tx, id, row).await?)),
        None => Ok(None),
    }
}
