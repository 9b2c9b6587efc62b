//! Contacts of one workspace. Every statement names `workspace_id` itself; on PostgreSQL the
//! row-level security policy is the second wall.

use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::crm::contacts::{ContactFields, ContactOut};
use holdfast_core::ids::ContactId;

use holdfast_core::crm::contact_fields::canonical_text;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(sqlx::FromRow, Default)]
pub(crate) struct Row {
    id: String,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    tags: String,
    company_id: Option<String>,
    custom: String,
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
            // Tags and custom values are written only by `insert`/`update` below, always as a
            // JSON array and a JSON object.
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            company_id: r.company_id,
            custom: serde_json::from_str(&r.custom).unwrap_or_default(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub(crate) const COLUMNS: &str =
    "id, name, email, phone, company, tags, company_id, custom, created_at, updated_at";

pub(crate) fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn custom_json(custom: &BTreeMap<String, Value>) -> String {
    serde_json::to_string(custom).unwrap_or_else(|_| "{}".to_owned())
}

/// Rewrites the search index rows of one contact's custom values.
async fn write_values(
    tx: &mut TenantTx<'_>,
    id: &str,
    custom: &BTreeMap<String, Value>,
    replace: bool,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    if replace {
        sqlx::query("DELETE FROM contact_values WHERE workspace_id = $1 AND contact_id = $2")
            .bind(&ws)
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    for (key, value) in custom {
        sqlx::query(
            "INSERT INTO contact_values (workspace_id, contact_id, field_key, value) VALUES ($1, $2, $3, $4)",
        )
        .bind(&ws)
        .bind(id)
        .bind(key)
        .bind(canonical_text(value))
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Inserts a validated contact. A `company_id` must have been checked to be the workspace's
/// (`companies::exists`) in the same transaction.
pub async fn insert(
    tx: &mut TenantTx<'_>,
    f: &ContactFields,
    now_ms: i64,
) -> Result<ContactOut, StoreError> {
    let id = ContactId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO contacts (workspace_id, id, name, email, phone, company, tags, company_id, custom, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(f.name.as_deref())
    .bind(f.email.as_deref())
    .bind(f.phone.as_deref())
    .bind(f.company.as_deref())
    .bind(tags_json(&f.tags))
    .bind(f.company_id.as_deref())
    .bind(custom_json(&f.custom))
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    write_values(tx, id.as_str(), &f.custom, false).await?;
    Ok(ContactOut {
        id: id.to_string(),
        name: f.name.clone(),
        email: f.email.clone(),
        phone: f.phone.clone(),
        company: f.company.clone(),
        tags: f.tags.clone(),
        company_id: f.company_id.clone(),
        custom: f.custom.clone(),
        created_at: now_ms,
        updated_at: now_ms,
    })
}

/// The contact, read plainly or, with [`Lock::ForUpdate`], to change it: the row then stays
/// locked until the transaction ends, so a concurrent change cannot be overwritten with stale
/// values.
pub async fn get(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
    lock: Lock,
) -> Result<Option<ContactOut>, StoreError> {
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM contacts WHERE workspace_id = $1 AND id = $2",
        lock.clause(tx.backend),
    ]);
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(ContactOut::from))
}

/// The contact with this email (compared case-insensitively, as the unique index does): a
/// portal sign-in's or a board search's look-up. [`Lock::ForUpdate`] for a write about to
/// change it.
pub async fn find_by_email(
    tx: &mut TenantTx<'_>,
    email: &str,
    lock: Lock,
) -> Result<Option<ContactOut>, StoreError> {
    find_by(tx, "email_key = lower($2)", email, lock).await
}

async fn find_by(
    tx: &mut TenantTx<'_>,
    predicate: &'static str,
    value: &str,
    lock: Lock,
) -> Result<Option<ContactOut>, StoreError> {
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM contacts WHERE workspace_id = $1 AND ",
        predicate,
        " ORDER BY id LIMIT 1",
        lock.clause(tx.backend),
    ]);
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(value)
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
        "UPDATE contacts SET name = $3, email = $4, phone = $5, company = $6, tags = $7, \
         company_id = $8, custom = $9, updated_at = $10 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(f.name.as_deref())
    .bind(f.email.as_deref())
    .bind(f.phone.as_deref())
    .bind(f.company.as_deref())
    .bind(tags_json(&f.tags))
    .bind(f.company_id.as_deref())
    .bind(custom_json(&f.custom))
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    // A contact moved off a company stops being its billing contact for good: moving them
    // back does not bring the mark back (staff mark them again; docs/design/portal.md).
    sqlx::query(
        "DELETE FROM portal_billing_contacts WHERE workspace_id = $1 AND contact_id = $2 \
         AND company_id <> COALESCE($3, '')",
    )
    .bind(tx.ws().to_owned())
    .bind(id.as_str())
    .bind(f.company_id.as_deref())
    .execute(tx.conn())
    .await?;
    write_values(tx, id.as_str(), &f.custom, true).await?;
    get(tx, id, Lock::Read).await
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchIn {
    pub name: bool,
    pub email: bool,
    /// Text custom fields.
    pub custom: bool,
}

/// What a list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A case-insensitive substring of the fields `search` names.
    pub q: Option<String>,
    pub search: SearchIn,
    /// Exact custom values: (key, canonical text), all of which must match.
    pub custom: Vec<(String, String)>,
    pub company_id: Option<String>,
}

/// The list's statement for `filter` and the values it binds after `$1`…`$3` (workspace,
/// cursor, limit), in placeholder order.
fn list_sql(filter: &Filter) -> (Sql, Vec<String>) {
    let mut sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM contacts WHERE workspace_id = $1 AND id > $2",
    ]);
    let mut binds: Vec<String> = Vec::new();
    if let Some(q) = &filter.q {
        binds.push(like_pattern(q));
        let n = binds.len() + 3;
        // Each searched field: the text before and after the pattern's placeholder.
        let fields = [
            (
                filter.search.name,
                "lower(coalesce(name, '')) LIKE ",
                " ESCAPE '\\'",
            ),
            (
                filter.search.email,
                "lower(coalesce(email, '')) LIKE ",
                " ESCAPE '\\'",
            ),
            (
                filter.search.custom,
                "EXISTS (SELECT 1 FROM contact_values v JOIN contact_fields f \
                 ON f.workspace_id = v.workspace_id AND f.field_key = v.field_key \
                 WHERE v.workspace_id = contacts.workspace_id AND v.contact_id = contacts.id \
                 AND f.field_type = 'text' AND lower(v.value) LIKE ",
                " ESCAPE '\\')",
            ),
        ];
        sql.push(" AND (");
        let mut searched = fields.iter().filter(|(on, ..)| *on).peekable();
        if searched.peek().is_none() {
            sql.push("1 = 0");
        }
        for (i, &(_, before, after)) in searched.enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push(before).param(n).push(after);
        }
        sql.push(")");
    }
    for (key, value) in &filter.custom {
        binds.push(key.clone());
        binds.push(value.clone());
        let (k, v) = (binds.len() + 2, binds.len() + 3);
        sql.push(
            " AND EXISTS (SELECT 1 FROM contact_values v WHERE v.workspace_id = contacts.workspace_id \
             AND v.contact_id = contacts.id AND v.field_key = ",
        )
        .param(k)
        .push(" AND v.value = ")
        .param(v)
        .push(")");
    }
    if let Some(company) = &filter.company_id {
        binds.push(company.clone());
        sql.push(" AND company_id = ").param(binds.len() + 3);
    }
    sql.push(" ORDER BY id LIMIT $3");
    (sql, binds)
}

