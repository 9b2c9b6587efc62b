//! `holdfast audit verify`: walks each workspace's hash chain and names the first broken entry
//! (the verification is `holdfast_app::audit::verify`, which the console's audit page shows too).

use crate::serve::open;
use clap::Subcommand;
use holdfast_core::ops::config::Config;
use holdfast_store::{Db, ops::admin};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the audit trail's hash chain (every workspace, or one); fails if any is broken.
    Verify {
        /// Only this workspace (its slug).
        #[arg(long)]
        workspace: Option<String>,
        /// Print machine-readable JSON lines.
        #[arg(long)]
        json: bool,
    },
}

/// One workspace's verdict.
struct Verdict {
    slug: String,
    entries: u64,
    broken: Option<(i64, &'static str)>,
}

pub async fn run(config: Config, command: AuditCommand) -> Result<(), String> {
    let AuditCommand::Verify { workspace, json } = command;
    let db = open(&config).await?;
    let slugs = match workspace {
        Some(slug) => vec![slug],
        None => admin::unscoped_workspace_slugs(&db)
            .await
            .map_err(|e| e.to_string())?,
    };
    let mut broken = Vec::new();
    for slug in slugs {
        let verdict = verify(&db, &slug).await?;
        match (&verdict.broken, json) {
            (_, true) => println!(
                "{}",
                serde_json::json!({
                    "workspace": verdict.slug,
                    "entries": verdict.entries,
                    "intact": verdict.broken.is_none(),
                    "broken_at": verdict.broken.map(|b| b.0),
                    "reason": verdict.broken.map(|b| b.1),
                })
            ),
            (None, false) => println!(
                "{}: {} entries, chain intact",
                verdict.slug, verdict.entries
            ),
            (Some((seq, reason)), false) => {
                println!("{}: chain BROKEN at entry {seq}: {reason}", verdict.slug)
            }
        }
        if let Some((seq, _)) = verdict.broken {
            broken.push(format!("{} (entry {seq})", verdict.slug));
        }
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!("audit chain broken: {}", broken.join(", ")))
    }
}

async fn verify(db: &Db, slug: &str) -> Result<Verdict, String> {
    let tenant = admin::unscoped_tenant_by_slug(db, slug)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "no workspace with the slug {}",
                crate::controls::shown(slug)
            )
        })?;
    // A suspended workspace's chain is verified too: the operator vouches for it.
    let verdict = holdfast_app::audit::verify_as_operator(db, &tenant)
        .await
        .map_err(|e| e.detail)?;
    Ok(Verdict {
        slug: slug.to_owned(),
        entries: verdict.entries,
        broken: verdict.broken.map(|b| (b.seq, b.reason)),
    })
}
