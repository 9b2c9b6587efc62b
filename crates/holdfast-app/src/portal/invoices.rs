//! A signed-in customer's own invoices, for the client portal's pages and API: listed, one
//! read whole (lines, taxes, totals, what was paid, what is open, the payments made), its PDF
//! (the renderer the staff's and the public link's PDF use) and Pay, which opens a checkout
//! for the open amount through the function an invoice's public page uses
//! (`invoicing::payments::checkout_for_customer`). Coming back from the provider proves
//! nothing: only its verified webhook records the payment. Issued invoices only (a draft is
//! the business's own), read through the customer's scope, so any other id is 404. The
//! portal's routes sit in the `client_portal` module; invoicing off in the workspace is a 404
//! here too.

use crate::audit::Origin;
use crate::invoicing::documents::{Pdf, customer_pdf};
use crate::invoicing::invoices::today;
use crate::invoicing::payments::{checkout_for_customer, payable_online};
use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::InvoiceId;
use holdfast_core::invoicing::invoices::{
    InvoiceStatus, LineOut, PaymentKind, PaymentMethod, TaxOut, amount_text,
};
use holdfast_core::invoicing::payments::CheckoutOut;
use holdfast_core::public_links::invoice_status_words;
use holdfast_store::Lock;
use holdfast_store::invoicing::invoices::{self as invoice_store, Invoice};
use holdfast_store::portal::auth::PortalActor;
use holdfast_store::portal::invoices as store;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One of the customer's invoices in a list. Amounts are decimal texts in `currency`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalInvoiceOut {
    pub id: String,
    /// Like INV-000042.
    pub number: String,
    pub status: InvoiceStatus,
    /// The status as the customer reads it, like "Overdue".
    pub status_words: String,
    pub currency: String,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    /// Not settled and past its due date (in the workspace's time zone).
    pub overdue: bool,
    pub total: String,
    pub paid: String,
    /// What is still to pay (0 when nothing is).
    pub balance_due: String,
}

/// A payment made on the invoice, or money given back.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalPaymentOut {
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    pub amount: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// One of the customer's invoices, whole as the customer reads it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalInvoiceDetailOut {
    pub id: String,
    pub number: String,
    pub status: InvoiceStatus,
    pub status_words: String,
    pub currency: String,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub overdue: bool,
    pub lines: Vec<LineOut>,
    /// Tax per rate.
    pub taxes: Vec<TaxOut>,
    pub net: String,
    pub tax: String,
    pub total: String,
    /// Credited by credit notes.
    pub credited: String,
    pub paid: String,
    pub refunded: String,
    /// What is still to pay (0 when nothing is).
    pub balance_due: String,
    /// Payments and refunds, oldest first.
    pub payments: Vec<PortalPaymentOut>,
    pub notes: Option<String>,
    /// How to pay by other means, while something is owed.
    pub payment_instructions: Option<String>,
    /// Whether it can be paid online now (`POST …/pay`): money is open and the business has
    /// connected a payment account.
    pub payable: bool,
}

/// A checkout opened for the customer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PortalCheckoutOut {
    /// The payment provider's page, where the customer pays. Coming back records nothing: the
    /// invoice shows as paid once the provider confirms the payment.
    pub checkout_url: String,
    /// The open amount the checkout asks for.
    pub amount: String,
    pub currency: String,
}

/// Refuses the customer's invoices when invoicing is off in their workspace: 404, as if the
/// routes were not there (the portal's routes sit in the `client_portal` module only).
fn invoicing_on(actor: &PortalActor) -> AppResult<()> {
    if actor.modules.contains(Module::Invoicing) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            "invoices are not shown in this client portal: the invoicing module is off in \
             this workspace",
        ))
    }
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no invoice of yours with this id")
}

/// What is open on an invoice, in minor units (0 when it is paid, void or over-credited).
fn open_minor(invoice: &Invoice) -> i64 {
    if matches!(
        invoice.status,
        InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid
    ) {
        invoice.settlement.balance_due().max(0)
    } else {
        0
    }
}

fn words(invoice: &Invoice, overdue: bool) -> String {
    let credit_due = invoice.status == InvoiceStatus::Paid && invoice.settlement.balance_due() < 0;
    invoice_status_words(invoice.kind, invoice.status, credit_due, overdue).to_owned()
}

fn is_overdue(invoice: &Invoice, today: &str) -> bool {
    matches!(
        invoice.status,
        InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid
    ) && invoice
        .fields
        .due_date
        .is_some_and(|d| d.to_string().as_str() < today)
}

