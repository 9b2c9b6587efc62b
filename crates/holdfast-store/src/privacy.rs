//! Data-subject rights and retention in SQL: a contact's privacy flags, erasure of everything
//! held about a contact (in the caller's one transaction), erasure requests, the workspace's
//! retention periods and what they let expire. Design note: docs/design/privacy.md.

use crate::Backend;
use crate::crm::contacts::like_pattern;
use crate::db::Db;
use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::clock::Millis;
use holdfast_core::ids::{ContactId, ErasureRequestId, WorkspaceId};
use holdfast_core::privacy::{
    ContactPrivacyOut, DAY_MS, ErasureRequestOut, PrivacyChange, RetentionCounts, RetentionRun,
    RetentionSettings, day_text, erasure_due, mentions, needles, searchable,
};

// ---------------------------------------------------------------------------------------------
// A contact's flags
// ---------------------------------------------------------------------------------------------

pub async fn contact_privacy(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
) -> Result<Option<ContactPrivacyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT legal_hold, retention_days FROM contacts WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|(hold, days)| ContactPrivacyOut {
        id: id.to_string(),
        legal_hold: hold == 1,
        retention_days: days,
    }))
}

/// Applies a privacy change; `None` when the contact does not exist. The contact's
/// `updated_at` is left alone: a flag is not activity (it would restart inactivity).
pub async fn set_contact_privacy(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
    change: &PrivacyChange,
) -> Result<Option<ContactPrivacyOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE contacts SET legal_hold = COALESCE($3, legal_hold), \
         retention_days = CASE WHEN $4 = 1 THEN $5 ELSE retention_days END \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(change.legal_hold.map(i64::from))
    .bind(i64::from(change.retention_days.is_some()))
    .bind(change.retention_days.flatten())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    if let Some(Some(_)) = change.retention_days {
        // The daily run visits workspaces with a period: a contact's own counts.
        sqlx::query("UPDATE workspaces SET retention_contact_periods = 1 WHERE id = $1")
            .bind(&ws)
            .execute(tx.conn())
            .await?;
    }
    contact_privacy(tx, id).await
}

// ---------------------------------------------------------------------------------------------
// Erasure
// ---------------------------------------------------------------------------------------------

/// What an erasure removed.
#[derive(Debug, Clone, Default)]
pub struct ErasureReport {
    /// The contact, then the widget contacts made from visitors who claimed its email.
    pub contacts: Vec<String>,
    pub tickets: u64,
    pub messages: u64,
    /// Files whose rows (ticket attachments, job files) were deleted: candidates for
    /// [`unscoped_release_blobs`]
    /// after the commit.
    pub blobs: Vec<String>,
}

pub enum Erased {
    NotFound,
    /// The contact has a legal hold: nothing was changed.
    Held,
    Done(ErasureReport),
}

#[derive(sqlx::FromRow)]
struct Subject {
    id: String,
    email: Option<String>,
    phone: Option<String>,
    legal_hold: i64,
}

/// Erases a contact in the caller's transaction: its tickets (with their messages,
/// attachments' rows, timelines and widget visitors), messages it wrote in other tickets,
/// widget contacts made from visitors who claimed its email, and every stored copy that names
/// any of them — queued jobs, webhook messages (and their attempts), idempotent responses,
/// raw inbound events mentioning its email or phone, this workspace's local outbox mail to its
/// address — and finally the contact row itself. Audit entries name contacts by id only, so
/// they stay. This is the only way a contact row is removed, so no ticket is left naming a
/// contact that does not exist.
pub async fn erase_contact(tx: &mut TenantTx<'_>, id: &ContactId) -> Result<Erased, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = match tx.backend {
        Backend::Postgres => {
            "SELECT id, email, phone, legal_hold FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE"
        }
        Backend::Sqlite => {
            "SELECT id, email, phone, legal_hold FROM contacts WHERE workspace_id = $1 AND id = $2"
        }
    };
    let subject: Option<Subject> = sqlx::query_as(sql)
        .bind(&ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    let Some(subject) = subject else {
        return Ok(Erased::NotFound);
    };
    if subject.legal_hold == 1 {
        return Ok(Erased::Held);
    }
    erase_people(tx, subject).await.map(Erased::Done)
}

