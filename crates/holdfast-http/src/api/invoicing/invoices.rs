//! `/api/v1/invoices` (module `invoicing`): drafts by hand or from a job, issuing (the number
//! is taken then), payments and refunds recorded by hand, credit notes, voiding; and
//! `/api/v1/invoicing/settings` (prefixes, number sequences, terms, the business as printed,
//! payment instructions). Reading needs `invoices.read`, changing `invoices.write`; every
//! answer is cut by the reader's field rules (`invoices.amount` hides every money key).

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::{Authed, Guard};
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use holdfast_app::idempotency::Retry;
use holdfast_app::invoicing::documents::{self, SendIn, SendOut};
use holdfast_app::invoicing::invoices::{self as app, ListQuery};
use holdfast_app::invoicing::links;
use holdfast_core::access::fields::Visible;
use holdfast_core::access::policy::Permission;
use holdfast_core::ids::{ContactId, InvoiceId, JobId};
use holdfast_core::invoicing::invoices::{
    CreditNoteIn, DocumentKind, InvoiceIn, InvoiceOut, InvoicePatch, InvoiceStatus, IssueIn,
    PaymentIn, PaymentKind, SettingsBody, VoidIn,
};
use holdfast_core::validate::Errors;
use holdfast_store::identity::auth::Actor;
use holdfast_store::invoicing::invoices::Filter;
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::InvoicesRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::InvoicesWrite,
};

const LIST_QUERY: &[QueryParam] = &[
    LIMIT,
    CURSOR,
    QueryParam {
        name: "status",
        description: "draft, issued, partially_paid, paid or void",
        integer: false,
    },
    QueryParam {
        name: "kind",
        description: "invoice or credit_note",
        integer: false,
    },
    QueryParam {
        name: "contact_id",
        description: "Documents billing this contact",
        integer: false,
    },
    QueryParam {
        name: "job_id",
        description: "Documents billing this job",
        integer: false,
    },
    QueryParam {
        name: "overdue",
        description: "true: only issued, unsettled invoices past their due date",
        integer: false,
    },
];

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("invoices", summary);
    t.add(
        Method::POST,
        "/api/v1/invoices",
        WRITE,
        doc("Create a draft invoice by hand, or from a job (its line items, priced at zero to fill in)")
            .request::<InvoiceIn>()
            .response::<InvoiceOut>(201)
            .idempotent(),
        post(invoice_create),
    );
    t.add(
        Method::GET,
        "/api/v1/invoices",
        READ,
        doc("List invoices and credit notes, newest first")
            .query(LIST_QUERY)
            .response::<Page<InvoiceOut>>(200),
        get(invoice_list),
    );
    t.add(
        Method::GET,
        "/api/v1/invoices/{id}",
        READ,
        doc("Get an invoice or credit note with its lines, taxes, totals and payments")
            .response::<InvoiceOut>(200),
        get(invoice_get),
    );
    t.add(
        Method::PATCH,
        "/api/v1/invoices/{id}",
        WRITE,
        doc("Change a draft invoice (merge patch); issued invoices are corrected by credit notes")
            .request::<InvoicePatch>()
            .response::<InvoiceOut>(200),
        patch(invoice_update),
    );
    t.add(
        Method::DELETE,
        "/api/v1/invoices/{id}",
        WRITE,
        doc("Delete a draft invoice (issued ones are kept: void or credit them)").no_content(),
        delete(invoice_delete),
    );
    t.add(
        Method::POST,
        "/api/v1/invoices/{id}/issue",
        WRITE,
        doc("Issue a draft: it gets the next number of the sequence, its dates and bill-to")
            .request::<IssueIn>()
            .response::<InvoiceOut>(200),
        post(invoice_issue),
    );
    t.add(
        Method::POST,
        "/api/v1/invoices/{id}/void",
        WRITE,
        doc("Void an issued invoice on which no money is kept (its number stays used)")
            .request::<VoidIn>()
            .response::<InvoiceOut>(200),
        post(invoice_void),
    );
    t.add(
        Method::POST,
        "/api/v1/invoices/{id}/payments",
        WRITE,
        doc("Record a payment received by hand (cash, cheque, bank transfer, card), at most the balance due")
            .request::<PaymentIn>()
            .response::<InvoiceOut>(201)
            .idempotent(),
        post(invoice_payment),
    );
    t.add(
        Method::POST,
        "/api/v1/invoices/{id}/refunds",
        WRITE,
        doc("Record money given back, at most what was paid and not refunded")
            .request::<PaymentIn>()
            .response::<InvoiceOut>(201)
            .idempotent(),
        post(invoice_refund),
    );
    t.add(
        Method::POST,
        "/api/v1/invoices/{id}/credit-notes",
        WRITE,
        doc("Issue a credit note against an invoice (all its lines, or the lines given); answers the credit note")
            .request::<CreditNoteIn>()
            .response::<InvoiceOut>(201),
        post(invoice_credit),
    );
    t.add(
        Method::POST,
        "/api/v1/invoices/{id}/public-link",
        WRITE,
        doc("Issue the invoice's public link for the customer (again: the old link opens nothing); the token is shown once")
            .response::<PublicLinkOut>(201),
        post(public_link_issue),
    );
    t.add(
        Method::DELETE,
        "/api/v1/invoices/{id}/public-link",
        WRITE,
        doc("Revoke the invoice's public link: it opens nothing from now on").no_content(),
        delete(public_link_revoke),
    );
    t.add(
        Method::GET,
        "/api/v1/invoices/{id}/pdf",
        READ,
        doc("The invoice or credit note as a PDF (refused to roles that may not see amounts)")
            .text("application/pdf"),
        get(invoice_pdf),
    );
    t.add(
        Method::POST,
        "/api/v1/invoices/{id}/send",
        WRITE,
        doc("Mail the issued invoice to its customer with its PDF attached (a transactional mail through the consent choke point)")
            .request::<SendIn>()
            .response::<SendOut>(202),
        post(invoice_send),
    );
    t.add(
        Method::GET,
        "/api/v1/invoicing/settings",
        READ,
        doc("The workspace's invoicing settings: prefixes, next numbers, terms, currency, the business as printed")
            .response::<SettingsBody>(200),
        get(settings_get),
    );
    t.add(
        Method::PUT,
        "/api/v1/invoicing/settings",
        // Payment instructions tell customers where to send money: a change needs step-up.
        Guard::StaffStepUp {
            permission: Permission::InvoicesWrite,
        },
        doc("Set the invoicing settings (next numbers may only go up)")
            .request::<SettingsBody>()
            .response::<SettingsBody>(200),
        put(settings_put),
    );
}

