//! `holdfast admin …`: bootstrap without a browser, on either database.

use crate::serve::open;
use clap::Subcommand;
use holdfast_core::access::api_keys::parse_role;
use holdfast_core::access::policy::{Role, RoleRef};
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ops::config::Config;
use holdfast_core::{identity::password, validate};
use holdfast_store::{Conflict, StoreError, ops::admin};
use std::io::Read;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a workspace and its owner (password read from standard input).
    CreateWorkspace {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        owner_email: String,
        /// Read the owner's password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show mail kept in the local outbox (when no SMTP relay is configured), newest first.
    Outbox {
        /// Only mail to this address.
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Create an API key; the key is printed once.
    CreateApiKey {
        /// The workspace's slug.
        #[arg(long)]
        workspace: String,
        /// A built-in role: owner, admin, manager, support, sales, technician, marketing,
        /// finance or viewer.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
}

fn first_error(result: Result<String, validate::FieldError>, flag: &str) -> Result<String, String> {
    result.map_err(|e| format!("--{flag} {}", e.message))
}

pub async fn run(config: Config, command: AdminCommand) -> Result<(), String> {
    let now = SystemClock.now_ms();
    match command {
        AdminCommand::CreateWorkspace {
            name,
            slug,
            owner_email,
            password_stdin,
            json,
        } => {
            let name = first_error(validate::text("name", &name, 1, 100), "name")?;
            let slug = first_error(validate::slug("slug", &slug), "slug")?;
            let email = first_error(validate::email("owner_email", &owner_email), "owner-email")?
                .to_lowercase();
            if !password_stdin {
                return Err(
                    "pass the owner's password on standard input with --password-stdin".into(),
                );
            }
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            let secret = input.lines().next().unwrap_or_default().to_owned();
            password::check_policy(
                &secret,
                password::Context {
                    email: &email,
                    workspace_name: &name,
                    second_factor_required: false,
                },
            )
            .map_err(|e| format!("password {}", e.message))?;
            let db = open(&config).await?;
            let hash = tokio::task::spawn_blocking(move || password::hash(&secret))
                .await
                .map_err(|e| format!("password hashing failed: {e}"))?
                .map_err(|e| format!("password hashing failed: {e}"))?;
            let created = admin::unscoped_create_workspace(&db, &name, &slug, &email, &hash, now)
                .await
                .map_err(|e| match e {
                    StoreError::Unique {
                        conflict: Conflict::WorkspaceSlug,
                    } => {
                        format!(
                            "a workspace with slug '{slug}' already exists; choose another --slug"
                        )
                    }
                    other => other.to_string(),
                })?;
            db.close().await;
            if json {
                println!("{}", serde_json::to_string(&created).unwrap_or_default());
            } else {
                println!(
                    "created workspace '{slug}' ({}) owned by {email}",
                    created.workspace_id
                );
                if created.existing_user {
                    println!("{email} already had an account; its password was left unchanged");
                }
            }
            Ok(())
        }
        AdminCommand::Outbox { to, limit, json } => {
            let db = open(&config).await?;
            let to = to.map(|t| t.trim().to_lowercase());
            let mail = holdfast_store::ops::mail_outbox::unscoped_list(
                &db,
                to.as_deref(),
                limit.clamp(1, 1000),
            )
            .await
            .map_err(|e| e.to_string())?;
            db.close().await;
            if json {
                println!("{}", serde_json::to_string(&mail).unwrap_or_default());
            } else if mail.is_empty() {
                println!("the outbox is empty");
            } else {
                for m in mail {
                    println!(
                        "--- {} to {}: {}
{}",
                        m.id, m.to_address, m.subject, m.body_text
                    );
                }
            }
            Ok(())
        }
        AdminCommand::CreateApiKey {
            workspace,
            role,
            name,
            json,
        } => {
            let role = match parse_role(&role).map_err(|e| format!("--role {}", e.message))? {
                RoleRef::Builtin(builtin) => Role::builtin(builtin),
                RoleRef::Custom(_) => {
                    return Err(
                        "--role: name a built-in role here; give keys custom roles through the API"
                            .to_owned(),
                    );
                }
            };
            let name = first_error(validate::text("name", &name, 1, 100), "name")?;
            let db = open(&config).await?;
            let created = admin::unscoped_create_api_key(&db, &workspace, &name, &role, now)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no workspace with slug '{workspace}'"))?;
            db.close().await;
            if json {
                println!("{}", serde_json::to_string(&created).unwrap_or_default());
            } else {
                println!(
                    "created API key {} ({}, role {})",
                    created.key.id, created.key.name, created.key.role
                );
                println!("{}", created.secret);
                println!("Store it now: it is not shown again.");
            }
            Ok(())
        }
    }
}
