//! Holdfast's store: SQL for SQLite and PostgreSQL, written once, selected by URL at runtime.
//!
//! Owns the connection pool, migrations, the tenant-scoped transaction ([`TenantTx`]) and one
//! repository module per resource, grouped by feature (`identity`, `access`, `crm`,
//! `helpdesk`, `field_service`, `invoicing`, `privacy`, `webhooks`, `ops`). Every function over tenant data takes a
//! `TenantTx`, which can only be opened with a [`Tenant`], which only authentication
//! (`identity::auth`), sign-in (`identity`) and the counted `unscoped_*` look-ups construct (a
//! unit test in `tenant.rs` keeps it so). Statement text that is not one literal is built with
//! [`sql::Sql`], from `&'static str` fragments and `$n` placeholders only. Must not know about
//! HTTP.

pub mod access;
pub mod crm;
mod db;
mod error;
pub mod field_service;
pub mod helpdesk;
pub mod idempotency;
pub mod identity;
pub mod invoicing;
pub mod ops;
pub mod portal;
pub mod privacy;
pub mod public_links;
pub mod sql;
mod tenant;
pub mod webhooks;

pub use db::{Backend, Db, PoolStats};
pub use error::{Conflict, StoreError};
pub use tenant::{Lock, Tenant, TenantTx};
