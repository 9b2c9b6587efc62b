//! An invoice's public link for the customer (`/p/invoices/hfpi_…`): issued (again) and
//! revoked by a member with `invoices.write`, audited as `invoice.public_link_issued` /
//! `invoice.public_link_revoked`; and what it opens: the invoice as the customer reads it
//! (their own invoice, whole), its PDF, and a Pay button that opens a checkout for the open
//! amount with the workspace's payment account. Paying there proves nothing by itself: only
//! the provider's verified webhook records the payment (`payments`).
//!
//! A link opens nothing (the one 404) when it is malformed, unknown, revoked, of a draft, its
//! invoice gone, invoicing off, the workspace suspended, or 90 days after the invoice was paid
//! or voided. Rules: `holdfast_core::public_links`; threat note: docs/design/public-links.md.

use crate::audit::Origin;
use crate::invoicing::documents::{Pdf, pdf_for_customer};
use crate::invoicing::payments::{checkout_for_customer, payable_online};
use crate::public_links::{self as links, Subject};
use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::InvoiceId;
use holdfast_core::invoicing::invoices::{DocumentKind, InvoiceOut, InvoiceStatus, amount_text};
use holdfast_core::invoicing::payments::CheckoutOut;
use holdfast_core::public_links::{self as rules, PublicLinkKind};
use holdfast_store::identity::auth::Actor;
use holdfast_store::invoicing::invoices;
use holdfast_store::public_links as store;
use holdfast_store::{Lock, StoreError, Tenant};

fn not_found() -> ApiError {
    ApiError::not_found("invoice")
}

pub use crate::public_links::IssuedLink;

fn subject(id: &InvoiceId) -> Subject<'_> {
    Subject {
        kind: PublicLinkKind::Invoice,
        name: "invoice",
        issued: "invoice.public_link_issued",
        revoked: "invoice.public_link_revoked",
        id: id.as_str(),
    }
}

/// Issues a public link for an issued invoice or credit note, revoking the one before. Runs in
/// its own transaction.
pub async fn issue_invoice_link(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
) -> AppResult<IssuedLink> {
    let id = InvoiceId::parse(id).ok_or_else(not_found)?;
    // The page shows every amount: a role that may not write amounts does not hand it out.
    crate::invoicing::invoices::check_amount_write(actor, true)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let invoice = invoices::get(&mut tx, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    if invoice.status == InvoiceStatus::Draft {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "a draft has no public link: issue the invoice first",
        ));
    }
    let issued = links::issue(state, &mut tx, origin, &subject(&id), now).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Revokes the invoice's live public link, if it has one (`true` when it had).
pub async fn revoke_invoice_link(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
) -> AppResult<bool> {
    let id = InvoiceId::parse(id).ok_or_else(not_found)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    invoices::get(&mut tx, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    let revoked = links::revoke(&mut tx, origin, &subject(&id), now).await?;
    tx.commit().await?;
    Ok(revoked)
}

/// What an invoice's public page shows: the invoice whole (it is the customer's own), the
/// business's name, and whether it can be paid online now.
#[derive(Debug, Clone)]
pub struct InvoicePage {
    pub workspace: String,
    pub invoice: InvoiceOut,
    /// The status as the customer reads it.
    pub status_words: &'static str,
    /// The balance due, with its currency, while something is owed.
    pub balance_due: Option<String>,
    /// A Pay button: something is owed and a payment account that opens checkouts is
    /// connected.
    pub payable: bool,
}

/// The workspace and invoice a link opens, or `None` when it opens nothing.
async fn target(state: &App, token: &str) -> AppResult<Option<(Tenant, InvoiceId)>> {
    let Some(hash) = rules::token_hash(PublicLinkKind::Invoice, token) else {
        return Ok(None);
    };
    let Some((tenant, subject)) =
        store::unscoped_public_link_target(&state.db, PublicLinkKind::Invoice, &hash).await?
    else {
        return Ok(None);
    };
    Ok(InvoiceId::parse(&subject).map(|id| (tenant, id)))
}

/// The status as the customer reads it.
pub fn status_words(invoice: &InvoiceOut) -> &'static str {
    // Credited after it was paid: more came in than is owed now.
    let credit_due = invoice.balance.starts_with('-');
    rules::invoice_status_words(invoice.kind, invoice.status, credit_due, invoice.overdue)
}

