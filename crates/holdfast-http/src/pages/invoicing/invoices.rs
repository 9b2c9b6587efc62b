//! `/app/invoices`: the workspace's invoices and credit notes, newest first, with the API's
//! filters (status, kind, overdue) and keyset paging, through
//! `holdfast_app::invoicing::invoices::list` exactly as `GET /api/v1/invoices` (each row cut by
//! the reader's field rules: without `invoices.amount` there is no money column at all); and
//! `/app/invoices/new`: a draft for a contact found by a search (or named by `?contact=`), or
//! for a job (`?job=`), made by `holdfast_app::invoicing::invoices::create`, then its editor.

use crate::audit;
use crate::console::invoices::{
    Money, SeenInvoice, currency_choices, customer_names, status_words,
};
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
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
use holdfast_app::crm::contacts::{ListAsk, list_filter};
use holdfast_app::invoicing::invoices::{self as app, ListQuery};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::{ContactId, InvoiceId, JobId};
use holdfast_core::invoicing::invoices::{DocumentKind, InvoiceIn, InvoiceStatus, LineIn};
use holdfast_core::validate::Errors;
use holdfast_store::Lock;
use holdfast_store::field_service::jobs::JobScope;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::InvoicesRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::InvoicesWrite,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Invoicing, |t| {
        t.add(
            Method::GET,
            "/app/invoices",
            READ,
            Doc::page("Console", "Invoices and credit notes"),
            get(invoices_page),
        );
        t.add(
            Method::GET,
            "/app/invoices/new",
            WRITE,
            Doc::page("Console", "Start a draft invoice"),
            get(new_page),
        );
        t.add(
            Method::POST,
            "/app/invoices/new",
            WRITE,
            Doc::page("Console", "Create a draft invoice, then edit it").redirect(),
            post(new_create),
        );
    });
}

const PAGE_SIZE: &str = "50";
/// Contacts a search on the new-invoice page offers.
const CONTACT_CHOICES: u32 = 20;

struct InvoiceRow {
    id: String,
    title: String,
    credit_note: bool,
    customer: String,
    status: String,
    overdue: bool,
    issue_date: String,
    due_date: String,
    total: String,
    balance: String,
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "invoices.html")]
struct InvoicesPage {
    frame: Frame,
    money: bool,
    may_write: bool,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    overdue: bool,
    filtered: bool,
    invoices: Vec<InvoiceRow>,
    next_page: Option<String>,
    done: Option<&'static str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    kind: Option<String>,
    overdue: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// What a redirect's `?done=` says happened.
fn done_words(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "deleted" => Some("The draft was deleted."),
        _ => None,
    }
}