async fn invoice_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: JsonBody<InvoiceIn>,
) -> ApiResult<Response> {
    let retry = retry_of(&actor, &headers, "invoice.create", &body.digest)?;
    let origin = audit::origin(&actor, &client);
    let answer = app::create_once(&state, &actor, &origin, &body.value, retry.as_ref()).await?;
    Ok(created(answer))
}

/// The request's `Idempotency-Key`, kept for `operation` and the caller.
fn retry_of(
    actor: &Actor,
    headers: &HeaderMap,
    operation: &str,
    digest: &str,
) -> ApiResult<Option<Retry>> {
    Ok(crate::extract::idempotency_key(headers)?
        .map(|key| Retry::new(actor, operation, &key, digest)))
}

/// 201 with the invoice; a retry's answer says it was replayed (`Idempotent-Replayed: true`).
fn created((invoice, replayed): (Visible, bool)) -> Response {
    let mut response = (StatusCode::CREATED, Json(invoice)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

async fn invoice_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Visible>> {
    Ok(Json(app::get(&state, &actor, &id).await?))
}

async fn invoice_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<InvoicePatch>,
) -> ApiResult<Json<Visible>> {
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::update(&state, &actor, &origin, &id, &body.value).await?,
    ))
}

async fn invoice_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let origin = audit::origin(&actor, &client);
    app::delete(&state, &actor, &origin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn invoice_issue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<IssueIn>,
) -> ApiResult<Json<Visible>> {
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::issue(&state, &actor, &origin, &id, &body.value).await?,
    ))
}

async fn invoice_void(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<VoidIn>,
) -> ApiResult<Json<Visible>> {
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::void(&state, &actor, &origin, &id, &body.value).await?,
    ))
}

