//! `/app/invoices/{id}`: one invoice or credit note as the reader's role may see it (through
//! the `Visible` the application layer answers: without `invoices.amount` no money anywhere,
//! and no money forms). A draft opens in its editor: lines in a table (a line is added or
//! removed by the form's own submit buttons: the server renders the rows), currency, terms,
//! due date and notes, with live totals — each change posts the form to
//! `/app/invoices/{id}/totals`, which
//! works the figures out with the same validation and rounding as a save
//! (`holdfast_app::invoicing::invoices::preview`) and writes nothing. Save, Issue (confirmed
//! with a checkbox, no dialog) and Delete go through the API's application functions, as does
//! the PDF preview (`/app/invoices/{id}/pdf`, shown inline in a new tab: the console's policy
//! forbids frames). The money actions of an issued invoice are in `invoice_actions.rs`.

use crate::audit;
use crate::console::invoices::{
    EditorForm, Extra, Totals, TotalsBox, friendly, load, refused, render_invoice,
};
use crate::console::{self, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::invoicing::documents;
use holdfast_app::invoicing::invoices as app;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::invoicing::invoices::{InvoicePatch, IssueIn};
use holdfast_core::validate::FieldError;
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
            "/app/invoices/{id}",
            READ,
            Doc::page("Console", "An invoice: a draft's editor, or an issued invoice and its money"),
            get(invoice_page),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}",
            WRITE,
            Doc::page(
                "Console",
                "Save a draft's lines, dates and notes (or add or remove a line before saving)",
            )
            .redirect(),
            post(draft_save),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/totals",
            WRITE,
            Doc::page(
                "Console",
                "A draft's totals for its lines as typed, worked out without saving (the editor's live preview)",
            ),
            post(draft_totals),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/issue",
            WRITE,
            Doc::page("Console", "Issue a draft: it gets its number and dates").redirect(),
            post(draft_issue),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/delete",
            WRITE,
            Doc::page("Console", "Delete a draft invoice").redirect(),
            post(draft_delete),
        );
        t.add(
            Method::GET,
            "/app/invoices/{id}/pdf",
            READ,
            Doc::page("Console", "Preview an invoice's PDF (inline, in a new tab)")
                .text("application/pdf"),
            get(invoice_pdf),
        );
    });
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// What a redirect's `?done=` says happened.
pub(crate) fn done_words(done: Option<&str>) -> Option<String> {
    let words = match done? {
        "saved" => "The draft was saved.",
        "issued" => "The invoice was issued: it has its number, and its lines are final.",
        "payment" => "The payment was recorded.",
        "refund" => "The refund was recorded.",
        "credited" => "The credit note was issued.",
        "voided" => "The invoice was voided.",
        "sent" => "The invoice was queued to be mailed to the customer with its PDF.",
        "link_revoked" => "The public link was revoked: it opens nothing from now on.",
        "no_link" => "This invoice had no public link to revoke.",
        _ => return None,
    };
    Some(words.to_owned())
}

async fn invoice_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let inv = load(&state, &actor, &id).await?;
    let extra = Extra {
        done: done_words(query.done.as_deref()),
        ..Extra::default()
    };
    render_invoice(&state, &actor, StatusCode::OK, inv, extra).await
}

/// The editor's form: its pairs, in order (the lines' fields are indexed).
fn editor_form(headers: &HeaderMap, body: &Bytes) -> ApiResult<EditorForm> {
    let pairs: Vec<(String, String)> = console::form(headers, body)?;
    Ok(EditorForm::read(pairs))
}

/// Text that is absent when empty.
fn filled(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The change a save makes: prices and currency only for a role that may write amounts (the
/// others' forms have none), the dates and notes for everyone who may edit.
fn patch_of(form: &EditorForm, prices: bool) -> Result<InvoicePatch, FieldError> {
    let terms = match filled(&form.payment_terms_days) {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            FieldError::new("payment_terms_days", "must be a whole number of days")
        })?),
    };
    Ok(InvoicePatch {
        lines: prices.then(|| form.lines.clone()),
        currency: if prices { filled(&form.currency) } else { None },
        payment_terms_days: Some(terms),
        due_date: Some(filled(&form.due_date)),
        notes: Some(filled(&form.notes)),
        ..InvoicePatch::default()
    })
}

