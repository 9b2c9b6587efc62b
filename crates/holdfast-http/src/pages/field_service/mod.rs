//! Field service pages: the dispatch board and booking form (`board`), a job for the
//! technician on site and the dispatcher (`job`), and a job's public page for the customer
//! (`job_link`).

pub mod board;
pub mod job;
pub mod job_link;
