//! Contact import (CRM): checking a CSV against the workspace's custom fields and the
//! caller's field rules, the dry run's report, starting an import (its record, its job and the
//! audit entry) and the `contacts.import` job that writes rows in committed chunks. The API
//! (`holdfast-http` `api/crm/contact_imports.rs`) and the console's import wizard
//! (`pages/crm/import.rs`) accept the file and call [`dry_run`] or [`start`].

use crate::audit;
use crate::events::publish_contact;
use crate::jobs::{JobError, JobResult};
use crate::{App, AppResult};
use holdfast_core::access::fields::{self, Resource};
use holdfast_core::access::policy::Role;
use holdfast_core::crm::contact_fields::FieldDef;
use holdfast_core::crm::contact_import::{
    self as import, ImportMode, ImportOptions, ImportOut, ImportRow, MAX_REPORTED_ERRORS, RowError,
    Table, Target,
};
use holdfast_core::crm::contacts::{ContactFields, ContactOut};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::{ContactId, ContactImportId};
use holdfast_core::ops::queue::JobKind;
use holdfast_core::webhooks::EventType;
use holdfast_store::ops::audit::NewEvent;
use holdfast_store::{Lock, Tenant, TenantTx, crm::contact_imports, crm::contacts};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Rows written per transaction; progress is committed with them.
const CHUNK: usize = 200;

fn job_err(e: ApiError) -> JobError {
    JobError::Retry(format!("{e:?}"))
}

/// What a dry run found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DryRunOut {
    pub dry_run: bool,
    pub mode: ImportMode,
    pub rows_total: usize,
    pub would_create: usize,
    pub would_update: usize,
    /// Rows repeating an earlier row's email or phone; skipped.
    pub duplicates: usize,
    pub invalid: usize,
    /// Every column and where it goes.
    pub columns: Vec<ColumnOut>,
    /// Problems by row (the first 1000), duplicates included.
    pub errors: Vec<RowError>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ColumnOut {
    pub column: String,
    pub target: String,
}

/// The file and options of an import, checked: everything but the rows' fate.
pub struct Checked {
    pub table: Table,
    pub targets: Vec<Target>,
    pub rows: Vec<Result<ImportRow, Vec<RowError>>>,
    pub dups: Vec<Option<u64>>,
}

pub fn check_file(
    csv: &[u8],
    mapping: Option<&BTreeMap<String, String>>,
    defs: &[FieldDef],
) -> AppResult<Checked> {
    let table = import::read_csv(csv).map_err(|m| ApiError::new(ErrorCode::Validation, m.0))?;
    let targets =
        import::resolve_mapping(&table.headers, mapping, defs).map_err(ApiError::validation)?;
    let rows = import::check_rows(&table, &targets, defs);
    let dups = import::duplicates(&rows);
    Ok(Checked {
        table,
        targets,
        rows,
        dups,
    })
}

pub fn duplicate_error(row: u64, of: u64) -> RowError {
    RowError {
        row,
        column: None,
        message: format!("repeats row {of} (same email or phone); skipped"),
    }
}

pub fn push_errors(report: &mut Vec<RowError>, errors: impl IntoIterator<Item = RowError>) {
    for e in errors {
        if report.len() < MAX_REPORTED_ERRORS {
            report.push(e);
        }
    }
}

/// The existing contact a row updates: by email first, then by phone. `Lock::ForUpdate` when the
/// row is about to be written.
pub async fn existing(
    tx: &mut TenantTx<'_>,
    row: &ImportRow,
    lock: Lock,
) -> AppResult<Option<ContactOut>> {
    if let Some(email) = &row.email
        && let Some(found) = contacts::find_by_email(tx, email, lock).await?
    {
        return Ok(Some(found));
    }
    if let Some(phone) = &row.phone
        && let Some(found) = contacts::find_by_phone(tx, phone, lock).await?
    {
        return Ok(Some(found));
    }
    Ok(None)
}

