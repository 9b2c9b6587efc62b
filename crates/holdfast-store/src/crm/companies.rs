//! Companies of one workspace, and the link from contacts to them.

use crate::crm::contacts::like_pattern;
use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::TenantTx;
use holdfast_core::crm::companies::{CompanyFields, CompanyOut};
use holdfast_core::ids::CompanyId;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    domain: Option<String>,
    notes: Option<String>,
    contacts_count: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for CompanyOut {
    fn from(r: Row) -> Self {
        CompanyOut {
            id: r.id,
            name: r.name,
            domain: r.domain,
            notes: r.notes,
            contacts_count: r.contacts_count,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str = "c.id, c.name, c.domain, c.notes, \
    (SELECT COUNT(*) FROM contacts k WHERE k.workspace_id = c.workspace_id AND k.company_id = c.id) AS contacts_count, \
    c.created_at, c.updated_at";

pub async fn insert(
    tx: &mut TenantTx<'_>,
    f: &CompanyFields,
    now_ms: i64,
) -> Result<CompanyOut, StoreError> {
    let id = CompanyId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO companies (workspace_id, id, name, domain, notes, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(&f.name)
    .bind(f.domain.as_deref())
    .bind(f.notes.as_deref())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(CompanyOut {
        id: id.to_string(),
        name: f.name.clone(),
        domain: f.domain.clone(),
        notes: f.notes.clone(),
        contacts_count: 0,
        created_at: now_ms,
        updated_at: now_ms,
    })
}

pub async fn get(tx: &mut TenantTx<'_>, id: &CompanyId) -> Result<Option<CompanyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM companies c WHERE c.workspace_id = $1 AND c.id = $2",
    ]);
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(CompanyOut::from))
}

/// Whether the workspace has this company (for linking a contact to it).
pub async fn exists(tx: &mut TenantTx<'_>, id: &str) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM companies WHERE workspace_id = $1 AND id = $2")
            .bind(ws)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    Ok(found.is_some())
}

pub async fn update(
    tx: &mut TenantTx<'_>,
    id: &CompanyId,
    f: &CompanyFields,
    now_ms: i64,
) -> Result<Option<CompanyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE companies SET name = $3, domain = $4, notes = $5, updated_at = $6 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(&f.name)
    .bind(f.domain.as_deref())
    .bind(f.notes.as_deref())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    get(tx, id).await
}

/// Deletes a company after unlinking its contacts (they stay, without the link); returns how
/// many contacts were unlinked, or `None` when there is no such company.
pub async fn delete(
    tx: &mut TenantTx<'_>,
    id: &CompanyId,
    now_ms: i64,
) -> Result<Option<u64>, StoreError> {
    let ws = tx.ws().to_owned();
    let unlinked = sqlx::query(
        "UPDATE contacts SET company_id = NULL, updated_at = $3 WHERE workspace_id = $1 AND company_id = $2",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?
    .rows_affected();
    sqlx::query("UPDATE jobs SET company_id = NULL WHERE workspace_id = $1 AND company_id = $2")
        .bind(&ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "UPDATE invoices SET company_id = NULL WHERE workspace_id = $1 AND company_id = $2",
    )
    .bind(&ws)
    .bind(id.as_str())
    .execute(tx.conn())
    .await?;
    let done = sqlx::query("DELETE FROM companies WHERE workspace_id = $1 AND id = $2")
        .bind(&ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok((done.rows_affected() == 1).then_some(unlinked))
}

/// One page in id order after `after`; `q` matches a case-insensitive substring of the name
/// or the domain.
pub async fn list(
    tx: &mut TenantTx<'_>,
    after: Option<&CompanyId>,
    limit: u32,
    q: Option<&str>,
) -> Result<Vec<CompanyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let after = after.map(|a| a.as_str().to_owned()).unwrap_or_default();
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM companies c WHERE c.workspace_id = $1 AND c.id > $2 \
         AND ($4 = '' OR lower(c.name) LIKE $4 ESCAPE '\\' OR coalesce(c.domain, '') LIKE $4 ESCAPE '\\') \
         ORDER BY c.id LIMIT $3",
    ]);
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(after)
        .bind(i64::from(limit))
        .bind(q.map(like_pattern).unwrap_or_default())
        .fetch_all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(CompanyOut::from).collect())
}
