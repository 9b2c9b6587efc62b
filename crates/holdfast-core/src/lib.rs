//! Holdfast's core: ids, wire types, validation, policy, error codes, configuration, token
//! formats, password hashing and log redaction.
//!
//! Everything here is pure logic: no HTTP framework, no SQL, no runtime. Time and randomness
//! come in through [`clock::Clock`] and the caller's RNG so rules stay deterministic in tests.

#[macro_use]
mod macros;

pub mod access;
pub mod brand;
pub mod client_addr;
pub mod clock;
pub mod crm;
pub mod crypto;
pub mod error;
pub mod field_service;
pub mod helpdesk;
pub mod identity;
pub mod ids;
pub mod invoicing;
pub mod netguard;
pub mod ops;
pub mod patch;
pub mod portal;
pub mod privacy;
pub mod public_links;
pub mod redact;
pub mod secret;
pub mod token;
pub mod validate;
pub mod webhooks;