/// Saves the draft (`action=save`), or shows it again with a line added (`add`) or removed
/// (`remove.{i}`) — nothing is written until Save.
async fn draft_save(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let inv = load(&state, &actor, &id).await?;
    let mut form = editor_form(&headers, &body)?;
    let prices = crate::console::invoices::Money::of(&actor.role).write;
    let action = form.action.clone();
    if action == "add" || action.starts_with("remove.") {
        if action == "add" {
            if form.lines.len() >= holdfast_core::invoicing::invoices::MAX_LINES {
                return refused_editor(&state, &actor, inv, form, "at most 200 lines").await;
            }
            form.lines.push(holdfast_core::invoicing::invoices::LineIn {
                description: String::new(),
                quantity: "1".to_owned(),
                unit_price: String::new(),
                tax_percent: None,
                discount_percent: None,
            });
        } else if let Some(i) = action
            .strip_prefix("remove.")
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|i| *i < form.lines.len() && form.lines.len() > 1)
        {
            form.lines.remove(i);
        }
        let totals = typed_totals(&state, &actor, &id, &form, prices).await?;
        let extra = Extra {
            typed: Some(form),
            typed_totals: totals,
            ..Extra::default()
        };
        return render_invoice(&state, &actor, StatusCode::OK, inv, extra).await;
    }
    let patch = match patch_of(&form, prices) {
        Ok(patch) => patch,
        Err(e) => {
            let message = console::explain(&Problem::validation(vec![e])).1;
            return refused_editor(&state, &actor, inv, form, &message).await;
        }
    };
    let origin = audit::origin(&actor, &client);
    match app::update(&state, &actor, &origin, &id, &patch).await {
        Ok(_) => Ok(see_other(
            &format!("/app/invoices/{id}?done=saved"),
            is_htmx(&headers),
        )),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let message = if e.errors.is_empty() {
                e.detail.clone()
            } else {
                friendly(&e.errors).join("; ")
            };
            let totals = typed_totals(&state, &actor, &id, &form, prices).await?;
            let extra = Extra {
                error: Some(("editor", format!("Not saved. {message}"))),
                typed: Some(form),
                typed_totals: totals,
                ..Extra::default()
            };
            render_invoice(&state, &actor, status, inv, extra).await
        }
    }
}

/// The editor again, as typed, with `message` next to it (422).
async fn refused_editor(
    state: &AppState,
    actor: &holdfast_store::identity::auth::Actor,
    inv: crate::console::invoices::SeenInvoice,
    form: EditorForm,
    message: &str,
) -> ApiResult<Response> {
    let extra = Extra {
        error: Some(("editor", format!("Not saved. {message}"))),
        typed: Some(form),
        ..Extra::default()
    };
    render_invoice(state, actor, StatusCode::UNPROCESSABLE_ENTITY, inv, extra).await
}

/// The typed lines' figures (or what is wrong with them), for a reader who prices lines.
async fn typed_totals(
    state: &AppState,
    actor: &holdfast_store::identity::auth::Actor,
    id: &str,
    form: &EditorForm,
    prices: bool,
) -> ApiResult<Option<Totals>> {
    if !prices {
        return Ok(None);
    }
    Ok(Some(
        preview_totals(state, actor, id, form)
            .await?
            .unwrap_or_else(|t| t),
    ))
}

/// The preview's figures (`Ok`), or a totals box naming what is wrong line by line (`Err`);
/// a refusal that is not about the lines (no such draft, not a draft, no amounts) is the
/// outer error.
async fn preview_totals(
    state: &AppState,
    actor: &holdfast_store::identity::auth::Actor,
    id: &str,
    form: &EditorForm,
) -> ApiResult<Result<Totals, Totals>> {
    let currency = filled(&form.currency);
    match app::preview(state, actor, id, currency.as_deref(), &form.lines).await {
        Ok(p) => Ok(Ok(Totals::of_preview(&p))),
        Err(e) if e.code == ErrorCode::Validation => {
            let errors = if e.errors.is_empty() {
                vec![e.detail]
            } else {
                friendly(&e.errors)
            };
            Ok(Err(Totals {
                errors,
                ..Totals::default()
            }))
        }
        Err(e) => Err(Problem(e)),
    }
}

/// The editor's live totals: the box alone, worked out from the form as typed; 422 with the
/// problems named line by line (`Line 2, quantity: …`) when they cannot be.
async fn draft_totals(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form = editor_form(&headers, &body)?;
    match preview_totals(&state, &actor, &id, &form).await? {
        Ok(totals) => Ok(console::render(StatusCode::OK, &TotalsBox { totals })),
        Err(totals) => Ok(console::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &TotalsBox { totals },
        )),
    }
}

#[derive(Deserialize)]
struct IssueForm {
    confirm: Option<String>,
    issue_date: Option<String>,
}

async fn draft_issue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    load(&state, &actor, &id).await?;
    let form: IssueForm = console::form(&headers, &body)?;
    if form.confirm.as_deref() != Some("yes") {
        let problem = Problem::field(
            ErrorCode::Validation,
            "confirm",
            "tick the box to confirm: issuing takes a number and fixes the lines",
        );
        return refused(&state, &actor, &id, "issue", problem).await;
    }
    let body = IssueIn {
        issue_date: form.issue_date.as_deref().and_then(filled),
    };
    let origin = audit::origin(&actor, &client);
    match app::issue(&state, &actor, &origin, &id, &body).await {
        Ok(_) => Ok(see_other(
            &format!("/app/invoices/{id}?done=issued"),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, &id, "issue", Problem(e)).await,
    }
}

async fn draft_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let _: Vec<(String, String)> = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    match app::delete(&state, &actor, &origin, &id).await {
        Ok(()) => Ok(see_other("/app/invoices?done=deleted", is_htmx(&headers))),
        Err(e) => refused(&state, &actor, &id, "delete", Problem(e)).await,
    }
}

/// The invoice's PDF, as `GET /api/v1/invoices/{id}/pdf` renders it for this reader (refused
/// to a role that may not see amounts), shown inline.
async fn invoice_pdf(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let pdf = documents::pdf(&state, &actor, &id).await?;
    Ok(crate::download::pdf_response(
        pdf.bytes,
        &pdf.filename,
        true,
    ))
}
