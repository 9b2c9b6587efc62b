//! `/app/companies` (search by name or domain, keyset paging) and `/app/companies/{id}`: the
//! company with its contacts — listed only for a role that sees contacts' companies, each
//! contact cut by the role's field rules.

use crate::console::contacts::{Columns, ContactRow};
use crate::console::{self, Frame};
use crate::extract::QueryParams;
use crate::guard::{Authed, Guard};
use crate::paging::{encode_cursor, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use holdfast_core::access::fields::{self, Access, Field};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::companies::CompanyOut;
use holdfast_core::ids::CompanyId;
use holdfast_core::validate::{self, Errors};
use holdfast_store::crm::companies;
use holdfast_store::crm::contacts::{self, Filter};
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::ContactsRead,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Crm, |t| {
        t.add(
            Method::GET,
            "/app/companies",
            READ,
            Doc::page("Console", "Companies"),
            get(companies_page),
        );
        t.add(
            Method::GET,
            "/app/companies/{id}",
            READ,
            Doc::page("Console", "A company and its contacts"),
            get(company_page),
        );
    });
}

const PAGE_SIZE: &str = "50";
/// Contacts shown on a company's page (the contacts list, filtered by the company, has all).
const CONTACTS_SHOWN: u32 = 50;

struct CompanyRow {
    id: String,
    name: String,
    domain: String,
    contacts: i64,
}

#[derive(Template)]
#[template(path = "companies.html")]
struct CompaniesPage {
    frame: Frame,
    q: String,
    companies: Vec<CompanyRow>,
    next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "company.html")]
struct CompanyPage {
    frame: Frame,
    company: CompanyOut,
    created: String,
    columns: Columns,
    /// `None` for a role that may not see which company a contact belongs to.
    contacts: Option<Vec<ContactRow>>,
    more: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

async fn companies_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Response> {
    let mut errors = Errors::default();
    let (limit, after) = page_params_into(Some(PAGE_SIZE), given(&query.cursor), &mut errors);
    let after = after.and_then(|text| {
        let id = CompanyId::parse(&text);
        if id.is_none() {
            errors.push("cursor", "is not a position in this list; start again");
        }
        id
    });
    let q = given(&query.q).and_then(|q| errors.take(validate::text("q", q, 1, 200)));
    errors.finish(()).map_err(Problem::validation)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let mut rows = companies::list(&mut tx, after.as_ref(), limit + 1, q.as_deref()).await?;
    tx.commit().await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_page = more
        .then(|| rows.last().map(|c| encode_cursor(&c.id)))
        .flatten()
        .map(|cursor| {
            let mut pairs = vec![("cursor", cursor)];
            if let Some(q) = &q {
                pairs.push(("q", q.clone()));
            }
            format!(
                "/app/companies?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            )
        });
    let page = CompaniesPage {
        frame: Frame::new(&state, &actor, "/app/contacts").await?,
        q: q.unwrap_or_default(),
        companies: rows
            .into_iter()
            .map(|c| CompanyRow {
                id: c.id,
                name: c.name,
                domain: c.domain.unwrap_or_default(),
                contacts: c.contacts_count,
            })
            .collect(),
        next_page,
    };
    Ok(console::render(StatusCode::OK, &page))
}

async fn company_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = CompanyId::parse(&id).ok_or_else(|| Problem::not_found("company"))?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let company = companies::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Problem::not_found("company"))?;
    // Which company a contact belongs to is the contact's company field: a role that may not
    // see it does not get the list either (as the API refuses its company_id filter).
    let sees_links = fields::access(&actor.role, Field::ContactsCompany) != Access::Hidden;
    let (contacts, more) = if sees_links {
        let filter = Filter {
            company_id: Some(id.to_string()),
            ..Filter::default()
        };
        let mut rows = contacts::list(&mut tx, None, CONTACTS_SHOWN + 1, &filter).await?;
        let more = rows.len() > CONTACTS_SHOWN as usize;
        rows.truncate(CONTACTS_SHOWN as usize);
        (
            Some(
                rows.iter()
                    .map(|c| ContactRow::of(&actor.role, c))
                    .collect(),
            ),
            more,
        )
    } else {
        (None, false)
    };
    tx.commit().await?;
    let page = CompanyPage {
        frame: Frame::new(&state, &actor, "/app/contacts").await?,
        created: console::when(company.created_at),
        company,
        columns: Columns::of(&actor.role),
        contacts,
        more,
    };
    Ok(console::render(StatusCode::OK, &page))
}
