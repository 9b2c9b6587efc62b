//! Members of one workspace. A workspace always keeps at least one owner. And the workspaces
//! one person belongs to, for the console's workspace switcher.

use crate::db::Db;
use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::access::members::MemberOut;
use holdfast_core::access::policy::{BuiltinRole, Role};
use holdfast_core::ids::MembershipId;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    user_id: String,
    email: String,
    role: String,
    display_name: Option<String>,
    created_at: i64,
}

impl From<Row> for MemberOut {
    fn from(r: Row) -> Self {
        MemberOut {
            id: r.id,
            user_id: r.user_id,
            email: r.email,
            role: r.role,
            display_name: r.display_name,
            created_at: r.created_at,
        }
    }
}

pub async fn list(tx: &mut TenantTx<'_>) -> Result<Vec<MemberOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.id, m.user_id, u.email, m.role, m.display_name, m.created_at FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY m.id",
    )
    .bind(ws)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(MemberOut::from).collect())
}

pub async fn get(
    tx: &mut TenantTx<'_>,
    id: &MembershipId,
) -> Result<Option<MemberOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(
        "SELECT m.id, m.user_id, u.email, m.role, m.display_name, m.created_at FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(MemberOut::from))
}

/// Sets (or, with `None`, removes) the name a member goes by; `false` when there is no such
/// member.
pub async fn set_display_name(
    tx: &mut TenantTx<'_>,
    id: &MembershipId,
    name: Option<&str>,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done =
        sqlx::query("UPDATE memberships SET display_name = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(name)
            .bind(ws)
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
    Ok(done.rows_affected() > 0)
}

/// Serialises changes to who owns the workspace. PostgreSQL: lock the owner rows, so two owners
/// demoting each other at once cannot both pass the count. SQLite: writers already run one at a
/// time (`BEGIN IMMEDIATE`).
async fn lock_owners(tx: &mut TenantTx<'_>) -> Result<(), StoreError> {
    if tx.backend == crate::Backend::Postgres {
        let ws = tx.ws().to_owned();
        sqlx::query(
            "SELECT id FROM memberships WHERE workspace_id = $1 AND role = 'owner' FOR UPDATE",
        )
        .bind(ws)
        .fetch_all(tx.conn())
        .await?;
    }
    Ok(())
}

async fn other_owners(tx: &mut TenantTx<'_>, id: &MembershipId) -> Result<i64, StoreError> {
    lock_owners(tx).await?;
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM memberships WHERE workspace_id = $1 AND role = 'owner' AND id <> $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_one(tx.conn())
    .await?)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Done,
    NotFound,
    /// Refused: the workspace would have no owner left.
    LastOwner,
}

/// Sets a member's role; refuses to demote the last owner. Call inside a write transaction.
pub async fn set_role(
    tx: &mut TenantTx<'_>,
    id: &MembershipId,
    role: &Role,
) -> Result<Change, StoreError> {
    let Some(current) = get(tx, id).await? else {
        return Ok(Change::NotFound);
    };
    if current.role == BuiltinRole::Owner.as_str()
        && !role.is_owner()
        && other_owners(tx, id).await? == 0
    {
        return Ok(Change::LastOwner);
    }
    let ws = tx.ws().to_owned();
    sqlx::query("UPDATE memberships SET role = $1 WHERE workspace_id = $2 AND id = $3")
        .bind(role.as_str())
        .bind(ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok(Change::Done)
}

/// Removes a member (and their job assignments); refuses to remove the last owner. The caller
/// ends their sessions.
pub async fn remove(tx: &mut TenantTx<'_>, id: &MembershipId) -> Result<Change, StoreError> {
    let Some(current) = get(tx, id).await? else {
        return Ok(Change::NotFound);
    };
    if current.role == BuiltinRole::Owner.as_str() && other_owners(tx, id).await? == 0 {
        return Ok(Change::LastOwner);
    }
    let ws = tx.ws().to_owned();
    // Their job assignments go with them (a job keeps its other technicians).
    sqlx::query("DELETE FROM job_technicians WHERE workspace_id = $1 AND user_id = $2")
        .bind(&ws)
        .bind(&current.user_id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok(Change::Done)
}

/// One of the workspaces a person belongs to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Belonging {
    pub workspace_id: String,
    pub slug: String,
    pub name: String,
    pub role: String,
}

/// Every workspace `user_id` is a member of, by name. Unscoped: it reads across workspaces,
/// but only the directory rows (workspace, membership) of the person asking, whose session
/// named `user_id` — for the console's workspace switcher, which then signs them in again.
pub async fn unscoped_workspaces_of(db: &Db, user_id: &str) -> Result<Vec<Belonging>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT w.id AS workspace_id, w.slug, w.name, m.role FROM memberships m \
         JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.name, w.slug",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?)
}
