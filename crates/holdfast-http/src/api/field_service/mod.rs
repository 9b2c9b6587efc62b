//! Field service: jobs and the workspace's time zone they are scheduled in; a job's public
//! link for the customer (`public_links`); a job's photos and files (`files`).

pub mod files;
pub mod jobs;
pub mod public_links;