/// What an open erasure request remembers of its person besides the contact id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remembered {
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Erases the person an erasure request is for: the contact through [`erase_contact`] while
/// its row exists (a legal hold still refuses), otherwise whatever still names it — tickets
/// and messages under its id (left by a removal before deletion was erasure), widget records,
/// and every stored copy naming its id or the remembered address. Never `NotFound`.
pub async fn erase_requested(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
    remembered: &Remembered,
) -> Result<Erased, StoreError> {
    match erase_contact(tx, id).await? {
        Erased::NotFound => {}
        done => return Ok(done),
    }
    let ghost = Subject {
        id: id.to_string(),
        email: remembered.email.clone(),
        phone: remembered.phone.clone(),
        legal_hold: 0,
    };
    erase_people(tx, ghost).await.map(Erased::Done)
}

/// Erases `subject` (already checked for a hold; its row may be gone) and the widget contacts
/// made from visitors who claimed its email.
async fn erase_people(
    tx: &mut TenantTx<'_>,
    subject: Subject,
) -> Result<ErasureReport, StoreError> {
    let id = subject.id.clone();
    let mut people = vec![subject];
    if let Some(email) = people.first().and_then(|s| s.email.clone()) {
        let claimed = claimed_by_visitors(tx, &id, &email).await?;
        people.extend(claimed);
    }

    let mut report = ErasureReport::default();
    // Every id that names this person's records, and what identifies them in free text.
    let mut ids: Vec<String> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for person in &people {
        ids.push(person.id.clone());
        texts.extend(needles(person.email.as_deref(), person.phone.as_deref()));
        let (tickets, messages, blobs) = records_of(tx, &person.id).await?;
        report.tickets += tickets.len() as u64;
        report.messages += messages.len() as u64;
        report.blobs.extend(blobs);
        ids.extend(tickets);
        ids.extend(messages);
    }
    texts.sort();
    texts.dedup();

    forget_copies(tx, &ids, &texts).await?;

    for person in &people {
        delete_person(tx, person).await?;
    }
    report.contacts = people.into_iter().map(|p| p.id).collect();
    report.blobs.sort();
    report.blobs.dedup();
    Ok(report)
}

/// The other contacts (not on hold) made from widget visitors who claimed `email`.
async fn claimed_by_visitors(
    tx: &mut TenantTx<'_>,
    id: &str,
    email: &str,
) -> Result<Vec<Subject>, StoreError> {
    let ws = tx.ws().to_owned();
    let claimed: Vec<Subject> = sqlx::query_as(
        "SELECT c.id, c.email, c.phone, c.legal_hold FROM contacts c WHERE c.workspace_id = $1 \
         AND c.id <> $2 AND c.legal_hold = 0 AND c.id IN (SELECT v.contact_id FROM widget_visitors v \
         WHERE v.workspace_id = $1 AND lower(v.claimed_email) = lower($3)) ORDER BY c.id",
    )
    .bind(&ws)
    .bind(id)
    .bind(email)
    .fetch_all(tx.conn())
    .await?;
    Ok(claimed)
}

/// A person's tickets, the messages in them or written by the person elsewhere, and the
/// file digests of those messages' attachments and of its jobs' photos and files.
async fn records_of(
    tx: &mut TenantTx<'_>,
    person: &str,
) -> Result<(Vec<String>, Vec<String>, Vec<String>), StoreError> {
    let ws = tx.ws().to_owned();
    let tickets: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM tickets WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
    )
    .bind(&ws)
    .bind(person)
    .fetch_all(tx.conn())
    .await?;
    let messages: Vec<String> = sqlx::query_scalar(
        "SELECT m.id FROM ticket_messages m JOIN tickets t ON t.workspace_id = m.workspace_id \
         AND t.id = m.ticket_id WHERE m.workspace_id = $1 AND (t.contact_id = $2 \
         OR (m.author_type = 'contact' AND m.author_id = $2)) ORDER BY m.id",
    )
    .bind(&ws)
    .bind(person)
    .fetch_all(tx.conn())
    .await?;
    let mut blobs: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT a.sha256 FROM ticket_attachments a JOIN ticket_messages m \
         ON m.workspace_id = a.workspace_id AND m.id = a.message_id JOIN tickets t \
         ON t.workspace_id = m.workspace_id AND t.id = m.ticket_id WHERE a.workspace_id = $1 \
         AND (t.contact_id = $2 OR (m.author_type = 'contact' AND m.author_id = $2))",
    )
    .bind(&ws)
    .bind(person)
    .fetch_all(tx.conn())
    .await?;
    // The photos and files of its jobs, which go with the jobs in `delete_person`.
    let job_blobs: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT f.sha256 FROM job_files f JOIN jobs j ON j.workspace_id = f.workspace_id \
         AND j.id = f.job_id WHERE f.workspace_id = $1 AND j.contact_id = $2",
    )
    .bind(&ws)
    .bind(person)
    .fetch_all(tx.conn())
    .await?;
    blobs.extend(job_blobs);
    Ok((tickets, messages, blobs))
}