/// The balance due with its currency, like `20.00 EUR`, while something is owed on an
/// invoice (not on a credit note, a paid or a void one).
pub fn balance_due_text(invoice: &InvoiceOut) -> Option<String> {
    let owed = invoice.kind == DocumentKind::Invoice
        && matches!(
            invoice.status,
            InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid
        );
    let currency = holdfast_core::invoicing::money::Currency::from_trusted(&invoice.currency);
    let balance_minor =
        holdfast_core::invoicing::money::Decimal::parse("balance", &invoice.balance, 6)
            .ok()
            .and_then(|d| d.minor_i64(currency))
            .unwrap_or(0);
    (owed && balance_minor > 0).then(|| {
        format!(
            "{} {}",
            amount_text(balance_minor, currency),
            currency.code()
        )
    })
}

/// The page a link opens, or `None` when it opens nothing.
pub async fn invoice_page(state: &App, token: &str) -> AppResult<Option<InvoicePage>> {
    let Some((tenant, id)) = target(state, token).await? else {
        return Ok(None);
    };
    let mut tx = match state.db.read(&tenant).await {
        Ok(tx) => tx,
        Err(StoreError::Suspended) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !holdfast_store::access::workspaces::modules(&mut tx)
        .await?
        .contains(Module::Invoicing)
    {
        return Ok(None);
    }
    let Some(invoice) = invoices::get(&mut tx, &id, Lock::Read).await? else {
        return Ok(None);
    };
    if invoice.status == InvoiceStatus::Draft {
        return Ok(None);
    }
    // A paid or void invoice changes no more: its last change is when it was settled.
    let settled_at = matches!(invoice.status, InvoiceStatus::Paid | InvoiceStatus::Void)
        .then_some(invoice.updated_at);
    if rules::is_expired(
        rules::invoice_link_expires_at(settled_at),
        state.clock.now_ms(),
    ) {
        return Ok(None);
    }
    let accounts = holdfast_store::invoicing::payments::accounts(&mut tx).await?;
    let payable = payable_online(&invoice, &accounts);
    let day = crate::invoicing::invoices::today(state, &mut tx).await?;
    let mut out = invoices::answer(&mut tx, invoice, &day).await?;
    if out.payment_instructions.is_none() {
        out.payment_instructions = invoices::settings(&mut tx).await?.payment_instructions;
    }
    let workspace = holdfast_store::access::workspaces::get(&mut tx)
        .await?
        .map(|w| w.name)
        .unwrap_or_default();
    tx.commit().await?;
    Ok(Some(InvoicePage {
        workspace,
        status_words: status_words(&out),
        balance_due: balance_due_text(&out),
        payable,
        invoice: out,
    }))
}

/// The PDF a link opens (with the link printed on it), or `None`.
pub async fn invoice_pdf(state: &App, token: &str) -> AppResult<Option<Pdf>> {
    if invoice_page(state, token).await?.is_none() {
        return Ok(None);
    }
    let Some((tenant, id)) = target(state, token).await? else {
        return Ok(None);
    };
    let base = state.config.public_url.trim_end_matches('/');
    let link = format!("{base}{}", PublicLinkKind::Invoice.path(token));
    pdf_for_customer(state, &tenant, &id, Some(link)).await
}

/// Where a provider's checkout sends the customer back: a page of its own, so the link's token
/// never travels to the payment provider.
pub const RETURN_PATH: &str = "/p/paid";

/// Opens a checkout for what is owed on the invoice a link opens, for the customer who
/// pressed Pay; they come back to [`RETURN_PATH`]. `None` when the link opens nothing.
pub async fn pay(state: &App, token: &str, ip: &str) -> AppResult<Option<CheckoutOut>> {
    if invoice_page(state, token).await?.is_none() {
        return Ok(None);
    }
    let Some((tenant, id)) = target(state, token).await? else {
        return Ok(None);
    };
    let base = state.config.public_url.trim_end_matches('/');
    let return_to = format!("{base}{RETURN_PATH}");
    let origin = Origin {
        actor_type: "customer",
        actor_id: "public_link".into(),
        ip: ip.to_owned(),
        ..Origin::default()
    };
    checkout_for_customer(state, &tenant, &origin, &id, &return_to)
        .await
        .map(Some)
}
