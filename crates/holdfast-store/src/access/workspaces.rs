//! The current tenant's own workspace row.

use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::access::modules::ModuleSet;
use holdfast_core::access::workspaces::WorkspaceOut;

pub async fn get(tx: &mut TenantTx<'_>) -> Result<Option<WorkspaceOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<(String, String, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, slug, name, require_2fa, console_idle_ms, console_absolute_ms, created_at \
         FROM workspaces WHERE id = $1",
    )
    .bind(ws)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(
        |(id, slug, name, require_2fa, idle_ms, absolute_ms, created_at)| WorkspaceOut {
            id,
            slug,
            name,
            require_2fa: require_2fa == 1,
            console_idle_minutes: idle_ms / 60_000,
            console_max_hours: absolute_ms / 3_600_000,
            created_at,
        },
    ))
}

pub async fn update(
    tx: &mut TenantTx<'_>,
    name: Option<&str>,
    require_2fa: Option<bool>,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    if let Some(name) = name {
        sqlx::query("UPDATE workspaces SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(ws.as_str())
            .execute(tx.conn())
            .await?;
    }
    if let Some(flag) = require_2fa {
        sqlx::query("UPDATE workspaces SET require_2fa = $1 WHERE id = $2")
            .bind(i64::from(flag))
            .bind(ws.as_str())
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

pub async fn modules(tx: &mut TenantTx<'_>) -> Result<ModuleSet, StoreError> {
    let ws = tx.ws().to_owned();
    let text: Option<String> = sqlx::query_scalar("SELECT modules FROM workspaces WHERE id = $1")
        .bind(ws)
        .fetch_optional(tx.conn())
        .await?;
    Ok(text
        .map(|t| ModuleSet::from_json(&t))
        .unwrap_or_else(ModuleSet::defaults))
}

/// Sets the modules the workspace has on. With the client portal off, its customers' sessions
/// and sign-in links end (turning it on again brings none back).
pub async fn set_modules(
    tx: &mut TenantTx<'_>,
    modules: ModuleSet,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("UPDATE workspaces SET modules = $1 WHERE id = $2")
        .bind(modules.to_json())
        .bind(ws)
        .execute(tx.conn())
        .await?;
    if !modules.contains(holdfast_core::access::modules::Module::ClientPortal) {
        crate::portal::sessions::close(tx, crate::portal::sessions::Closing::Everyone, now_ms)
            .await?;
    }
    Ok(())
}

/// The console session policy for sessions started from now on.
pub async fn set_session_policy(
    tx: &mut TenantTx<'_>,
    idle_minutes: Option<i64>,
    max_hours: Option<i64>,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    if let Some(m) = idle_minutes {
        sqlx::query("UPDATE workspaces SET console_idle_ms = $1 WHERE id = $2")
            .bind(m * 60_000)
            .bind(ws.as_str())
            .execute(tx.conn())
            .await?;
    }
    if let Some(h) = max_hours {
        sqlx::query("UPDATE workspaces SET console_absolute_ms = $1 WHERE id = $2")
            .bind(h * 3_600_000)
            .bind(ws.as_str())
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}