/// Deletes what is left of a person once the copies are gone: its messages in other contacts'
/// tickets, its tickets, widget records and contact row, its open request's address, and this
/// workspace's outbox mail to it.
async fn delete_person(tx: &mut TenantTx<'_>, person: &Subject) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    // Its messages in other contacts' tickets, then its own tickets (cascading to their
    // messages, attachments' rows, timelines and widget visitors), its jobs, then the contact.
    sqlx::query(
        "DELETE FROM ticket_messages WHERE workspace_id = $1 AND author_type = 'contact' AND author_id = $2",
    )
    .bind(&ws)
    .bind(&person.id)
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM tickets WHERE workspace_id = $1 AND contact_id = $2")
        .bind(&ws)
        .bind(&person.id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "DELETE FROM widget_visitors WHERE workspace_id = $1 AND (contact_id = $2 \
         OR lower(claimed_email) = lower($3))",
    )
    .bind(&ws)
    .bind(&person.id)
    .bind(person.email.as_deref().unwrap_or_default())
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM widget_identities WHERE workspace_id = $1 AND contact_id = $2")
        .bind(&ws)
        .bind(&person.id)
        .execute(tx.conn())
        .await?;
    // Its invoices: drafts go; issued invoices and credit notes are accounting records the
    // business must keep (legal retention): they stay, with the bill-to printed on them, no
    // longer linked to the contact or its jobs, and no public link opens them any more.
    crate::public_links::forget_invoices_of_contact(tx, &person.id).await?;
    sqlx::query(
        "DELETE FROM invoices WHERE workspace_id = $1 AND contact_id = $2 AND status = 'draft'",
    )
    .bind(&ws)
    .bind(&person.id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "UPDATE invoices SET contact_id = NULL, job_id = NULL WHERE workspace_id = $1 AND contact_id = $2",
    )
    .bind(&ws)
    .bind(&person.id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "UPDATE invoices SET job_id = NULL WHERE workspace_id = $1 AND job_id IN \
         (SELECT id FROM jobs WHERE workspace_id = $1 AND contact_id = $2)",
    )
    .bind(&ws)
    .bind(&person.id)
    .execute(tx.conn())
    .await?;
    // The public links of its jobs: they would open nothing, and name a job that is gone.
    crate::public_links::forget_jobs_of_contact(tx, &person.id).await?;
    // Its field-service jobs (their service address, notes and photos are about the person),
    // cascading to their technicians, history, notes and file rows (whose digests
    // `records_of` collected for the report's blobs).
    sqlx::query("DELETE FROM jobs WHERE workspace_id = $1 AND contact_id = $2")
        .bind(&ws)
        .bind(&person.id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM contacts WHERE workspace_id = $1 AND id = $2")
        .bind(&ws)
        .bind(&person.id)
        .execute(tx.conn())
        .await?;
    // An open request for them no longer needs the address: the erasure is done.
    sqlx::query(
        "UPDATE erasure_requests SET email = NULL, phone = NULL WHERE workspace_id = $1 AND contact_id = $2",
    )
    .bind(&ws)
    .bind(&person.id)
    .execute(tx.conn())
    .await?;
    if let Some(email) = &person.email {
        // This workspace's customer mail in the local outbox; another workspace's mail and
        // staff mail (no workspace) to the same address are not this erasure's business.
        sqlx::query(
            "DELETE FROM mail_outbox WHERE workspace_id = $1 AND lower(to_address) = lower($2)",
        )
        .bind(&ws)
        .bind(email)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Deletes this workspace's stored copies that name any of `ids` or mention any of `texts`
/// (lower-case): webhook messages (their attempts cascade) and their delivery jobs, queued
/// jobs, idempotent responses, and raw inbound events with their handling jobs.
async fn forget_copies(
    tx: &mut TenantTx<'_>,
    ids: &[String],
    texts: &[String],
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    let names: Vec<String> = ids.iter().chain(texts).cloned().collect();
    // Jobs first: on PostgreSQL a fan-out running now holds its job's row until it commits, so
    // this waits for it, and the webhook messages it wrote are then found below.
    forget_jobs_and_responses(tx, &names).await?;
    let mut doomed_hooks: Vec<String> = Vec::new();
    for name in &names {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM webhook_messages WHERE workspace_id = $1 AND lower(payload) LIKE $2 ESCAPE '\\'",
        )
        .bind(&ws)
        .bind(like_pattern(name))
        .fetch_all(tx.conn())
        .await?;
        doomed_hooks.extend(found);
    }
    for hook in &doomed_hooks {
        sqlx::query("DELETE FROM webhook_messages WHERE workspace_id = $1 AND id = $2")
            .bind(&ws)
            .bind(hook)
            .execute(tx.conn())
            .await?;
    }
    // Raw provider payloads may be encoded (form fields, base64): decoded before matching.
    let events: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, body, body_encoding FROM inbound_events WHERE workspace_id = $1",
    )
    .bind(&ws)
    .fetch_all(tx.conn())
    .await?;
    let mut doomed_events = Vec::new();
    for (event, body, encoding) in events {
        let text = if encoding == "base64" {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .unwrap_or_default();
            searchable(&String::from_utf8_lossy(&bytes))
        } else {
            searchable(&body)
        };
        if mentions(&text, texts) || mentions(&text, ids) {
            doomed_events.push(event);
        }
    }
    for event in &doomed_events {
        sqlx::query("DELETE FROM inbound_events WHERE workspace_id = $1 AND id = $2")
            .bind(&ws)
            .bind(event)
            .execute(tx.conn())
            .await?;
    }
    // CSV imports keep their file: one that names the person loses it (and its row errors,
    // which may quote cells); the import's counts stay.
    let imports: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, csv, errors FROM contact_imports WHERE workspace_id = $1")
            .bind(&ws)
            .fetch_all(tx.conn())
            .await?;
    for (import, csv, errors) in imports {
        let text = searchable(&format!("{csv}\n{errors}"));
        if mentions(&text, texts) || mentions(&text, ids) {
            sqlx::query(
                "UPDATE contact_imports SET csv = '', errors = '[]' WHERE workspace_id = $1 AND id = $2",
            )
            .bind(&ws)
            .bind(&import)
            .execute(tx.conn())
            .await?;
        }
    }
    // Their delivery and handling jobs.
    doomed_hooks.extend(doomed_events);
    forget_jobs_and_responses(tx, &doomed_hooks).await
}

/// Deletes this workspace's jobs and idempotent responses that name any of `names`.
async fn forget_jobs_and_responses(
    tx: &mut TenantTx<'_>,
    names: &[String],
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for name in names {
        let pattern = like_pattern(name);
        sqlx::query(
            "DELETE FROM queue_jobs WHERE workspace_id = $1 AND lower(payload) LIKE $2 ESCAPE '\\'",
        )
        .bind(&ws)
        .bind(&pattern)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE workspace_id = $1 AND lower(response_body) LIKE $2 ESCAPE '\\'",
        )
        .bind(&ws)
        .bind(&pattern)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Of these content-addressed files, the ones no row (a ticket attachment or a job file, of any
/// workspace) refers to any more; their reference rows are removed, so the caller deletes the files. Hashes only.
pub async fn unscoped_release_blobs(db: &Db, blobs: &[String]) -> Result<Vec<String>, StoreError> {
    let mut released = Vec::new();
    if blobs.is_empty() {
        return Ok(released);
    }
    let mut stx = db.system_write().await?;
    for sha in blobs {
        let gone = sqlx::query("DELETE FROM attachment_blobs WHERE sha256 = $1 AND refs <= 0")
            .bind(sha)
            .execute(&mut *stx.tx)
            .await?;
        if gone.rows_affected() == 1 {
            released.push(sha.clone());
        }
    }
    stx.commit().await?;
    Ok(released)
}

// ---------------------------------------------------------------------------------------------
// Erasure requests
// ---------------------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: String,
    contact_id: String,
    source: String,
    status: String,
    requested_at: i64,
    due_at: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
    reason: Option<String>,
}

impl RequestRow {
    fn out(self, now_ms: Millis) -> ErasureRequestOut {
        ErasureRequestOut {
            overdue: self.status == "open" && self.due_at < now_ms,
            id: self.id,
            contact_id: self.contact_id,
            source: self.source,
            status: self.status,
            requested_at: self.requested_at,
            due_at: self.due_at,
            decided_at: self.decided_at,
            decided_by: self.decided_by,
            reason: self.reason,
        }
    }
}

const REQUEST_COLUMNS: &str =
    "id, contact_id, source, status, requested_at, due_at, decided_at, decided_by, reason";

/// Files a request to erase `contact`, due 30 days later, remembering its address; returns its id. While one is open
/// for the contact, that one's id is returned and nothing is written.
pub async fn request_erasure(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    source: &str,
    now_ms: i64,
) -> Result<String, StoreError> {
    let ws = tx.ws().to_owned();
    let id = ErasureRequestId::generate(now_ms);
    sqlx::query(
        "INSERT INTO erasure_requests (workspace_id, id, contact_id, source, status, requested_at, due_at, email, phone) \
         VALUES ($1, $2, $3, $4, 'open', $5, $6, \
         (SELECT c.email FROM contacts c WHERE c.workspace_id = $1 AND c.id = $3), \
         (SELECT c.phone FROM contacts c WHERE c.workspace_id = $1 AND c.id = $3)) \
         ON CONFLICT (workspace_id, contact_id) WHERE status = 'open' DO NOTHING",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(contact.as_str())
    .bind(source)
    .bind(now_ms)
    .bind(erasure_due(now_ms))
    .execute(tx.conn())
    .await
    .classify()?;
    let open: String = sqlx::query_scalar(
        "SELECT id FROM erasure_requests WHERE workspace_id = $1 AND contact_id = $2 AND status = 'open'",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .fetch_one(tx.conn())
    .await?;
    Ok(open)
}

pub async fn erasure_request(
    tx: &mut TenantTx<'_>,
    id: &ErasureRequestId,
    now_ms: Millis,
) -> Result<Option<ErasureRequestOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT ",
        REQUEST_COLUMNS,
        " FROM erasure_requests WHERE workspace_id = $1 AND id = $2",
    ]);
    let row: Option<RequestRow> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(|r| r.out(now_ms)))
}

/// What an open request remembers of its person (nothing once decided).
pub async fn erasure_request_remembered(
    tx: &mut TenantTx<'_>,
    id: &ErasureRequestId,
) -> Result<Remembered, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT email, phone FROM erasure_requests WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row
        .map(|(email, phone)| Remembered { email, phone })
        .unwrap_or_default())
}

