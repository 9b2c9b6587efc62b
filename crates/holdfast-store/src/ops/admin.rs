//! Operator bootstrap used by `holdfast admin …`: acts across workspaces by slug, so every
//! function here is `unscoped_`.

use crate::access::api_keys;
use crate::db::Db;
use crate::error::{Classify, StoreError};
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::access::api_keys::ApiKeyCreated;
use holdfast_core::access::policy::{BuiltinRole, Role};
use holdfast_core::ids::{MembershipId, UserId, WorkspaceId};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CreatedWorkspace {
    pub workspace_id: String,
    pub slug: String,
    pub owner_user_id: String,
    /// The owner's email already had an account; its password was left unchanged.
    pub existing_user: bool,
}

/// A workspace and its owner (an existing account keeps its password), as `holdfast admin
/// create-workspace` makes them. Unscoped: it makes the tenant it then writes in. Every setup
/// link stops working: they exist only while no workspace does.
pub async fn unscoped_create_workspace(
    db: &Db,
    name: &str,
    slug: &str,
    owner_email: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<CreatedWorkspace, StoreError> {
    let ws = WorkspaceId::generate(now_ms);
    let tenant = Tenant::new(ws.clone());
    let mut tx = db.write(&tenant).await?;
    sqlx::query("DELETE FROM setup_links")
        .execute(tx.conn())
        .await?;
    let created = insert_workspace(
        &mut tx,
        ADMIN,
        name,
        slug,
        owner_email,
        password_hash,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// The first workspace and its owner, made through a setup link (`/setup/{token}`): the link
/// is spent in the same transaction, and only while it is unspent, unexpired and no workspace
/// exists. `None` when it is not. Unscoped: the first workspace has no tenant before it.
pub async fn unscoped_create_first_workspace(
    db: &Db,
    link_hash: &str,
    name: &str,
    slug: &str,
    owner_email: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<Option<CreatedWorkspace>, StoreError> {
    let ws = WorkspaceId::generate(now_ms);
    let tenant = Tenant::new(ws.clone());
    let mut tx = db.write(&tenant).await?;
    if !crate::ops::setup::spend(&mut tx, link_hash, now_ms).await? {
        return Ok(None);
    }
    let created = insert_workspace(
        &mut tx,
        "setup-link",
        name,
        slug,
        owner_email,
        password_hash,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(created))
}

/// The workspace row, its owner (an existing account, or a new one with `password_hash`), the
/// owner's membership and the trail's first entry, by the system `actor_id` (the command line,
/// or the setup link), in `tx` (whose tenant is the new workspace).
async fn insert_workspace(
    tx: &mut TenantTx<'_>,
    actor_id: &str,
    name: &str,
    slug: &str,
    owner_email: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<CreatedWorkspace, StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("INSERT INTO workspaces (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(ws.as_str())
        .bind(slug)
        .bind(name)
        .bind(now_ms)
        .execute(tx.conn())
        .await
        .classify()?;
    let existing: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(owner_email)
        .fetch_optional(tx.conn())
        .await?;
    let (user_id, existing_user) = match existing {
        Some(id) => (id, true),
        None => {
            let id = UserId::generate(now_ms).to_string();
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id.as_str())
            .bind(owner_email)
            .bind(password_hash)
            .bind(now_ms)
            .execute(tx.conn())
            .await
            .classify()?;
            (id, false)
        }
    };
    sqlx::query(
        "INSERT INTO memberships (workspace_id, id, user_id, role, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ws.as_str())
    .bind(MembershipId::generate(now_ms).as_str())
    .bind(user_id.as_str())
    .bind(BuiltinRole::Owner.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    let event = crate::ops::audit::NewEvent {
        actor_id: actor_id.to_owned(),
        ..system_event(
            "workspace.created",
            "workspace",
            ws.as_str(),
            serde_json::json!({"slug": slug, "name": name, "owner_user_id": user_id}),
        )
    };
    crate::ops::audit::append(tx, &event, now_ms).await?;
    Ok(CreatedWorkspace {
        workspace_id: ws,
        slug: slug.to_owned(),
        owner_user_id: user_id,
        existing_user,
    })
}

/// The tenant for a slug, for operator commands. `None` when no such workspace exists.
pub async fn unscoped_tenant_by_slug(db: &Db, slug: &str) -> Result<Option<Tenant>, StoreError> {
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM workspaces WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?;
    Ok(id.map(|id| Tenant::new(WorkspaceId::from_trusted(id))))
}

pub async fn unscoped_create_api_key(
    db: &Db,
    slug: &str,
    name: &str,
    role: &Role,
    now_ms: i64,
) -> Result<Option<ApiKeyCreated>, StoreError> {
    let Some(tenant) = unscoped_tenant_by_slug(db, slug).await? else {
        return Ok(None);
    };
    let mut tx: TenantTx<'_> = db.write(&tenant).await?;
    let created = api_keys::create(&mut tx, name, role, None, now_ms).await?;
    let event = system_event(
        "api_key.created",
        "api_key",
        created.key.id.as_str(),
        serde_json::json!({"name": name, "role": role.as_str()}),
    );
    crate::ops::audit::append(&mut tx, &event, now_ms).await?;
    tx.commit().await?;
    Ok(Some(created))
}

/// Every workspace's slug, for operator commands that walk all of them.
pub async fn unscoped_workspace_slugs(db: &Db) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT slug FROM workspaces ORDER BY slug")
            .fetch_all(&db.pool)
            .await?,
    )
}

/// The system actor of the operator's commands.
const ADMIN: &str = "holdfast-admin";

/// An operator's action from the command line: the actor is the system.
pub(crate) fn system_event(
    action: &'static str,
    entity_type: &'static str,
    entity_id: &str,
    summary: serde_json::Value,
) -> crate::ops::audit::NewEvent {
    crate::ops::audit::NewEvent {
        actor_type: "system",
        actor_id: ADMIN.to_owned(),
        action,
        entity_type,
        entity_id: entity_id.to_owned(),
        summary,
        ..Default::default()
    }
}
