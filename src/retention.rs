//! `holdfast retention [--dry-run]`: what the workspaces' retention periods let expire, shown
//! (dry run) or removed now, with the same code as the worker's daily run.

use crate::serve::open;
use clap::Args;
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ops::config::Config;
use holdfast_store::{Tenant, ops::admin};

#[derive(Args)]
pub struct RetentionArgs {
    /// Only this workspace (its slug); every workspace otherwise.
    #[arg(long)]
    workspace: Option<String>,
    /// Show the counts and ids that would go, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print machine-readable JSON lines.
    #[arg(long)]
    json: bool,
}

pub async fn run(config: Config, args: RetentionArgs) -> Result<(), String> {
    let db = open(&config).await?;
    let slugs = match &args.workspace {
        Some(slug) => vec![slug.clone()],
        None => admin::unscoped_workspace_slugs(&db)
            .await
            .map_err(|e| e.to_string())?,
    };
    let now = SystemClock.now_ms();
    for slug in slugs {
        let tenant: Tenant = admin::unscoped_tenant_by_slug(&db, &slug)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no workspace with the slug '{slug}'"))?;
        let line = if args.dry_run {
            let preview = holdfast_http::privacy::retention_preview(&db, &tenant, now)
                .await
                .map_err(|e| e.to_string())?;
            if args.json {
                serde_json::json!({"workspace": slug, "dry_run": true, "would_delete": preview})
                    .to_string()
            } else {
                let c = &preview.counts;
                let mut text = format!(
                    "{slug}: would delete {} closed tickets, {} messages, {} inactive contacts",
                    c.tickets, c.messages, c.contacts
                );
                for (what, ids) in [
                    ("tickets", &preview.ticket_ids),
                    ("messages", &preview.message_ids),
                    ("contacts", &preview.contact_ids),
                ] {
                    if !ids.is_empty() {
                        text.push_str(&format!("\n  {what}: {}", ids.join(" ")));
                    }
                }
                text
            }
        } else {
            let counts = holdfast_http::privacy::run_retention(
                &db,
                &config.data_dir,
                &tenant,
                now,
                false,
                None,
            )
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
            if args.json {
                serde_json::json!({"workspace": slug, "dry_run": false, "deleted": counts})
                    .to_string()
            } else {
                format!(
                    "{slug}: deleted {} closed tickets, {} messages, {} inactive contacts",
                    counts.tickets, counts.messages, counts.contacts
                )
            }
        };
        println!("{line}");
    }
    db.close().await;
    Ok(())
}
