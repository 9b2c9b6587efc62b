//! Field service: jobs, their technicians and status history (`jobs`), each read through a
//! [`jobs::JobScope`] that only the caller's role decides.

pub mod jobs;
