//! The actions of an issued invoice's page (`/app/invoices/{id}/…`), each through the
//! application function the API's route calls, each refused as the API refuses it (shown
//! next to its form): a payment or refund recorded by hand, a full credit note, voiding,
//! mailing it to the customer with its PDF, its public link issued (shown once, on the page
//! that answers) or revoked, and a checkout opened with the workspace's payment account (its
//! address shown to open or pass on). A role for which `invoices.amount` is not writable gets
//! none of the money forms, and the application layer refuses them to it anyway.

use crate::audit;
use crate::console::invoices::{Extra, load, refused, render_invoice};
use crate::console::{self, is_htmx, see_other};
use crate::extract::ClientInfo;
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::post;
use holdfast_app::invoicing::documents::{self, SendIn};
use holdfast_app::invoicing::invoices as app;
use holdfast_app::invoicing::links;
use holdfast_app::invoicing::payments::checkout_for_staff;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::invoicing::invoices::{
    CreditNoteIn, PaymentIn, PaymentKind, PaymentMethod, VoidIn,
};
use serde::Deserialize;

const WRITE: Guard = Guard::Staff {
    permission: Permission::InvoicesWrite,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Invoicing, |t| {
        let doc = |summary| Doc::page("Console", summary);
        t.add(
            Method::POST,
            "/app/invoices/{id}/payments",
            WRITE,
            doc("Record a payment received by hand").redirect(),
            post(payment_record),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/refunds",
            WRITE,
            doc("Record money given back").redirect(),
            post(refund_record),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/credit-notes",
            WRITE,
            doc("Issue a credit note for the whole invoice").redirect(),
            post(credit_issue),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/void",
            WRITE,
            doc("Void an issued invoice on which no money is kept").redirect(),
            post(invoice_void),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/send",
            WRITE,
            doc("Mail the invoice to its customer with its PDF").redirect(),
            post(invoice_send),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/public-link",
            WRITE,
            doc("Issue the invoice's public link: the page answers it, shown once"),
            post(link_issue),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/public-link/revoke",
            WRITE,
            doc("Revoke the invoice's public link").redirect(),
            post(link_revoke),
        );
        t.add(
            Method::POST,
            "/app/invoices/{id}/checkout",
            WRITE,
            doc("Open a checkout for the balance due: the page answers its address"),
            post(checkout_open),
        );
    });
}

/// Every field of the action forms; each action reads what it needs (a form naming other
/// fields is not refused for them).
#[derive(Deserialize, Default)]
struct ActionForm {
    method: Option<String>,
    amount: Option<String>,
    date: Option<String>,
    reference: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    with_link: Option<String>,
}

