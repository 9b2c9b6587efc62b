//! The job worker: claims due jobs from the durable queue (`holdfast_store::ops::queue`), runs each
//! with its kind's handler, and records the outcome — done, a retry after an exponential
//! backoff with jitter, or dead after the last attempt. It runs inside `holdfast serve` by
//! default and alone as `holdfast worker`; any number of workers in any number of processes
//! can share one database, because claims are exclusive and leased.

use crate::App;
use crate::jobs::{JobError, JobResult};
use holdfast_core::ops::queue::{DEFAULT_LEASE_MS, JobKind, backoff_ms};
use holdfast_store::ops::queue::{self, Claimed, Outcome};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs run at the same time by this worker.
    pub concurrency: usize,
    pub lease_ms: i64,
    /// How long an idle worker waits before looking for due jobs again.
    pub poll: Duration,
    /// How long a stopping worker lets running jobs finish (unfinished ones are taken over
    /// by another worker when their lease ends).
    pub drain: Duration,
    /// When set, only jobs of these workspaces (ids, read at every claim): a worker dedicated
    /// to some tenants, or one test's worker on a database other tests share.
    pub only_workspaces: Option<Arc<std::sync::Mutex<Vec<String>>>>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 16,
            lease_ms: DEFAULT_LEASE_MS,
            poll: Duration::from_millis(200),
            drain: Duration::from_secs(20),
            only_workspaces: None,
        }
    }
}

impl WorkerOptions {
    /// The defaults, with the configured lease.
    pub fn for_config(config: &holdfast_core::ops::config::Config) -> Self {
        WorkerOptions {
            lease_ms: i64::from(config.job_lease_seconds) * 1000,
            ..Default::default()
        }
    }
}

/// Done jobs are kept this long for `holdfast jobs list`, then pruned.
const KEEP_DONE_MS: i64 = 7 * 24 * 60 * 60 * 1000;
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// Works the queue until `shutdown` resolves, then drains.
pub async fn run(
    state: App,
    options: WorkerOptions,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
    tokio::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut running = JoinSet::new();
    let mut last_maintenance = tokio::time::Instant::now();
    tracing::info!(concurrency = options.concurrency, "job worker started");
    loop {
        while running.try_join_next().is_some() {}
        let free = slots.available_permits();
        let mut claimed_all = false;
        if free > 0 {
            let now = state.clock.now_ms();
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            let only = options
                .only_workspaces
                .as_ref()
                .map(|ids| ids.lock().map(|ids| ids.clone()).unwrap_or_default());
            match queue::unscoped_claim(&state.db, limit, options.lease_ms, now, only.as_deref())
                .await
            {
                Ok(jobs) => {
                    claimed_all = jobs.len() == free;
                    for job in jobs {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let state = state.clone();
                        let lease_ms = options.lease_ms;
                        running.spawn(async move {
                            execute(&state, job, lease_ms).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming jobs failed; retrying shortly"),
            }
        }
        if last_maintenance.elapsed() >= MAINTENANCE_EVERY {
            last_maintenance = tokio::time::Instant::now();
            maintenance(&state).await;
        }
        // Every slot busy (a full batch, or none free to claim with) means more may be
        // waiting: look again as soon as a running job ends, not after a poll interval (which
        // left every slot idle for most of it while a backlog waited).
        let saturated = claimed_all || free == 0;
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = running.join_next(), if saturated && !running.is_empty() => {}
            () = tokio::time::sleep(options.poll) => {}
        }
    }
    tracing::info!(
        running = running.len(),
        "job worker stopping; letting running jobs finish"
    );
    let drained = tokio::time::timeout(options.drain, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "jobs still running at shutdown are resumed by another worker after their lease"
        );
    }
}

/// The heartbeat loops forever; this names the arm that never completes.
fn unreachable_heartbeat() -> JobResult {
    Err(JobError::Retry("the lease heartbeat stopped".into()))
}

/// What one scheduler tick did.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TickOut {
    /// Due jobs claimed and run (whatever their outcome).
    pub jobs_run: usize,
    pub pruned_jobs: u64,
    pub pruned_replay_keys: u64,
    /// Workspaces whose daily retention run happened in this tick.
    pub retention_runs: u64,
}

/// Runs up to `limit` due jobs to their outcome, then the upkeep; for `/internal/cron/tick`.
pub async fn tick(state: &App, limit: u32) -> TickOut {
    let now = state.clock.now_ms();
    let lease_ms = i64::from(state.config.job_lease_seconds) * 1000;
    let jobs = queue::unscoped_claim(&state.db, limit, lease_ms, now, None)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "claiming jobs for a scheduler tick failed");
            Vec::new()
        });
    let jobs_run = jobs.len();
    let mut running = JoinSet::new();
    for job in jobs {
        let state = state.clone();
        running.spawn(async move { execute(&state, job, lease_ms).await });
    }
    while running.join_next().await.is_some() {}
    let (pruned_jobs, pruned_replay_keys, retention_runs) = maintenance(state).await;
    TickOut {
        jobs_run,
        pruned_jobs,
        pruned_replay_keys,
        retention_runs,
    }
}

