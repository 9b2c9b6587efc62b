//! A workspace's payment accounts (keys sealed by the application before they reach here),
//! the checkouts opened for its invoices, and what providers' payments were recorded.

use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::ids::InvoiceId;
use holdfast_core::invoicing::payments::{AccountOut, AccountProvider};

/// Connects (or replaces) the workspace's account with `provider`.
pub async fn set_account(
    tx: &mut TenantTx<'_>,
    provider: AccountProvider,
    secret_sealed: &str,
    key_hint: &str,
    location_id: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO payment_accounts (workspace_id, provider, secret_sealed, key_hint, \
         location_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (workspace_id, provider) DO UPDATE SET secret_sealed = $3, key_hint = $4, \
         location_id = $5, updated_at = $6",
    )
    .bind(ws)
    .bind(provider.as_str())
    .bind(secret_sealed)
    .bind(key_hint)
    .bind(location_id)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Disconnects the account; `false` when there was none.
pub async fn delete_account(
    tx: &mut TenantTx<'_>,
    provider: AccountProvider,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done =
        sqlx::query("DELETE FROM payment_accounts WHERE workspace_id = $1 AND provider = $2")
            .bind(ws)
            .bind(provider.as_str())
            .execute(tx.conn())
            .await?;
    Ok(done.rows_affected() == 1)
}

/// The connected accounts, as shown (never a key).
pub async fn accounts(tx: &mut TenantTx<'_>) -> Result<Vec<AccountOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT provider, key_hint, location_id, updated_at FROM payment_accounts \
         WHERE workspace_id = $1 ORDER BY provider",
    )
    .bind(ws)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(provider, key_hint, location_id, connected_at)| {
            Some(AccountOut {
                provider: AccountProvider::parse(&provider)?,
                key_hint,
                location_id,
                connected_at,
            })
        })
        .collect())
}

/// The sealed key and location of the account with `provider`, if connected.
pub async fn account_secret(
    tx: &mut TenantTx<'_>,
    provider: AccountProvider,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as(
        "SELECT secret_sealed, location_id FROM payment_accounts \
         WHERE workspace_id = $1 AND provider = $2",
    )
    .bind(ws)
    .bind(provider.as_str())
    .fetch_optional(tx.conn())
    .await?)
}

/// A checkout opened with a provider.
pub struct NewCheckout<'a> {
    pub invoice: &'a InvoiceId,
    pub provider: AccountProvider,
    pub provider_ref: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub url: &'a str,
}

pub async fn insert_checkout(
    tx: &mut TenantTx<'_>,
    c: &NewCheckout<'_>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    let id = format!("chk_{}", c.provider_ref);
    sqlx::query(
        "INSERT INTO payment_checkouts (workspace_id, id, invoice_id, provider, provider_ref, \
         amount_minor, currency, url, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (workspace_id, provider, provider_ref) DO NOTHING",
    )
    .bind(ws)
    .bind(id)
    .bind(c.invoice.as_str())
    .bind(c.provider.as_str())
    .bind(c.provider_ref)
    .bind(c.amount_minor)
    .bind(c.currency)
    .bind(c.url)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The invoice a checkout Holdfast opened (in this workspace) was for.
pub async fn checkout_invoice(
    tx: &mut TenantTx<'_>,
    provider: &str,
    provider_ref: &str,
) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT invoice_id FROM payment_checkouts WHERE workspace_id = $1 AND provider = $2 \
         AND provider_ref = $3",
    )
    .bind(ws)
    .bind(provider)
    .bind(provider_ref)
    .fetch_optional(tx.conn())
    .await?)
}

/// Whether the provider's money movement `reference` was recorded already (on any invoice).
pub async fn recorded(
    tx: &mut TenantTx<'_>,
    provider: &str,
    reference: &str,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM invoice_payments WHERE workspace_id = $1 AND provider = $2 \
         AND provider_event_id = $3",
    )
    .bind(ws)
    .bind(provider)
    .bind(reference)
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.is_some())
}

/// The invoice a provider's payment was recorded on, its amount, and the refunds recorded
/// against that payment so far (minor units): what a running refund total is compared with.
pub async fn provider_payment(
    tx: &mut TenantTx<'_>,
    provider: &str,
    payment: &str,
) -> Result<Option<(String, i64, i64)>, StoreError> {
    let ws = tx.ws().to_owned();
    let found: Option<(String, i64)> = sqlx::query_as(
        "SELECT invoice_id, amount_minor FROM invoice_payments WHERE workspace_id = $1 \
         AND provider = $2 AND provider_event_id = $3 AND kind = 'payment'",
    )
    .bind(&ws)
    .bind(provider)
    .bind(payment)
    .fetch_optional(tx.conn())
    .await?;
    let Some((invoice, paid)) = found else {
        return Ok(None);
    };
    let refunded: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM invoice_payments \
         WHERE workspace_id = $1 AND provider = $2 AND provider_payment = $3 AND kind = 'refund'",
    )
    .bind(&ws)
    .bind(provider)
    .bind(payment)
    .fetch_optional(tx.conn())
    .await?;
    Ok(Some((invoice, paid, refunded.unwrap_or(0))))
}
