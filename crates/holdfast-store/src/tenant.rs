//! The tenant scope: `Tenant` (a workspace the caller has proven to act for) and `TenantTx`
//! (a unit of work inside it, carrying the row-level-security setting on PostgreSQL). Every
//! repository function over tenant data takes a `TenantTx`, so forgetting the tenant does not
//! compile.

use crate::db::{Backend, Db};
use crate::error::StoreError;
use holdfast_core::ids::WorkspaceId;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::OwnedSemaphorePermit;

/// A workspace the caller has proven to act for. The constructor is crate-private and called in
/// two kinds of place only (the test below keeps it so): after a credential or sign-in step has
/// been verified (`auth`, `identity`), and in the `unscoped_*` look-ups that resolve a public
/// token, a job, a hook or an operator's slug to its workspace (counted by CI in
/// `.ci/unscoped-allowlist`). Tenant data cannot be reached without one.
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
    pub(crate) pending_notices: Vec<holdfast_core::ops::realtime::Notice>,
    /// Audit entries of this transaction, chained and written at commit
    /// (`crate::ops::audit::append`).
    pub(crate) pending_audit: Vec<crate::ops::audit::Pending>,
    notices: tokio::sync::broadcast::Sender<crate::ops::notices::Heard>,
}

/// How a read inside a [`TenantTx`] holds the row it returns. `ForUpdate` is for a
/// read-modify-write in a `Db::write` scope: the row stays locked until the transaction ends, so
/// a concurrent writer waits and cannot have its change overwritten with stale values. On
/// PostgreSQL that is `FOR UPDATE`; a SQLite writer holds the database's write lock from
/// `BEGIN IMMEDIATE` already, so there the SQL is the same as for `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read.
    Read,
    /// The row stays locked until the transaction ends.
    ForUpdate,
}

impl Lock {
    /// What this lock appends to a `SELECT` on `backend`: `" FOR UPDATE"` or nothing.
    pub(crate) fn clause(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Lock::ForUpdate, Backend::Postgres) => " FOR UPDATE",
            (Lock::ForUpdate, Backend::Sqlite) | (Lock::Read, _) => "",
        }
    }
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

    /// Commits, with the transaction's audit entries appended to the chain first: the chain's
    /// head is taken only now, so it is held from here to the commit and no longer.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        crate::ops::audit::seal_pending(&mut self).await?;
        if let Scope::Tx(tx) = self.scope {
            tx.commit().await?;
        }
        for notice in self.pending_notices {
            // No reader is not an error.
            drop(
                self.notices
                    .send(crate::ops::notices::Heard::Notice(notice)),
            );
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
        // A suspended workspace is closed to every route, link, hook and job at once.
        if self.is_suspended(tenant).await? {
            return Err(StoreError::Suspended);
        }
        self.open_tenant_tx(tenant, write).await
    }

    /// A tenant transaction even for a suspended workspace, for work that gives the workspace
    /// nothing: the operator's controls (`crate::ops::controls`: suspend, resume, report, read
    /// the audit chain to verify it), ending an account's sessions, recording a refused sign-in
    /// (`identity::unscoped_audit`), and answering a signed hook of a suspended workspace.
    pub(crate) async fn open_tenant_tx<'t>(
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
            pending_audit: Vec::new(),
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

#[cfg(test)]
mod tests {
    /// Every `Tenant::new` outside this file sits in `identity/auth.rs`, `identity/mod.rs` or `portal/auth.rs` (the portal's sessions)
    /// (verified credentials and sign-in) or inside a function named `unscoped_*`.
    #[test]
    fn tenants_are_made_only_after_verification_or_by_counted_unscoped_look_ups() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&dir, &mut files);
        assert!(
            files.len() > 30,
            "the walk found the sources ({})",
            files.len()
        );
        let mut stray = Vec::new();
        let mut seen = 0;
        for path in files {
            let name = path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if [
                "tenant.rs",
                "identity/auth.rs",
                "identity/mod.rs",
                "portal/auth.rs",
            ]
            .contains(&name.as_str())
            {
                seen += 1;
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut current_fn = String::new();
            for (n, line) in text.lines().enumerate() {
                if let Some(at) = line.find("fn ") {
                    let rest = &line[at + 3..];
                    let end = rest
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    if end > 0 {
                        current_fn = rest[..end].to_owned();
                    }
                }
                if line.contains("Tenant::new(") && !current_fn.starts_with("unscoped_") {
                    stray.push(format!("{name}:{} in fn {current_fn}", n + 1));
                }
            }
        }
        assert_eq!(
            seen, 4,
            "the files allowed to make tenants were not all found"
        );
        assert!(
            stray.is_empty(),
            "Tenant::new outside auth, identity and unscoped_* functions: {stray:?}"
        );
    }
}
