//! Whether the customer a record names (a job's or an invoice's contact and company) is in
//! the workspace: written once for every feature that links to contacts and companies.

use crate::error::StoreError;
use crate::tenant::TenantTx;

/// The ids among `contact_id` and `company_id` (those given) that are not a contact or company
/// of the workspace, each as (field, detail).
pub async fn missing_customer(
    tx: &mut TenantTx<'_>,
    contact_id: Option<&str>,
    company_id: Option<&str>,
) -> Result<Vec<(String, String)>, StoreError> {
    let ws = tx.ws().to_owned();
    let mut missing = Vec::new();
    if let Some(contact) = contact_id {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2")
                .bind(&ws)
                .bind(contact)
                .fetch_optional(tx.conn())
                .await?;
        if found.is_none() {
            missing.push((
                "contact_id".into(),
                "is not a contact of this workspace".into(),
            ));
        }
    }
    if let Some(company) = company_id {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM companies WHERE workspace_id = $1 AND id = $2")
                .bind(&ws)
                .bind(company)
                .fetch_optional(tx.conn())
                .await?;
        if found.is_none() {
            missing.push((
                "company_id".into(),
                "is not a company of this workspace".into(),
            ));
        }
    }
    Ok(missing)
}
