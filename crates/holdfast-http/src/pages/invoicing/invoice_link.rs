//! `/p/invoices/{token}`: an invoice's public page for the customer, opened with the link a
//! member issued (`POST /api/v1/invoices/{id}/public-link`, or mailed with the invoice): the
//! invoice, its PDF (`…/pdf`) and a Pay button (`POST …/pay`, a same-site form) that sends the
//! customer to the provider's checkout for the open amount; `/p/paid` is where the provider
//! sends them back (the token never travels to the provider). Only the provider's verified
//! webhook records the payment. A link that opens nothing answers the same 404 page as a job's
//! link. Every answer: `noindex`, no referrer, the console's policy, not cached.

use crate::console;
use crate::extract::ClientInfo;
use crate::guard::{Guard, RateLimit};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::State;
use axum::http::header::REFERRER_POLICY;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::invoicing::links::{self as app, InvoicePage};
use holdfast_core::invoicing::invoices::{DocumentKind, LineOut};

const PUBLIC: Guard = Guard::Public {
    rate_limit: RateLimit::Standard,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Public links", summary);
    t.add(
        Method::GET,
        "/p/invoices/{token}",
        PUBLIC,
        doc("An invoice's page for the customer: lines, totals, balance due, PDF, Pay"),
        get(view_invoice_link),
    );
    t.add(
        Method::GET,
        "/p/invoices/{token}/pdf",
        PUBLIC,
        doc("An invoice's PDF for the customer"),
        get(invoice_link_pdf),
    );
    t.add(
        Method::POST,
        "/p/invoices/{token}/pay",
        PUBLIC,
        doc("Pay: to the provider's checkout for the open amount").redirect(),
        post(invoice_link_pay),
    );
    t.add(
        Method::GET,
        app::RETURN_PATH,
        PUBLIC,
        doc("Where the payment provider sends the customer back"),
        get(paid),
    );
}

#[derive(Template)]
#[template(path = "public_invoice.html")]
struct InvoiceLinkPage {
    workspace: String,
    title: &'static str,
    number: String,
    status: &'static str,
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
    pdf_path: String,
    pay_path: String,
    payable: bool,
}

#[derive(Template)]
#[template(path = "public_gone.html")]
struct GonePage;

#[derive(Template)]
#[template(path = "public_paid.html")]
struct PaidPage;

/// A public page's answer: kept out of search engines, referrers and caches.
fn public(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

/// The one answer to a link that opens nothing.
fn gone() -> Response {
    public(console::render(StatusCode::NOT_FOUND, &GonePage))
}

/// The token as sent (not percent-decoded: anything but base62 fails its shape check and
/// meets the same 404), between `/p/invoices/` and `suffix`.
fn token<'a>(uri: &'a Uri, suffix: &str) -> &'a str {
    uri.path()
        .strip_prefix("/p/invoices/")
        .and_then(|rest| rest.strip_suffix(suffix))
        .unwrap_or_default()
}

async fn view_invoice_link(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    let token = token(&uri, "");
    let Some(page) = app::invoice_page(&state, token).await? else {
        return Ok(gone());
    };
    let InvoicePage {
        workspace,
        invoice,
        status_words,
        balance_due,
        payable,
    } = page;
    let currency = invoice.currency.clone();
    let with = |amount: &str| format!("{amount} {currency}");
    // How to pay, only while something is owed (not on a credit note, a paid or a void invoice).
    let owed = invoice.kind == DocumentKind::Invoice && balance_due.is_some();
    let page = InvoiceLinkPage {
        workspace,
        title: match invoice.kind {
            DocumentKind::Invoice => "Invoice",
            DocumentKind::CreditNote => "Credit note",
        },
        number: invoice.number.clone().unwrap_or_default(),
        status: status_words,
        issue_date: invoice.issue_date.clone(),
        due_date: (invoice.kind == DocumentKind::Invoice)
            .then(|| invoice.due_date.clone())
            .flatten(),
        net: with(&invoice.net),
        tax: with(&invoice.tax),
        total: with(&invoice.total),
        paid: with(&invoice.paid),
        has_payments: !invoice.payments.is_empty(),
        balance_due,
        payment_instructions: invoice
            .payment_instructions
            .as_deref()
            .filter(|_| owed)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
        lines: invoice.lines,
        pdf_path: format!("/p/invoices/{token}/pdf"),
        pay_path: format!("/p/invoices/{token}/pay"),
        payable,
    };
    Ok(public(console::render(StatusCode::OK, &page)))
}

async fn invoice_link_pdf(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    let token = token(&uri, "/pdf");
    let Some(pdf) = app::invoice_pdf(&state, token).await? else {
        return Ok(gone());
    };
    Ok(public(crate::download::pdf_response(
        pdf.bytes,
        &pdf.filename,
        false,
    )))
}

async fn invoice_link_pay(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    client: ClientInfo,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    let token = token(&uri, "/pay");
    let ip = client.ip.unwrap_or_default();
    match app::pay(&state, token, &ip).await {
        Ok(Some(checkout)) => Ok(public(console::see_other(&checkout.url, false))),
        Ok(None) => Ok(gone()),
        Err(e) => Ok(public(console::error_page(
            StatusCode::CONFLICT,
            "Not payable online now",
            &e.detail,
        ))),
    }
}

async fn paid() -> Response {
    public(console::render(StatusCode::OK, &PaidPage))
}