async fn invoices_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListParams>,
) -> ApiResult<Response> {
    let mut errors = Errors::default();
    let (limit, after) = page_params_into(Some(PAGE_SIZE), given(&query.cursor), &mut errors);
    let after = after.and_then(|text| {
        let id = InvoiceId::parse(&text);
        if id.is_none() {
            errors.push("cursor", "is not a position in this list; start again");
        }
        id
    });
    let mut list = ListQuery::default();
    let status = given(&query.status).and_then(|text| {
        let status = InvoiceStatus::parse(text);
        if status.is_none() {
            errors.push(
                "status",
                "must be draft, issued, partially_paid, paid or void",
            );
        }
        status
    });
    let kind = given(&query.kind).and_then(|text| {
        let kind = DocumentKind::parse(text);
        if kind.is_none() {
            errors.push("kind", "must be invoice or credit_note");
        }
        kind
    });
    match given(&query.overdue) {
        None | Some("false") => {}
        Some("true") => list.overdue = true,
        Some(_) => errors.push("overdue", "must be true or false"),
    }
    errors.finish(()).map_err(Problem::validation)?;
    list.filter.status = status;
    list.filter.kind = kind;
    let overdue = list.overdue;
    let rows = app::list(&state, &actor, list, after.as_ref(), i64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    let seen: Vec<SeenInvoice> = rows
        .iter()
        .take(limit as usize)
        .filter_map(|(_, v)| SeenInvoice::of(v))
        .collect();
    let mut tx = state.db.read(&actor.tenant).await?;
    let ids: Vec<String> = seen.iter().filter_map(|i| i.contact_id.clone()).collect();
    let names = customer_names(&mut tx, &actor.role, ids).await?;
    tx.commit().await?;
    let next_page = more
        .then(|| seen.last().map(|i| encode_cursor(&i.id)))
        .flatten()
        .map(|cursor| {
            let mut pairs: Vec<(&str, String)> = Vec::new();
            if let Some(s) = status {
                pairs.push(("status", s.as_str().to_owned()));
            }
            if let Some(k) = kind {
                pairs.push(("kind", k.as_str().to_owned()));
            }
            if overdue {
                pairs.push(("overdue", "true".to_owned()));
            }
            pairs.push(("cursor", cursor));
            format!(
                "/app/invoices?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            )
        });
    let money = Money::of(&actor.role);
    let with_currency = |amount: &Option<String>, currency: &str| {
        amount
            .as_ref()
            .map(|a| format!("{a} {currency}"))
            .unwrap_or_default()
    };
    let invoices = seen
        .iter()
        .map(|i| InvoiceRow {
            id: i.id.clone(),
            title: i.title(),
            credit_note: i.kind == DocumentKind::CreditNote,
            customer: i
                .contact_id
                .as_ref()
                .and_then(|c| names.get(c).cloned())
                .unwrap_or_else(|| "Customer (erased)".to_owned()),
            status: status_words(i.status, i.overdue),
            overdue: i.overdue,
            issue_date: i.issue_date.clone().unwrap_or_default(),
            due_date: i.due_date.clone().unwrap_or_default(),
            total: with_currency(&i.total, &i.currency),
            balance: if i.open_for_money() {
                with_currency(&i.balance, &i.currency)
            } else {
                String::new()
            },
        })
        .collect();
    let mut statuses = vec![Choice {
        value: "",
        label: "Any",
        selected: status.is_none(),
    }];
    statuses.extend(InvoiceStatus::ALL.iter().map(|s| Choice {
        value: s.as_str(),
        label: match s {
            InvoiceStatus::Draft => "Draft",
            InvoiceStatus::Issued => "Issued",
            InvoiceStatus::PartiallyPaid => "Partly paid",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Void => "Void",
        },
        selected: status == Some(*s),
    }));
    let kinds = vec![
        Choice {
            value: "",
            label: "Invoices and credit notes",
            selected: kind.is_none(),
        },
        Choice {
            value: "invoice",
            label: "Invoices",
            selected: kind == Some(DocumentKind::Invoice),
        },
        Choice {
            value: "credit_note",
            label: "Credit notes",
            selected: kind == Some(DocumentKind::CreditNote),
        },
    ];
    let page = InvoicesPage {
        frame: Frame::new(&state, &actor, "/app/invoices").await?,
        money: money.see,
        may_write: actor.role.grants(Permission::InvoicesWrite),
        statuses,
        kinds,
        overdue,
        filtered: status.is_some() || kind.is_some() || overdue,
        invoices,
        next_page,
        done: done_words(query.done.as_deref()),
    };
    Ok(console::render(StatusCode::OK, &page))
}

/// A contact offered on the new-invoice page.
struct ContactChoice {
    id: String,
    title: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "invoice_new.html")]
struct NewPage {
    frame: Frame,
    error: Option<String>,
    /// Prices may be typed (`invoices.amount` writable); else only a job's lines are billed.
    may_price: bool,
    q: String,
    searched: bool,
    contacts: Vec<ContactChoice>,
    job: Option<String>,
    /// The job's title and customer, when the reader reaches the job (`None`: not found).
    job_seen: Option<(String, String)>,
    currencies: Vec<(String, bool)>,
    sent: NewForm,
}

#[derive(Deserialize, Default)]
struct NewQuery {
    q: Option<String>,
    contact: Option<String>,
    job: Option<String>,
}

/// The new-invoice form (every field optional: what is missing is named by the API's rules).
#[derive(Deserialize, Default, Clone)]
struct NewForm {
    #[serde(default)]
    contact_id: String,
    #[serde(default)]
    job_id: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    unit_price: String,
    #[serde(default)]
    tax_percent: String,
}

#[allow(clippy::too_many_arguments)]
async fn render_new(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    q: Option<&str>,
    contact: Option<&str>,
    job: Option<&str>,
    sent: NewForm,
    error: Option<String>,
) -> ApiResult<Response> {
    let settings = app::settings(state, actor).await?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let mut offered: Vec<(String, String)> = Vec::new();
    let mut errors = Errors::default();
    if let Some(q) = q {
        let ask = ListAsk {
            q: Some(q),
            ..ListAsk::default()
        };
        let filter = list_filter(&mut tx, &actor.role, ask, &mut errors).await?;
        if errors.is_empty() {
            let rows = holdfast_store::crm::contacts::list(&mut tx, None, CONTACT_CHOICES, &filter)
                .await?;
            offered = rows.into_iter().map(|c| (c.id.clone(), c.id)).collect();
        }
    }
    // The contact named (by a link from its page, or sent back with an error) is offered too.
    let named = contact
        .map(str::to_owned)
        .or_else(|| Some(sent.contact_id.clone()).filter(|c| !c.is_empty()))
        .filter(|c| ContactId::parse(c).is_some());
    if let Some(id) = &named
        && !offered.iter().any(|(o, _)| o == id)
    {
        offered.insert(0, (id.clone(), id.clone()));
    }
    // The job to bill, as far as the reader's job scope reaches (as the create's own check).
    let job_found = match job.and_then(JobId::parse) {
        Some(job_id) => {
            let scope = JobScope::of(actor);
            holdfast_store::field_service::jobs::get(&mut tx, &scope, &job_id, Lock::Read)
                .await?
                .map(|j| (j.fields.title, j.fields.contact_id))
        }
        None => None,
    };
    let mut ids: Vec<String> = offered.iter().map(|(id, _)| id.clone()).collect();
    ids.extend(job_found.iter().map(|(_, contact)| contact.clone()));
    let names = customer_names(&mut tx, &actor.role, ids).await?;
    let job_seen = job_found.map(|(title, contact)| {
        let customer = names.get(&contact).cloned().unwrap_or_default();
        (title, customer)
    });
    tx.commit().await?;
    let error = error.or_else(|| {
        errors
            .finish(())
            .err()
            .map(|e| console::explain(&Problem::validation(e)).1)
    });
    let contacts = offered
        .into_iter()
        .filter(|(id, _)| names.get(id).is_some_and(|n| n != "Customer (erased)"))
        .map(|(id, _)| ContactChoice {
            title: names.get(&id).cloned().unwrap_or_default(),
            checked: named.as_deref() == Some(id.as_str()),
            id,
        })
        .collect();
    let chosen = Some(sent.currency.trim().to_uppercase())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| settings.currency.clone());
    let currencies = currency_choices(&chosen);
    let page = NewPage {
        frame: Frame::new(state, actor, "/app/invoices").await?,
        error,
        may_price: Money::of(&actor.role).write,
        q: q.unwrap_or_default().to_owned(),
        searched: q.is_some(),
        contacts,
        job: job.map(str::to_owned),
        job_seen,
        currencies,
        sent: NewForm {
            quantity: if sent.quantity.is_empty() {
                "1".to_owned()
            } else {
                sent.quantity
            },
            ..sent
        },
    };
    Ok(console::render(status, &page))
}