/// The customer's issued invoices, newest first, after the cursor `after` (`limit` rows at
/// most). One statement: the figures come from the invoice rows themselves.
pub async fn list(
    app: &App,
    actor: &PortalActor,
    after: Option<&InvoiceId>,
    limit: i64,
) -> AppResult<Vec<PortalInvoiceOut>> {
    invoicing_on(actor)?;
    let mut tx = app.db.read(&actor.tenant).await?;
    let day = today(app, &mut tx).await?;
    let rows = store::list(&mut tx, &actor.scope, after, limit).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|i| {
            let currency = i.fields.currency;
            let overdue = is_overdue(&i, &day);
            PortalInvoiceOut {
                id: i.id.to_string(),
                number: i.number.clone().unwrap_or_default(),
                status: i.status,
                status_words: words(&i, overdue),
                currency: currency.code().to_owned(),
                issue_date: i.issue_date.clone(),
                due_date: i.fields.due_date.map(|d| d.to_string()),
                overdue,
                total: amount_text(i.settlement.total, currency),
                paid: amount_text(i.settlement.paid, currency),
                balance_due: amount_text(open_minor(&i), currency),
            }
        })
        .collect())
}

/// One of the customer's issued invoices, whole; 404 for a malformed id, a draft and any
/// invoice that is not theirs.
pub async fn get(app: &App, actor: &PortalActor, id: &str) -> AppResult<PortalInvoiceDetailOut> {
    invoicing_on(actor)?;
    let id = InvoiceId::parse(id).ok_or_else(not_found)?;
    let mut tx = app.db.read(&actor.tenant).await?;
    let invoice = store::get(&mut tx, &actor.scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let accounts = holdfast_store::invoicing::payments::accounts(&mut tx).await?;
    let payable = payable_online(&invoice, &accounts);
    let open = open_minor(&invoice);
    let currency = invoice.fields.currency;
    let number = invoice.number.clone().unwrap_or_default();
    let credit_due = invoice.status == InvoiceStatus::Paid && invoice.settlement.balance_due() < 0;
    let day = today(app, &mut tx).await?;
    let out = invoice_store::answer(&mut tx, invoice, &day).await?;
    let payment_instructions = if open > 0 {
        match out.payment_instructions.clone() {
            Some(text) => Some(text),
            None => invoice_store::settings(&mut tx).await?.payment_instructions,
        }
    } else {
        None
    };
    tx.commit().await?;
    Ok(PortalInvoiceDetailOut {
        id: out.id,
        number,
        status: out.status,
        status_words: invoice_status_words(out.kind, out.status, credit_due, out.overdue)
            .to_owned(),
        currency: out.currency,
        issue_date: out.issue_date,
        due_date: out.due_date,
        overdue: out.overdue,
        lines: out.lines,
        taxes: out.taxes,
        net: out.net,
        tax: out.tax,
        total: out.total,
        credited: out.credited,
        paid: out.paid,
        refunded: out.refunded,
        balance_due: amount_text(open, currency),
        payments: out
            .payments
            .into_iter()
            .map(|p| PortalPaymentOut {
                kind: p.kind,
                method: p.method,
                amount: p.amount,
                date: p.date,
            })
            .collect(),
        notes: out.notes,
        payment_instructions,
        payable,
    })
}

/// The PDF of one of the customer's issued invoices.
pub async fn pdf(app: &App, actor: &PortalActor, id: &str) -> AppResult<Pdf> {
    invoicing_on(actor)?;
    let id = InvoiceId::parse(id).ok_or_else(not_found)?;
    let mut tx = app.db.read(&actor.tenant).await?;
    let invoice = store::get(&mut tx, &actor.scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let pdf = customer_pdf(app, &mut tx, invoice, None).await?;
    tx.commit().await?;
    Ok(pdf)
}

/// Where the provider sends the customer back after paying (or not): the invoice's portal
/// page, which reads nothing into it.
pub fn return_path(actor: &PortalActor, id: &str) -> String {
    format!("/portal/{}/invoices/{id}", actor.workspace_slug)
}

/// Opens a checkout for what is open on one of the customer's issued invoices; 404 for any
/// invoice that is not theirs, 409 when nothing is open or no payment account is connected.
pub async fn pay(
    app: &App,
    actor: &PortalActor,
    origin: &Origin,
    id: &str,
) -> AppResult<CheckoutOut> {
    invoicing_on(actor)?;
    let id = InvoiceId::parse(id).ok_or_else(not_found)?;
    let mut tx = app.db.read(&actor.tenant).await?;
    store::get(&mut tx, &actor.scope, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    tx.commit().await?;
    let base = app.config.public_url.trim_end_matches('/');
    let return_to = format!("{base}{}", return_path(actor, id.as_str()));
    checkout_for_customer(app, &actor.tenant, origin, &id, &return_to).await
}
