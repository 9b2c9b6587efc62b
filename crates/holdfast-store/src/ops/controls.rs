//! Operator controls (`holdfast admin suspend-workspace`, `resume-workspace`, `lock-user`,
//! `unlock-user`, `workspaces`). A suspended workspace keeps its data, but no tenant
//! transaction opens for it (`Db::read`/`Db::write` refuse with `StoreError::Suspended`), so
//! every route, public link, hook and job of it stops at once, whatever its entry point. A
//! locked account starts no session (`identity::insert_session`) and its live sessions end.
//! Every change is audited in the workspace's trail by the operator's system actor. The
//! operator may still read a suspended workspace's audit chain to verify it
//! ([`operator_audit_chain`]).

use crate::db::Db;
use crate::error::StoreError;
use crate::ops::admin::system_event;
use crate::tenant::Tenant;
use holdfast_core::ids::WorkspaceId;
use holdfast_core::ops::audit::AuditEntry;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How stale a process's view of the suspended workspaces may grow: an operator's command run
/// in another process takes effect within this.
pub const SUSPENSION_REFRESH: Duration = Duration::from_secs(2);

/// The suspended workspaces as this process last read them.
#[derive(Debug, Default)]
pub struct Suspended {
    view: RwLock<View>,
    /// One reader refreshes at a time; the others wait for its answer.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct View {
    read_at: Option<Instant>,
    ids: HashSet<String>,
}

impl Suspended {
    /// Whether `workspace_id` is suspended, if the view is fresh enough to say.
    fn lookup(&self, workspace_id: &str) -> Option<bool> {
        let view = self.view.read().ok()?;
        let fresh = view
            .read_at
            .is_some_and(|at| at.elapsed() < SUSPENSION_REFRESH);
        fresh.then(|| view.ids.contains(workspace_id))
    }

    fn replace(&self, ids: Vec<String>) {
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        view.ids = ids.into_iter().collect();
        view.read_at = Some(Instant::now());
    }

    /// Forgets the view: the next transaction reads the suspensions again.
    fn forget(&self) {
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        view.read_at = None;
    }
}

impl Db {
    /// Whether the operator has suspended `tenant`'s workspace (read at most every
    /// [`SUSPENSION_REFRESH`]).
    pub async fn is_suspended(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        let ws = tenant.workspace_id().as_str();
        if let Some(answer) = self.suspended.lookup(ws) {
            return Ok(answer);
        }
        let _one_reader = self.suspended.refreshing.lock().await;
        if let Some(answer) = self.suspended.lookup(ws) {
            return Ok(answer);
        }
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM workspaces WHERE suspended_at IS NOT NULL")
                .fetch_all(&self.pool)
                .await?;
        self.suspended.replace(ids);
        Ok(self.suspended.lookup(ws).unwrap_or(false))
    }
}

/// What an operator's control did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Changed {
    /// Done; this many live sessions ended.
    Done { sessions_ended: u64 },
    /// It was already so; nothing changed.
    Already,
    /// No workspace has this slug, or no account this email.
    NotFound,
}

#[derive(sqlx::FromRow)]
struct WorkspaceRow {
    id: String,
    suspended_at: Option<i64>,
}

