//! `/app/inbox`: the help desk's tickets, newest activity first, with saved views (all, mine,
//! open), status, tag and full-text filters, and keyset paging. Rows are links: the page reads
//! without JavaScript; `console.js` adds the keyboard (j/k, Enter, /).

use crate::console::{self, Frame};
use crate::extract::QueryParams;
use crate::guard::{Authed, Guard};
use crate::paging::{encode_cursor, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::helpdesk::tickets::TicketFilter;
use holdfast_core::validate::Errors;
use holdfast_store::helpdesk::tickets as store;
use holdfast_store::identity::auth::Principal;
use serde::Deserialize;

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Helpdesk, |t| {
        t.add(
            Method::GET,
            "/app/inbox",
            Guard::Staff {
                permission: Permission::TicketsRead,
            },
            Doc::page("Console", "The inbox"),
            get(inbox),
        );
    });
}

#[derive(Deserialize)]
struct InboxQuery {
    view: Option<String>,
    status: Option<String>,
    tag: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

struct Row {
    id: String,
    subject: String,
    status: String,
    priority: String,
    assignee: String,
    tags: Vec<String>,
    when: String,
}

struct View {
    href: &'static str,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    frame: Frame,
    views: Vec<View>,
    statuses: Vec<(&'static str, &'static str)>,
    status: String,
    tag: String,
    q: String,
    tickets: Vec<Row>,
    next_page: Option<String>,
}

const PAGE_SIZE: &str = "50";

/// Text that is absent when empty (a form submits empty fields).
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

async fn inbox(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<InboxQuery>,
) -> ApiResult<Response> {
    let view = given(&query.view).unwrap_or("all");
    let me = match &actor.principal {
        Principal::User { user_id, .. } => Some(user_id.to_string()),
        Principal::ApiKey(_) => None,
    };
    let (status, assignee) = match view {
        "mine" => (given(&query.status), me.as_deref()),
        "open" => (Some("open"), None),
        "all" => (given(&query.status), None),
        _ => {
            return Err(Problem::field(
                holdfast_core::error::ErrorCode::Validation,
                "view",
                "must be all, mine or open",
            ));
        }
    };
    let mut errors = Errors::default();
    let (limit, before) = page_params_into(Some(PAGE_SIZE), given(&query.cursor), &mut errors);
    let filter = TicketFilter::parse(
        status,
        assignee,
        given(&query.tag),
        None,
        given(&query.q),
        &mut errors,
    );
    errors.finish(()).map_err(Problem::validation)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let mut rows = store::list(&mut tx, &filter, before.as_deref(), limit + 1).await?;
    tx.commit().await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_page = more
        .then(|| rows.last().map(|t| encode_cursor(&t.id)))
        .flatten()
        .map(|cursor| {
            let mut pairs = vec![("view", view.to_owned()), ("cursor", cursor)];
            for (name, value) in [
                ("status", &query.status),
                ("tag", &query.tag),
                ("q", &query.q),
            ] {
                if let Some(v) = given(value) {
                    pairs.push((name, v.to_owned()));
                }
            }
            format!(
                "/app/inbox?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            )
        });
    let views = [
        ("/app/inbox", "All", "all"),
        ("/app/inbox?view=mine", "Mine", "mine"),
        ("/app/inbox?view=open", "Open", "open"),
    ]
    .into_iter()
    .map(|(href, label, name)| View {
        href,
        label,
        current: name == view,
    })
    .collect();
    let page = InboxPage {
        frame: Frame::new(&state, &actor, "/app/inbox").await?,
        views,
        statuses: vec![
            ("", "Any"),
            ("open", "Open"),
            ("pending", "Pending"),
            ("resolved", "Resolved"),
            ("closed", "Closed"),
        ],
        status: given(&query.status).unwrap_or("").to_owned(),
        tag: given(&query.tag).unwrap_or("").to_owned(),
        q: given(&query.q).unwrap_or("").to_owned(),
        tickets: rows
            .into_iter()
            .map(|t| Row {
                when: console::when(t.last_message_at),
                id: t.id,
                subject: t.subject,
                status: t.status,
                priority: t.priority,
                assignee: t.assignee.unwrap_or_default(),
                tags: t.tags,
            })
            .collect(),
        next_page,
    };
    Ok(console::render(StatusCode::OK, &page))
}