/// An existing contact with a row's mapped, non-empty cells over it (tags are added).
fn merged(current: &ContactOut, row: &ImportRow) -> ContactFields {
    let mut f = current.fields();
    for (slot, value) in [
        (&mut f.name, &row.name),
        (&mut f.email, &row.email),
        (&mut f.phone, &row.phone),
        (&mut f.company, &row.company),
    ] {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
    for tag in &row.tags {
        if !f.tags.contains(tag) && f.tags.len() < holdfast_core::crm::contacts::MAX_TAGS {
            f.tags.push(tag.clone());
        }
    }
    for (k, v) in &row.custom {
        f.custom.insert(k.clone(), v.clone());
    }
    f
}

fn created(row: &ImportRow) -> ContactFields {
    ContactFields {
        name: row.name.clone(),
        email: row.email.clone(),
        phone: row.phone.clone(),
        company: row.company.clone(),
        tags: row.tags.clone(),
        company_id: None,
        custom: row.custom.clone(),
    }
}

pub async fn dry_run_report(
    tx: &mut TenantTx<'_>,
    checked: &Checked,
    defs: &[FieldDef],
    mode: ImportMode,
) -> AppResult<DryRunOut> {
    let mut report = DryRunOut {
        dry_run: true,
        mode,
        rows_total: checked.rows.len(),
        would_create: 0,
        would_update: 0,
        duplicates: 0,
        invalid: 0,
        columns: checked
            .table
            .headers
            .iter()
            .zip(&checked.targets)
            .map(|(c, t)| ColumnOut {
                column: c.clone(),
                target: t.name(),
            })
            .collect(),
        errors: Vec::new(),
    };
    for (result, dup) in checked.rows.iter().zip(&checked.dups) {
        match (result, dup) {
            (Err(errors), _) => {
                report.invalid += 1;
                push_errors(&mut report.errors, errors.iter().cloned());
            }
            (Ok(row), Some(of)) => {
                report.duplicates += 1;
                push_errors(&mut report.errors, [duplicate_error(row.row, *of)]);
            }
            (Ok(row), None) => {
                if existing(tx, row, Lock::Read).await?.is_some() {
                    report.would_update += 1;
                } else {
                    let missing = import::missing_required(row, defs);
                    if missing.is_empty() {
                        report.would_create += 1;
                    } else {
                        report.invalid += 1;
                        push_errors(&mut report.errors, missing);
                    }
                }
            }
        }
    }
    report.errors.sort_by_key(|e| e.row);
    Ok(report)
}

/// Refuses an import that maps a column to a field `role` may not write.
pub fn check_mapped_writes(role: &Role, targets: &[Target]) -> AppResult<()> {
    let sent: Vec<&str> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Name => Some("name"),
            Target::Email => Some("email"),
            Target::Phone => Some("phone"),
            Target::Company => Some("company"),
            Target::Tags => Some("tags"),
            Target::Custom(_) => Some("custom"),
            // Consent is not a contact field: importing it needs contacts.write, as every import.
            Target::Consent(_) | Target::DoNotContact | Target::Ignore => None,
        })
        .collect();
    fields::check_write(role, Resource::Contacts, &sent).map_err(|(field, access)| {
        ApiError::field(
            ErrorCode::Forbidden,
            &field,
            &format!(
                "your role may not change contacts.{field} (it is {} for you); map that column to ignore",
                access.as_str()
            ),
        )
    })
}

/// The file checked against the workspace's custom fields and `role`'s field rules, in the
/// caller's transaction; with the custom fields it was checked against.
async fn check_for(
    tx: &mut TenantTx<'_>,
    role: &Role,
    csv: &[u8],
    options: &ImportOptions,
) -> AppResult<(Checked, Vec<FieldDef>)> {
    let defs = holdfast_store::crm::contact_fields::defs(tx).await?;
    let checked = check_file(csv, options.mapping.as_ref(), &defs)?;
    check_mapped_writes(role, &checked.targets)?;
    Ok((checked, defs))
}