/// Open requests first, soonest due first; then decided ones, latest decision first.
pub async fn erasure_requests(
    tx: &mut TenantTx<'_>,
    status: Option<&str>,
    limit: u32,
    now_ms: Millis,
) -> Result<Vec<ErasureRequestOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT ",
        REQUEST_COLUMNS,
        " FROM erasure_requests WHERE workspace_id = $1 AND ($2 = '' OR status = $2) \
         ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, \
         CASE WHEN status = 'open' THEN due_at ELSE -decided_at END, id LIMIT $3",
    ]);
    let rows: Vec<RequestRow> = sqlx::query_as(sql)
        .bind(ws)
        .bind(status.unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|r| r.out(now_ms)).collect())
}

/// Closes an open request as `approved` or `rejected` and forgets its address; false when it
/// was not open.
pub async fn decide_erasure_request(
    tx: &mut TenantTx<'_>,
    id: &ErasureRequestId,
    status: &str,
    decided_by: &str,
    reason: Option<&str>,
    now_ms: Millis,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE erasure_requests SET status = $3, decided_at = $4, decided_by = $5, reason = $6, \
         email = NULL, phone = NULL WHERE workspace_id = $1 AND id = $2 AND status = 'open'",
    )
    .bind(ws)
    .bind(id.as_str())
    .bind(status)
    .bind(now_ms)
    .bind(decided_by)
    .bind(reason)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------
