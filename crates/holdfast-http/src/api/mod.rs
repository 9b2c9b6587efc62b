//! The HTTP slices, one folder per feature area (the same names as in `holdfast-core`,
//! `holdfast-store` and `holdfast-app`), one file per resource. A slice declares its routes
//! (`routes(&mut RouteTable)`) and handles them; it never imports another slice (the layer
//! test, `tests/it/layers.rs`, fails when one does). Only `routes.rs` knows every slice.

pub mod access;
pub mod crm;
pub mod field_service;
pub mod helpdesk;
pub mod identity;
pub mod invoicing;
pub mod ops;
pub mod portal;
pub mod privacy;
pub mod webhooks;
