//! Field service: jobs (visits to a customer, scheduled in the workspace's time zone and worked
//! by assigned technicians; `jobs`) and the workspace's time zone rules (`time_zone`).

pub mod jobs;
pub mod time_zone;
