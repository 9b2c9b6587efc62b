//! Contacts in bulk, in (CRM module): `POST /api/v1/contacts/imports` (a CSV body; a dry run
//! answers at once, a real import is a durable `contacts.import` job with progress at
//! `GET /api/v1/contacts/imports/{id}`). The way out is `contact_export.rs`.

use crate::api::contacts::publish;
use crate::audit;
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::Authed;
use crate::problem::{ApiResult, Problem};
use crate::routes::{Doc, Guard, QueryParam, RouteTable};
use crate::state::AppState;
use crate::worker::{JobError, JobResult};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use holdfast_core::access::fields::{self, Resource};
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::contact_fields::FieldDef;
use holdfast_core::crm::contact_import::{
    self as import, ImportMode, ImportOptions, ImportOut, ImportRow, MAX_IMPORT_BYTES,
    MAX_REPORTED_ERRORS, RowError, Table, Target,
};
use holdfast_core::crm::contacts::{ContactFields, ContactOut};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::{ContactId, ContactImportId};
use holdfast_core::ops::queue::JobKind;
use holdfast_core::webhooks::EventType;
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::{Lock, Tenant, TenantTx, crm::contact_imports, crm::contacts};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::ContactsWrite,
};

const IMPORT_QUERY: &[QueryParam] = &[
    QueryParam {
        name: "dry_run",
        description: "true: check the file and report what would happen, storing nothing",
        integer: false,
    },
    QueryParam {
        name: "mode",
        description: "all_or_nothing (default: any invalid row, nothing is written) or skip_invalid",
        integer: false,
    },
    QueryParam {
        name: "mapping",
        description: "JSON object, CSV column → name|email|phone|company|tags|custom.<key>|ignore; unmapped columns are ignored. Without it, columns are matched by their names",
        integer: false,
    },
];

/// Rows written per transaction; progress is committed with them.
const CHUNK: usize = 200;

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("contacts", summary);
    t.add(
        Method::POST,
        "/api/v1/contacts/imports",
        WRITE,
        doc("Import contacts from a CSV body (text/csv, up to 10 MiB): a dry run reports at once; otherwise 202 and a job")
            .query(IMPORT_QUERY)
            .response::<ImportOut>(202),
        post(import_create),
    );
    t.add(
        Method::GET,
        "/api/v1/contacts/imports/{id}",
        READ,
        doc("An import's status, progress and row errors").response::<ImportOut>(200),
        get(import_get),
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    dry_run: Option<String>,
    mode: Option<String>,
    mapping: Option<String>,
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
struct Checked {
    table: Table,
    targets: Vec<Target>,
    rows: Vec<Result<ImportRow, Vec<RowError>>>,
    dups: Vec<Option<u64>>,
}

fn check_file(
    csv: &[u8],
    mapping: Option<&BTreeMap<String, String>>,
    defs: &[FieldDef],
) -> Result<Checked, Problem> {
    let table = import::read_csv(csv).map_err(|m| Problem::new(ErrorCode::Validation, m.0))?;
    let targets =
        import::resolve_mapping(&table.headers, mapping, defs).map_err(Problem::validation)?;
    let rows = import::check_rows(&table, &targets, defs);
    let dups = import::duplicates(&rows);
    Ok(Checked {
        table,
        targets,
        rows,
        dups,
    })
}

fn duplicate_error(row: u64, of: u64) -> RowError {
    RowError {
        row,
        column: None,
        message: format!("repeats row {of} (same email or phone); skipped"),
    }
}

fn push_errors(report: &mut Vec<RowError>, errors: impl IntoIterator<Item = RowError>) {
    for e in errors {
        if report.len() < MAX_REPORTED_ERRORS {
            report.push(e);
        }
    }
}

/// The existing contact a row updates: by email first, then by phone. `Lock::ForUpdate` when
/// the row is about to be written.
async fn existing(
    tx: &mut TenantTx<'_>,
    row: &ImportRow,
    lock: Lock,
) -> ApiResult<Option<ContactOut>> {
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

fn parse_options(query: &ImportQuery) -> ApiResult<(bool, ImportOptions)> {
    let mut errors = holdfast_core::validate::Errors::default();
    let dry_run = match query.dry_run.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.push("dry_run", "must be true or false");
            false
        }
    };
    let mode = match query.mode.as_deref() {
        None => ImportMode::AllOrNothing,
        Some(text) => ImportMode::parse(text).unwrap_or_else(|| {
            errors.push("mode", "must be all_or_nothing or skip_invalid");
            ImportMode::AllOrNothing
        }),
    };
    let mapping = query.mapping.as_deref().and_then(|text| {
        match serde_json::from_str::<BTreeMap<String, String>>(text) {
            Ok(m) if !m.is_empty() && m.len() <= 200 => Some(m),
            _ => {
                errors.push(
                    "mapping",
                    "must be a JSON object of CSV column names to targets, e.g. {\"E-mail\": \"email\", \"Full name\": \"name\"}",
                );
                None
            }
        }
    });
    errors
        .finish((dry_run, ImportOptions { mode, mapping }))
        .map_err(Problem::validation)
}

