//! How a job's attempt ends, for every job kind's handler. The worker (`worker.rs`) claims the
//! jobs, runs each kind's handler and records the outcome.

/// How a handler's attempt ended.
#[derive(Debug)]
pub enum JobError {
    /// Worth another attempt (a receiver down, a timeout, a database hiccup).
    Retry(String),
    /// Another attempt cannot help (the record is gone, the payload is unreadable).
    Permanent(String),
}

impl From<holdfast_store::StoreError> for JobError {
    fn from(e: holdfast_store::StoreError) -> Self {
        JobError::Retry(format!("database: {e}"))
    }
}

pub type JobResult = Result<(), JobError>;
