//! One of a signed-in customer's invoices: `/portal/{workspace_slug}/invoices/{id}` (as its
//! public link shows it, the same template part `customer_invoice.html`, with the payments made
//! and the Pay button), `…/pdf` (the PDF every reader's comes from) and `…/pay` (a checkout for
//! the open amount through the function the public page's Pay uses; 303 to the provider's
//! page, or `HX-Redirect` for htmx). The provider sends the customer back to the invoice's
//! page, which reads nothing into it: only the provider's verified webhook records the
//! payment. A draft, another contact's invoice, a malformed id and invoicing off all answer
//! the same 404 page; Pay refused (paid, void, no payment account) shows why beside the button
//! with 409.

use crate::audit;
use crate::console::portal::{PortalFrame, page};
use crate::console::{is_htmx, see_other};
use crate::extract::{AnyId, ClientInfo};
use crate::guard::{Guard, PortalAuthed};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::portal::invoices::{self as app, PortalInvoiceDetailOut};
use holdfast_core::error::ErrorCode;
use holdfast_core::invoicing::invoices::{LineOut, PaymentKind, PaymentMethod};
use holdfast_store::portal::auth::PortalActor;

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Client portal", summary);
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/invoices/{id}",
        Guard::Portal,
        doc("One of the customer's invoices: lines, taxes, totals, payments, PDF, Pay"),
        get(view_invoice),
    );
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/invoices/{id}/pdf",
        Guard::Portal,
        doc("One of the customer's invoices as a PDF"),
        get(invoice_pdf),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/invoices/{id}/pay",
        Guard::Portal,
        doc("Pay: to the provider's checkout for the open amount").redirect(),
        post(invoice_pay),
    );
}

/// A payment as the page lists it.
struct PaymentRow {
    date: String,
    what: &'static str,
    how: &'static str,
    amount: String,
}

#[derive(Template)]
#[template(path = "portal_invoice.html")]
struct InvoicePage {
    frame: PortalFrame,
    number: String,
    status: String,
    issue_date: Option<String>,
    due_date: Option<String>,
    lines: Vec<LineOut>,
    net: String,
    tax: String,
    total: String,
    paid: String,
    has_payments: bool,
    balance_due: Option<String>,
    payment_instructions: Vec<String>,
    payments: Vec<PaymentRow>,
    notes: Option<String>,
    pdf_path: String,
    pay_path: String,
    payable: bool,
    /// Back from the provider's checkout (`?paid=1`): thanked, nothing more (and not at all
    /// once nothing is open: the status then says it is paid).
    returned: bool,
    /// Why Pay was refused.
    error: Option<String>,
}

fn method_words(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Online => "online",
        PaymentMethod::Card => "card",
        PaymentMethod::Cash => "cash",
        PaymentMethod::BankTransfer => "bank transfer",
        PaymentMethod::Cheque => "cheque",
        PaymentMethod::Other => "other",
    }
}

fn render(
    state: &AppState,
    actor: &PortalActor,
    invoice: PortalInvoiceDetailOut,
    returned: bool,
    error: Option<String>,
) -> InvoicePage {
    let currency = invoice.currency.clone();
    let with = |amount: &str| format!("{amount} {currency}");
    let base = format!("/portal/{}/invoices/{}", actor.workspace_slug, invoice.id);
    // A decimal text of what is open, never negative: owed when a digit is not zero.
    let owed = invoice
        .balance_due
        .bytes()
        .any(|b| matches!(b, b'1'..=b'9'));
    InvoicePage {
        frame: PortalFrame::of(state, actor),
        number: invoice.number,
        status: invoice.status_words,
        issue_date: invoice.issue_date,
        due_date: invoice.due_date,
        lines: invoice.lines,
        net: with(&invoice.net),
        tax: with(&invoice.tax),
        total: with(&invoice.total),
        paid: with(&invoice.paid),
        has_payments: !invoice.payments.is_empty(),
        balance_due: owed.then(|| with(&invoice.balance_due)),
        payment_instructions: invoice
            .payment_instructions
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
        payments: invoice
            .payments
            .iter()
            .map(|p| PaymentRow {
                date: p.date.clone(),
                what: match p.kind {
                    PaymentKind::Payment => "Payment",
                    PaymentKind::Refund => "Refund",
                },
                how: method_words(p.method),
                amount: with(&p.amount),
            })
            .collect(),
        notes: invoice.notes,
        pdf_path: format!("{base}/pdf"),
        pay_path: format!("{base}/pay"),
        payable: invoice.payable,
        returned,
        error,
    }
}

async fn view_invoice(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    AnyId(id): AnyId,
    uri: Uri,
) -> ApiResult<Response> {
    let invoice = app::get(&state, &actor, &id).await?;
    // The provider's success address adds `paid=1`; it proves nothing, so it only thanks.
    let returned = uri
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair == "paid=1"));
    Ok(page(
        StatusCode::OK,
        &render(&state, &actor, invoice, returned, None),
    ))
}

async fn invoice_pdf(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    AnyId(id): AnyId,
) -> ApiResult<Response> {
    let pdf = app::pdf(&state, &actor, &id).await?;
    let mut response = crate::download::pdf_response(pdf.bytes, &pdf.filename, false);
    let headers = response.headers_mut();
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    Ok(response)
}

async fn invoice_pay(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
    AnyId(id): AnyId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let origin = audit::portal_origin(&actor, &client);
    match app::pay(&state, &actor, &origin, &id).await {
        Ok(checkout) => Ok(see_other(&checkout.url, is_htmx(&headers))),
        // Refused (nothing open, no payment account): the page again, saying why.
        Err(e) if e.code == ErrorCode::Conflict => {
            let invoice = app::get(&state, &actor, &id).await?;
            Ok(page(
                StatusCode::CONFLICT,
                &render(&state, &actor, invoice, false, Some(e.detail)),
            ))
        }
        Err(e) => Err(Problem::from(e)),
    }
}
