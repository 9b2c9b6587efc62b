//! `/api/v1/audit`: the workspace's tamper-evident audit trail, read-only.

use crate::extract::QueryParams;
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::{Page, before_seq, page_of, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use holdfast_app::audit::criterion;
use holdfast_core::access::policy::Permission;
use holdfast_core::ops::audit::AuditEntry;
use holdfast_core::validate::Errors;
use holdfast_store::ops::audit::{self, Filter};
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::AuditRead,
};

const FILTERS: &[QueryParam] = &[
    QueryParam {
        name: "actor",
        description: "Only entries by this user or API key id",
        integer: false,
    },
    QueryParam {
        name: "action",
        description: "Only this action, e.g. auth.sign_in_failed",
        integer: false,
    },
    QueryParam {
        name: "entity_type",
        description: "Only entries about this kind of entity, e.g. contact",
        integer: false,
    },
    QueryParam {
        name: "entity_id",
        description: "Only entries about this entity",
        integer: false,
    },
    QueryParam {
        name: "from",
        description: "Only entries at or after this time (epoch ms)",
        integer: true,
    },
    QueryParam {
        name: "to",
        description: "Only entries at or before this time (epoch ms)",
        integer: true,
    },
    crate::paging::LIMIT,
    crate::paging::CURSOR,
];

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/api/v1/audit",
        READ,
        Doc::new("audit", "List audit entries, newest first")
            .query(FILTERS)
            .response::<Page<AuditEntry>>(200),
        get(audit_list),
    );
    t.add(
        Method::GET,
        "/api/v1/audit/export",
        READ,
        Doc::new(
            "audit",
            "Export the whole chain as JSON Lines, oldest first (verifiable offline)",
        )
        .text("application/x-ndjson"),
        get(audit_export),
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    actor: Option<String>,
    action: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn number(errors: &mut Errors, field: &str, text: Option<&str>, range: (i64, i64)) -> Option<i64> {
    let text = text?;
    match text.parse::<i64>() {
        Ok(n) if (range.0..=range.1).contains(&n) => Some(n),
        _ => {
            errors.push(
                field,
                format!("must be a whole number from {} to {}", range.0, range.1),
            );
            None
        }
    }
}

async fn audit_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let mut errors = Errors::default();
    // Cursors issued before the trail paged like every list were the plain sequence number
    // (all digits; an opaque cursor never is): still accepted, so a client paging across an
    // upgrade goes on.
    let legacy = query
        .cursor
        .as_deref()
        .filter(|c| (1..=19).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()));
    let opaque = if legacy.is_some() {
        None
    } else {
        query.cursor.as_deref()
    };
    let (limit, cursor) = page_params_into(query.limit.as_deref(), opaque, &mut errors);
    let cursor = legacy.map(str::to_owned).or(cursor);
    let filter = Filter {
        actor_id: criterion(&mut errors, "actor", query.actor),
        action: criterion(&mut errors, "action", query.action),
        entity_type: criterion(&mut errors, "entity_type", query.entity_type),
        entity_id: criterion(&mut errors, "entity_id", query.entity_id),
        from_ms: number(&mut errors, "from", query.from.as_deref(), (0, i64::MAX)).unwrap_or(0),
        to_ms: number(&mut errors, "to", query.to.as_deref(), (0, i64::MAX)).unwrap_or(i64::MAX),
        before_seq: before_seq(cursor.as_deref(), &mut errors),
    };
    errors.finish(()).map_err(Problem::validation)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = audit::list(&mut tx, &filter, i64::from(limit) + 1).await?;
    tx.commit().await?;
    Ok(Json(page_of(rows, limit, |e| e.seq.to_string())))
}

async fn audit_export(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let entries = audit::chain(&mut tx).await?;
    tx.commit().await?;
    let mut body = String::new();
    for entry in &entries {
        body.push_str(&serde_json::to_string(entry).unwrap_or_default());
        body.push('\n');
    }
    let mut response = body.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response.headers_mut().insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.jsonl\""),
    );
    Ok(response)
}
