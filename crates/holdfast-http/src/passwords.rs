//! Password hashing off the async runtime, at most one hash per core at a time: a flood of
//! sign-ins queues here instead of starving every other request of worker threads.

use holdfast_core::password::{self, Verified};
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
            permits: Arc::new(Semaphore::new(cores)),
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
}
