//! Contacts in bulk, in (CRM module): `POST /api/v1/contacts/imports` (a CSV body; a dry run
//! answers at once, a real import is a durable `contacts.import` job with progress at
//! `GET /api/v1/contacts/imports/{id}`). The way out is `contact_export.rs`.

use crate::audit;
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use holdfast_app::crm::import::{check_file, dry_run_report};
use holdfast_core::access::fields::{self, Resource};
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::contact_import::{
    ImportMode, ImportOptions, ImportOut, MAX_IMPORT_BYTES, Target,
};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::ContactImportId;
use holdfast_core::ops::queue::JobKind;
use holdfast_store::crm::contact_imports;
use holdfast_store::identity::auth::{Actor, Principal};
use serde::Deserialize;
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