async fn invoice_payment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<PaymentIn>,
) -> ApiResult<Response> {
    let retry = retry_of(
        &actor,
        &headers,
        &format!("invoice.payment:{id}"),
        &body.digest,
    )?;
    let origin = audit::origin(&actor, &client);
    let answer = app::record_money_once(
        &state,
        &actor,
        &origin,
        &id,
        PaymentKind::Payment,
        &body.value,
        retry.as_ref(),
    )
    .await?;
    Ok(created(answer))
}

async fn invoice_refund(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<PaymentIn>,
) -> ApiResult<Response> {
    let retry = retry_of(
        &actor,
        &headers,
        &format!("invoice.refund:{id}"),
        &body.digest,
    )?;
    let origin = audit::origin(&actor, &client);
    let answer = app::record_money_once(
        &state,
        &actor,
        &origin,
        &id,
        PaymentKind::Refund,
        &body.value,
        retry.as_ref(),
    )
    .await?;
    Ok(created(answer))
}

async fn invoice_credit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<CreditNoteIn>,
) -> ApiResult<(StatusCode, Json<Visible>)> {
    let origin = audit::origin(&actor, &client);
    let out = app::credit(&state, &actor, &origin, &id, &body.value).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// An invoice's public link, shown once.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PublicLinkOut {
    /// The page's address to send the customer (`…/p/invoices/hfpi_…`).
    pub url: String,
    /// The link's token (256 bits; only its SHA-256 is kept).
    pub token: String,
}

async fn public_link_issue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<PublicLinkOut>)> {
    let origin = audit::origin(&actor, &client);
    let issued = links::issue_invoice_link(&state, &actor, &origin, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(PublicLinkOut {
            url: issued.url.expose().clone(),
            token: issued.token.expose().clone(),
        }),
    ))
}

async fn public_link_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let origin = audit::origin(&actor, &client);
    links::revoke_invoice_link(&state, &actor, &origin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn invoice_pdf(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let pdf = documents::pdf(&state, &actor, &id).await?;
    Ok(crate::download::pdf_response(
        pdf.bytes,
        &pdf.filename,
        false,
    ))
}

async fn invoice_send(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<SendIn>,
) -> ApiResult<(StatusCode, Json<SendOut>)> {
    let origin = audit::origin(&actor, &client);
    let out = documents::send(&state, &actor, &origin, &id, &body.value).await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    contact_id: Option<String>,
    job_id: Option<String>,
    overdue: Option<String>,
}

async fn invoice_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListParams>,
) -> ApiResult<Json<Page<Visible>>> {
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
    let mut list = ListQuery::default();
    let filter: &mut Filter = &mut list.filter;
    if let Some(text) = &query.status {
        match InvoiceStatus::parse(text) {
            Some(status) => filter.status = Some(status),
            None => errors.push(
                "status",
                "must be draft, issued, partially_paid, paid or void",
            ),
        }
    }
    if let Some(text) = &query.kind {
        match DocumentKind::parse(text) {
            Some(kind) => filter.kind = Some(kind),
            None => errors.push("kind", "must be invoice or credit_note"),
        }
    }
    if let Some(text) = &query.contact_id {
        match ContactId::parse(text) {
            Some(id) => filter.contact_id = Some(id.to_string()),
            None => errors.push("contact_id", "is not a contact id"),
        }
    }
    if let Some(text) = &query.job_id {
        match JobId::parse(text) {
            Some(id) => filter.job_id = Some(id.to_string()),
            None => errors.push("job_id", "is not a job id"),
        }
    }
    match query.overdue.as_deref() {
        None | Some("false") => {}
        Some("true") => list.overdue = true,
        Some(_) => errors.push("overdue", "must be true or false"),
    }
    errors.finish(()).map_err(Problem::validation)?;
    let rows = app::list(&state, &actor, list, after.as_ref(), i64::from(limit) + 1).await?;
    let page = page_of(rows, limit, |(id, _)| id.clone());
    Ok(Json(Page {
        data: page.data.into_iter().map(|(_, v)| v).collect(),
        next_cursor: page.next_cursor,
    }))
}

async fn settings_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<SettingsBody>> {
    Ok(Json(app::settings(&state, &actor).await?))
}

async fn settings_put(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<SettingsBody>,
) -> ApiResult<Json<SettingsBody>> {
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::save_settings(&state, &actor, &origin, &body.value).await?,
    ))
}
