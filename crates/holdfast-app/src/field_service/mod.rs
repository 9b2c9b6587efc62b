//! Field service: jobs (`jobs`), their photos and files (`files`) and their public links for
//! the customer (`public_links`), for the API and the console alike.

pub mod files;
pub mod jobs;
pub mod public_links;