/// What importing `csv` as `role` would do, storing nothing.
pub async fn dry_run(
    state: &App,
    tenant: &Tenant,
    role: &Role,
    csv: &[u8],
    options: &ImportOptions,
) -> AppResult<DryRunOut> {
    let mut tx = state.db.read(tenant).await?;
    let (checked, defs) = check_for(&mut tx, role, csv, options).await?;
    let report = dry_run_report(&mut tx, &checked, &defs, options.mode).await?;
    tx.commit().await?;
    Ok(report)
}

/// Starts importing `csv` as `role`: the file checked (nothing is stored when it does not
/// check), then in one transaction the import's record (kept with the file and `created_by`),
/// its `contacts.import` job and `by`'s audit entry (`contacts.import_started`, with the rows
/// and the mode). The job writes the rows; the record shows its progress.
pub async fn start(
    state: &App,
    tenant: &Tenant,
    role: &Role,
    created_by: &str,
    csv: &[u8],
    options: &ImportOptions,
    by: NewEvent,
) -> AppResult<ImportOut> {
    let mut tx = state.db.read(tenant).await?;
    let (checked, _) = check_for(&mut tx, role, csv, options).await?;
    tx.commit().await?;
    // Valid UTF-8: `read_csv` refused anything else.
    let text = String::from_utf8_lossy(csv);
    let now = state.clock.now_ms();
    let stored_options = serde_json::to_value(options).unwrap_or_default();
    let mut tx = state.db.write(tenant).await?;
    let record = contact_imports::insert(
        &mut tx,
        options.mode.as_str(),
        &stored_options,
        &text,
        checked.table.records.len() as i64,
        Some(created_by),
        now,
    )
    .await?;
    holdfast_store::ops::queue::enqueue(
        &mut tx,
        JobKind::ContactsImport,
        &json!({"import_id": record.id}),
        now,
        now,
    )
    .await?;
    let event = NewEvent {
        action: "contacts.import_started",
        entity_type: "contact_import",
        entity_id: record.id.clone(),
        summary: json!({"rows": record.rows_total, "mode": record.mode}),
        ..by
    };
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(record)
}

/// The `contacts.import` job: re-reads the stored file, decides every row, and writes in
/// chunks of [`CHUNK`] rows, each committed with the import's progress (so a worker that takes
/// over after a crash resumes at the last commit). In all-or-nothing mode every row is decided
/// before the first write, and one invalid row fails the import with nothing written.
pub async fn run(state: &App, tenant: &Tenant, payload: &serde_json::Value) -> JobResult {
    let id = payload["import_id"]
        .as_str()
        .and_then(ContactImportId::parse)
        .ok_or_else(|| JobError::Permanent("import job without an import id".into()))?;
    let (mut record, options, csv, defs) = {
        let mut tx = state.db.read(tenant).await?;
        let Some(job) = contact_imports::get_job(&mut tx, &id).await? else {
            return Err(JobError::Permanent("the import no longer exists".into()));
        };
        let defs = holdfast_store::crm::contact_fields::defs(&mut tx).await?;
        tx.commit().await?;
        (job.import, job.options, job.csv, defs)
    };
    if matches!(record.status.as_str(), "done" | "failed") {
        return Ok(());
    }
    let options: ImportOptions = serde_json::from_str(&options)
        .map_err(|e| JobError::Permanent(format!("import options unreadable: {e}")))?;
    let checked = match check_file(csv.as_bytes(), options.mapping.as_ref(), &defs) {
        Ok(c) => c,
        Err(problem) => {
            // Custom fields changed since the import was accepted (a mapped one deleted).
            record.status = "failed".into();
            record.failure = Some(file_failure(&problem));
            return finish(state, tenant, &record).await;
        }
    };
    if options.mode == ImportMode::AllOrNothing && record.rows_processed == 0 {
        let (invalid, mut errors) = invalid_rows(state, tenant, &checked, &defs).await?;
        if invalid > 0 {
            errors.sort_by_key(|e| e.row);
            record.status = "failed".into();
            record.skipped = invalid;
            record.errors = errors;
            record.failure = Some(format!(
                "{invalid} row(s) are invalid, so nothing was imported (all_or_nothing); fix them or import with mode=skip_invalid"
            ));
            return finish(state, tenant, &record).await;
        }
    }
    loop {
        if write_next_chunk(state, tenant, &id, &checked, &defs).await? {
            return Ok(());
        }
    }
}

