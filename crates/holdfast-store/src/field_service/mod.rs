//! Field service: jobs, their technicians and status history (`jobs`), each read through a
//! [`jobs::JobScope`] that only the caller's role decides; their photos and files (`files`),
//! reached only through a job so read.

pub mod files;
pub mod jobs;
