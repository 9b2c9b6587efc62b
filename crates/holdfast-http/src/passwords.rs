//! Password hashing off the async runtime, at most one hash per core at a time and never on
//! every core (cores − 1, at least one): a flood of sign-ins queues here while a core stays
//! free for every other request. Measured with the benchmark's login-flood scenario.

use crate::problem::Problem;
use holdfast_core::error::ApiError;
use holdfast_core::identity::password::{self, Context, Verified};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct PasswordPool {
    permits: Arc<Semaphore>,
}

impl Default for PasswordPool {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self {
            permits: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))),
        }
    }
}

impl PasswordPool {
    pub async fn verify(&self, password: String, stored: String) -> Verified {
        let Ok(_permit) = self.permits.acquire().await else {
            return Verified::No;
        };
        tokio::task::spawn_blocking(move || password::verify(&password, &stored))
            .await
            .unwrap_or(Verified::No)
    }

    pub async fn hash(&self, password: String) -> Result<String, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(move || password::hash(&password))
            .await
            .map_err(|e| e.to_string())?
    }

    /// A new password chosen by a person: the policy first (422 with advice), then the hash.
    pub async fn hash_new(&self, password: String, ctx: Context<'_>) -> Result<String, Problem> {
        password::check_policy(&password, ctx).map_err(|e| Problem::validation(vec![e]))?;
        self.hash(password).await.map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            Problem(ApiError::internal())
        })
    }
}
