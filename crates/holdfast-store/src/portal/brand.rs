//! How a workspace's portal looks (0063): the accent colour and the logo's digest on the
//! workspace row (read with the portal's name by `access` and `auth`), the logo's bytes in
//! `workspace_logos`, read only when the logo itself is asked for. Rules:
//! `holdfast_core::brand`.

use crate::error::StoreError;
use crate::tenant::TenantTx;

/// The workspace's branding as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// `#rrggbb`, as stored (normalised by `holdfast_core::brand::Colour`).
    pub colour: Option<String>,
    pub logo: Option<LogoInfo>,
}

/// What is known of the logo without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogoInfo {
    pub content_type: String,
    pub sha256: String,
    pub size_bytes: i64,
}

/// The logo, to serve.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Logo {
    pub content_type: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// The transaction's workspace's branding.
pub async fn get(tx: &mut TenantTx<'_>) -> Result<Branding, StoreError> {
    let ws = tx.ws().to_owned();
    let colour: Option<String> =
        sqlx::query_scalar("SELECT portal_colour FROM workspaces WHERE id = $1")
            .bind(&ws)
            .fetch_one(tx.conn())
            .await?;
    let logo: Option<LogoInfo> = sqlx::query_as(
        "SELECT content_type, sha256, size_bytes FROM workspace_logos WHERE workspace_id = $1",
    )
    .bind(&ws)
    .fetch_optional(tx.conn())
    .await?;
    Ok(Branding { colour, logo })
}

/// Sets the accent colour (`None`: the portal's own).
pub async fn set_colour(tx: &mut TenantTx<'_>, colour: Option<&str>) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("UPDATE workspaces SET portal_colour = $1 WHERE id = $2")
        .bind(colour)
        .bind(ws)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Puts a logo in place of the workspace's (checked by `holdfast_core::brand::check_logo`).
pub async fn put_logo(
    tx: &mut TenantTx<'_>,
    content_type: &str,
    sha256: &str,
    bytes: &[u8],
    by: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("DELETE FROM workspace_logos WHERE workspace_id = $1")
        .bind(&ws)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO workspace_logos \
         (workspace_id, content_type, sha256, bytes, size_bytes, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&ws)
    .bind(content_type)
    .bind(sha256)
    .bind(bytes)
    .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
    .bind(by)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE workspaces SET portal_logo_sha256 = $1 WHERE id = $2")
        .bind(sha256)
        .bind(&ws)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Removes the workspace's logo; whether there was one.
pub async fn remove_logo(tx: &mut TenantTx<'_>) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let removed = sqlx::query("DELETE FROM workspace_logos WHERE workspace_id = $1")
        .bind(&ws)
        .execute(tx.conn())
        .await?
        .rows_affected();
    sqlx::query("UPDATE workspaces SET portal_logo_sha256 = NULL WHERE id = $1")
        .bind(&ws)
        .execute(tx.conn())
        .await?;
    Ok(removed > 0)
}

/// The workspace's logo with its bytes.
pub async fn logo(tx: &mut TenantTx<'_>) -> Result<Option<Logo>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_as(
        "SELECT content_type, sha256, bytes FROM workspace_logos WHERE workspace_id = $1",
    )
    .bind(ws)
    .fetch_optional(tx.conn())
    .await?)
}