/// Why a stored file no longer checks: the problem's detail and each field error, on one line.
fn file_failure(problem: &ApiError) -> String {
    let mut text = problem.detail.clone();
    for e in &problem.errors {
        text.push_str(&format!("; {}: {}", e.field, e.message));
    }
    text
}

/// For all-or-nothing mode, before anything is written: how many rows would not import (bad,
/// or a new contact missing a required field), and their errors.
async fn invalid_rows(
    state: &App,
    tenant: &Tenant,
    checked: &Checked,
    defs: &[FieldDef],
) -> Result<(i64, Vec<RowError>), JobError> {
    let mut errors = Vec::new();
    let mut invalid = 0;
    let mut tx = state.db.read(tenant).await?;
    for (result, dup) in checked.rows.iter().zip(&checked.dups) {
        match (result, dup) {
            (Err(e), _) => {
                invalid += 1;
                push_errors(&mut errors, e.iter().cloned());
            }
            (Ok(row), None) => {
                if existing(&mut tx, row, Lock::Read)
                    .await
                    .map_err(job_err)?
                    .is_none()
                {
                    let missing = import::missing_required(row, defs);
                    if !missing.is_empty() {
                        invalid += 1;
                        push_errors(&mut errors, missing);
                    }
                }
            }
            (Ok(_), Some(_)) => {}
        }
    }
    tx.commit().await?;
    Ok((invalid, errors))
}

/// Writes the next [`CHUNK`] rows and the import's progress in one transaction (the audit entry
/// with the last); true once the import is finished, by this worker or another.
async fn write_next_chunk(
    state: &App,
    tenant: &Tenant,
    id: &ContactImportId,
    checked: &Checked,
    defs: &[FieldDef],
) -> Result<bool, JobError> {
    let total = checked.rows.len();
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    let Some(job) = contact_imports::get_job(&mut tx, id).await? else {
        return Err(JobError::Permanent("the import no longer exists".into()));
    };
    // Another worker may have advanced it (this one's lease lapsed): continue from there.
    let mut record = job.import;
    if matches!(record.status.as_str(), "done" | "failed") {
        return Ok(true);
    }
    let start = usize::try_from(record.rows_processed)
        .unwrap_or(0)
        .min(total);
    let end = (start + CHUNK).min(total);
    record.status = "running".into();
    for i in start..end {
        write_row(&mut tx, checked, i, defs, &mut record, now).await?;
    }
    record.rows_processed = end as i64;
    if end == total {
        record.status = "done".into();
        record.finished_at = Some(now);
        let event = audit::by_system(
            "contacts.imported",
            "contact_import",
            record.id.as_str(),
            json!({"created": record.created, "updated": record.updated, "skipped": record.skipped}),
        );
        holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    }
    contact_imports::advance(&mut tx, &record, now).await?;
    tx.commit().await?;
    Ok(end == total)
}

