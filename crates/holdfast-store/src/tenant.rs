use crate::db::{Backend, Db};
use crate::error::StoreError;
use holdfast_core::ids::WorkspaceId;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::OwnedSemaphorePermit;

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

/// A unit of work scoped to one tenant. On PostgreSQL it is a transaction that also sets
/// `app.workspace_id` for the row-level security policies. On SQLite writers take the write
/// lock up front (`BEGIN IMMEDIATE`), and readers use a plain connection: each SQLite statement
/// is atomic on its own, and skipping BEGIN/COMMIT halves the round trips to SQLite's
/// connection thread. A read scope that needs a snapshot across several statements should use
/// `write`.
pub struct TenantTx<'t> {
    scope: Scope,
    tenant: &'t Tenant,
    pub(crate) backend: Backend,
    /// Held by SQLite writers until commit or drop (see `Db::write_gate`).
    _write_permit: Option<OwnedSemaphorePermit>,
    /// SQLite: realtime notices raised in this transaction, handed to readers at commit
    /// (PostgreSQL queues them in the transaction itself).
    pub(crate) pending_notices: Vec<holdfast_core::realtime::Notice>,
    notices: tokio::sync::broadcast::Sender<crate::notices::Heard>,
}

enum Scope {
    Tx(Transaction<'static, Any>),
    Conn(PoolConnection<Any>),
}

impl<'t> TenantTx<'t> {
    pub(crate) fn ws(&self) -> &str {
        self.tenant.workspace_id.as_str()
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        match &mut self.scope {
            Scope::Tx(tx) => tx,
            Scope::Conn(conn) => conn,
        }
    }

    pub fn tenant(&self) -> &Tenant {
        self.tenant
    }

    /// Raw access for tests that prove the database's own isolation wall. Named `unscoped_`
    /// because SQL sent through it carries no tenant predicate unless it writes one.
    pub fn unscoped_connection(&mut self) -> &mut AnyConnection {
        self.conn()
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        if let Scope::Tx(tx) = self.scope {
            tx.commit().await?;
        }
        for notice in self.pending_notices {
            // No reader is not an error.
            drop(self.notices.send(crate::notices::Heard::Notice(notice)));
        }
        Ok(())
    }
}

impl Db {
    async fn tenant_tx<'t>(
        &self,
        tenant: &'t Tenant,
        write: bool,
    ) -> Result<TenantTx<'t>, StoreError> {
        let mut permit = None;
        let scope = match (self.backend(), write) {
            (Backend::Sqlite, true) => {
                permit = self.write_gate.clone().acquire_owned().await.ok();
                Scope::Tx(self.pool.begin_with("BEGIN IMMEDIATE").await?)
            }
            (Backend::Sqlite, false) => Scope::Conn(self.pool.acquire().await?),
            (Backend::Postgres, _) => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT set_config('app.workspace_id', $1, true)")
                    .bind(tenant.workspace_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                Scope::Tx(tx)
            }
        };
        Ok(TenantTx {
            scope,
            tenant,
            backend: self.backend(),
            _write_permit: permit,
            pending_notices: Vec::new(),
            notices: self.notices.clone(),
        })
    }

    /// A read scope for `tenant`.
    pub async fn read<'t>(&self, tenant: &'t Tenant) -> Result<TenantTx<'t>, StoreError> {
        self.tenant_tx(tenant, false).await
    }

    /// A write transaction for `tenant`.
    pub async fn write<'t>(&self, tenant: &'t Tenant) -> Result<TenantTx<'t>, StoreError> {
        self.tenant_tx(tenant, true).await
    }
}
