use crate::db::{Backend, Db};
use crate::error::StoreError;
use holdfast_core::ids::WorkspaceId;
use sqlx::{Any, AnyConnection, Transaction};

/// A workspace the caller has proven to act for. Only the authentication layer (this crate's
/// `auth` and `admin` modules) can construct one, so tenant data cannot be reached without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    workspace_id: WorkspaceId,
}

impl Tenant {
    pub(crate) fn new(workspace_id: WorkspaceId) -> Self {
        Self { workspace_id }
    }
    pub fn workspace_id(&self) -> &WorkspaceId {
        &self.workspace_id
    }
}

/// A transaction scoped to one tenant. On PostgreSQL it also sets `app.workspace_id` for the
/// row-level security policies; on SQLite writers take the write lock up front.
pub struct TenantTx<'t> {
    tx: Transaction<'static, Any>,
    tenant: &'t Tenant,
}

impl<'t> TenantTx<'t> {
    pub(crate) fn ws(&self) -> &str {
        self.tenant.workspace_id.as_str()
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub fn tenant(&self) -> &Tenant {
        self.tenant
    }

    /// Raw access for tests that prove the database's own isolation wall. Named `unscoped_`
    /// because SQL sent through it carries no tenant predicate unless it writes one.
    pub fn unscoped_connection(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Db {
    async fn tenant_tx<'t>(
        &self,
        tenant: &'t Tenant,
        write: bool,
    ) -> Result<TenantTx<'t>, StoreError> {
        let mut tx = match (self.backend(), write) {
            (Backend::Sqlite, true) => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _ => self.pool.begin().await?,
        };
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT set_config('app.workspace_id', $1, true)")
                .bind(tenant.workspace_id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        Ok(TenantTx { tx, tenant })
    }

    /// A read transaction for `tenant`.
    pub async fn read<'t>(&self, tenant: &'t Tenant) -> Result<TenantTx<'t>, StoreError> {
        self.tenant_tx(tenant, false).await
    }

    /// A write transaction for `tenant`.
    pub async fn write<'t>(&self, tenant: &'t Tenant) -> Result<TenantTx<'t>, StoreError> {
        self.tenant_tx(tenant, true).await
    }
}
