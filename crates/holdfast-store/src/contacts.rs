//! Contacts of one workspace. Every statement names `workspace_id` itself; on PostgreSQL the
//! row-level security policy is the second wall.

use crate::error::{Classify, StoreError};
use crate::tenant::TenantTx;
use holdfast_core::contacts::{ContactFields, ContactOut};
use holdfast_core::ids::ContactId;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    tags: String,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for ContactOut {
    fn from(r: Row) -> Self {
        ContactOut {
            id: r.id,
            name: r.name,
            email: r.email,
            phone: r.phone,
            company: r.company,
            // Tags are written only by `insert`/`update` below, always as a JSON array.
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

pub async fn insert(
    tx: &mut TenantTx<'_>,
    f: &ContactFields,
    now_ms: i64,
) -> Result<ContactOut, StoreError> {
    let id = ContactId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO contacts (workspace_id, id, name, email, phone, company, tags, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(f.name.as_deref())
    .bind(f.email.as_deref())
    .bind(f.phone.as_deref())
    .bind(f.company.as_deref())
    .bind(tags_json(&f.tags))
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(ContactOut {
        id: id.to_string(),
        name: f.name.clone(),
        email: f.email.clone(),
        phone: f.phone.clone(),
        company: f.company.clone(),
        tags: f.tags.clone(),
        created_at: now_ms,
        updated_at: now_ms,
    })
}

pub async fn get(tx: &mut TenantTx<'_>, id: &ContactId) -> Result<Option<ContactOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, email, phone, company, tags, created_at, updated_at \
         FROM contacts WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(ContactOut::from))
}

/// Reads a contact to change it: on PostgreSQL the row stays locked until the transaction
/// ends, so a concurrent change cannot be overwritten with stale values (SQLite writers hold
/// the write lock already).
pub async fn get_for_update(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
) -> Result<Option<ContactOut>, StoreError> {
    let sql = if tx.backend == crate::Backend::Postgres {
        "SELECT id, name, email, phone, company, tags, created_at, updated_at \
         FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT id, name, email, phone, company, tags, created_at, updated_at \
         FROM contacts WHERE workspace_id = $1 AND id = $2"
    };
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(ContactOut::from))
}

pub async fn update(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
    f: &ContactFields,
    now_ms: i64,
) -> Result<Option<ContactOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE contacts SET name = $3, email = $4, phone = $5, company = $6, tags = $7, updated_at = $8 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(f.name.as_deref())
    .bind(f.email.as_deref())
    .bind(f.phone.as_deref())
    .bind(f.company.as_deref())
    .bind(tags_json(&f.tags))
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    get(tx, id).await
}

pub async fn delete(tx: &mut TenantTx<'_>, id: &ContactId) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query("DELETE FROM contacts WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// `%text%`, lower-cased, with LIKE wildcards escaped so a search for `50%` means the text
/// `50%` (use with `ESCAPE '\'`).
pub(crate) fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Which fields a search may match: only those the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchIn {
    NameAndEmail,
    Name,
    Email,
}

/// One page in id order (ids are time-ordered), strictly after `after`. `q` matches a
/// case-insensitive substring of the fields `search` names.
pub async fn list(
    tx: &mut TenantTx<'_>,
    after: Option<&ContactId>,
    limit: u32,
    q: Option<&str>,
    search: SearchIn,
) -> Result<Vec<ContactOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let after = after.map(|a| a.as_str().to_owned()).unwrap_or_default();
    let rows: Vec<Row> = match q {
        None => sqlx::query_as(
            "SELECT id, name, email, phone, company, tags, created_at, updated_at FROM contacts \
                 WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(ws)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(tx.conn())
        .await?,
        Some(q) => {
            let sql = match search {
                SearchIn::NameAndEmail => {
                    "SELECT id, name, email, phone, company, tags, created_at, updated_at FROM contacts \
                     WHERE workspace_id = $1 AND id > $2 \
                     AND (lower(coalesce(name, '')) LIKE $4 ESCAPE '\\' OR lower(coalesce(email, '')) LIKE $4 ESCAPE '\\') \
                     ORDER BY id LIMIT $3"
                }
                SearchIn::Name => {
                    "SELECT id, name, email, phone, company, tags, created_at, updated_at FROM contacts \
                     WHERE workspace_id = $1 AND id > $2 \
                     AND lower(coalesce(name, '')) LIKE $4 ESCAPE '\\' \
                     ORDER BY id LIMIT $3"
                }
                SearchIn::Email => {
                    "SELECT id, name, email, phone, company, tags, created_at, updated_at FROM contacts \
                     WHERE workspace_id = $1 AND id > $2 \
                     AND lower(coalesce(email, '')) LIKE $4 ESCAPE '\\' \
                     ORDER BY id LIMIT $3"
                }
            };
            sqlx::query_as(sql)
                .bind(ws)
                .bind(after)
                .bind(i64::from(limit))
                .bind(like_pattern(q))
                .fetch_all(tx.conn())
                .await?
        }
    };
    Ok(rows.into_iter().map(ContactOut::from).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(super::like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }
}
