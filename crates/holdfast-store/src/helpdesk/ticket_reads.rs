//! When each member last opened each ticket, for the inbox's unread markers: a ticket is unread
//! for a member while its last message (`last_message_at`; notes do not count) is newer than
//! their last look.

use crate::Backend;
use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::clock::Millis;

/// Marks `ticket_id` read by `user_id` as of `now` (opening the ticket, or the inbox's "mark
/// read"). A ticket of another workspace is never touched: the row names this one's.
pub async fn mark_read(
    tx: &mut TenantTx<'_>,
    user_id: &str,
    ticket_ids: &[String],
    now: Millis,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for ticket_id in ticket_ids {
        sqlx::query(
            "INSERT INTO ticket_reads (workspace_id, user_id, ticket_id, read_at) \
             SELECT workspace_id, $2, id, $4 FROM tickets WHERE workspace_id = $1 AND id = $3 \
             ON CONFLICT (workspace_id, user_id, ticket_id) DO UPDATE SET read_at = excluded.read_at",
        )
        .bind(&ws)
        .bind(user_id)
        .bind(ticket_id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Marks tickets unread again for `user_id` (the inbox's "mark unread").
pub async fn mark_unread(
    tx: &mut TenantTx<'_>,
    user_id: &str,
    ticket_ids: &[String],
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for ticket_id in ticket_ids {
        sqlx::query(
            "DELETE FROM ticket_reads WHERE workspace_id = $1 AND user_id = $2 AND ticket_id = $3",
        )
        .bind(&ws)
        .bind(user_id)
        .bind(ticket_id)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Which of `ticket_ids` (one inbox page) are unread for `user_id`: never opened, or with
/// activity since they last looked.
pub async fn unread_among(
    tx: &mut TenantTx<'_>,
    user_id: &str,
    ticket_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ws = tx.ws().to_owned();
    let ids = serde_json::to_string(ticket_ids).unwrap_or_else(|_| "[]".into());
    let sql = match tx.backend {
        Backend::Postgres => {
            "SELECT t.id FROM tickets t LEFT JOIN ticket_reads r \
               ON r.workspace_id = t.workspace_id AND r.ticket_id = t.id AND r.user_id = $2 \
             WHERE t.workspace_id = $1 AND t.id IN (SELECT json_array_elements_text($3::json)) \
               AND (r.read_at IS NULL OR r.read_at < t.last_message_at)"
        }
        Backend::Sqlite => {
            "SELECT t.id FROM tickets t LEFT JOIN ticket_reads r \
               ON r.workspace_id = t.workspace_id AND r.ticket_id = t.id AND r.user_id = $2 \
             WHERE t.workspace_id = $1 AND t.id IN (SELECT value FROM json_each($3)) \
               AND (r.read_at IS NULL OR r.read_at < t.last_message_at)"
        }
    };
    Ok(sqlx::query_scalar(sql)
        .bind(&ws)
        .bind(user_id)
        .bind(ids)
        .fetch_all(tx.conn())
        .await?)
}

/// When `user_id` last opened `ticket_id`, if ever.
pub async fn read_at(
    tx: &mut TenantTx<'_>,
    user_id: &str,
    ticket_id: &str,
) -> Result<Option<Millis>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT read_at FROM ticket_reads WHERE workspace_id = $1 AND user_id = $2 AND ticket_id = $3",
    )
    .bind(&ws)
    .bind(user_id)
    .bind(ticket_id)
    .fetch_optional(tx.conn())
    .await?)
}