/// Refuses an import that maps a column to a field the caller's role may not write.
fn check_mapped_writes(actor: &Actor, targets: &[Target]) -> ApiResult<()> {
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
    fields::check_write(&actor.role, Resource::Contacts, &sent).map_err(|(field, access)| {
        Problem::field(
            ErrorCode::Forbidden,
            &field,
            &format!(
                "your role may not change contacts.{field} (it is {} for you); map that column to ignore",
                access.as_str()
            ),
        )
    })
}

async fn import_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    QueryParams(query): QueryParams<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(
        content_type.as_str(),
        "text/csv" | "application/csv" | "text/plain"
    ) {
        return Err(Problem::new(
            ErrorCode::UnsupportedMediaType,
            "send the CSV file itself as the body with 'Content-Type: text/csv'",
        ));
    }
    let (dry_run, options) = parse_options(&query)?;
    let bytes: Bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES)
        .await
        .map_err(|_| {
            Problem::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the CSV is larger than {} MiB; split it into smaller files",
                    MAX_IMPORT_BYTES / (1024 * 1024)
                ),
            )
        })?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let defs = holdfast_store::crm::contact_fields::defs(&mut tx).await?;
    let checked = check_file(&bytes, options.mapping.as_ref(), &defs)?;
    check_mapped_writes(&actor, &checked.targets)?;
    if dry_run {
        let report = dry_run_report(&mut tx, &checked, &defs, options.mode).await?;
        tx.commit().await?;
        return Ok(Json(report).into_response());
    }
    tx.commit().await?;
    // Valid UTF-8: `read_csv` refused anything else.
    let text = String::from_utf8_lossy(&bytes);
    let now = state.clock.now_ms();
    let created_by = match &actor.principal {
        Principal::ApiKey(id) => id.to_string(),
        Principal::User { user_id, .. } => user_id.to_string(),
    };
    let stored_options = serde_json::to_value(&options).unwrap_or_default();
    let mut tx = state.db.write(&actor.tenant).await?;
    let record = contact_imports::insert(
        &mut tx,
        options.mode.as_str(),
        &stored_options,
        &text,
        checked.table.records.len() as i64,
        Some(&created_by),
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
    let event = audit::by(
        &actor,
        &client,
        "contacts.import_started",
        "contact_import",
        record.id.as_str(),
        json!({"rows": record.rows_total, "mode": record.mode}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    let location = format!("/api/v1/contacts/imports/{}", record.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(record),
    )
        .into_response())
}

async fn dry_run_report(
    tx: &mut TenantTx<'_>,
    checked: &Checked,
    defs: &[FieldDef],
    mode: ImportMode,
) -> ApiResult<DryRunOut> {
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

async fn import_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ImportOut>> {
    let id = ContactImportId::parse(&id).ok_or_else(|| Problem::not_found("import"))?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = contact_imports::get(&mut tx, &id).await?;
    tx.commit().await?;
    found.map(Json).ok_or_else(|| Problem::not_found("import"))
}

fn job_err(e: Problem) -> JobError {
    JobError::Retry(format!("{:?}", e.0))
}

/// The `contacts.import` job: re-reads the stored file, decides every row, and writes in
/// chunks of [`CHUNK`] rows, each committed with the import's progress (so a worker that takes
/// over after a crash resumes at the last commit). In all-or-nothing mode every row is decided
/// before the first write, and one invalid row fails the import with nothing written.
pub(crate) async fn run(
    state: &AppState,
    tenant: &Tenant,
    payload: &serde_json::Value,
) -> JobResult {
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
            let mut text = problem.0.detail.clone();
            for e in &problem.0.errors {
                text.push_str(&format!("; {}: {}", e.field, e.message));
            }
            record.failure = Some(text);
            return finish(state, tenant, &record).await;
        }
    };
    if options.mode == ImportMode::AllOrNothing && record.rows_processed == 0 {
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
                        let missing = import::missing_required(row, &defs);
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
    let total = checked.rows.len();
    loop {
        let now = state.clock.now_ms();
        let mut tx = state.db.write(tenant).await?;
        let Some(job) = contact_imports::get_job(&mut tx, &id).await? else {
            return Err(JobError::Permanent("the import no longer exists".into()));
        };
        // Another worker may have advanced it (this one's lease lapsed): continue from there.
        record = job.import;
        if matches!(record.status.as_str(), "done" | "failed") {
            return Ok(());
        }
        let start = usize::try_from(record.rows_processed)
            .unwrap_or(0)
            .min(total);
        let end = (start + CHUNK).min(total);
        record.status = "running".into();
        for i in start..end {
            write_row(&mut tx, &checked, i, &defs, &mut record, now).await?;
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
        if end == total {
            return Ok(());
        }
    }
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
                publish(tx, EventType::ContactUpdated, &updated, now)
                    .await
                    .map_err(job_err)?;
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
            publish(tx, EventType::ContactCreated, &contact, now)
                .await
                .map_err(job_err)?;
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
    crate::api::consent::change_consent(tx, contact, &before, &changes, &who, now).await?;
    Ok(())
}

async fn finish(state: &AppState, tenant: &Tenant, record: &ImportOut) -> JobResult {
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
