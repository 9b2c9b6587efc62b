//! `/app/contacts`: the workspace's contacts, with the API's search (text in name, email or a
//! text custom field) and filters (company, a custom field's value), through
//! `holdfast_app::crm::contacts::list_filter` exactly as `GET /api/v1/contacts`; keyset paging.
//! Every row is a link to the contact; columns the role may not see are not there.

use crate::console::contacts::{Columns, ContactRow};
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
use holdfast_app::crm::contacts::{ListAsk, list_filter};
use holdfast_core::access::fields::{self, Access, Field};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::ids::ContactId;
use holdfast_core::validate::Errors;
use holdfast_store::crm::{companies, contact_fields, contacts};
use std::collections::BTreeMap;

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Crm, |t| {
        t.add(
            Method::GET,
            "/app/contacts",
            Guard::Staff {
                permission: Permission::ContactsRead,
            },
            Doc::page("Console", "Contacts"),
            get(contacts_page),
        );
    });
}

/// Rows per page.
const PAGE_SIZE: &str = "50";
/// Companies offered in the company filter.
const COMPANY_CHOICES: u32 = 200;

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    frame: Frame,
    columns: Columns,
    q: String,
    companies: Option<Vec<Choice>>,
    custom_fields: Option<Vec<Choice>>,
    value: String,
    contacts: Vec<ContactRow>,
    next_page: Option<String>,
    filtered: bool,
    erased: bool,
    may_import: bool,
}

/// Text that is absent when empty (a form submits empty fields).
fn given(query: &BTreeMap<String, String>, name: &str) -> Option<String> {
    query
        .get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

async fn contacts_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let mut errors = Errors::default();
    let mut custom: Vec<(String, String)> = Vec::new();
    for (name, value) in &query {
        if let Some(key) = name.strip_prefix("custom.") {
            custom.push((key.to_owned(), value.clone()));
        } else if !matches!(
            name.as_str(),
            "q" | "company_id" | "field" | "value" | "cursor" | "erased"
        ) {
            errors.push(
                name.clone(),
                "is not a filter of this page; use q, company_id, field and value",
            );
        }
    }
    // The form's one custom filter: a field chosen from a list, and its value.
    let field = given(&query, "field");
    let value = given(&query, "value");
    match (&field, &value) {
        (Some(key), Some(value)) => custom.push((key.clone(), value.clone())),
        (Some(_), None) => errors.push("value", "give the value the custom field must have"),
        (None, Some(_)) => errors.push("field", "choose the custom field the value is for"),
        (None, None) => {}
    }
    let (limit, cursor) = page_params_into(
        Some(PAGE_SIZE),
        given(&query, "cursor").as_deref(),
        &mut errors,
    );
    let after = cursor.and_then(|text| {
        let id = ContactId::parse(&text);
        if id.is_none() {
            errors.push("cursor", "is not a position in this list; start again");
        }
        id
    });
    let q = given(&query, "q");
    let company_id = given(&query, "company_id");
    let mut tx = state.db.read(&actor.tenant).await?;
    let ask = ListAsk {
        q: q.as_deref(),
        company_id: company_id.as_deref(),
        custom,
    };
    let filter = list_filter(&mut tx, &actor.role, ask, &mut errors).await?;
    errors.finish(()).map_err(Problem::validation)?;
    let mut rows = contacts::list(&mut tx, after.as_ref(), limit + 1, &filter).await?;
    let shows = |f| fields::access(&actor.role, f) != Access::Hidden;
    let companies = if shows(Field::ContactsCompany) {
        let listed = companies::list(&mut tx, None, COMPANY_CHOICES, None).await?;
        let mut choices = vec![Choice {
            value: String::new(),
            label: "Any".to_owned(),
            selected: company_id.is_none(),
        }];
        choices.extend(listed.into_iter().map(|c| Choice {
            selected: company_id.as_deref() == Some(c.id.as_str()),
            value: c.id,
            label: c.name,
        }));
        Some(choices)
    } else {
        None
    };
    let custom_fields = if shows(Field::ContactsCustom) {
        let defs = contact_fields::defs(&mut tx).await?;
        (!defs.is_empty()).then(|| {
            let mut choices = vec![Choice {
                value: String::new(),
                label: "None".to_owned(),
                selected: field.is_none(),
            }];
            choices.extend(defs.into_iter().map(|d| Choice {
                selected: field.as_deref() == Some(d.key.as_str()),
                value: d.key,
                label: d.label,
            }));
            choices
        })
    } else {
        None
    };
    tx.commit().await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_page = more
        .then(|| rows.last().map(|c| encode_cursor(&c.id)))
        .flatten()
        .map(|cursor| {
            let mut pairs: Vec<(String, String)> = query
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "cursor" | "erased"))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            pairs.push(("cursor".to_owned(), cursor));
            format!(
                "/app/contacts?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            )
        });
    let page = ContactsPage {
        frame: Frame::new(&state, &actor, "/app/contacts").await?,
        columns: Columns::of(&actor.role),
        q: q.unwrap_or_default(),
        companies,
        custom_fields,
        value: value.unwrap_or_default(),
        contacts: rows
            .iter()
            .map(|c| ContactRow::of(&actor.role, c))
            .collect(),
        next_page,
        filtered: filter.q.is_some() || filter.company_id.is_some() || !filter.custom.is_empty(),
        erased: query.contains_key("erased"),
        may_import: actor.role.grants(Permission::ContactsWrite),
    };
    Ok(console::render(StatusCode::OK, &page))
}
