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
use holdfast_app::crm::import;
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::contact_import::{ImportMode, ImportOptions, ImportOut, MAX_IMPORT_BYTES};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::ContactImportId;
use holdfast_store::crm::contact_imports;
use holdfast_store::identity::auth::Principal;
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
    if dry_run {
        let report = import::dry_run(&state, &actor.tenant, &actor.role, &bytes, &options).await?;
        return Ok(Json(report).into_response());
    }
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
    let record = import::start(
        &state,
        &actor.tenant,
        &actor.role,
        &created_by,
        &bytes,
        &options,
        by,
    )
    .await?;
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
