//! `holdfast backup create|verify|restore`: encrypted backups of a running instance, their
//! check, and their restore into an empty target (the work is `holdfast_app::backup`, which the
//! worker's scheduled backup uses too).

use crate::telemetry;
use clap::Subcommand;
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ops::config::Config;
use holdfast_store::Db;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Write an encrypted backup of the database and attachments while the server runs.
    Create {
        /// Folder for the backup file [default: backup_dir, <data dir>/backups]. The
        /// recipients are --backup-recipient (repeatable) or backup_recipients.
        #[arg(long)]
        to: Option<PathBuf>,
        /// Print the result as one JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Decrypt a backup, check every part's hash, open the snapshot read-only, check its
    /// integrity and rows, and verify every workspace's audit chain.
    Verify {
        file: PathBuf,
        /// age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes it).
        #[arg(long)]
        identity: PathBuf,
        /// Print the result as one JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup into an empty data dir (--data-dir) and, for PostgreSQL, an empty
    /// database (--database-url); refuses a target that holds anything.
    Restore {
        file: PathBuf,
        /// age identity file (AGE-SECRET-KEY-1… lines).
        #[arg(long)]
        identity: PathBuf,
    },
}

pub async fn run(config: Config, command: BackupCommand) -> Result<(), String> {
    telemetry::init(&config)?;
    match command {
        BackupCommand::Create { to, json } => {
            let settings = config.backup.as_ref();
            let keys = settings.map(|b| b.recipients.clone()).unwrap_or_default();
            let recipients = holdfast_app::backup::recipients(&keys)?;
            // Connecting would create an empty SQLite file where none is (a mistyped data dir).
            if let Some(file) = holdfast_app::backup::sqlite_file(&config.database_url)
                && !file.exists()
            {
                return Err(format!(
                    "no database at {} (check --data-dir / HOLDFAST_DATA_DIR)",
                    file.display()
                ));
            }
            let db = Db::connect(&config.database_url, 4)
                .await
                .map_err(|e| format!("cannot open the database (HOLDFAST_DATABASE_URL): {e}"))?;
            let to = to
                .or_else(|| settings.map(|b| b.dir.clone()))
                .unwrap_or_else(|| config.data_dir.join("backups"));
            let created = holdfast_app::backup::create(
                &db,
                &config.data_dir,
                &to,
                &recipients,
                SystemClock.now_ms(),
            )
            .await;
            db.close().await;
            let created = created?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "file": created.path,
                        "bytes": created.bytes,
                        "millis": created.millis,
                        "manifest": created.manifest,
                    })
                );
            } else {
                println!(
                    "backup written: {} ({} bytes, {} tables, {} rows, {} attachments, {} ms)",
                    created.path.display(),
                    created.bytes,
                    created.manifest.tables.len(),
                    created.manifest.tables.iter().map(|t| t.rows).sum::<u64>(),
                    created.manifest.attachments(),
                    created.millis
                );
            }
            Ok(())
        }
        BackupCommand::Verify {
            file,
            identity,
            json,
        } => {
            let identities = holdfast_app::backup::identities(&identity)?;
            let (manifest, checked) = holdfast_app::backup::verify(&file, &identities).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "file": file,
                        "intact": true,
                        "workspaces": checked.workspaces,
                        "audit_entries": checked.audit_entries,
                        "manifest": manifest,
                    })
                );
            } else {
                println!(
                    "{}: intact ({} backup of {}, Holdfast {}, schema {}; {} parts match their \
                     SHA-256; {} tables, {} rows as in the manifest; {} workspaces' audit \
                     chains verify, {} entries)",
                    file.display(),
                    manifest.backend,
                    manifest.created_at,
                    manifest.holdfast_version,
                    manifest.schema_version,
                    manifest.parts.len(),
                    checked.tables,
                    checked.rows,
                    checked.workspaces,
                    checked.audit_entries
                );
            }
            Ok(())
        }
        BackupCommand::Restore { file, identity } => {
            let identities = holdfast_app::backup::identities(&identity)?;
            let restored = holdfast_app::backup::restore(
                &file,
                &identities,
                holdfast_app::backup::Target {
                    data_dir: &config.data_dir,
                    database_url: &config.database_url,
                },
            )
            .await?;
            println!(
                "restored {} ({} backup of {}): {} tables, {} rows, {} attachments, {} \
                 workspaces' audit chains verify",
                file.display(),
                restored.manifest.backend,
                restored.manifest.created_at,
                restored.checked.tables,
                restored.checked.rows,
                restored.manifest.attachments(),
                restored.checked.workspaces
            );
            let key = config.data_dir.join(crate::datadir::MASTER_KEY_FILE);
            if !key.exists() {
                println!(
                    "The master key is not in a backup. Put the instance's master key at {} \
                     (mode 0600) before starting it: without it, sealed secrets (two-factor, \
                     webhook and inbound secrets) cannot be read and a new key would be made.",
                    key.display()
                );
            }
            Ok(())
        }
    }
}
