//! Holdfast's core: ids, wire types, validation, policy, error codes, configuration, token
//! formats, password hashing and log redaction.
//!
//! Everything here is pure logic: no HTTP framework, no SQL, no runtime. Time and randomness
//! come in through [`clock::Clock`] and the caller's RNG so rules stay deterministic in tests.

#[macro_use]
mod macros;

pub mod api_keys;
pub mod audit;
pub mod client_addr;
pub mod clock;
pub mod companies;
pub mod config;
pub mod consent;
pub mod contact_fields;
pub mod contact_import;
pub mod contacts;
pub mod crypto;
pub mod csrf;
pub mod error;
pub mod fields;
pub mod ids;
pub mod inbound;
pub mod jwt;
pub mod mail_in;
pub mod members;
pub mod modules;
pub mod netguard;
pub mod oidc;
pub mod password;
pub mod patch;
pub mod policy;
pub mod privacy;
pub mod queue;
pub mod realtime;
pub mod redact;
pub mod roles;
pub mod saved_replies;
pub mod secret;
pub mod sessions;
pub mod ticket_activity;
pub mod ticket_search;
pub mod tickets;
pub mod token;
pub mod totp;
pub mod validate;
pub mod webhooks;
pub mod widget;
pub mod workspaces;