fn filled(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

async fn money_record(
    state: AppState,
    actor: holdfast_store::identity::auth::Actor,
    client: ClientInfo,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    kind: PaymentKind,
) -> ApiResult<Response> {
    // The invoice first: another workspace's id is 404 whatever the form holds.
    load(&state, &actor, &id).await?;
    let form: ActionForm = console::form(&headers, &body)?;
    let which = match kind {
        PaymentKind::Payment => "payment",
        PaymentKind::Refund => "refund",
    };
    let method = match filled(&form.method).as_deref().map(PaymentMethod::parse) {
        Some(Some(method)) => method,
        _ => {
            let problem = Problem::field(
                ErrorCode::Validation,
                "method",
                "choose how the money changed hands: bank transfer, cash, card, cheque or other",
            );
            return refused(&state, &actor, &id, which, problem).await;
        }
    };
    let payment = PaymentIn {
        amount: filled(&form.amount).unwrap_or_default(),
        method,
        date: filled(&form.date),
        reference: filled(&form.reference),
    };
    let origin = audit::origin(&actor, &client);
    match app::record_money(&state, &actor, &origin, &id, kind, &payment).await {
        Ok(_) => Ok(see_other(
            &format!("/app/invoices/{id}?done={which}"),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, &id, which, Problem(e)).await,
    }
}

async fn payment_record(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    money_record(
        state,
        actor,
        client,
        id,
        headers,
        body,
        PaymentKind::Payment,
    )
    .await
}

async fn refund_record(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    money_record(state, actor, client, id, headers, body, PaymentKind::Refund).await
}

async fn credit_issue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    load(&state, &actor, &id).await?;
    let form: ActionForm = console::form(&headers, &body)?;
    let credit = CreditNoteIn {
        reason: filled(&form.reason).unwrap_or_default(),
        lines: None,
    };
    let origin = audit::origin(&actor, &client);
    match app::credit(&state, &actor, &origin, &id, &credit).await {
        Ok(note) => {
            let note = note.as_json()["id"].as_str().unwrap_or(&id).to_owned();
            Ok(see_other(
                &format!("/app/invoices/{note}?done=credited"),
                is_htmx(&headers),
            ))
        }
        Err(e) => refused(&state, &actor, &id, "credit", Problem(e)).await,
    }
}

async fn invoice_void(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    load(&state, &actor, &id).await?;
    let form: ActionForm = console::form(&headers, &body)?;
    let void = VoidIn {
        reason: filled(&form.reason).unwrap_or_default(),
    };
    let origin = audit::origin(&actor, &client);
    match app::void(&state, &actor, &origin, &id, &void).await {
        Ok(_) => Ok(see_other(
            &format!("/app/invoices/{id}?done=voided"),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, &id, "void", Problem(e)).await,
    }
}

async fn invoice_send(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    load(&state, &actor, &id).await?;
    let form: ActionForm = console::form(&headers, &body)?;
    // A link is handed out only by a role that may write amounts (as the link route demands).
    let may_link = crate::console::invoices::Money::of(&actor.role).write;
    let send = SendIn {
        message: filled(&form.message),
        with_link: Some(may_link && form.with_link.as_deref() == Some("yes")),
    };
    let origin = audit::origin(&actor, &client);
    match documents::send(&state, &actor, &origin, &id, &send).await {
        Ok(_) => Ok(see_other(
            &format!("/app/invoices/{id}?done=sent"),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, &id, "send", Problem(e)).await,
    }
}

async fn link_issue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    load(&state, &actor, &id).await?;
    let _: ActionForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    match links::issue_invoice_link(&state, &actor, &origin, &id).await {
        Ok(issued) => {
            let inv = load(&state, &actor, &id).await?;
            let extra = Extra {
                shown_once: Some((
                    "The invoice's public link",
                    "Copy it now: it is shown this once (only its fingerprint is kept). Any earlier link opens nothing from now on.",
                    issued.url.expose().clone(),
                )),
                ..Extra::default()
            };
            render_invoice(&state, &actor, StatusCode::OK, inv, extra).await
        }
        Err(e) => refused(&state, &actor, &id, "link", Problem(e)).await,
    }
}

async fn link_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    load(&state, &actor, &id).await?;
    let _: ActionForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    match links::revoke_invoice_link(&state, &actor, &origin, &id).await {
        Ok(had) => Ok(see_other(
            &format!(
                "/app/invoices/{id}?done={}",
                if had { "link_revoked" } else { "no_link" }
            ),
            is_htmx(&headers),
        )),
        Err(e) => refused(&state, &actor, &id, "link", Problem(e)).await,
    }
}

async fn checkout_open(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    load(&state, &actor, &id).await?;
    let _: ActionForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    let return_to = state.config.public_url.clone();
    match checkout_for_staff(&state, &actor, &origin, &id, &return_to).await {
        Ok(checkout) => {
            let inv = load(&state, &actor, &id).await?;
            let extra = Extra {
                shown_once: Some((
                    "Checkout opened",
                    "Open it to take the payment now, or send the address to the customer. The invoice shows as paid once the provider confirms the payment.",
                    checkout.url,
                )),
                done: Some(format!(
                    "A checkout for {} {} was opened with {}.",
                    checkout.amount,
                    checkout.currency,
                    checkout.provider.as_str()
                )),
                ..Extra::default()
            };
            render_invoice(&state, &actor, StatusCode::OK, inv, extra).await
        }
        Err(e) => refused(&state, &actor, &id, "checkout", Problem(e)).await,
    }
}
