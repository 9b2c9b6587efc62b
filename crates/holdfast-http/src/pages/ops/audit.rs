//! `/app/audit`: the workspace's audit trail, newest first, with the API's filters (actor,
//! action, entity, a range of UTC days) and keyset paging, as `GET /api/v1/audit` reads it;
//! and `/app/audit/chain`, the chain's verification (`holdfast_app::audit::verify`, what
//! `holdfast audit verify` runs), which the page fetches once it is shown (a link without
//! JavaScript), so paging never re-reads the whole chain.

use crate::console::{self, Frame};
use crate::extract::QueryParams;
use crate::guard::{Authed, Guard};
use crate::paging::{before_seq, page_of, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use holdfast_app::audit::{Verdict, criterion, verify};
use holdfast_core::access::policy::Permission;
use holdfast_core::ops::audit::AuditEntry;
use holdfast_core::validate::Errors;
use holdfast_store::ops::audit::{self, Filter};
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::AuditRead,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/app/audit",
        READ,
        Doc::page("Console", "The audit trail"),
        get(audit_page),
    );
    t.add(
        Method::GET,
        "/app/audit/chain",
        READ,
        Doc::page("Console", "The audit chain's verification"),
        get(chain_page),
    );
}

#[derive(Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    /// A UTC day, `YYYY-MM-DD`: entries from its start.
    from: Option<String>,
    /// A UTC day: entries to its end.
    to: Option<String>,
    cursor: Option<String>,
}

struct Row {
    seq: i64,
    when: String,
    actor_type: String,
    actor_id: String,
    action: String,
    entity_type: String,
    entity_id: String,
    summary: String,
    ip: String,
}

impl Row {
    fn of(e: AuditEntry) -> Row {
        Row {
            seq: e.seq,
            when: console::when(e.at),
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            summary: e.summary,
            ip: e.ip,
        }
    }
}

/// The filters as the form shows them again (what was typed).
#[derive(Default)]
struct Shown {
    actor: String,
    action: String,
    entity_type: String,
    entity_id: String,
    from: String,
    to: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    filters: Shown,
    entries: Vec<Row>,
    next_page: Option<String>,
    filtered: bool,
}

#[derive(Template)]
#[template(path = "audit_chain.html")]
struct ChainFragment {
    verdict: Verdict,
}

#[derive(Template)]
#[template(path = "audit_chain_page.html")]
struct ChainPage {
    frame: Frame,
    verdict: Verdict,
}

const PAGE_SIZE: &str = "50";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The first millisecond of a UTC day written `YYYY-MM-DD`.
fn day_start(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

fn day(errors: &mut Errors, field: &str, text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let start = day_start(text);
    if start.is_none() {
        errors.push(field, "must be a day written YYYY-MM-DD");
    }
    start
}

async fn audit_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<AuditQuery>,
) -> ApiResult<Response> {
    let mut errors = Errors::default();
    let (limit, cursor) = page_params_into(Some(PAGE_SIZE), query.cursor.as_deref(), &mut errors);
    let filters = Shown {
        actor: criterion(&mut errors, "actor", query.actor),
        action: criterion(&mut errors, "action", query.action),
        entity_type: criterion(&mut errors, "entity_type", query.entity_type),
        entity_id: criterion(&mut errors, "entity_id", query.entity_id),
        from: criterion(&mut errors, "from", query.from),
        to: criterion(&mut errors, "to", query.to),
    };
    let filter = Filter {
        actor_id: filters.actor.clone(),
        action: filters.action.clone(),
        entity_type: filters.entity_type.clone(),
        entity_id: filters.entity_id.clone(),
        from_ms: day(&mut errors, "from", &filters.from).unwrap_or(0),
        to_ms: day(&mut errors, "to", &filters.to).map_or(i64::MAX, |start| start + DAY_MS - 1),
        before_seq: before_seq(cursor.as_deref(), &mut errors),
    };
    errors.finish(()).map_err(Problem::validation)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = audit::list(&mut tx, &filter, i64::from(limit) + 1).await?;
    tx.commit().await?;
    let page = page_of(rows, limit, |e| e.seq.to_string());
    let next_page = page.next_cursor.map(|cursor| {
        let mut pairs = vec![("cursor", cursor)];
        for (name, value) in [
            ("actor", &filters.actor),
            ("action", &filters.action),
            ("entity_type", &filters.entity_type),
            ("entity_id", &filters.entity_id),
            ("from", &filters.from),
            ("to", &filters.to),
        ] {
            if !value.is_empty() {
                pairs.push((name, value.clone()));
            }
        }
        format!(
            "/app/audit?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    });
    let filtered = [
        &filters.actor,
        &filters.action,
        &filters.entity_type,
        &filters.entity_id,
        &filters.from,
        &filters.to,
    ]
    .iter()
    .any(|v| !v.is_empty());
    let page = AuditPage {
        frame: Frame::new(&state, &actor, "/app/audit").await?,
        filters,
        entries: page.data.into_iter().map(Row::of).collect(),
        next_page,
        filtered,
    };
    Ok(console::render(StatusCode::OK, &page))
}

/// The verdict alone for the audit page (htmx), or as a page of its own.
async fn chain_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let verdict = verify(&state.db, &actor.tenant).await?;
    if console::is_htmx(&headers) {
        return Ok(console::render(StatusCode::OK, &ChainFragment { verdict }));
    }
    let page = ChainPage {
        frame: Frame::new(&state, &actor, "/app/audit").await?,
        verdict,
    };
    Ok(console::render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_are_utc_and_strict() {
        assert_eq!(super::day_start("1970-01-02"), Some(86_400_000));
        assert_eq!(super::day_start("2026-12-06"), Some(1_796_515_200_000));
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "26-12-06",
            "2026-12-6",
            "yesterday",
            "",
        ] {
            assert_eq!(super::day_start(bad), None, "{bad}");
        }
    }
}
