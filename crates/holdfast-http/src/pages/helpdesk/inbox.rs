//! `/app/inbox`: the help desk's tickets, newest activity first, with saved views (all, mine,
//! open), status, tag and full-text filters, and keyset paging. Rows are links: the page reads
//! without JavaScript; `console.js` adds the keyboard (j/k, Enter, /).

use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::QueryParams;
use crate::guard::{Authed, Guard};
use crate::paging::{encode_cursor, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::helpdesk::tickets::change_many;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::helpdesk::tickets::{BulkIn, MAX_BULK, TicketFilter};
use holdfast_core::ids::TicketId;
use holdfast_core::validate::Errors;
use holdfast_store::helpdesk::ticket_reads;
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
        t.add(
            Method::POST,
            "/app/inbox/read",
            Guard::Staff {
                permission: Permission::TicketsRead,
            },
            Doc::page("Console", "Mark tickets read or unread for oneself").redirect(),
            post(mark),
        );
        t.add(
            Method::POST,
            "/app/inbox/bulk",
            Guard::Staff {
                permission: Permission::TicketsWrite,
            },
            Doc::page("Console", "Change many tickets at once").redirect(),
            post(bulk),
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
    /// Activity the signed-in person has not seen (never opened, or newer than their look).
    unread: bool,
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
    /// Whether the bulk bar's changes are shown.
    may_write: bool,
    /// A person (not an API key) is signed in: tickets can be marked read or unread.
    may_mark: bool,
    /// This page's address, to come back to after a bulk change.
    back: String,
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
        "all" | "unassigned" => (given(&query.status), None),
        _ => {
            return Err(Problem::field(
                holdfast_core::error::ErrorCode::Validation,
                "view",
                "must be all, mine, unassigned or open",
            ));
        }
    };
    let mut errors = Errors::default();
    let (limit, before) = page_params_into(Some(PAGE_SIZE), given(&query.cursor), &mut errors);
    let mut filter = TicketFilter::parse(
        status,
        assignee,
        given(&query.tag),
        None,
        given(&query.q),
        &mut errors,
    );
    filter.unassigned = view == "unassigned";
    errors.finish(()).map_err(Problem::validation)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let mut rows = store::list(&mut tx, &filter, before.as_deref(), limit + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let unread = match &me {
        Some(user) => {
            let ids: Vec<String> = rows.iter().map(|t| t.id.clone()).collect();
            ticket_reads::unread_among(&mut tx, user, &ids).await?
        }
        None => Vec::new(),
    };
    tx.commit().await?;
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
        ("/app/inbox?view=unassigned", "Unassigned", "unassigned"),
        ("/app/inbox?view=open", "Open", "open"),
    ]
    .into_iter()
    .map(|(href, label, name)| View {
        href,
        label,
        current: name == view,
    })
    .collect();
    let back = format!(
        "/app/inbox?{}",
        serde_urlencoded::to_string(
            [
                ("view", Some(view)),
                ("status", given(&query.status)),
                ("tag", given(&query.tag)),
                ("q", given(&query.q))
            ]
            .iter()
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect::<Vec<_>>()
        )
        .unwrap_or_default()
    );
    let page = InboxPage {
        frame: Frame::new(&state, &actor, "/app/inbox").await?,
        may_write: actor.role.grants(Permission::TicketsWrite),
        may_mark: me.is_some(),
        back,
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
                unread: unread.contains(&t.id),
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

/// Where a bulk change comes back to: the inbox as it was (never another page).
fn inbox_back(back: Option<&str>) -> &str {
    back.filter(|b| b.starts_with("/app/inbox") && !b.contains("//"))
        .unwrap_or("/app/inbox")
}

/// The bulk bar: the ticked tickets (`ids`, repeated), and a status, an assignee (`me` or
/// `nobody`) and a tag to add, each left as it is when empty. All or nothing, as the API's.
async fn bulk(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let pairs: Vec<(String, String)> = console::form(&headers, &body)?;
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let me = match &actor.principal {
        Principal::User { user_id, .. } => Some(user_id.to_string()),
        Principal::ApiKey(_) => None,
    };
    let assignee = match value("assignee") {
        None => None,
        Some("nobody") => Some(None),
        Some("me") => Some(Some(me.ok_or_else(|| {
            Problem::field(
                ErrorCode::Validation,
                "assignee",
                "an API key is nobody to assign tickets to",
            )
        })?)),
        Some(_) => {
            return Err(Problem::field(
                ErrorCode::Validation,
                "assignee",
                "must be me or nobody",
            ));
        }
    };
    let change = BulkIn {
        ids: pairs
            .iter()
            .filter(|(k, _)| k == "ids")
            .map(|(_, v)| v.clone())
            .collect(),
        status: value("status").map(str::to_owned),
        assignee,
        add_tags: value("add_tag")
            .map(|t| vec![t.to_owned()])
            .unwrap_or_default(),
        remove_tags: Vec::new(),
    }
    .validate()
    .map_err(Problem::validation)?;
    change_many(&state, &actor, &change).await?;
    Ok(see_other(inbox_back(value("back")), is_htmx(&headers)))
}

/// The ticked tickets (`ids`, repeated) marked read (`as=read`) or unread (`as=unread`) for the
/// signed-in person; ids of other workspaces' tickets change nothing.
async fn mark(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let pairs: Vec<(String, String)> = console::form(&headers, &body)?;
    let Principal::User { user_id, .. } = &actor.principal else {
        return Err(Problem::field(
            ErrorCode::Validation,
            "as",
            "an API key has no unread tickets of its own",
        ));
    };
    let mut errors = Errors::default();
    let read = match pairs.iter().find(|(k, _)| k == "as").map(|(_, v)| v.trim()) {
        Some("read") => true,
        Some("unread") => false,
        _ => {
            errors.push("as", "must be read or unread");
            false
        }
    };
    let ids = ticket_ids(&pairs, &mut errors);
    errors.finish(()).map_err(Problem::validation)?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let user = user_id.to_string();
    if read {
        ticket_reads::mark_read(&mut tx, &user, &ids, state.clock.now_ms()).await?;
    } else {
        ticket_reads::mark_unread(&mut tx, &user, &ids).await?;
    }
    tx.commit().await?;
    let back = pairs
        .iter()
        .find(|(k, _)| k == "back")
        .map(|(_, v)| v.as_str());
    Ok(see_other(inbox_back(back), is_htmx(&headers)))
}

/// The ticked tickets: 1 to `MAX_BULK` ticket ids, each well formed.
fn ticket_ids(pairs: &[(String, String)], errors: &mut Errors) -> Vec<String> {
    let given: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v.trim())
        .collect();
    if given.is_empty() || given.len() > MAX_BULK {
        errors.push("ids", format!("tick 1 to {MAX_BULK} tickets"));
        return Vec::new();
    }
    let mut ids = Vec::with_capacity(given.len());
    for text in given {
        match TicketId::parse(text) {
            Some(id) => ids.push(id.as_str().to_owned()),
            None => errors.push("ids", "not a ticket id (tk_…)"),
        }
    }
    ids
}
