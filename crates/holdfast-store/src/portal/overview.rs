//! What a signed-in customer sees first: their own tickets, jobs and invoices, newest first.
//! Every read takes the customer's [`PortalScope`], so it can only name their contact.

use super::auth::PortalScope;
use crate::error::StoreError;
use crate::tenant::TenantTx;

/// How many of each the overview lists.
pub const OVERVIEW_LIMIT: i64 = 50;

/// One of the customer's tickets.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PortalTicket {
    pub id: String,
    pub subject: String,
    pub status: String,
    pub last_message_at: i64,
}

/// One of the customer's jobs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PortalJob {
    pub id: String,
    pub title: String,
    pub status: String,
    pub window_start: Option<i64>,
    pub window_end: Option<i64>,
}

/// One of the customer's invoices (issued ones only: a draft is the business's own).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PortalInvoice {
    pub id: String,
    pub number: Option<String>,
    pub status: String,
    pub currency: String,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub credited_minor: i64,
    pub refunded_minor: i64,
    pub due_date: Option<String>,
}

/// The customer's tickets, most recently active first.
pub async fn tickets(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
) -> Result<Vec<PortalTicket>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as(
        "SELECT id, subject, status, last_message_at FROM tickets \
         WHERE workspace_id = $1 AND contact_id = $2 \
         ORDER BY last_message_at DESC, id DESC LIMIT $3",
    )
    .bind(ws)
    .bind(scope.contact().as_str())
    .bind(OVERVIEW_LIMIT)
    .fetch_all(tx.conn())
    .await?)
}

/// The customer's jobs, newest first (the first page of [`super::jobs::list`]).
pub async fn jobs(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
) -> Result<Vec<PortalJob>, StoreError> {
    super::jobs::list(tx, scope, None, OVERVIEW_LIMIT).await
}

/// The customer's issued invoices, newest first.
pub async fn invoices(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
) -> Result<Vec<PortalInvoice>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as(
        "SELECT id, number, status, currency, total_minor, paid_minor, credited_minor, \
         refunded_minor, due_date \
         FROM invoices WHERE workspace_id = $1 AND (contact_id = $2 OR company_id = $4) \
         AND kind = 'invoice' AND status <> 'draft' ORDER BY id DESC LIMIT $3",
    )
    .bind(ws)
    .bind(scope.contact().as_str())
    .bind(OVERVIEW_LIMIT)
    .bind(scope.billing_company_param())
    .fetch_all(tx.conn())
    .await?)
}
