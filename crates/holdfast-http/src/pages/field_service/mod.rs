//! Field service pages: a job's public page for the customer (`job_link`).

pub mod job_link;
