//! The CSV import wizard: `/app/contacts/import` (choose a file, or paste the text), then the
//! column mapping (a target per column, among those the role may write), a dry run with the
//! row errors, and the import itself — through `holdfast_app::crm::import` exactly as
//! `POST /api/v1/contacts/imports` — and `/app/contacts/imports/{id}`, whose progress bar
//! follows the job live (htmx asks for `…/progress` every second until it is finished).
//!
//! The forms are `multipart/form-data`, read here with a cap: the CSV itself may be as large
//! as the API accepts (`MAX_IMPORT_BYTES`); between steps it travels back in the form,
//! base64-encoded (exact bytes, no line-ending changes), and is checked again at every step.

use crate::audit;
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::ClientInfo;
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use holdfast_app::crm::import::{self, DryRunOut};
use holdfast_core::access::fields::{self, Access, Field};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::{Permission, Role};
use holdfast_core::crm::consent::Channel;
use holdfast_core::crm::contact_fields::FieldDef;
use holdfast_core::crm::contact_import::{
    ImportMode, ImportOptions, ImportOut, MAX_IMPORT_BYTES, RowError, auto_target, read_csv,
};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::ContactImportId;
use holdfast_store::identity::auth::{Actor, Principal};
use serde_json::json;
use std::collections::BTreeMap;

const WRITE: Guard = Guard::Staff {
    permission: Permission::ContactsWrite,
};
const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Crm, |t| {
        t.add(
            Method::GET,
            "/app/contacts/import",
            WRITE,
            Doc::page(
                "Console",
                "Import contacts from a CSV file: choose the file",
            ),
            get(upload_page),
        );
        t.add(
            Method::POST,
            "/app/contacts/import/upload",
            WRITE,
            Doc::page("Console", "Import contacts: read the file, map its columns"),
            post(upload),
        );
        t.add(
            Method::POST,
            "/app/contacts/import/check",
            WRITE,
            Doc::page("Console", "Import contacts: a dry run with the row errors"),
            post(check),
        );
        t.add(
            Method::POST,
            "/app/contacts/import/start",
            WRITE,
            Doc::page("Console", "Import contacts: start the import").redirect(),
            post(start),
        );
        t.add(
            Method::GET,
            "/app/contacts/imports/{id}",
            READ,
            Doc::page("Console", "An import's progress and outcome"),
            get(progress_page),
        );
        t.add(
            Method::GET,
            "/app/contacts/imports/{id}/progress",
            READ,
            Doc::page(
                "Console",
                "An import's progress (for the live progress bar)",
            ),
            get(progress_fragment),
        );
    });
}

/// The CSV's base64 text between steps.
const B64_MAX: usize = MAX_IMPORT_BYTES.div_ceil(3) * 4;
/// Any other field of the form (a column's target, the mode, the token, the file's name).
const SMALL_FIELD: u64 = 4 * 1024;
/// Parts of one form: the file, the mode, the token and a target per column.
const MAX_PARTS: usize = 2_000;
/// Sample values shown per column on the mapping step.
const SAMPLES: usize = 3;
/// Row errors shown (the counts stay exact; the API's report has up to 1000).
const ERRORS_SHOWN: usize = 200;

/// What the wizard's form sent.
#[derive(Default)]
struct Sent {
    csv: Option<Vec<u8>>,
    filename: String,
    targets: BTreeMap<usize, String>,
    mode: Option<String>,
}

