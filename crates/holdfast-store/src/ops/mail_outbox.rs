//! The local mail outbox: where outgoing mail is kept when no SMTP relay is configured, for
//! the operator to read (`holdfast admin outbox`). A directory table: staff and account mail
//! has no workspace; mail to a workspace's customer carries that workspace, so the workspace's
//! erasure removes only its own mail (`privacy::erase_contact`).

use crate::db::Db;
use crate::error::StoreError;
use holdfast_core::ids::MailId;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Mail {
    pub id: String,
    /// The workspace a customer mail was sent for; `None` for staff and account mail.
    pub workspace_id: Option<String>,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub created_at: i64,
}

pub async fn unscoped_store(
    db: &Db,
    workspace: Option<&str>,
    to: &str,
    subject: &str,
    body: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO mail_outbox (id, workspace_id, to_address, subject, body_text, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(MailId::generate(now_ms).as_str())
        .bind(workspace)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(now_ms)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The newest mail first, optionally only to one address.
pub async fn unscoped_list(db: &Db, to: Option<&str>, limit: u32) -> Result<Vec<Mail>, StoreError> {
    let rows = match to {
        Some(to) => {
            sqlx::query_as(
                "SELECT id, workspace_id, to_address, subject, body_text, created_at FROM mail_outbox \
                 WHERE to_address = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&db.pool)
            .await?
        }
        None => {
            sqlx::query_as("SELECT id, workspace_id, to_address, subject, body_text, created_at FROM mail_outbox ORDER BY id DESC LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&db.pool)
                .await?
        }
    };
    Ok(rows)
}