async fn write_row(
    tx: &mut TenantTx<'_>,
    checked: &Checked,
    index: usize,
    defs: &[FieldDef],
    record: &mut ImportOut,
    now: i64,
) -> JobResult {
    let (Some(result), Some(dup)) = (checked.rows.get(index), checked.dups.get(index)) else {
        return Ok(());
    };
    let row = match (result, dup) {
        (Err(errors), _) => {
            record.skipped += 1;
            push_errors(&mut record.errors, errors.iter().cloned());
            return Ok(());
        }
        (Ok(row), Some(of)) => {
            record.skipped += 1;
            push_errors(&mut record.errors, [duplicate_error(row.row, *of)]);
            return Ok(());
        }
        (Ok(row), None) => row,
    };
    let contact = match existing(tx, row, Lock::ForUpdate).await.map_err(job_err)? {
        Some(current) => {
            let fields = merged(&current, row);
            let id = ContactId::from_trusted(current.id.clone());
            if let Some(updated) = contacts::update(tx, &id, &fields, now).await? {
                // A row matched by phone may bring another address: the same consequences as
                // any change of address (consent for email back to unknown, the client portal's
                // sessions and links of the old address ended), before the row's own consent.
                let lower = |e: &Option<String>| e.as_deref().map(str::to_lowercase);
                if lower(&current.email) != lower(&updated.email) {
                    let who = holdfast_store::crm::consent::Who {
                        actor: contact_imports::started_by(tx, &record.id)
                            .await?
                            .unwrap_or_else(|| "system".to_owned()),
                        ip: None,
                        user_agent: None,
                        source: holdfast_core::crm::consent::Source::Import,
                        note: Some(format!(
                            "the email address changed (import {} row {})",
                            record.id, row.row
                        )),
                    };
                    crate::crm::consent::address_changed(tx, &id, &who, now).await?;
                }
                publish_contact(tx, EventType::ContactUpdated, &updated, now).await?;
            }
            record.updated += 1;
            id
        }
        None => {
            let missing = import::missing_required(row, defs);
            if !missing.is_empty() {
                record.skipped += 1;
                push_errors(&mut record.errors, missing);
                return Ok(());
            }
            let contact = contacts::insert(tx, &created(row), now).await?;
            publish_contact(tx, EventType::ContactCreated, &contact, now).await?;
            record.created += 1;
            ContactId::from_trusted(contact.id)
        }
    };
    import_consent(tx, &contact, row, record, now).await
}

/// The row's consent columns, through the one consent path (logged with source `import`,
/// double opt-in applied to grants).
async fn import_consent(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    row: &ImportRow,
    record: &ImportOut,
    now: i64,
) -> JobResult {
    use holdfast_core::crm::consent::{LawfulBasis, Source, Status};
    use holdfast_store::crm::consent::{self as consent_store, Change, Who};
    let mut changes: Vec<Change> = row
        .consent
        .iter()
        .map(|(channel, status)| Change::Channel {
            channel: *channel,
            status: *status,
            lawful_basis: (*status == Status::Granted).then_some(LawfulBasis::Consent),
        })
        .collect();
    if let Some(on) = row.do_not_contact {
        changes.push(Change::DoNotContact(on));
    }
    if changes.is_empty() {
        return Ok(());
    }
    let Some(before) = consent_store::standing(tx, contact, Lock::ForUpdate).await? else {
        return Ok(());
    };
    let who = Who {
        actor: contact_imports::started_by(tx, &record.id)
            .await?
            .unwrap_or_else(|| "system".to_owned()),
        ip: None,
        user_agent: None,
        source: Source::Import,
        note: Some(format!("import {} row {}", record.id, row.row)),
    };
    crate::crm::consent::change_consent(tx, contact, &before, &changes, &who, now).await?;
    Ok(())
}

async fn finish(state: &App, tenant: &Tenant, record: &ImportOut) -> JobResult {
    let now = state.clock.now_ms();
    let mut record = record.clone();
    record.finished_at = Some(now);
    let mut tx = state.db.write(tenant).await?;
    let event = audit::by_system(
        "contacts.import_failed",
        "contact_import",
        record.id.as_str(),
        json!({"skipped": record.skipped}),
    );
    contact_imports::advance(&mut tx, &record, now).await?;
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}