// Retention
// ---------------------------------------------------------------------------------------------

/// The workspace's periods and its last daily run.
pub async fn retention(
    tx: &mut TenantTx<'_>,
) -> Result<(RetentionSettings, Option<RetentionRun>), StoreError> {
    let ws = tx.ws().to_owned();
    type Row = (
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT retention_closed_tickets_days, retention_messages_days, retention_inactive_contacts_days, \
         retention_last_day, retention_last_report FROM workspaces WHERE id = $1",
    )
    .bind(ws)
    .fetch_optional(tx.conn())
    .await?;
    let Some((closed, messages, inactive, day, report)) = row else {
        return Ok((RetentionSettings::default(), None));
    };
    let settings = RetentionSettings {
        closed_tickets_days: closed,
        messages_days: messages,
        inactive_contacts_days: inactive,
    };
    let run = match (day, report) {
        (Some(day), Some(report)) => Some(RetentionRun {
            day: day_text(day),
            counts: serde_json::from_str(&report).unwrap_or_default(),
        }),
        _ => None,
    };
    Ok((settings, run))
}

pub async fn set_retention(
    tx: &mut TenantTx<'_>,
    settings: &RetentionSettings,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE workspaces SET retention_closed_tickets_days = $2, retention_messages_days = $3, \
         retention_inactive_contacts_days = $4 WHERE id = $1",
    )
    .bind(ws)
    .bind(settings.closed_tickets_days)
    .bind(settings.messages_days)
    .bind(settings.inactive_contacts_days)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Workspaces whose daily retention run for `day` has not happened yet and that have a
