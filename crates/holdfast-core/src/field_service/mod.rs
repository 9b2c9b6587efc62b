//! Field service: jobs (visits to a customer, scheduled in the workspace's time zone and worked
//! by assigned technicians; `jobs`), their photos and files (`files`: limits, types told by
//! their bytes, names) and the workspace's time zone rules (`time_zone`).

pub mod files;
pub mod jobs;
pub mod time_zone;
