//! Authentication: turns a presented credential into an [`Actor`]. The only place (with
//! `admin`) that constructs a [`Tenant`].

use crate::db::Db;
use crate::error::StoreError;
use crate::tenant::Tenant;
use holdfast_core::ids::{ApiKeyId, WorkspaceId};
use holdfast_core::policy::Role;
use holdfast_core::token::{PresentedKey, constant_time_eq};

/// Who is acting: a workspace, the credential and its role.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant: Tenant,
    pub key_id: ApiKeyId,
    pub role: Role,
}

/// `last_used_at` is written at most this often per key, so a busy key does not turn every
/// read into a write.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

#[derive(sqlx::FromRow)]
struct KeyRow {
    workspace_id: String,
    id: String,
    role: String,
    secret_hash: String,
    last_used_at: Option<i64>,
}

/// Looks the key up by its prefix and compares digests in constant time. Revoked keys never
/// match: revocation takes effect on the next request.
pub async fn authenticate_api_key(
    db: &Db,
    presented: &PresentedKey,
    now_ms: i64,
) -> Result<Option<Actor>, StoreError> {
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT workspace_id, id, role, secret_hash, last_used_at FROM api_keys \
         WHERE lookup = $1 AND revoked_at IS NULL",
    )
    .bind(presented.lookup.as_str())
    .fetch_all(&db.pool)
    .await?;
    let Some(row) = rows
        .into_iter()
        .find(|r| constant_time_eq(&r.secret_hash, &presented.hash))
    else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&row.role) else {
        tracing::error!(key_id = %row.id, "api key has an unknown role; refusing it");
        return Ok(None);
    };
    if row
        .last_used_at
        .is_none_or(|t| now_ms - t >= LAST_USED_GRANULARITY_MS)
    {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(now_ms)
            .bind(row.workspace_id.as_str())
            .bind(row.id.as_str())
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(Actor {
        tenant: Tenant::new(WorkspaceId::from_trusted(row.workspace_id)),
        key_id: ApiKeyId::from_trusted(row.id),
        role,
    }))
}
