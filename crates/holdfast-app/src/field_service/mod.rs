//! Field service: jobs (`jobs`), for the API and the console alike.

pub mod jobs;