/// period set (on the workspace, or on one of its contacts).
pub async fn unscoped_retention_due(db: &Db, day: i64) -> Result<Vec<Tenant>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM workspaces WHERE (retention_last_day IS NULL OR retention_last_day < $1) \
         AND (retention_closed_tickets_days IS NOT NULL OR retention_messages_days IS NOT NULL \
              OR retention_inactive_contacts_days IS NOT NULL OR retention_contact_periods = 1) ORDER BY id",
    )
    .bind(day)
    .fetch_all(&db.pool)
    .await?;
    Ok(ids
        .into_iter()
        .map(|id| Tenant::new(WorkspaceId::from_trusted(id)))
        .collect())
}

/// Takes the workspace's daily run for `day`, in the caller's transaction: false when it
/// ran already (another worker, or earlier today). The row stays locked until commit.
pub async fn claim_retention_day(tx: &mut TenantTx<'_>, day: i64) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "UPDATE workspaces SET retention_last_day = $2 WHERE id = $1 \
         AND (retention_last_day IS NULL OR retention_last_day < $2)",
    )
    .bind(ws)
    .bind(day)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a run's counts (and its day) as the last run.
pub async fn record_retention_run(
    tx: &mut TenantTx<'_>,
    day: i64,
    counts: &RetentionCounts,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE workspaces SET retention_last_day = $2, retention_last_report = $3 WHERE id = $1",
    )
    .bind(ws)
    .bind(day)
    .bind(serde_json::to_string(counts).unwrap_or_default())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What has expired at `now_ms` (ids in id order). A contact's own `retention_days` replaces
/// each workspace period for its data; a contact on legal hold keeps everything. Expired means
/// strictly older than the period:
/// - contacts: neither the contact nor any of its tickets changed (`updated_at`, which every
///   message and change moves) within `inactive_contacts_days`;
/// - tickets: resolved or closed, with `resolved_at` older than `closed_tickets_days`;
/// - messages: `created_at` older than `messages_days`, in tickets that stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expired {
    pub contacts: Vec<String>,
    pub tickets: Vec<String>,
    pub messages: Vec<String>,
}