/// Reads the wizard's `multipart/form-data` body: the CSV from the file chosen (`csv`), the
/// text pasted (`csv_text`) or the earlier step (`csv_b64`), each at most the API's
/// `MAX_IMPORT_BYTES`; `map.<column index>` targets; `mode`. Anything else is ignored.
async fn read_form(headers: &HeaderMap, body: Body) -> ApiResult<Sent> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
        .then(|| multer::parse_boundary(content_type).ok())
        .flatten()
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::UnsupportedMediaType,
                "send the import form as multipart/form-data",
            )
        })?;
    let limits = multer::SizeLimit::new()
        .whole_stream(console::IMPORT_FORM_LIMIT as u64)
        .per_field(SMALL_FIELD)
        .for_field("csv", MAX_IMPORT_BYTES as u64)
        .for_field("csv_text", MAX_IMPORT_BYTES as u64)
        .for_field("csv_b64", B64_MAX as u64);
    let mut form = multer::Multipart::with_constraints(
        body.into_data_stream(),
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    let mut sent = Sent::default();
    let mut parts = 0;
    while let Some(field) = form.next_field().await.map_err(form_error)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(Problem::new(
                ErrorCode::Validation,
                format!("the form has more than {MAX_PARTS} fields"),
            ));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(form_error)?;
        match name.as_str() {
            "csv" | "csv_text" if !bytes.is_empty() && sent.csv.is_none() => {
                if let Some(filename) = filename {
                    sent.filename = filename.chars().take(200).collect();
                }
                sent.csv = Some(bytes.to_vec());
            }
            "csv_b64" if !bytes.is_empty() => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(&bytes)
                    .ok()
                    .filter(|d| d.len() <= MAX_IMPORT_BYTES)
                    .ok_or_else(|| {
                        Problem::new(
                            ErrorCode::Validation,
                            "the file carried by the form is damaged; start the import again",
                        )
                    })?;
                sent.csv = Some(decoded);
            }
            "filename" => {
                sent.filename = String::from_utf8_lossy(&bytes).chars().take(200).collect();
            }
            "mode" => sent.mode = Some(String::from_utf8_lossy(&bytes).into_owned()),
            other => {
                if let Some(index) = other
                    .strip_prefix("map.")
                    .and_then(|i| i.parse::<usize>().ok())
                {
                    sent.targets
                        .insert(index, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
    }
    Ok(sent)
}

/// A form that could not be read: too large (the API's limit), or not a form at all.
fn form_error(e: multer::Error) -> Problem {
    match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            Problem::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the CSV is larger than {} MiB; split it into smaller files",
                    MAX_IMPORT_BYTES / (1024 * 1024)
                ),
            )
        }
        _ => Problem::new(
            ErrorCode::MalformedBody,
            "the form could not be read; choose the file again",
        ),
    }
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct ColumnRow {
    index: usize,
    header: String,
    samples: String,
    choices: Vec<Choice>,
}

struct Report {
    rows_total: usize,
    would_create: usize,
    would_update: usize,
    duplicates: usize,
    invalid: usize,
    errors: Vec<RowError>,
    errors_more: usize,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    frame: Frame,
    /// 1: choose the file; 2: map the columns; 3: the dry run's report.
    step: u8,
    problems: Vec<String>,
    filename: String,
    csv_b64: String,
    rows: usize,
    columns: Vec<ColumnRow>,
    modes: Vec<Choice>,
    report: Option<Report>,
    max_mib: usize,
}

impl ImportPage {
    async fn new(state: &AppState, actor: &Actor, step: u8) -> ApiResult<ImportPage> {
        Ok(ImportPage {
            frame: Frame::new(state, actor, "/app/contacts").await?,
            step,
            problems: Vec::new(),
            filename: String::new(),
            csv_b64: String::new(),
            rows: 0,
            columns: Vec::new(),
            modes: Vec::new(),
            report: None,
            max_mib: MAX_IMPORT_BYTES / (1024 * 1024),
        })
    }
}

/// The problems of an application error as lines a person reads.
fn problem_lines(e: &ApiError) -> Vec<String> {
    if e.errors.is_empty() {
        return vec![e.detail.clone()];
    }
    e.errors
        .iter()
        .map(|f| match f.field.strip_prefix("mapping.") {
            Some(column) => format!("Column “{column}”: {}", f.message),
            None => f.message.clone(),
        })
        .collect()
}

/// Every target a column can go to that the role may write, by its mapping name and label.
fn targets_for(role: &Role, defs: &[FieldDef]) -> Vec<(String, String)> {
    let writes = |f| fields::access(role, f) == Access::Write;
    let mut out = vec![("ignore".to_owned(), "Ignore this column".to_owned())];
    for (field, name, label) in [
        (Field::ContactsName, "name", "Name"),
        (Field::ContactsEmail, "email", "Email"),
        (Field::ContactsPhone, "phone", "Phone"),
        (Field::ContactsCompany, "company", "Company"),
        (Field::ContactsTags, "tags", "Tags"),
    ] {
        if writes(field) {
            out.push((name.to_owned(), label.to_owned()));
        }
    }
    if writes(Field::ContactsCustom) {
        for d in defs {
            out.push((
                format!("custom.{}", d.key),
                format!("Custom field: {}", d.label),
            ));
        }
    }
    for channel in Channel::ALL {
        out.push((
            format!("consent.{}", channel.as_str()),
            format!("Consent: {}", channel.as_str()),
        ));
    }
    out.push(("do_not_contact".to_owned(), "Do not contact".to_owned()));
    out
}

