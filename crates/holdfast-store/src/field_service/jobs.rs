//! A workspace's jobs. Every read and write goes through a [`JobScope`]: a workspace's every
//! job for a role with `jobs.all`, only the jobs assigned to the member otherwise (a
//! technician). The scope is made from the authenticated actor only ([`JobScope::of`]), and
//! every statement here adds its condition, so no handler can forget it: a job outside the
//! scope does not exist for the caller (404 on every route).

use crate::error::StoreError;
use crate::identity::auth::{Actor, Principal};
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::access::policy::Permission;
use holdfast_core::field_service::jobs::{
    Booking, ChecklistItem, JobFields, JobOut, JobStatus, LineItem, MAX_NOTES, MAX_WINDOW_MS,
    NoteOut, NoteVisibility, StatusChangeOut, Window, WindowOut, double_bookings,
    overlap_search_ranges,
};
use holdfast_core::field_service::time_zone::ZoneName;
use holdfast_core::ids::{JobId, JobNoteId};
use std::collections::HashMap;

/// Which jobs a caller reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobScope(Reach);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    /// Every job of the workspace (`jobs.all`).
    All,
    /// The jobs this member is assigned to.
    AssignedTo(String),
    /// None: an API key whose role lacks `jobs.all` is assigned to nothing.
    Nothing,
}

impl JobScope {
    /// The scope of an authenticated actor: its role decides.
    pub fn of(actor: &Actor) -> JobScope {
        if actor.role.grants(Permission::JobsAll) {
            return JobScope(Reach::All);
        }
        match &actor.principal {
            Principal::User { user_id, .. } => JobScope(Reach::AssignedTo(user_id.to_string())),
            Principal::ApiKey(_) => JobScope(Reach::Nothing),
        }
    }

    /// The member this scope is limited to, if it is.
    pub fn member(&self) -> Option<&str> {
        match &self.0 {
            Reach::AssignedTo(user) => Some(user),
            _ => None,
        }
    }

    pub fn is_all(&self) -> bool {
        self.0 == Reach::All
    }

    /// Whether the caller reaches no job at all (an API key whose role lacks `jobs.all`).
    pub fn is_nothing(&self) -> bool {
        self.0 == Reach::Nothing
    }

    /// The condition on `j` (a `jobs` row) this scope adds; it binds [`JobScope::bound`] as
    /// `$n` whatever the scope, so every statement has the same parameters.
    fn condition(&self, n: usize) -> Sql {
        let mut sql = match &self.0 {
            Reach::All => Sql::of(&[" AND "]),
            Reach::AssignedTo(_) => Sql::of(&[
                " AND EXISTS (SELECT 1 FROM job_technicians s WHERE s.workspace_id = j.workspace_id \
                 AND s.job_id = j.id AND s.user_id = ",
            ]),
            Reach::Nothing => Sql::of(&[" AND 1 = 0 AND "]),
        };
        sql.param(n);
        match &self.0 {
            Reach::AssignedTo(_) => sql.push(")"),
            _ => sql.push(" = ''"),
        };
        sql
    }