async fn execute(state: &App, job: Claimed, lease_ms: i64) {
    let started = std::time::Instant::now();
    let work = async {
        match job.kind {
            Some(kind) => dispatch(state, kind, &job).await,
            None => Err(JobError::Permanent(format!(
                "unknown job kind {}",
                job.kind_text
            ))),
        }
    };
    // While the handler runs, the lease is renewed every third of its length, so a slow job
    // is never taken over by another worker while this one is alive.
    let renew_every = Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(1000).max(500));
    let heartbeat = async {
        loop {
            tokio::time::sleep(renew_every).await;
            let now = state.clock.now_ms();
            if let Err(e) = queue::unscoped_extend(&state.db, &job, lease_ms, now).await {
                tracing::warn!(job = %job.id, error = %e, "renewing a job's lease failed");
            }
        }
    };
    let result = tokio::select! {
        result = work => result,
        () = heartbeat => unreachable_heartbeat(),
    };
    let now = state.clock.now_ms();
    let outcome = match result {
        Ok(()) => Outcome::Done,
        Err(JobError::Permanent(error)) => Outcome::Dead { error },
        Err(JobError::Retry(error)) => {
            let jitter: f64 = rand::rng().random();
            Outcome::Retry {
                error,
                retry_at: now + backoff_ms(job.attempt, jitter),
            }
        }
    };
    let label = match &outcome {
        Outcome::Done => "done",
        Outcome::Retry { .. } if job.attempt < job.max_attempts => "retry",
        _ => "dead",
    };
    if let Outcome::Retry { error, .. } | Outcome::Dead { error } = &outcome {
        tracing::warn!(job = %job.id, kind = %job.kind_text, attempt = job.attempt, outcome = label, error = %error, "job attempt failed");
    }
    state
        .metrics
        .job_finished(&job.kind_text, label, started.elapsed());
    match queue::unscoped_finish(&state.db, &job, outcome, now).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = %job.id, "job lease was lost before its outcome was recorded; another worker runs it again")
        }
        Err(e) => {
            tracing::warn!(job = %job.id, error = %e, "recording the job outcome failed; it runs again after its lease")
        }
    }
}

async fn dispatch(state: &App, kind: JobKind, job: &Claimed) -> JobResult {
    let Some(tenant) = &job.tenant else {
        return Err(JobError::Permanent(
            "job has no workspace, and every job kind needs one".into(),
        ));
    };
    let payload: serde_json::Value = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Permanent(format!("payload is not JSON: {e}")))?;
    match kind {
        JobKind::WebhookFanout => {
            crate::webhooks::delivery::fanout(state, tenant, &job.id, &payload).await
        }
        JobKind::WebhookDeliver => {
            let last_attempt = job.attempt >= job.max_attempts;
            crate::webhooks::delivery::deliver(state, tenant, &payload, last_attempt).await
        }
        JobKind::InboundHandle => crate::webhooks::inbound::handle(state, tenant, &payload).await,
        JobKind::MailSend => crate::outreach::deliver_staff_mail(state, &payload).await,
        JobKind::MessageSend => {
            crate::outreach::deliver_to_contact(state, tenant, job, &payload).await
        }
        JobKind::ContactsImport => crate::crm::import::run(state, tenant, &payload).await,
    }
}

/// Forgets old finished jobs and expired replay keys, runs the daily retention of the
/// workspaces due, and starts the day's backup when due (`backup::schedule`); returns how many
/// jobs and keys went and how many retention runs happened.
async fn maintenance(state: &App) -> (u64, u64, u64) {
    let now = state.clock.now_ms();
    let jobs = match queue::unscoped_prune_done(&state.db, now - KEEP_DONE_MS).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "pruning finished jobs failed");
            0
        }
    };
    let replay =
        match holdfast_store::webhooks::inbound::unscoped_prune_replay(&state.db, now).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "pruning the inbound replay memory failed");
                0
            }
        };
    let retention =
        crate::privacy::retention_tick(&state.db, &state.config.data_dir, state.clock.now_ms())
            .await;
    // A backup can take minutes: it runs beside the jobs, and the day's claim keeps it single.
    if state.config.backup.is_some() {
        let app = state.clone();
        tokio::spawn(async move { crate::backup::schedule::tick(&app).await });
    }
    (jobs, replay, retention)
}