async fn workspace_by_slug(db: &Db, slug: &str) -> Result<Option<WorkspaceRow>, StoreError> {
    Ok(
        sqlx::query_as("SELECT id, suspended_at FROM workspaces WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Suspends the workspace `slug`: its sessions end, the suspension and its reason are audited,
/// and from then on (at once in this process, within [`SUSPENSION_REFRESH`] in others) no
/// tenant transaction opens for it. Its data is kept.
pub async fn unscoped_suspend_workspace(
    db: &Db,
    slug: &str,
    reason: &str,
    now_ms: i64,
) -> Result<Changed, StoreError> {
    let Some(row) = workspace_by_slug(db, slug).await? else {
        return Ok(Changed::NotFound);
    };
    if row.suspended_at.is_some() {
        return Ok(Changed::Already);
    }
    let tenant = Tenant::new(WorkspaceId::from_trusted(row.id.clone()));
    let mut tx = db.open_tenant_tx(&tenant, true).await?;
    let ended = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE workspace_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(&row.id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    // The client portal's customers are signed out too, and their links spent: resuming the
    // workspace brings none back.
    let portal_ended =
        crate::portal::sessions::close(&mut tx, crate::portal::sessions::Closing::Everyone, now_ms)
            .await?;
    let event = system_event(
        "workspace.suspended",
        "workspace",
        &row.id,
        serde_json::json!({"reason": reason, "sessions_ended": ended,
                           "portal_sessions_ended": portal_ended}),
    );
    crate::ops::audit::append(&mut tx, &event, now_ms).await?;
    sqlx::query("UPDATE workspaces SET suspended_at = $1, suspended_reason = $2 WHERE id = $3")
        .bind(now_ms)
        .bind(reason)
        .bind(&row.id)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    db.suspended.forget();
    Ok(Changed::Done {
        sessions_ended: ended,
    })
}

/// Resumes the workspace `slug`: everything works again, audited.
pub async fn unscoped_resume_workspace(
    db: &Db,
    slug: &str,
    now_ms: i64,
) -> Result<Changed, StoreError> {
    let Some(row) = workspace_by_slug(db, slug).await? else {
        return Ok(Changed::NotFound);
    };
    let Some(since) = row.suspended_at else {
        return Ok(Changed::Already);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(row.id.clone()));
    let mut tx = db.open_tenant_tx(&tenant, true).await?;
    sqlx::query("UPDATE workspaces SET suspended_at = NULL, suspended_reason = NULL WHERE id = $1")
        .bind(&row.id)
        .execute(tx.conn())
        .await?;
    let event = system_event(
        "workspace.resumed",
        "workspace",
        &row.id,
        serde_json::json!({"suspended_at": since}),
    );
    crate::ops::audit::append(&mut tx, &event, now_ms).await?;
    tx.commit().await?;
    db.suspended.forget();
    Ok(Changed::Done { sessions_ended: 0 })
}

/// Locks the account `email` (normalised): it signs in nowhere, and its sessions in every
/// workspace end, each workspace's trail recording it.
pub async fn unscoped_lock_user(
    db: &Db,
    email: &str,
    reason: &str,
    now_ms: i64,
) -> Result<Changed, StoreError> {
    let user: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT id, locked_at FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&db.pool)
            .await?;
    let Some((user_id, locked_at)) = user else {
        return Ok(Changed::NotFound);
    };
    if locked_at.is_some() {
        return Ok(Changed::Already);
    }
    // Locked first: from this statement on, no request of the account is served.
    sqlx::query("UPDATE users SET locked_at = $1, locked_reason = $2 WHERE id = $3")
        .bind(now_ms)
        .bind(reason)
        .bind(&user_id)
        .execute(&db.pool)
        .await?;
    let ended = unscoped_each_workspace_of(db, &user_id, now_ms, "user.locked", reason).await?;
    Ok(Changed::Done {
        sessions_ended: ended,
    })
}

/// Unlocks the account `email`: it may sign in again (its ended sessions stay ended).
pub async fn unscoped_unlock_user(
    db: &Db,
    email: &str,
    now_ms: i64,
) -> Result<Changed, StoreError> {
    let user: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT id, locked_at FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&db.pool)
            .await?;
    let Some((user_id, locked_at)) = user else {
        return Ok(Changed::NotFound);
    };
    if locked_at.is_none() {
        return Ok(Changed::Already);
    }
    sqlx::query("UPDATE users SET locked_at = NULL, locked_reason = NULL WHERE id = $1")
        .bind(&user_id)
        .execute(&db.pool)
        .await?;
    unscoped_each_workspace_of(db, &user_id, now_ms, "user.unlocked", "").await?;
    Ok(Changed::Done { sessions_ended: 0 })
}

/// In each workspace `user_id` belongs to: ends their sessions (when locking) and records
/// `action`. How many sessions ended.
async fn unscoped_each_workspace_of(
    db: &Db,
    user_id: &str,
    now_ms: i64,
    action: &'static str,
    reason: &str,
) -> Result<u64, StoreError> {
    let workspaces: Vec<String> =
        sqlx::query_scalar("SELECT workspace_id FROM memberships WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&db.pool)
            .await?;
    let mut ended = 0;
    for ws in workspaces {
        let tenant = Tenant::new(WorkspaceId::from_trusted(ws.clone()));
        let mut tx = db.open_tenant_tx(&tenant, true).await?;
        let here = if action == "user.locked" {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE workspace_id = $2 AND user_id = $3 \
                 AND revoked_at IS NULL",
            )
            .bind(now_ms)
            .bind(&ws)
            .bind(user_id)
            .execute(tx.conn())
            .await?
            .rows_affected()
        } else {
            0
        };
        ended += here;
        let summary = if reason.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::json!({"reason": reason, "sessions_ended": here})
        };
        let event = system_event(action, "user", user_id, summary);
        crate::ops::audit::append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
    }
    Ok(ended)
}

/// A workspace's recorded audit head and its whole chain in order, read even while the
/// workspace is suspended: `holdfast audit verify` must be able to vouch for a suspended
/// workspace's trail, and reading it serves the operator only, never the workspace. The head
/// is read first: entries appended meanwhile only lengthen the chain read after it.
#[allow(clippy::type_complexity)]
pub async fn operator_audit_chain(
    db: &Db,
    tenant: &Tenant,
) -> Result<(Option<(i64, String)>, Vec<AuditEntry>), StoreError> {
    let mut tx = db.open_tenant_tx(tenant, false).await?;
    let head = crate::ops::audit::head(&mut tx).await?;
    let chain = crate::ops::audit::chain(&mut tx).await?;
    tx.commit().await?;
    Ok((head, chain))
}

/// One workspace as `holdfast admin workspaces` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceOverview {
    pub name: String,
    pub slug: String,
    pub members: i64,
    pub contacts: i64,
    pub tickets: i64,
    /// Bytes of its ticket attachments and job files.
    pub attachment_bytes: i64,
    pub suspended_at: Option<i64>,
    pub suspended_reason: Option<String>,
    /// The latest audit entry or session use, epoch ms.
    pub last_activity_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct OverviewRow {
    id: String,
    name: String,
    slug: String,
    suspended_at: Option<i64>,
    suspended_reason: Option<String>,
}

/// Every workspace with its size and state, by slug.
pub async fn unscoped_workspaces(db: &Db) -> Result<Vec<WorkspaceOverview>, StoreError> {
    let rows: Vec<OverviewRow> = sqlx::query_as(
        "SELECT id, name, slug, suspended_at, suspended_reason FROM workspaces ORDER BY slug",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let tenant = Tenant::new(WorkspaceId::from_trusted(row.id.clone()));
        let mut tx = db.open_tenant_tx(&tenant, false).await?;
        let mut counts = [0_i64; 3];
        for (slot, sql) in counts.iter_mut().zip([
            "SELECT count(*) FROM memberships WHERE workspace_id = $1",
            "SELECT count(*) FROM contacts WHERE workspace_id = $1",
            "SELECT count(*) FROM tickets WHERE workspace_id = $1",
        ]) {
            *slot = sqlx::query_scalar(sql)
                .bind(&row.id)
                .fetch_one(tx.conn())
                .await?;
        }
        let attachment_bytes: Option<i64> = sqlx::query_scalar(
            "SELECT CAST((SELECT COALESCE(sum(size), 0) FROM ticket_attachments WHERE workspace_id = $1) \
             + (SELECT COALESCE(sum(size), 0) FROM job_files WHERE workspace_id = $1) AS BIGINT)",
        )
        .bind(&row.id)
        .fetch_one(tx.conn())
        .await?;
        let last_audit: Option<i64> =
            sqlx::query_scalar("SELECT max(at) FROM audit_events WHERE workspace_id = $1")
                .bind(&row.id)
                .fetch_one(tx.conn())
                .await?;
        let last_seen: Option<i64> =
            sqlx::query_scalar("SELECT max(last_seen_at) FROM sessions WHERE workspace_id = $1")
                .bind(&row.id)
                .fetch_one(tx.conn())
                .await?;
        tx.commit().await?;
        out.push(WorkspaceOverview {
            name: row.name,
            slug: row.slug,
            members: counts[0],
            contacts: counts[1],
            tickets: counts[2],
            attachment_bytes: attachment_bytes.unwrap_or(0),
            suspended_at: row.suspended_at,
            suspended_reason: row.suspended_reason,
            last_activity_at: last_audit.max(last_seen),
        });
    }
    Ok(out)
}