async fn new_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<NewQuery>,
) -> ApiResult<Response> {
    let job = given(&query.job);
    if let Some(job) = job
        && JobId::parse(job).is_none()
    {
        return Err(Problem::field(
            ErrorCode::Validation,
            "job",
            "is not a job id (job_…)",
        ));
    }
    render_new(
        &state,
        &actor,
        StatusCode::OK,
        given(&query.q),
        given(&query.contact),
        job,
        NewForm::default(),
        None,
    )
    .await
}

async fn new_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: NewForm = console::form(&headers, &body)?;
    let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let job_id = text(&form.job_id);
    // From a job: its contact and line items (priced at zero, to fill in). By hand: one line
    // to start with; more are added in the editor.
    let lines = if job_id.is_some() {
        None
    } else {
        Some(vec![LineIn {
            description: form.description.clone(),
            quantity: form.quantity.clone(),
            unit_price: form.unit_price.clone(),
            tax_percent: text(&form.tax_percent),
            discount_percent: None,
        }])
    };
    let body = InvoiceIn {
        contact_id: text(&form.contact_id),
        job_id: job_id.clone(),
        currency: if job_id.is_some() && !Money::of(&actor.role).write {
            None
        } else {
            text(&form.currency)
        },
        lines,
        ..InvoiceIn::default()
    };
    let origin = audit::origin(&actor, &client);
    match app::create(&state, &actor, &origin, &body).await {
        Ok(created) => {
            let id = created.as_json()["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            Ok(see_other(&format!("/app/invoices/{id}"), is_htmx(&headers)))
        }
        Err(e) => {
            let (status, message) = console::explain(&Problem(e));
            let job = job_id.clone();
            render_new(
                &state,
                &actor,
                status,
                None,
                None,
                job.as_deref(),
                form,
                Some(message),
            )
            .await
        }
    }
}
