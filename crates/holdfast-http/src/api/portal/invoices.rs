//! `/api/portal/v1/invoices` (the client portal's realm, `Guard::Portal`): a signed-in
//! customer's own issued invoices, listed (newest first, cursor paging), one read whole with
//! its payments, its PDF, and Pay (`POST …/pay`: a checkout for the open amount through the
//! function an invoice's public page uses, answered as `{checkout_url}`; it records nothing:
//! only the provider's verified webhook does). A draft, another contact's invoice, a malformed
//! id and invoicing off in the workspace are one 404; Pay on a paid or void invoice, or without
//! a payment account, is 409. Through `holdfast_app::portal::invoices`, like the pages.

use crate::audit;
use crate::extract::{AnyId, ClientInfo, QueryParams};
use crate::guard::{Guard, PortalAuthed};
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::portal::invoices::{
    self as app, PortalCheckoutOut, PortalInvoiceDetailOut, PortalInvoiceOut,
};
use holdfast_core::ids::InvoiceId;
use holdfast_core::validate::Errors;
use serde::Deserialize;

const LIST_QUERY: &[QueryParam] = &[LIMIT, CURSOR];

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("portal", summary);
    t.add(
        Method::GET,
        "/api/portal/v1/invoices",
        Guard::Portal,
        doc("The signed-in customer's issued invoices, newest first")
            .query(LIST_QUERY)
            .response::<Page<PortalInvoiceOut>>(200),
        get(portal_invoice_list),
    );
    t.add(
        Method::GET,
        "/api/portal/v1/invoices/{id}",
        Guard::Portal,
        doc("One of the signed-in customer's invoices: lines, taxes, totals, payments, what is open")
            .response::<PortalInvoiceDetailOut>(200),
        get(portal_invoice_get),
    );
    t.add(
        Method::GET,
        "/api/portal/v1/invoices/{id}/pdf",
        Guard::Portal,
        doc("One of the signed-in customer's invoices as a PDF").text("application/pdf"),
        get(portal_invoice_pdf),
    );
    t.add(
        Method::POST,
        "/api/portal/v1/invoices/{id}/pay",
        Guard::Portal,
        doc("Open a checkout for what is open on the invoice (409 when nothing is, or no payment account is connected); the payment is recorded when the provider confirms it")
            .response::<PortalCheckoutOut>(201),
        post(portal_invoice_pay),
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

async fn portal_invoice_list(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<PortalInvoiceOut>>> {
    let mut errors = Errors::default();
    let (limit, after) =
        page_params_into(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let after = after.and_then(|text| {
        let id = InvoiceId::parse(&text);
        if id.is_none() {
            errors.push("cursor", "is not a cursor this API issued");
        }
        id
    });
    errors.finish(()).map_err(Problem::validation)?;
    let rows = app::list(&state, &actor, after.as_ref(), i64::from(limit) + 1).await?;
    Ok(Json(page_of(rows, limit, |i| i.id.clone())))
}

async fn portal_invoice_get(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    AnyId(id): AnyId,
) -> ApiResult<Json<PortalInvoiceDetailOut>> {
    Ok(Json(app::get(&state, &actor, &id).await?))
}

async fn portal_invoice_pdf(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    AnyId(id): AnyId,
) -> ApiResult<Response> {
    let pdf = app::pdf(&state, &actor, &id).await?;
    Ok(crate::download::pdf_response(
        pdf.bytes,
        &pdf.filename,
        false,
    ))
}

async fn portal_invoice_pay(
    State(state): State<AppState>,
    PortalAuthed(actor): PortalAuthed,
    client: ClientInfo,
    AnyId(id): AnyId,
) -> ApiResult<(StatusCode, Json<PortalCheckoutOut>)> {
    let origin = audit::portal_origin(&actor, &client);
    let checkout = app::pay(&state, &actor, &origin, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(PortalCheckoutOut {
            checkout_url: checkout.url,
            amount: checkout.amount,
            currency: checkout.currency,
        }),
    ))
}
