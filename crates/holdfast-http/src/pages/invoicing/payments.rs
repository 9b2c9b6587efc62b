//! `/app/payments`: the money recorded across the workspace's invoices — payments and refunds,
//! by hand or by a payment provider's verified event — newest first, with keyset paging,
//! through `holdfast_app::invoicing::invoices::recent_payments` (each row cut by the reader's
//! field rules: without `invoices.amount` there is no amount column).

use crate::console::invoices::{Money, method_words};
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
use holdfast_app::invoicing::invoices as app;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::ids::PaymentId;
use holdfast_core::invoicing::invoices::{PaymentKind, PaymentMethod};
use holdfast_core::validate::Errors;
use serde::Deserialize;

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Invoicing, |t| {
        t.add(
            Method::GET,
            "/app/payments",
            Guard::Staff {
                permission: Permission::InvoicesRead,
            },
            Doc::page("Console", "Payments and refunds across the invoices"),
            get(payments_page),
        );
    });
}

const PAGE_SIZE: &str = "50";

/// A listed payment as the reader sees it (`PaymentListedOut` after the field rules).
#[derive(Deserialize)]
struct Seen {
    kind: PaymentKind,
    method: PaymentMethod,
    amount: Option<String>,
    currency: String,
    date: String,
    reference: Option<String>,
    provider: Option<String>,
    invoice_id: String,
    invoice_number: Option<String>,
}

struct Row {
    date: String,
    refund: bool,
    invoice_id: String,
    invoice: String,
    method: String,
    amount: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "payments.html")]
struct PaymentsPage {
    frame: Frame,
    money: bool,
    payments: Vec<Row>,
    next_page: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    cursor: Option<String>,
}

async fn payments_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListParams>,
) -> ApiResult<Response> {
    let mut errors = Errors::default();
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty());
    let (limit, after) = page_params_into(Some(PAGE_SIZE), cursor, &mut errors);
    let after = after.and_then(|text| {
        let id = PaymentId::parse(&text);
        if id.is_none() {
            errors.push("cursor", "is not a position in this list; start again");
        }
        id
    });
    errors.finish(()).map_err(Problem::validation)?;
    let mut rows =
        app::recent_payments(&state, &actor, after.as_ref(), i64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_page = more
        .then(|| rows.last().map(|(id, _)| encode_cursor(id)))
        .flatten()
        .map(|cursor| {
            format!(
                "/app/payments?{}",
                serde_urlencoded::to_string([("cursor", cursor)]).unwrap_or_default()
            )
        });
    let payments = rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_value::<Seen>(v.as_json().clone()).ok())
        .map(|p| Row {
            date: p.date,
            refund: p.kind == PaymentKind::Refund,
            invoice: p.invoice_number.unwrap_or_else(|| p.invoice_id.clone()),
            invoice_id: p.invoice_id,
            method: match p.provider {
                Some(provider) => format!("{} ({provider})", method_words(p.method)),
                None => method_words(p.method).to_owned(),
            },
            amount: p
                .amount
                .map(|a| {
                    let sign = if p.kind == PaymentKind::Refund {
                        "−"
                    } else {
                        ""
                    };
                    format!("{sign}{a} {}", p.currency)
                })
                .unwrap_or_default(),
            reference: p.reference.unwrap_or_default(),
        })
        .collect();
    let page = PaymentsPage {
        frame: Frame::new(&state, &actor, "/app/invoices").await?,
        money: Money::of(&actor.role).see,
        payments,
        next_page,
    };
    Ok(console::render(StatusCode::OK, &page))
}