pub async fn expired(
    tx: &mut TenantTx<'_>,
    settings: &RetentionSettings,
    now_ms: Millis,
) -> Result<Expired, StoreError> {
    let ws = tx.ws().to_owned();
    let contacts: Vec<String> = sqlx::query_scalar(
        "SELECT c.id FROM contacts c WHERE c.workspace_id = $1 AND c.legal_hold = 0 \
         AND COALESCE(c.retention_days, $3) IS NOT NULL \
         AND c.updated_at < $2 - COALESCE(c.retention_days, $3) * $4 \
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.workspace_id = c.workspace_id \
             AND t.contact_id = c.id AND t.updated_at >= $2 - COALESCE(c.retention_days, $3) * $4) \
         ORDER BY c.id",
    )
    .bind(&ws)
    .bind(now_ms)
    .bind(settings.inactive_contacts_days)
    .bind(DAY_MS)
    .fetch_all(tx.conn())
    .await?;
    let tickets: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT t.id, t.contact_id FROM tickets t LEFT JOIN contacts c \
         ON c.workspace_id = t.workspace_id AND c.id = t.contact_id \
         WHERE t.workspace_id = $1 AND t.status IN ('resolved', 'closed') AND t.resolved_at IS NOT NULL \
         AND COALESCE(c.legal_hold, 0) = 0 AND COALESCE(c.retention_days, $3) IS NOT NULL \
         AND t.resolved_at < $2 - COALESCE(c.retention_days, $3) * $4 ORDER BY t.id",
    )
    .bind(&ws)
    .bind(now_ms)
    .bind(settings.closed_tickets_days)
    .bind(DAY_MS)
    .fetch_all(tx.conn())
    .await?;
    let messages: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT m.id, m.ticket_id, t.contact_id FROM ticket_messages m JOIN tickets t \
         ON t.workspace_id = m.workspace_id AND t.id = m.ticket_id LEFT JOIN contacts c \
         ON c.workspace_id = t.workspace_id AND c.id = t.contact_id \
         WHERE m.workspace_id = $1 AND COALESCE(c.legal_hold, 0) = 0 \
         AND COALESCE(c.retention_days, $3) IS NOT NULL \
         AND m.created_at < $2 - COALESCE(c.retention_days, $3) * $4 ORDER BY m.id",
    )
    .bind(&ws)
    .bind(now_ms)
    .bind(settings.messages_days)
    .bind(DAY_MS)
    .fetch_all(tx.conn())
    .await?;
    // Each record counted once, under the widest thing that takes it.
    let gone_with_contact =
        |contact: &Option<String>| contact.as_ref().is_some_and(|c| contacts.contains(c));
    let tickets: Vec<(String, Option<String>)> = tickets
        .into_iter()
        .filter(|(_, contact)| !gone_with_contact(contact))
        .collect();
    let messages = messages
        .into_iter()
        .filter(|(_, ticket, contact)| {
            !gone_with_contact(contact) && !tickets.iter().any(|(t, _)| t == ticket)
        })
        .map(|(id, _, _)| id)
        .collect();
    Ok(Expired {
        contacts,
        tickets: tickets.into_iter().map(|(id, _)| id).collect(),
        messages,
    })
}

