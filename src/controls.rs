//! `holdfast admin suspend-workspace | resume-workspace | lock-user | unlock-user | workspaces`:
//! the operator's controls over a workspace and an account (`holdfast_store::ops::controls`).
//! A running server notices another process's change within two seconds.

use crate::serve::open;
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ops::config::Config;
use holdfast_core::validate;
use holdfast_store::ops::controls::{self, Changed};

/// A reason an operator gives: 1 to 500 characters, stored in the audit trail.
fn reason(text: &str) -> Result<String, String> {
    validate::text("reason", text, 1, 500).map_err(|e| format!("--reason {}", e.message))
}

fn email(text: &str) -> Result<String, String> {
    validate::email("email", text).map_err(|e| format!("the email {}", e.message))
}

fn report(what: &str, changed: &Changed, json: bool) -> Result<(), String> {
    if json {
        println!("{}", serde_json::to_string(changed).unwrap_or_default());
    }
    match changed {
        Changed::NotFound => Err(format!("{what}: not found")),
        Changed::Already if !json => {
            println!("{what}: already so; nothing changed");
            Ok(())
        }
        Changed::Done { sessions_ended } if !json => {
            println!("{what}: done; {sessions_ended} live sessions ended");
            Ok(())
        }
        _ => Ok(()),
    }
}

pub async fn suspend(config: &Config, slug: &str, why: &str, json: bool) -> Result<(), String> {
    let why = reason(why)?;
    let db = open(config).await?;
    let changed = controls::unscoped_suspend_workspace(&db, slug, &why, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    report(&format!("suspend workspace '{slug}'"), &changed, json)
}

pub async fn resume(config: &Config, slug: &str, json: bool) -> Result<(), String> {
    let db = open(config).await?;
    let changed = controls::unscoped_resume_workspace(&db, slug, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    report(&format!("resume workspace '{slug}'"), &changed, json)
}

pub async fn lock(config: &Config, address: &str, why: &str, json: bool) -> Result<(), String> {
    let (address, why) = (email(address)?, reason(why)?);
    let db = open(config).await?;
    let changed = controls::unscoped_lock_user(&db, &address, &why, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    report(&format!("lock account {address}"), &changed, json)
}

pub async fn unlock(config: &Config, address: &str, json: bool) -> Result<(), String> {
    let address = email(address)?;
    let db = open(config).await?;
    let changed = controls::unscoped_unlock_user(&db, &address, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    report(&format!("unlock account {address}"), &changed, json)
}

/// Every workspace: name, slug, members, contacts, tickets, attachment bytes, whether it is
/// suspended, and its last activity.
pub async fn list(config: &Config, json: bool) -> Result<(), String> {
    let db = open(config).await?;
    let all = controls::unscoped_workspaces(&db)
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    if json {
        println!("{}", serde_json::to_string(&all).unwrap_or_default());
        return Ok(());
    }
    println!(
        "{:<20} {:<24} {:>7} {:>8} {:>8} {:>12}  {:<17} STATE",
        "SLUG", "NAME", "MEMBERS", "CONTACTS", "TICKETS", "ATTACHMENTS", "LAST ACTIVITY"
    );
    for w in all {
        let state = match (&w.suspended_at, &w.suspended_reason) {
            (Some(at), reason) => format!(
                "suspended {} ({})",
                when(*at),
                reason.as_deref().unwrap_or_default()
            ),
            (None, _) => "active".to_owned(),
        };
        println!(
            "{:<20} {:<24} {:>7} {:>8} {:>8} {:>12}  {:<17} {state}",
            w.slug,
            w.name.chars().take(24).collect::<String>(),
            w.members,
            w.contacts,
            w.tickets,
            w.attachment_bytes,
            w.last_activity_at
                .map(when)
                .unwrap_or_else(|| "never".into()),
        );
    }
    Ok(())
}

/// Epoch milliseconds as `2026-12-07 14:05` (UTC).
fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}
