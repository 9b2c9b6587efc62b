//! A signed-in customer's own invoices, read through their [`PortalScope`]: every statement
//! names the scope's contact (and, for a company's billing contact, that company), and only issued invoices (never a draft, which is the business's
//! own, nor a credit note) are found, so any other id is not found (404, never 403).

use super::auth::PortalScope;
use crate::error::StoreError;
use crate::invoicing::invoices::{COLUMNS, Invoice, Row};
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::ids::InvoiceId;

/// The customer's issued invoices, newest first, after the cursor `after`.
pub async fn list(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
    after: Option<&InvoiceId>,
    limit: i64,
) -> Result<Vec<Invoice>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM invoices WHERE workspace_id = $1 AND (contact_id = $2 OR company_id = $5) \
         AND kind = 'invoice' AND status <> 'draft' AND ($3 IS NULL OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    ]);
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(scope.contact().as_str())
        .bind(after.map(InvoiceId::as_str))
        .bind(limit)
        .bind(scope.billing_company_param())
        .fetch_all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(Row::invoice).collect())
}

/// One of the customer's issued invoices, held as `lock` says; `None` for a draft, a credit
/// note or any invoice that is not theirs.
pub async fn get(
    tx: &mut TenantTx<'_>,
    scope: &PortalScope,
    id: &InvoiceId,
    lock: Lock,
) -> Result<Option<Invoice>, StoreError> {
    let ws = tx.ws().to_owned();
    let mut sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM invoices WHERE workspace_id = $1 AND id = $2 \
         AND (contact_id = $3 OR company_id = $4) AND kind = 'invoice' AND status <> 'draft'",
    ]);
    sql.push(lock.clause(tx.backend));
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .bind(scope.contact().as_str())
        .bind(scope.billing_company_param())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(Row::invoice))
}
