//! Holdfast's store: SQL for SQLite and PostgreSQL, written once, selected by URL at runtime.
//!
//! Owns the connection pool, migrations, the tenant-scoped transaction ([`TenantTx`]) and one
//! repository module per resource. Every function over tenant data takes a `TenantTx`, which
//! can only be opened with a [`Tenant`], which only [`auth`] can construct. Cross-tenant
//! accessors are named `unscoped_*`. Statement text that is not one literal is built with
//! [`sql::Sql`], from `&'static str` fragments and `$n` placeholders only. Must not know about HTTP.

pub mod access;
pub mod crm;
mod db;
mod error;
pub mod helpdesk;
pub mod idempotency;
pub mod identity;
pub mod ops;
pub mod privacy;
pub mod sql;
mod tenant;
pub mod webhooks;

pub use db::{Backend, Db, PoolStats};
pub use error::{Conflict, StoreError};
pub use tenant::{Lock, Tenant, TenantTx};