/// One page in id order (ids are time-ordered), strictly after `after`.
pub async fn list(
    tx: &mut TenantTx<'_>,
    after: Option<&ContactId>,
    limit: u32,
    filter: &Filter,
) -> Result<Vec<ContactOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let after = after.map(|a| a.as_str().to_owned()).unwrap_or_default();
    let (sql, binds) = list_sql(filter);
    let mut query = sqlx::query_as::<_, Row>(sql)
        .bind(ws)
        .bind(after)
        .bind(i64::from(limit));
    for value in binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all(tx.conn()).await?;
    Ok(rows.into_iter().map(ContactOut::from).collect())
}

/// How many contacts an export starting now covers, and the newest id among them ('' when
/// there are none).
pub async fn export_extent(tx: &mut TenantTx<'_>) -> Result<(i64, String), StoreError> {
    let ws = tx.ws().to_owned();
    let (count, last): (i64, Option<String>) =
        sqlx::query_as("SELECT COUNT(*), MAX(id) FROM contacts WHERE workspace_id = $1")
            .bind(ws)
            .fetch_one(tx.conn())
            .await?;
    Ok((count, last.unwrap_or_default()))
}

/// One page of contacts for an export, in id order after `after` up to `upto`, each with its
/// company's name.
pub async fn export_page(
    tx: &mut TenantTx<'_>,
    after: &str,
    upto: &str,
    limit: u32,
) -> Result<Vec<(ContactOut, Option<String>)>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct ExportRow {
        #[sqlx(flatten)]
        contact: Row,
        company_name: Option<String>,
    }
    let ws = tx.ws().to_owned();
    let rows: Vec<ExportRow> = sqlx::query_as(
        "SELECT k.id, k.name, k.email, k.phone, k.company, k.tags, k.company_id, k.custom, \
         k.created_at, k.updated_at, c.name AS company_name FROM contacts k \
         LEFT JOIN companies c ON c.workspace_id = k.workspace_id AND c.id = k.company_id \
         WHERE k.workspace_id = $1 AND k.id > $2 AND k.id <= $4 ORDER BY k.id LIMIT $3",
    )
    .bind(ws)
    .bind(after)
    .bind(i64::from(limit))
    .bind(upto)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (ContactOut::from(r.contact), r.company_name))
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(super::like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }
}