/// The mapping form's columns, each with a few values and its target: the one sent, else
/// the one its header suggests.
fn columns(
    role: &Role,
    defs: &[FieldDef],
    csv: &[u8],
    sent: &BTreeMap<usize, String>,
) -> Result<(Vec<ColumnRow>, usize), String> {
    let table = read_csv(csv).map_err(|m| m.0)?;
    let targets = targets_for(role, defs);
    let rows = table
        .headers
        .iter()
        .enumerate()
        .map(|(index, header)| {
            let chosen = sent
                .get(&index)
                .cloned()
                .unwrap_or_else(|| auto_target(header, defs).name());
            let samples: Vec<&str> = table
                .records
                .iter()
                .filter_map(|(_, cells)| cells.get(index).map(String::as_str))
                .filter(|c| !c.trim().is_empty())
                .take(SAMPLES)
                .collect();
            ColumnRow {
                index,
                header: header.clone(),
                samples: samples.join(" · "),
                choices: targets
                    .iter()
                    .map(|(value, label)| Choice {
                        selected: *value == chosen,
                        value: value.clone(),
                        label: label.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok((rows, table.records.len()))
}

fn modes(chosen: ImportMode) -> Vec<Choice> {
    [
        (
            ImportMode::AllOrNothing,
            "All or nothing: one invalid row, and nothing is imported",
        ),
        (
            ImportMode::SkipInvalid,
            "Skip invalid rows, import the others",
        ),
    ]
    .into_iter()
    .map(|(mode, label)| Choice {
        value: mode.as_str().to_owned(),
        label: label.to_owned(),
        selected: mode == chosen,
    })
    .collect()
}

/// The import's options from the form: the mapping by column name (columns left to "ignore"
/// out of it), and the mode.
fn options(csv: &[u8], sent: &Sent) -> Result<ImportOptions, Vec<String>> {
    let mode = match sent.mode.as_deref() {
        None => ImportMode::AllOrNothing,
        Some(text) => ImportMode::parse(text)
            .ok_or_else(|| vec!["Choose what happens to invalid rows.".to_owned()])?,
    };
    let table = read_csv(csv).map_err(|m| vec![m.0])?;
    let mapping = sent
        .targets
        .iter()
        .filter(|(_, target)| target.as_str() != "ignore")
        .filter_map(|(index, target)| {
            table
                .headers
                .get(*index)
                .map(|h| (h.clone(), target.clone()))
        })
        .collect();
    Ok(ImportOptions {
        mode,
        mapping: Some(mapping),
    })
}

async fn upload_page(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Response> {
    let page = ImportPage::new(&state, &actor, 1).await?;
    Ok(console::render(StatusCode::OK, &page))
}

/// The mapping step for `csv` (`problems` above it), or the first step again when the file
/// cannot be read at all.
async fn mapping_step(
    state: &AppState,
    actor: &Actor,
    csv: &[u8],
    sent: &Sent,
    problems: Vec<String>,
    status: StatusCode,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let defs = holdfast_store::crm::contact_fields::defs(&mut tx).await?;
    tx.commit().await?;
    match columns(&actor.role, &defs, csv, &sent.targets) {
        Ok((columns, rows)) => {
            let mut page = ImportPage::new(state, actor, 2).await?;
            page.problems = problems;
            page.filename = sent.filename.clone();
            page.csv_b64 = base64::engine::general_purpose::STANDARD.encode(csv);
            page.rows = rows;
            page.columns = columns;
            page.modes = modes(
                sent.mode
                    .as_deref()
                    .and_then(ImportMode::parse)
                    .unwrap_or_default(),
            );
            Ok(console::render(status, &page))
        }
        Err(why) => {
            let mut page = ImportPage::new(state, actor, 1).await?;
            page.problems = vec![why];
            Ok(console::render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn upload(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let sent = read_form(&headers, body).await?;
    let Some(csv) = &sent.csv else {
        let mut page = ImportPage::new(&state, &actor, 1).await?;
        page.problems = vec!["Choose a CSV file, or paste its text.".to_owned()];
        return Ok(console::render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    mapping_step(&state, &actor, csv, &sent, Vec::new(), StatusCode::OK).await
}

/// The file a later step's form carries (it must carry one).
fn carried(sent: &Sent) -> ApiResult<&[u8]> {
    sent.csv.as_deref().ok_or_else(|| {
        Problem::new(
            ErrorCode::Validation,
            "the form carries no file; start the import again",
        )
    })
}

async fn check(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let sent = read_form(&headers, body).await?;
    let csv = carried(&sent)?;
    let options = match options(csv, &sent) {
        Ok(o) => o,
        Err(problems) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return mapping_step(&state, &actor, csv, &sent, problems, status).await;
        }
    };
    match import::dry_run(&state, &actor.tenant, &actor.role, csv, &options).await {
        Ok(report) => report_step(&state, &actor, csv, &sent, report).await,
        Err(e) => refused(&state, &actor, csv, &sent, &e).await,
    }
}

/// The mapping step again, saying why the file or its mapping was refused.
async fn refused(
    state: &AppState,
    actor: &Actor,
    csv: &[u8],
    sent: &Sent,
    e: &ApiError,
) -> ApiResult<Response> {
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    if !matches!(e.code, ErrorCode::Validation | ErrorCode::Forbidden) {
        return Err(Problem(e.clone()));
    }
    mapping_step(state, actor, csv, sent, problem_lines(e), status).await
}

async fn report_step(
    state: &AppState,
    actor: &Actor,
    csv: &[u8],
    sent: &Sent,
    report: DryRunOut,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let defs = holdfast_store::crm::contact_fields::defs(&mut tx).await?;
    tx.commit().await?;
    let (columns, rows) = columns(&actor.role, &defs, csv, &sent.targets)
        .map_err(|why| Problem::new(ErrorCode::Validation, why))?;
    let mut page = ImportPage::new(state, actor, 3).await?;
    page.filename = sent.filename.clone();
    page.csv_b64 = base64::engine::general_purpose::STANDARD.encode(csv);
    page.rows = rows;
    page.columns = columns;
    page.modes = modes(report.mode);
    let errors_more = report.errors.len().saturating_sub(ERRORS_SHOWN);
    let mut errors = report.errors;
    errors.truncate(ERRORS_SHOWN);
    page.report = Some(Report {
        rows_total: report.rows_total,
        would_create: report.would_create,
        would_update: report.would_update,
        duplicates: report.duplicates,
        invalid: report.invalid,
        errors,
        errors_more,
    });
    Ok(console::render(StatusCode::OK, &page))
}

async fn start(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let sent = read_form(&headers, body).await?;
    let csv = carried(&sent)?;
    let options = match options(csv, &sent) {
        Ok(o) => o,
        Err(problems) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return mapping_step(&state, &actor, csv, &sent, problems, status).await;
        }
    };
    let created_by = match &actor.principal {
        Principal::ApiKey(id) => id.to_string(),
        Principal::User { user_id, .. } => user_id.to_string(),
    };
    let by = audit::by(
        &actor,
        &client,
        "contacts.import_started",
        "contact_import",
        "",
        json!({}),
    );
    match import::start(
        &state,
        &actor.tenant,
        &actor.role,
        &created_by,
        csv,
        &options,
        by,
    )
    .await
    {
        Ok(record) => Ok(see_other(
            &format!("/app/contacts/imports/{}", record.id),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, csv, &sent, &e).await,
    }
}

/// An import's progress as the page shows it.
struct Progress {
    id: String,
    status: String,
    /// Whole percent of the rows processed (100 once done).
    percent: i64,
    processed: i64,
    total: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    finished: bool,
    failure: Option<String>,
    errors: Vec<RowError>,
    started: String,
}

impl Progress {
    fn of(import: ImportOut) -> Progress {
        let finished = matches!(import.status.as_str(), "done" | "failed");
        let percent = if import.status == "done" {
            100
        } else if import.rows_total > 0 {
            (import.rows_processed * 100 / import.rows_total).clamp(0, 100)
        } else {
            0
        };
        Progress {
            started: console::when(import.created_at),
            id: import.id,
            status: import.status,
            percent,
            processed: import.rows_processed,
            total: import.rows_total,
            created: import.created,
            updated: import.updated,
            skipped: import.skipped,
            finished,
            failure: import.failure,
            errors: import.errors,
        }
    }
}

#[derive(Template)]
#[template(path = "import_progress.html")]
struct ProgressPage {
    frame: Frame,
    progress: Progress,
}

#[derive(Template)]
#[template(path = "import_status.html")]
struct ProgressFragment {
    progress: Progress,
}

async fn load(state: &AppState, actor: &Actor, id: &str) -> ApiResult<Progress> {
    let id = ContactImportId::parse(id).ok_or_else(|| Problem::not_found("import"))?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = holdfast_store::crm::contact_imports::get(&mut tx, &id).await?;
    tx.commit().await?;
    found
        .map(Progress::of)
        .ok_or_else(|| Problem::not_found("import"))
}

async fn progress_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let progress = load(&state, &actor, &id).await?;
    let page = ProgressPage {
        frame: Frame::new(&state, &actor, "/app/contacts").await?,
        progress,
    };
    Ok(console::render(StatusCode::OK, &page))
}

async fn progress_fragment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let progress = load(&state, &actor, &id).await?;
    Ok(console::render(
        StatusCode::OK,
        &ProgressFragment { progress },
    ))
}
