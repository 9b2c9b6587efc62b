//! Field service: jobs and the workspace's time zone they are scheduled in.

pub mod jobs;
