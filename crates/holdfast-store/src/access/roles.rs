//! A workspace's custom roles, and turning any stored role name into a [`Role`].

use crate::error::{Classify, StoreError};
use crate::tenant::TenantTx;
use holdfast_core::access::fields::FieldRules;
use holdfast_core::access::policy::{BuiltinRole, Role, RoleRef};
use holdfast_core::access::roles::{RoleFields, RoleOut, permissions_from_json, permissions_json};
use holdfast_core::ids::RoleId;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    description: String,
    permissions: String,
    field_rules: String,
    created_at: i64,
    updated_at: i64,
}

fn rules_of(text: &str) -> FieldRules {
    FieldRules::from_stored(text)
}

impl Row {
    fn out(self) -> RoleOut {
        let set = permissions_from_json(&self.permissions);
        RoleOut {
            id: self.id,
            name: self.name,
            description: self.description,
            permissions: set.to_vec().iter().map(|p| p.as_str().to_owned()).collect(),
            fields: rules_of(&self.field_rules).to_json(),
            builtin: false,
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
        }
    }
}

/// The role a stored name stands for in this workspace: a built-in role, or one of the
/// workspace's custom roles. `None` for anything else (a deleted role grants nothing).
pub async fn resolve(tx: &mut TenantTx<'_>, stored: &str) -> Result<Option<Role>, StoreError> {
    if let Some(builtin) = BuiltinRole::parse(stored) {
        return Ok(Some(Role::builtin(builtin)));
    }
    if RoleId::parse(stored).is_none() {
        return Ok(None);
    }
    let ws = tx.ws().to_owned();
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT permissions, field_rules FROM roles WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(stored)
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.map(|(p, f)| {
        Role::custom(stored.to_owned(), permissions_from_json(&p)).with_field_rules(rules_of(&f))
    }))
}

pub async fn resolve_ref(
    tx: &mut TenantTx<'_>,
    role: &RoleRef,
) -> Result<Option<Role>, StoreError> {
    match role {
        RoleRef::Builtin(b) => Ok(Some(Role::builtin(*b))),
        RoleRef::Custom(id) => resolve(tx, id).await,
    }
}

pub async fn list(tx: &mut TenantTx<'_>) -> Result<Vec<RoleOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, description, permissions, field_rules, created_at, updated_at FROM roles \
         WHERE workspace_id = $1 ORDER BY name",
    )
    .bind(ws)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(Row::out).collect())
}

pub async fn get(tx: &mut TenantTx<'_>, id: &RoleId) -> Result<Option<RoleOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, description, permissions, field_rules, created_at, updated_at FROM roles \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(Row::out))
}

pub async fn create(
    tx: &mut TenantTx<'_>,
    fields: &RoleFields,
    now_ms: i64,
) -> Result<RoleOut, StoreError> {
    let ws = tx.ws().to_owned();
    let id = RoleId::generate(now_ms);
    sqlx::query(
        "INSERT INTO roles (workspace_id, id, name, description, permissions, field_rules, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(fields.name.as_str())
    .bind(fields.description.as_str())
    .bind(permissions_json(fields.permissions))
    .bind(fields.field_rules.to_json().to_string())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(RoleOut {
        id: id.to_string(),
        name: fields.name.clone(),
        description: fields.description.clone(),
        permissions: fields
            .permissions
            .to_vec()
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        fields: fields.field_rules.to_json(),
        builtin: false,
        created_at: Some(now_ms),
        updated_at: Some(now_ms),
    })
}

pub async fn update(
    tx: &mut TenantTx<'_>,
    id: &RoleId,
    fields: &RoleFields,
    now_ms: i64,
) -> Result<Option<RoleOut>, StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE roles SET name = $1, description = $2, permissions = $3, field_rules = $4, \
         updated_at = $5 WHERE workspace_id = $6 AND id = $7",
    )
    .bind(fields.name.as_str())
    .bind(fields.description.as_str())
    .bind(permissions_json(fields.permissions))
    .bind(fields.field_rules.to_json().to_string())
    .bind(now_ms)
    .bind(ws)
    .bind(id.as_str())
    .execute(tx.conn())
    .await
    .classify()?;
    get(tx, id).await
}

#[derive(Debug, PartialEq, Eq)]
pub enum Deleted {
    Done,
    NotFound,
    /// Members, API keys or pending invitations still name it.
    InUse(i64),
}

pub async fn delete(tx: &mut TenantTx<'_>, id: &RoleId) -> Result<Deleted, StoreError> {
    let ws = tx.ws().to_owned();
    let users: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM memberships WHERE workspace_id = $1 AND role = $2) \
         + (SELECT count(*) FROM api_keys WHERE workspace_id = $1 AND role = $2 AND revoked_at IS NULL) \
         + (SELECT count(*) FROM invitations WHERE workspace_id = $1 AND role = $2 \
            AND accepted_at IS NULL AND revoked_at IS NULL) \
         + (SELECT count(*) FROM webhook_endpoints WHERE workspace_id = $1 AND role = $2)",
    )
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_one(tx.conn())
    .await?;
    if users > 0 {
        return Ok(Deleted::InUse(users));
    }
    let done = sqlx::query("DELETE FROM roles WHERE workspace_id = $1 AND id = $2")
        .bind(ws.as_str())
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    Ok(if done.rows_affected() == 1 {
        Deleted::Done
    } else {
        Deleted::NotFound
    })
}
