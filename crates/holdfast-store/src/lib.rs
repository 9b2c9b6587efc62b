//! Holdfast's store: SQL for SQLite and PostgreSQL, written once, selected by URL at runtime.
//!
//! Owns the connection pool, migrations, the tenant-scoped transaction ([`TenantTx`]) and one
//! repository module per resource. Every function over tenant data takes a `TenantTx`, which
//! can only be opened with a [`Tenant`], which only [`auth`] can construct. Cross-tenant
//! accessors are named `unscoped_*`. Statement text that is not one literal is built with
//! [`sql::Sql`], from `&'static str` fragments and `$n` placeholders only. Must not know about HTTP.

pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod companies;
pub mod consent;
pub mod contact_fields;
pub mod contact_imports;
pub mod contacts;
mod db;
mod error;
pub mod idempotency;
pub mod identity;
pub mod inbound;
pub mod invitations;
pub mod mail_outbox;
pub mod members;
pub mod notices;
pub mod oidc;
pub mod privacy;
pub mod queue;
pub mod roles;
pub mod saved_replies;
pub mod sessions;
pub mod sql;
mod tenant;
pub mod ticket_activity;
pub mod tickets;
pub mod two_factor;
pub mod webhooks;
pub mod widget;
pub mod workspaces;

pub use db::{Backend, Db, PoolStats};
pub use error::{Conflict, StoreError};
pub use tenant::{Lock, Tenant, TenantTx};