/// Deletes expired tickets (with their messages, attachments' rows, timelines and widget
/// visitors) and messages; returns the attachment files whose rows went. Contacts are erased
/// by the caller through [`erase_contact`].
pub async fn purge(
    tx: &mut TenantTx<'_>,
    tickets: &[String],
    messages: &[String],
) -> Result<Vec<String>, StoreError> {
    let ws = tx.ws().to_owned();
    let mut blobs = Vec::new();
    for ticket in tickets {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT a.sha256 FROM ticket_attachments a JOIN ticket_messages m \
             ON m.workspace_id = a.workspace_id AND m.id = a.message_id \
             WHERE a.workspace_id = $1 AND m.ticket_id = $2",
        )
        .bind(&ws)
        .bind(ticket)
        .fetch_all(tx.conn())
        .await?;
        blobs.extend(found);
        sqlx::query("DELETE FROM tickets WHERE workspace_id = $1 AND id = $2")
            .bind(&ws)
            .bind(ticket)
            .execute(tx.conn())
            .await?;
    }
    for message in messages {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT sha256 FROM ticket_attachments WHERE workspace_id = $1 AND message_id = $2",
        )
        .bind(&ws)
        .bind(message)
        .fetch_all(tx.conn())
        .await?;
        blobs.extend(found);
        sqlx::query("DELETE FROM ticket_messages WHERE workspace_id = $1 AND id = $2")
            .bind(&ws)
            .bind(message)
            .execute(tx.conn())
            .await?;
    }
    blobs.sort();
    blobs.dedup();
    Ok(blobs)
}

// ---------------------------------------------------------------------------------------------
// What the export reads besides the contact and its tickets
// ---------------------------------------------------------------------------------------------

/// The contact's tickets, oldest first.
pub async fn contact_tickets(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
) -> Result<Vec<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
    )
    .bind(ws)
    .bind(contact.as_str())
    .fetch_all(tx.conn())
    .await?)
}

/// Messages the contact wrote in tickets of other contacts (a mail answered into a thread).
pub async fn messages_elsewhere(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT m.id, m.ticket_id, m.body, m.created_at FROM ticket_messages m JOIN tickets t \
         ON t.workspace_id = m.workspace_id AND t.id = m.ticket_id WHERE m.workspace_id = $1 \
         AND m.author_type = 'contact' AND m.author_id = $2 \
         AND (t.contact_id IS NULL OR t.contact_id <> $2) ORDER BY m.id",
    )
    .bind(ws)
    .bind(contact.as_str())
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, ticket, body, at)| {
            serde_json::json!({"id": id, "ticket_id": ticket, "body": body, "created_at": at})
        })
        .collect())
}

/// The widget's records of the contact: conversations opened (with the email the visitor
/// typed) and the site's verified user ids linked to it. Visitor tokens are not shown.
pub async fn widget_records(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
) -> Result<serde_json::Value, StoreError> {
    let ws = tx.ws().to_owned();
    let visitors: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT ticket_id, claimed_email, created_at FROM widget_visitors \
         WHERE workspace_id = $1 AND contact_id = $2 ORDER BY created_at, ticket_id",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .fetch_all(tx.conn())
    .await?;
    let identities: Vec<(String, i64)> = sqlx::query_as(
        "SELECT user_id, created_at FROM widget_identities WHERE workspace_id = $1 AND contact_id = $2 ORDER BY user_id",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .fetch_all(tx.conn())
    .await?;
    Ok(serde_json::json!({
        "conversations": visitors.into_iter().map(|(ticket, email, at)| serde_json::json!({
            "ticket_id": ticket, "claimed_email": email, "created_at": at,
        })).collect::<Vec<_>>(),
        "verified_identities": identities.into_iter().map(|(user, at)| serde_json::json!({
            "user_id": user, "created_at": at,
        })).collect::<Vec<_>>(),
    }))
}

/// The erasure requests filed for the contact.
pub async fn contact_erasure_requests(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    now_ms: Millis,
) -> Result<Vec<ErasureRequestOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT ",
        REQUEST_COLUMNS,
        " FROM erasure_requests WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
    ]);
    let rows: Vec<RequestRow> = sqlx::query_as(sql)
        .bind(ws)
        .bind(contact.as_str())
        .fetch_all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|r| r.out(now_ms)).collect())
}

/// Idempotency records are replayed for 24 hours; older ones are only kept until their key
/// is reused. Retention forgets them (they hold whole responses).
pub async fn prune_idempotency(tx: &mut TenantTx<'_>, now_ms: Millis) -> Result<u64, StoreError> {
    let ws = tx.ws().to_owned();
    let done =
        sqlx::query("DELETE FROM idempotency_keys WHERE workspace_id = $1 AND created_at <= $2")
            .bind(ws)
            .bind(now_ms - crate::idempotency::RETENTION_MS)
            .execute(tx.conn())
            .await?;
    Ok(done.rows_affected())
}
