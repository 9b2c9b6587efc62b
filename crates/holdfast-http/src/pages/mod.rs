//! The console's pages, one folder per feature area (the same names as everywhere), one file
//! per page and its actions. A page is a route like any other: declared in the route table
//! with its guard, permission and module (`Doc::page`), so the sweeps cover it. Pages never
//! import each other or the API slices; what they share with the API is in `holdfast-app`,
//! and what they share among themselves in `console/`.

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
