//! `holdfast admin suspend-workspace | resume-workspace | lock-user | unlock-user | workspaces`:
//! the operator's controls over a workspace and an account (`holdfast_store::ops::controls`).
//! A running server notices another process's change within two seconds.

use crate::Failure;
use crate::serve::open;
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ops::config::Config;
use holdfast_core::validate;
use holdfast_store::ops::controls::{self, Changed};

/// A reason an operator gives: 1 to 500 characters, stored in the audit trail and shown in
/// `admin workspaces`, so without control or invisible format characters (a bidirectional
/// override or an escape sequence would make it read as something else on the next screen).
fn reason(text: &str) -> Result<String, Failure> {
    validate::plain_text("reason", text, 1, 500)
        .map_err(|e| Failure::BadInput(format!("--reason {}", e.message)))
}

fn email(text: &str) -> Result<String, Failure> {
    validate::email("email", text)
        .map_err(|e| Failure::BadInput(format!("the email {}", e.message)))
}

/// An argument as the operator's terminal may show it: quoted, with control and invisible
/// characters escaped (`\u{1b}`, `\u{202e}`), so a hostile slug or address cannot drive the
/// terminal or disguise itself.
pub fn shown(argument: &str) -> String {
    format!("\"{}\"", escaped(argument))
}

/// `text` with control characters, line separators and invisible format characters escaped
/// as `\u{…}`; the rest as it is.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || validate::is_format_char(c) || matches!(c, '\u{2028}' | '\u{2029}') {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn report(what: &str, changed: &Changed, json: bool) -> Result<(), Failure> {
    if json {
        println!("{}", serde_json::to_string(changed).unwrap_or_default());
    }
    match changed {
        Changed::NotFound => Err(Failure::Failed(format!("{what}: not found"))),
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

pub async fn suspend(config: &Config, slug: &str, why: &str, json: bool) -> Result<(), Failure> {
    let why = reason(why)?;
    let db = open(config).await?;
    let changed = controls::unscoped_suspend_workspace(&db, slug, &why, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    report(
        &format!("suspend workspace {}", shown(slug)),
        &changed,
        json,
    )
}

pub async fn resume(config: &Config, slug: &str, json: bool) -> Result<(), Failure> {
    let db = open(config).await?;
    let changed = controls::unscoped_resume_workspace(&db, slug, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    report(&format!("resume workspace {}", shown(slug)), &changed, json)
}

pub async fn lock(config: &Config, address: &str, why: &str, json: bool) -> Result<(), Failure> {
    let (address, why) = (email(address)?, reason(why)?);
    let db = open(config).await?;
    let changed = controls::unscoped_lock_user(&db, &address, &why, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    report(&format!("lock account {}", shown(&address)), &changed, json)
}

pub async fn unlock(config: &Config, address: &str, json: bool) -> Result<(), Failure> {
    let address = email(address)?;
    let db = open(config).await?;
    let changed = controls::unscoped_unlock_user(&db, &address, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    report(
        &format!("unlock account {}", shown(&address)),
        &changed,
        json,
    )
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
                escaped(reason.as_deref().unwrap_or_default())
            ),
            (None, _) => "active".to_owned(),
        };
        println!(
            "{:<20} {:<24} {:>7} {:>8} {:>8} {:>12}  {:<17} {state}",
            w.slug,
            escaped(&w.name.chars().take(24).collect::<String>()),
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

#[cfg(test)]
mod tests {
    use super::{escaped, shown};

    #[test]
    fn what_the_terminal_shows_has_no_control_or_invisible_characters() {
        assert_eq!(
            shown("acme\u{1b}[2J\u{202e}x"),
            "\"acme\\u{1b}[2J\\u{202e}x\""
        );
        assert_eq!(escaped("Bob's Plumbing – café"), "Bob's Plumbing – café");
        assert_eq!(
            escaped("a\u{200b}b\u{2028}c\u{7}"),
            "a\\u{200b}b\\u{2028}c\\u{7}"
        );
    }
}
