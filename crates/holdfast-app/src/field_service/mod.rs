//! Field service: jobs (`jobs`) and their public links for the customer (`public_links`), for
//! the API and the console alike.

pub mod jobs;
pub mod public_links;
