//! `GET /api/v1/contacts/export` (CRM module, `contacts.export`): every contact as CSV or JSON,
//! streamed page by page, cut to the caller's field rules (a hidden field has no CSV column and
//! no JSON key), cells a spreadsheet would run as formulas escaped, audited with the count.

use crate::audit;
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use holdfast_core::access::fields::{self, Access, Field, Visible};
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::contact_fields::FieldDef;
use holdfast_core::crm::contact_import as import;
use holdfast_core::crm::contacts::ContactOut;
use holdfast_core::error::ErrorCode;
use holdfast_store::StoreError;
use holdfast_store::crm::contacts;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;
use serde_json::json;

const EXPORT: Guard = Guard::Staff {
    permission: Permission::ContactsExport,
};

const EXPORT_QUERY: &[QueryParam] = &[QueryParam {
    name: "format",
    description: "csv (default) or json",
    integer: false,
}];

/// Contacts read per page of an export.
const EXPORT_PAGE: u32 = 500;

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/api/v1/contacts/export",
        EXPORT,
        Doc::new("contacts", "Every contact as CSV or JSON, streamed; fields the caller's role may not read are left out")
            .query(EXPORT_QUERY)
            .text("text/csv"),
        get(contact_export),
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    format: Option<String>,
}

/// The columns an export has for this role: hidden fields have none.
fn export_columns(actor: &Actor, defs: &[FieldDef]) -> Vec<String> {
    let visible = |f| fields::access(&actor.role, f) != Access::Hidden;
    let mut columns = vec!["id".to_owned()];
    for (field, names) in [
        (Field::ContactsName, &["name"][..]),
        (Field::ContactsEmail, &["email"][..]),
        (Field::ContactsPhone, &["phone"][..]),
        (
            Field::ContactsCompany,
            &["company", "company_id", "company_name"][..],
        ),
        (Field::ContactsTags, &["tags"][..]),
    ] {
        if visible(field) {
            columns.extend(names.iter().map(|n| (*n).to_owned()));
        }
    }
    if visible(Field::ContactsCustom) {
        columns.extend(defs.iter().map(|d| format!("custom.{}", d.key)));
    }
    columns.extend(["created_at".to_owned(), "updated_at".to_owned()]);
    columns
}

fn csv_cells(columns: &[String], contact: &serde_json::Value) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let value = match c.strip_prefix("custom.") {
                Some(key) => &contact["custom"][key],
                None => &contact[c.as_str()],
            };
            let text = match value {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|t| {
                        t.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| t.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            import::escape_cell(&text)
        })
        .collect()
}

async fn contact_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    QueryParams(query): QueryParams<ExportQuery>,
) -> ApiResult<Response> {
    let json_format = wants_json(query.format.as_deref())?;
    let (columns, last_id) = audit_export(&state, &actor, &client, json_format).await?;
    let header = if json_format {
        "[".to_owned()
    } else {
        import::csv_line(&columns)
    };
    let feed = Feed {
        state,
        actor,
        after: String::new(),
        last_id,
        first: true,
        done: false,
    };
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(header)) })
        .chain(futures::stream::unfold(feed, move |feed| {
            next_chunk(feed, columns.clone(), json_format)
        }))
        // Fused: the compression layer polls once more after the end, which an unfused
        // `unfold` answers with a panic and a cut-off body.
        .fuse();
    Ok(attachment(Body::from_stream(body), json_format))
}

/// Whether the export is JSON: `csv` (the default) or `json`, anything else a 422 on `format`.
fn wants_json(format: Option<&str>) -> ApiResult<bool> {
    match format {
        None | Some("csv") => Ok(false),
        Some("json") => Ok(true),
        Some(_) => Err(Problem::field(
            ErrorCode::Validation,
            "format",
            "must be csv or json",
        )),
    }
}

/// The export's columns and the newest contact id it goes up to, audited with the count before
/// the first byte is sent.
async fn audit_export(
    state: &AppState,
    actor: &Actor,
    client: &ClientInfo,
    json_format: bool,
) -> ApiResult<(Vec<String>, String)> {
    let now = state.clock.now_ms();
    // The export covers the contacts that exist now: up to the newest id at this moment, so
    // its count (audited before the first byte) and its rows agree.
    let mut tx = state.db.write(&actor.tenant).await?;
    let defs = holdfast_store::crm::contact_fields::defs(&mut tx).await?;
    let (count, last_id) = contacts::export_extent(&mut tx).await?;
    let columns = export_columns(actor, &defs);
    let event = audit::by(
        actor,
        client,
        "contacts.exported",
        "contact",
        "*",
        json!({"count": count, "format": if json_format { "json" } else { "csv" }, "columns": columns}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((columns, last_id))
}

/// Where a streamed export stands between pages.
struct Feed {
    state: AppState,
    actor: Actor,
    after: String,
    last_id: String,
    first: bool,
    done: bool,
}

/// The next chunk of the body: the page after `feed.after` cut to the reader's field rules, or
/// the end; a failed read ends the body broken.
async fn next_chunk(
    mut feed: Feed,
    columns: Vec<String>,
    json_format: bool,
) -> Option<(Result<Bytes, std::io::Error>, Feed)> {
    if feed.done {
        return None;
    }
    let rows = match read_page(&feed).await {
        Ok(rows) => rows,
        Err(e) => {
            // Headers are sent: the only honest signal left is a broken body.
            tracing::error!(error = %e, "contact export failed mid-stream");
            feed.done = true;
            return Some((Err(std::io::Error::other("export failed")), feed));
        }
    };
    let mut chunk = String::new();
    if rows.len() < EXPORT_PAGE as usize {
        feed.done = true;
    }
    if let Some((last, _)) = rows.last() {
        feed.after = last.id.clone();
    }
    for (contact, company_name) in rows {
        let value = Visible::contact(&feed.actor.role, &contact)
            .with(Field::ContactsCompany, "company_name", company_name.into())
            .into_json();
        if json_format {
            if !feed.first {
                chunk.push(',');
            }
            chunk.push_str(&value.to_string());
        } else {
            chunk.push_str(&import::csv_line(&csv_cells(&columns, &value)));
        }
        feed.first = false;
    }
    if feed.done && json_format {
        chunk.push(']');
    }
    Some((Ok(Bytes::from(chunk)), feed))
}

/// The page of contacts after `feed.after`, none newer than the export's last id.
async fn read_page(feed: &Feed) -> Result<Vec<(ContactOut, Option<String>)>, StoreError> {
    let mut tx = feed.state.db.read(&feed.actor.tenant).await?;
    let rows = contacts::export_page(&mut tx, &feed.after, &feed.last_id, EXPORT_PAGE).await?;
    tx.commit().await?;
    Ok(rows)
}

/// The response headers of a download: its content type, file name and no caching.
fn attachment(body: Body, json_format: bool) -> Response {
    let content_type = if json_format {
        "application/json"
    } else {
        "text/csv; charset=utf-8"
    };
    let filename = if json_format {
        "contacts.json"
    } else {
        "contacts.csv"
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}