    /// The value the condition binds: the member, or the empty string.
    fn bound(&self) -> String {
        self.member().unwrap_or("").to_owned()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    contact_id: String,
    company_id: Option<String>,
    title: String,
    description: Option<String>,
    service_address: Option<String>,
    status: String,
    window_start: Option<i64>,
    window_end: Option<i64>,
    checklist: String,
    line_items: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "j.id, j.contact_id, j.company_id, j.title, j.description, \
    j.service_address, j.status, j.window_start, j.window_end, j.checklist, j.line_items, \
    j.created_at, j.updated_at";

/// A job as stored: its fields and status (the answer adds technicians, history, overlaps).
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub fields: JobFields,
    pub status: JobStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Row {
    fn job(self) -> Job {
        let window = match (self.window_start, self.window_end) {
            (Some(start_ms), Some(end_ms)) => Some(Window { start_ms, end_ms }),
            _ => None,
        };
        Job {
            id: JobId::from_trusted(self.id),
            status: JobStatus::parse(&self.status).unwrap_or(JobStatus::Requested),
            fields: JobFields {
                contact_id: self.contact_id,
                company_id: self.company_id,
                title: self.title,
                description: self.description,
                service_address: self.service_address,
                window,
                technician_ids: Vec::new(),
                checklist: serde_json::from_str::<Vec<ChecklistItem>>(&self.checklist)
                    .unwrap_or_default(),
                line_items: serde_json::from_str::<Vec<LineItem>>(&self.line_items)
                    .unwrap_or_default(),
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The workspace's time zone.
pub async fn time_zone(tx: &mut TenantTx<'_>) -> Result<ZoneName, StoreError> {
    let ws = tx.ws().to_owned();
    let name: Option<String> = sqlx::query_scalar("SELECT time_zone FROM workspaces WHERE id = $1")
        .bind(ws)
        .fetch_optional(tx.conn())
        .await?;
    Ok(name
        .map(|n| ZoneName::from_trusted(&n))
        .unwrap_or_else(ZoneName::utc))
}

/// Sets the workspace's time zone (times already scheduled keep their instants).
pub async fn set_time_zone(tx: &mut TenantTx<'_>, zone: &ZoneName) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("UPDATE workspaces SET time_zone = $1 WHERE id = $2")
        .bind(zone.as_str())
        .bind(ws)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Which of the ids the job names do not exist in the workspace: the contact (when
/// `with_contact`), the company and each technician (a member of the workspace). Each as
/// (field, detail).
pub async fn missing_references(
    tx: &mut TenantTx<'_>,
    fields: &JobFields,
    with_contact: bool,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut missing = crate::crm::references::missing_customer(
        tx,
        with_contact.then_some(fields.contact_id.as_str()),
        fields.company_id.as_deref(),
    )
    .await?;
    let ws = tx.ws().to_owned();
    for (i, user) in fields.technician_ids.iter().enumerate() {
        let member: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM memberships WHERE workspace_id = $1 AND user_id = $2",
        )
        .bind(&ws)
        .bind(user)
        .fetch_optional(tx.conn())
        .await?;
        if member.is_none() {
            missing.push((
                format!("technician_ids[{i}]"),
                "is not a member of this workspace".into(),
            ));
        }
    }
    Ok(missing)
}

/// Stores a new job (status `requested`) with its technicians and first history entry.
pub async fn insert(
    tx: &mut TenantTx<'_>,
    fields: &JobFields,
    actor: &str,
    now_ms: i64,
) -> Result<JobId, StoreError> {
    let id = JobId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO jobs (workspace_id, id, contact_id, company_id, title, description, \
         service_address, status, window_start, window_end, checklist, line_items, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8, $9, $10, $11, $12, $12)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(&fields.contact_id)
    .bind(fields.company_id.as_deref())
    .bind(&fields.title)
    .bind(fields.description.as_deref())
    .bind(fields.service_address.as_deref())
    .bind(fields.window.map(|w| w.start_ms))
    .bind(fields.window.map(|w| w.end_ms))
    .bind(serde_json::to_string(&fields.checklist).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&fields.line_items).unwrap_or_else(|_| "[]".into()))
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    write_technicians(tx, &id, &fields.technician_ids).await?;
    record_status(tx, &id, None, JobStatus::Requested, actor, None, now_ms).await?;
    Ok(id)
}

async fn write_technicians(
    tx: &mut TenantTx<'_>,
    id: &JobId,
    users: &[String],
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("DELETE FROM job_technicians WHERE workspace_id = $1 AND job_id = $2")
        .bind(&ws)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
    for user in users {
        sqlx::query(
            "INSERT INTO job_technicians (workspace_id, job_id, user_id) VALUES ($1, $2, $3)",
        )
        .bind(&ws)
        .bind(id.as_str())
        .bind(user)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

async fn record_status(
    tx: &mut TenantTx<'_>,
    id: &JobId,
    from: Option<JobStatus>,
    to: JobStatus,
    actor: &str,
    note: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO job_status_changes (workspace_id, job_id, seq, from_status, to_status, actor, \
         note, at) VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_status_changes \
         WHERE workspace_id = $1 AND job_id = $2), $3, $4, $5, $6, $7)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(from.map(JobStatus::as_str))
    .bind(to.as_str())
    .bind(actor)
    .bind(note)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The job, if it is in `scope`, held as `lock` says.
pub async fn get(
    tx: &mut TenantTx<'_>,
    scope: &JobScope,
    id: &JobId,
    lock: Lock,
) -> Result<Option<Job>, StoreError> {
    let ws = tx.ws().to_owned();
    let mut sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM jobs j WHERE j.workspace_id = $1 AND j.id = $2",
    ]);
    sql.append(&scope.condition(3))
        .push(lock.clause(tx.backend));
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .bind(scope.bound())
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut jobs = vec![row.job()];
    with_technicians(tx, &mut jobs).await?;
    Ok(jobs.pop())
}

/// `IN ($from, $from+1, …)` with one placeholder per id (at least one, so the list is never
/// empty SQL).
fn id_list(from: usize, count: usize) -> Sql {
    let mut sql = Sql::of(&[" IN ("]);
    for i in 0..count.max(1) {
        if i > 0 {
            sql.push(", ");
        }
        sql.param(from + i);
    }
    sql.push(")");
    sql
}

/// Rows of a per-job table for every job of `ids`, in one statement: `head` selects from the
/// table with `workspace_id = $1 AND job_id`, the list of ids follows, then `tail`.
pub(crate) async fn per_job<R>(
    tx: &mut TenantTx<'_>,
    head: &'static str,
    ids: &[&str],
    tail: &'static str,
) -> Result<Vec<R>, StoreError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ws = tx.ws().to_owned();
    let mut sql = Sql::of(&[head]);
    sql.append(&id_list(2, ids.len())).push(tail);
    let mut query = sqlx::query_as::<_, R>(sql).bind(ws);
    for id in ids {
        query = query.bind(id.to_string());
    }
    Ok(query.fetch_all(tx.conn()).await?)
}

#[derive(sqlx::FromRow)]
struct TechnicianRow {
    job_id: String,
    user_id: String,
}

/// Fills in the technicians of `jobs`, read in one statement.
async fn with_technicians(tx: &mut TenantTx<'_>, jobs: &mut [Job]) -> Result<(), StoreError> {
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let rows: Vec<TechnicianRow> = per_job(
        tx,
        "SELECT job_id, user_id FROM job_technicians WHERE workspace_id = $1 AND job_id",
        &ids,
        " ORDER BY job_id, user_id",
    )
    .await?;
    let mut by_job = group(rows.into_iter().map(|r| (r.job_id, r.user_id)));
    for job in jobs {
        job.fields.technician_ids = by_job.remove(job.id.as_str()).unwrap_or_default();
    }
    Ok(())
}

/// Pairs gathered by their first part, each group in the pairs' order.
fn group<T>(pairs: impl Iterator<Item = (String, T)>) -> HashMap<String, Vec<T>> {
    let mut groups: HashMap<String, Vec<T>> = HashMap::new();
    for (key, value) in pairs {
        groups.entry(key).or_default().push(value);
    }
    groups
}

/// Replaces the job's fields (its status is changed by [`change_status`] only).
pub async fn update(
    tx: &mut TenantTx<'_>,
    id: &JobId,
    fields: &JobFields,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE jobs SET title = $3, description = $4, service_address = $5, window_start = $6, \
         window_end = $7, checklist = $8, line_items = $9, updated_at = $10 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(&fields.title)
    .bind(fields.description.as_deref())
    .bind(fields.service_address.as_deref())
    .bind(fields.window.map(|w| w.start_ms))
    .bind(fields.window.map(|w| w.end_ms))
    .bind(serde_json::to_string(&fields.checklist).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&fields.line_items).unwrap_or_else(|_| "[]".into()))
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    write_technicians(tx, id, &fields.technician_ids).await
}

/// Moves the job to `to` and records who and when (the rules are checked by the caller with
/// `core::field_service::jobs::check_transition` on the job read under lock).
pub async fn change_status(
    tx: &mut TenantTx<'_>,
    job: &Job,
    to: JobStatus,
    actor: &str,
    note: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("UPDATE jobs SET status = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2")
        .bind(&ws)
        .bind(job.id.as_str())
        .bind(to.as_str())
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    record_status(tx, &job.id, Some(job.status), to, actor, note, now_ms).await
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    job_id: String,
    from_status: Option<String>,
    to_status: String,
    actor: String,
    note: Option<String>,
    at: i64,
}

async fn histories(
    tx: &mut TenantTx<'_>,
    ids: &[&str],
) -> Result<HashMap<String, Vec<StatusChangeOut>>, StoreError> {
    let rows: Vec<ChangeRow> = per_job(
        tx,
        "SELECT job_id, from_status, to_status, actor, note, at FROM job_status_changes \
         WHERE workspace_id = $1 AND job_id",
        ids,
        " ORDER BY job_id, seq",
    )
    .await?;
    Ok(group(rows.into_iter().map(|r| {
        (
            r.job_id,
            StatusChangeOut {
                from: r.from_status.as_deref().and_then(JobStatus::parse),
                to: JobStatus::parse(&r.to_status).unwrap_or(JobStatus::Requested),
                by: r.actor,
                at: r.at,
                note: r.note,
            },
        )
    })))
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: String,
    window_start: i64,
    window_end: i64,
    user_id: String,
}

/// The double bookings of a page of jobs as a caller of `scope` may see them: for each job
/// with a window and technicians, the other open jobs (within the scope) whose window overlaps
/// its own and that share a technician with it. One statement reads the candidates: the
/// window index's ranges where overlapping jobs start (`overlap_search_ranges`: one range for
/// a day's board), each a plain range condition on bound values, which PostgreSQL can use as
/// an index condition under row-level security (an expression such as `a.window_start - $n`
/// is not leakproof, so it could not). The overlaps are then worked out here
/// (`double_bookings`) rather than by a self-join, whose plan under the policy walked the
/// whole index.
async fn overlaps(
    tx: &mut TenantTx<'_>,
    scope: &JobScope,
    jobs: &[Job],
) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let page: Vec<Booking<'_>> = jobs
        .iter()
        .filter(|j| !j.fields.technician_ids.is_empty())
        .filter_map(|j| {
            j.fields.window.map(|window| Booking {
                id: j.id.as_str(),
                window,
                technicians: &j.fields.technician_ids,
            })
        })
        .collect();
    if page.is_empty() {
        return Ok(HashMap::new());
    }
    let ranges = overlap_search_ranges(page.iter().map(|b| b.window));
    let mut sql = Sql::of(&[""]);
    for (i, _) in ranges.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push(
            "SELECT j.id, j.window_start, j.window_end, t.user_id FROM jobs j \
             JOIN job_technicians t ON t.workspace_id = j.workspace_id AND t.job_id = j.id \
             WHERE j.workspace_id = $1 AND j.status NOT IN ('completed', 'cancelled') \
             AND j.window_start > ",
        )
        .param(3 + 2 * i)
        .push(" AND j.window_start < ")
        .param(4 + 2 * i);
        sql.append(&scope.condition(2));
    }
    let ws = tx.ws().to_owned();
    let mut query = sqlx::query_as::<_, CandidateRow>(sql)
        .bind(ws)
        .bind(scope.bound());
    for (after, before) in &ranges {
        query = query.bind(*after).bind(*before);
    }
    let rows = query.fetch_all(tx.conn()).await?;
    // One candidate per job, with all its technicians.
    let mut by_job: HashMap<String, (Window, Vec<String>)> = HashMap::new();
    for row in rows {
        let window = Window {
            start_ms: row.window_start,
            end_ms: row.window_end,
        };
        by_job
            .entry(row.id)
            .or_insert_with(|| (window, Vec::new()))
            .1
            .push(row.user_id);
    }
    let others: Vec<Booking<'_>> = by_job
        .iter()
        .map(|(id, (window, technicians))| Booking {
            id,
            window: *window,
            technicians,
        })
        .collect();
    Ok(double_bookings(&page, &others))
}

/// The job as answered to a caller of `scope`: with its window in the workspace's zone,
/// history, notes, files and the overlaps that caller may see.
pub async fn answer(
    tx: &mut TenantTx<'_>,
    scope: &JobScope,
    job: Job,
    zone: &ZoneName,
) -> Result<JobOut, StoreError> {
    // One job in, one answer out.
    answer_all(tx, scope, vec![job], zone)
        .await?
        .pop()
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}

/// The jobs as answered to a caller of `scope` (as [`answer`]), in their order: their history,
/// notes and overlaps read in three statements whatever their number (a dispatch board's page).
pub async fn answer_all(
    tx: &mut TenantTx<'_>,
    scope: &JobScope,
    jobs: Vec<Job>,
    zone: &ZoneName,
) -> Result<Vec<JobOut>, StoreError> {
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let mut histories = histories(tx, &ids).await?;
    let mut notes = notes(tx, &ids).await?;
    let mut files = super::files::of_jobs(tx, &ids).await?;
    let mut overlaps = overlaps(tx, scope, &jobs).await?;
    Ok(jobs
        .into_iter()
        .map(|job| {
            let id = job.id.to_string();
            JobOut {
                history: histories.remove(&id).unwrap_or_default(),
                notes: notes.remove(&id).unwrap_or_default(),
                files: files.remove(&id).unwrap_or_default(),
                overlapping_job_ids: overlaps.remove(&id).unwrap_or_default(),
                id,
                contact_id: job.fields.contact_id,
                company_id: job.fields.company_id,
                title: job.fields.title,
                description: job.fields.description,
                service_address: job.fields.service_address,
                status: job.status,
                window: job.fields.window.map(|w| WindowOut::of(w, zone)),
                technician_ids: job.fields.technician_ids,
                checklist: job.fields.checklist,
                line_items: job.fields.line_items,
                created_at: job.created_at,
                updated_at: job.updated_at,
            }
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    job_id: String,
    id: String,
    visibility: String,
    body: String,
    author: String,
    created_at: i64,
}

async fn notes(
    tx: &mut TenantTx<'_>,
    ids: &[&str],
) -> Result<HashMap<String, Vec<NoteOut>>, StoreError> {
    let rows: Vec<NoteRow> = per_job(
        tx,
        "SELECT job_id, id, visibility, body, author, created_at FROM job_notes \
         WHERE workspace_id = $1 AND job_id",
        ids,
        " ORDER BY job_id, id",
    )
    .await?;
    Ok(group(rows.into_iter().map(|r| {
        (
            r.job_id,
            NoteOut {
                id: r.id,
                visibility: NoteVisibility::parse(&r.visibility).unwrap_or_default(),
                body: r.body,
                by: r.author,
                created_at: r.created_at,
            },
        )
    })))
}

/// Adds a note to a job the caller reached (read under lock by the caller); `None` when the job
/// has [`MAX_NOTES`] already.
pub async fn add_note(
    tx: &mut TenantTx<'_>,
    job: &Job,
    visibility: NoteVisibility,
    body: &str,
    author: &str,
    now_ms: i64,
) -> Result<Option<JobNoteId>, StoreError> {
    let ws = tx.ws().to_owned();
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM job_notes WHERE workspace_id = $1 AND job_id = $2",
    )
    .bind(&ws)
    .bind(job.id.as_str())
    .fetch_one(tx.conn())
    .await?;
    if count >= MAX_NOTES {
        return Ok(None);
    }
    let id = JobNoteId::generate(now_ms);
    sqlx::query(
        "INSERT INTO job_notes (workspace_id, job_id, id, visibility, body, author, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&ws)
    .bind(job.id.as_str())
    .bind(id.as_str())
    .bind(visibility.as_str())
    .bind(body)
    .bind(author)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(Some(id))
}

/// A dispatch board's filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Windows that end after this instant (ms)…
    pub from_ms: Option<i64>,
    /// …and start before this one.
    pub to_ms: Option<i64>,
    pub technician: Option<String>,
    pub status: Option<JobStatus>,
}

/// Jobs in `scope` matching `filter`, in id (booking) order after the cursor id; at most
/// `limit`.
pub async fn list(
    tx: &mut TenantTx<'_>,
    scope: &JobScope,
    filter: &Filter,
    after: Option<&JobId>,
    limit: i64,
) -> Result<Vec<Job>, StoreError> {
    let ws = tx.ws().to_owned();
    let mut sql = Sql::of(&["SELECT ", COLUMNS, " FROM jobs j WHERE j.workspace_id = $1"]);
    sql.append(&scope.condition(2));
    sql.push(" AND ($3 = '' OR j.status = $3)");
    // A dispatch board's range is read through the window index: a window is at most
    // MAX_WINDOW_MS long, so one that ends after `from` starts after `from − MAX_WINDOW_MS`,
    // which bounds the index range on both sides (unscheduled jobs have no window and are
    // left out of a range).
    let windowed = filter.from_ms.is_some() || filter.to_ms.is_some();
    let mut next = 4;
    if windowed {
        sql.push(" AND j.window_start > ")
            .param(4)
            .push(" AND j.window_start < ")
            .param(5)
            .push(" AND j.window_end > ")
            .param(6);
        next = 7;
    }
    sql.push(" AND (")
        .param(next)
        .push(" = '' OR EXISTS (SELECT 1 FROM job_technicians f WHERE f.workspace_id = j.workspace_id AND f.job_id = j.id AND f.user_id = ")
        .param(next)
        .push("))")
        .push(" AND (")
        .param(next + 1)
        .push(" = '' OR j.id > ")
        .param(next + 1)
        .push(") ORDER BY j.id LIMIT ")
        .param(next + 2);
    let mut query = sqlx::query_as::<_, Row>(sql)
        .bind(ws)
        .bind(scope.bound())
        .bind(filter.status.map(JobStatus::as_str).unwrap_or(""));
    if windowed {
        let from = filter.from_ms.unwrap_or(i64::MIN + MAX_WINDOW_MS);
        query = query
            .bind(from - MAX_WINDOW_MS)
            .bind(filter.to_ms.unwrap_or(i64::MAX))
            .bind(from);
    }
    let rows: Vec<Row> = query
        .bind(filter.technician.clone().unwrap_or_default())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
    let mut jobs: Vec<Job> = rows.into_iter().map(Row::job).collect();
    with_technicians(tx, &mut jobs).await?;
    Ok(jobs)
}

/// What a job's public page may show, and nothing else: no contact, address, amounts, line
/// items or internal notes are read. Technicians by the name they go by in the workspace
/// (`None` for one who has not set it).
#[derive(Debug, Clone)]
pub struct PublicJob {
    pub title: String,
    pub status: JobStatus,
    pub window: Option<Window>,
    pub technician_names: Vec<Option<String>>,
    /// Customer-visible notes: (when, text), oldest first.
    pub customer_notes: Vec<(i64, String)>,
    /// When the job last became completed or cancelled (its link's expiry counts from here).
    pub finished_at: Option<i64>,
}

/// The columns of a job a customer's view reads (`PUBLIC_COLUMNS`).
#[derive(sqlx::FromRow)]
pub(crate) struct PublicRow {
    title: String,
    status: String,
    window_start: Option<i64>,
    window_end: Option<i64>,
}

/// What a customer's view reads of the `jobs` row: no contact, address or amounts.
pub(crate) const PUBLIC_COLUMNS: &str = "title, status, window_start, window_end";

/// The job a public link names, as its page shows it. The link is the customer's reach: no
/// member's [`JobScope`] applies.
pub async fn public_view(
    tx: &mut TenantTx<'_>,
    id: &JobId,
) -> Result<Option<PublicJob>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT ",
        PUBLIC_COLUMNS,
        " FROM jobs WHERE workspace_id = $1 AND id = $2",
    ]);
    let row: Option<PublicRow> = sqlx::query_as(sql)
        .bind(&ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    match row {
        Some(row) => Ok(Some(public_parts(tx, id, row).await?)),
        None => Ok(None),
    }
}

/// The rest of a customer's view of a job the caller already found within the customer's
/// reach (a public link's job, or a portal customer's own): its technicians' names, its
/// customer-visible notes (never internal ones) and when it finished.
pub(crate) async fn public_parts(
    tx: &mut TenantTx<'_>,
    id: &JobId,
    row: PublicRow,
) -> Result<PublicJob, StoreError> {
    let ws = tx.ws().to_owned();
    let technician_names: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT m.display_name FROM job_technicians t JOIN memberships m \
         ON m.workspace_id = t.workspace_id AND m.user_id = t.user_id \
         WHERE t.workspace_id = $1 AND t.job_id = $2 ORDER BY t.user_id",
    )
    .bind(&ws)
    .bind(id.as_str())
    .fetch_all(tx.conn())
    .await?;
    let customer_notes: Vec<(i64, String)> = sqlx::query_as(
        "SELECT created_at, body FROM job_notes WHERE workspace_id = $1 AND job_id = $2 \
         AND visibility = $3 ORDER BY id",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(NoteVisibility::Customer.as_str())
    .fetch_all(tx.conn())
    .await?;
    let finished_at: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(at) FROM job_status_changes WHERE workspace_id = $1 AND job_id = $2 \
         AND to_status IN ('completed', 'cancelled')",
    )
    .bind(&ws)
    .bind(id.as_str())
    .fetch_one(tx.conn())
    .await?;
    let window = match (row.window_start, row.window_end) {
        (Some(start_ms), Some(end_ms)) => Some(Window { start_ms, end_ms }),
        _ => None,
    };
    Ok(PublicJob {
        title: row.title,
        status: JobStatus::parse(&row.status).unwrap_or(JobStatus::Requested),
        window,
        technician_names,
        customer_notes,
        finished_at,
    })
}
