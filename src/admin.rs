//! `holdfast admin …`: bootstrap without a browser, on either database.

use crate::Failure;
use crate::controls;
use crate::serve::open;
use clap::Subcommand;
use holdfast_app::access::workspaces::{self, Via};
use holdfast_app::identity::passwords::PasswordPool;
use holdfast_core::access::api_keys::parse_role;
use holdfast_core::access::policy::{Role, RoleRef};
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::error::ErrorCode;
use holdfast_core::ops::config::Config;
use holdfast_core::validate;
use holdfast_store::{Db, ops::admin, ops::setup};
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
    /// Print a new one-time link that creates the first workspace in the browser (good for an
    /// hour, once; older links stop working). Only while no workspace exists.
    SetupLink,
    /// Suspend a workspace: every route, link, hook and job of it stops (403), its sessions
    /// end, its data is kept. Audited.
    SuspendWorkspace {
        /// The workspace's slug.
        slug: String,
        /// Why, for the audit trail (shown in `admin workspaces`).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Resume a suspended workspace. Audited.
    ResumeWorkspace {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Lock an account: it signs in to no workspace and its sessions end. Audited in each of
    /// its workspaces.
    LockUser {
        email: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Unlock an account. Audited.
    UnlockUser {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// List every workspace: name, slug, members, size, suspended, last activity.
    Workspaces {
        #[arg(long)]
        json: bool,
    },
}

fn first_error(result: Result<String, validate::FieldError>, flag: &str) -> Result<String, String> {
    result.map_err(|e| format!("--{flag} {}", e.message))
}

pub async fn run(config: Config, command: AdminCommand) -> Result<(), Failure> {
    let now = SystemClock.now_ms();
    match command {
        AdminCommand::CreateWorkspace {
            name,
            slug,
            owner_email,
            password_stdin,
            json,
        } => Ok(create_workspace(
            &config,
            now,
            &name,
            &slug,
            &owner_email,
            password_stdin,
            json,
        )
        .await?),
        AdminCommand::Outbox { to, limit, json } => Ok(outbox(&config, to, limit, json).await?),
        AdminCommand::CreateApiKey {
            workspace,
            role,
            name,
            json,
        } => Ok(create_api_key(&config, now, &workspace, &role, &name, json).await?),
        AdminCommand::SetupLink => Ok(setup_link(&config, now).await?),
        AdminCommand::SuspendWorkspace { slug, reason, json } => {
            controls::suspend(&config, &slug, &reason, json).await
        }
        AdminCommand::ResumeWorkspace { slug, json } => {
            controls::resume(&config, &slug, json).await
        }
        AdminCommand::LockUser {
            email,
            reason,
            json,
        } => controls::lock(&config, &email, &reason, json).await,
        AdminCommand::UnlockUser { email, json } => controls::unlock(&config, &email, json).await,
        AdminCommand::Workspaces { json } => Ok(controls::list(&config, json).await?),
    }
}

/// `admin create-workspace`: a workspace and its owner, whose password comes from standard
/// input; the checks and the rows are the setup page's (`holdfast_app::access::workspaces`).
async fn create_workspace(
    config: &Config,
    now: i64,
    name: &str,
    slug: &str,
    owner_email: &str,
    password_stdin: bool,
    json: bool,
) -> Result<(), String> {
    if !password_stdin {
        return Err("pass the owner's password on standard input with --password-stdin".into());
    }
    let secret = first_line_of_stdin()?;
    let new = workspaces::check(name, slug, owner_email, &secret).map_err(|errors| {
        errors
            .first()
            .map(|e| match e.field.as_str() {
                "password" => format!("password {}", e.message),
                field => format!("--{} {}", field.replace('_', "-"), e.message),
            })
            .unwrap_or_default()
    })?;
    let db = open(config).await?;
    let created = workspaces::create(
        &db,
        &PasswordPool::default(),
        &new,
        secret,
        Via::CommandLine,
        now,
    )
    .await
    .map_err(|e| match e.code {
        ErrorCode::Conflict => format!(
            "a workspace with slug '{}' already exists; choose another --slug",
            new.slug
        ),
        _ => e.detail,
    })?;
    db.close().await;
    let (slug, email) = (&new.slug, &new.owner_email);
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

/// The first line of standard input (the owner's password).
fn first_line_of_stdin() -> Result<String, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(input.lines().next().unwrap_or_default().to_owned())
}

/// `admin setup-link`: a new one-time link to create the first workspace in the browser
/// (older links stop working). Refused once a workspace exists.
async fn setup_link(config: &Config, now: i64) -> Result<(), String> {
    let db = open(config).await?;
    let link = first_run_link(&db, &config.public_url, now)
        .await?
        .ok_or_else(|| {
            "a workspace exists already, so there is no first run to set up: sign in at /sign-in, \
             or add one with admin create-workspace"
                .to_owned()
        })?;
    db.close().await;
    println!("{link}");
    println!("Open it within an hour to create the first workspace; it works once.");
    Ok(())
}

/// A new setup link (`{base}/setup/{token}`, older ones void) while no workspace exists; `None`
/// once one does. `serve` prints one at start.
pub async fn first_run_link(db: &Db, base: &str, now: i64) -> Result<Option<String>, String> {
    if setup::unscoped_any_workspace(db)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(None);
    }
    let token = setup::unscoped_issue_setup_link(db, now)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(format!("{base}/setup/{}", token.expose())))
}

/// `admin outbox`: mail kept in the local outbox, newest first, optionally only to one address.
async fn outbox(config: &Config, to: Option<String>, limit: u32, json: bool) -> Result<(), String> {
    let db = open(config).await?;
    let to = to.map(|t| t.trim().to_lowercase());
    let mail =
        holdfast_store::ops::mail_outbox::unscoped_list(&db, to.as_deref(), limit.clamp(1, 1000))
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

/// `admin create-api-key`: a key with a built-in role, its secret printed once.
async fn create_api_key(
    config: &Config,
    now: i64,
    workspace: &str,
    role: &str,
    name: &str,
    json: bool,
) -> Result<(), String> {
    let role = match parse_role(role).map_err(|e| format!("--role {}", e.message))? {
        RoleRef::Builtin(builtin) => Role::builtin(builtin),
        RoleRef::Custom(_) => {
            return Err(
                "--role: name a built-in role here; give keys custom roles through the API"
                    .to_owned(),
            );
        }
    };
    let name = first_error(validate::text("name", name, 1, 100), "name")?;
    let db = open(config).await?;
    let created = admin::unscoped_create_api_key(&db, workspace, &name, &role, now)
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
