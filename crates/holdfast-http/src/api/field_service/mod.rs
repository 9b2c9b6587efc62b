//! Field service: jobs and the workspace's time zone they are scheduled in; a job's public
//! link for the customer (`public_links`).

pub mod jobs;
pub mod public_links;
