//! `holdfast jobs list|retry`: the durable job queue, seen and nudged by the operator.

use crate::serve::open;
use clap::Subcommand;
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ids::QueueJobId;
use holdfast_core::ops::config::Config;
use holdfast_core::ops::queue::JobState;
use holdfast_store::ops::queue;

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Jobs newest first, with the counts per state.
    List {
        /// Only jobs in this state: queued, running, done or dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print machine-readable JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead job (or, with --all-dead, every dead job) back in the queue with fresh attempts.
    Retry {
        /// The job's id (qj_…).
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all_dead: bool,
    },
}

pub async fn run(config: Config, command: JobsCommand) -> Result<(), String> {
    match command {
        JobsCommand::List { state, limit, json } => {
            let state = match state.as_deref() {
                None => None,
                Some(text) => Some(JobState::parse(text).ok_or_else(|| {
                    format!("--state '{text}' is not one of: queued, running, done, dead")
                })?),
            };
            if !(1..=1000).contains(&limit) {
                return Err("--limit must be from 1 to 1000".into());
            }
            let db = open(&config).await?;
            let counts = queue::unscoped_counts(&db)
                .await
                .map_err(|e| e.to_string())?;
            let rows = queue::unscoped_list(&db, state, limit)
                .await
                .map_err(|e| e.to_string())?;
            db.close().await;
            if json {
                for row in rows {
                    println!("{}", serde_json::to_string(&row).unwrap_or_default());
                }
                return Ok(());
            }
            let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{s} {n}")).collect();
            println!(
                "jobs: {}",
                if summary.is_empty() {
                    "none".to_owned()
                } else {
                    summary.join(", ")
                }
            );
            for row in rows {
                println!(
                    "{}  {:<8} {:<16} attempt {}/{}  {}{}",
                    row.id,
                    row.state,
                    row.kind,
                    row.attempts,
                    row.max_attempts,
                    row.workspace_id.as_deref().unwrap_or("-"),
                    row.last_error
                        .as_deref()
                        .map(|e| format!("  last error: {e}"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        JobsCommand::Retry { id, all_dead } => {
            let now = SystemClock.now_ms();
            match (id, all_dead) {
                (Some(id), false) => {
                    let parsed = QueueJobId::parse(id.trim())
                        .ok_or_else(|| format!("'{id}' is not a job id (qj_ and 32 hex digits)"))?;
                    let db = open(&config).await?;
                    let done = queue::unscoped_retry(&db, &parsed, now)
                        .await
                        .map_err(|e| e.to_string())?;
                    db.close().await;
                    if !done {
                        return Err(format!(
                            "no dead job {id}; `holdfast jobs list --state dead` shows them"
                        ));
                    }
                    println!("{id} queued again");
                    Ok(())
                }
                (None, true) => {
                    let db = open(&config).await?;
                    let n = queue::unscoped_retry_all_dead(&db, now)
                        .await
                        .map_err(|e| e.to_string())?;
                    db.close().await;
                    println!("{n} dead job(s) queued again");
                    Ok(())
                }
                _ => Err("name a job id, or pass --all-dead".into()),
            }
        }
    }
}
