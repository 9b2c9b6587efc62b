//! Online payments: the workspace's own payment accounts (sealed, set with step-up, audited,
//! never shown again), checkouts for an invoice's open amount (a Stripe Checkout Session or a
//! Square payment link, opened through the outbound client), and the money providers' verified
//! events record — the only way an online payment is recorded.
//!
//! A provider event is applied to an invoice of the workspace that received it, found through
//! the checkout Holdfast opened or the invoice the provider was told about, only when its
//! currency is the invoice's and its amount fits (a payment at most the balance due, a refund
//! at most what was kept). Anything else — an unknown invoice, another workspace's, a void one,
//! a wrong currency or amount — is kept as an unmatched event with the reason, never applied.
//! Each provider money reference is recorded once: the invoice is locked while it is checked,
//! and a unique index backs the check.

use crate::audit::{Origin, by_system};
use crate::invoicing::invoices::{settle_whole, today};
use crate::outbound::{OutboundRequest, SafeClient};
use crate::{App, AppResult};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::InvoiceId;
use holdfast_core::invoicing::invoices::{
    DocumentKind, InvoiceStatus, PaymentKind, PaymentMethod, amount_text,
};
use holdfast_core::invoicing::money::Currency;
use holdfast_core::invoicing::payments::{
    AccountIn, AccountOut, AccountProvider, CheckoutOut, MoneyEvent, Reading, key_hint,
    mercadopago_payment_id, read_mercadopago_payment, read_paddle, read_square, read_stripe,
    stripe_session_form, stripe_takes,
};
use holdfast_core::webhooks::inbound::{InboundEventOut, Provider};
use holdfast_store::identity::auth::Actor;
use holdfast_store::invoicing::invoices::{self as invoice_store, Invoice, NewPayment};
use holdfast_store::invoicing::payments::{self as store, NewCheckout};
use holdfast_store::{Lock, Tenant};
use serde_json::{Value, json};

/// The sealing context of a workspace's key for one provider.
pub fn secret_context(tenant: &Tenant, provider: AccountProvider) -> String {
    format!(
        "payment_account:{}:{}",
        tenant.workspace_id(),
        provider.as_str()
    )
}

/// The provider's API, or the operator's stand-in for every provider (`payments_api_base`).
fn api_base(state: &App, provider: AccountProvider) -> String {
    match &state.config.payments_api_base {
        Some(base) => base.clone(),
        None => match provider {
            AccountProvider::Stripe => "https://api.stripe.com".to_owned(),
            AccountProvider::Square => "https://connect.squareup.com".to_owned(),
            AccountProvider::Mercadopago => "https://api.mercadopago.com".to_owned(),
        },
    }
}

fn client(state: &App) -> &SafeClient {
    &state.webhook_client
}

pub async fn accounts(state: &App, actor: &Actor) -> AppResult<Vec<AccountOut>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let out = store::accounts(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Connects the workspace's own account with `provider` (replacing one connected before).
pub async fn connect(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    provider: AccountProvider,
    body: &AccountIn,
) -> AppResult<AccountOut> {
    let (key, location) = body.validate(provider).map_err(ApiError::validation)?;
    let sealed = state
        .sealer
        .seal(key.as_bytes(), &secret_context(&actor.tenant, provider))
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the key could not be sealed"))?;
    let hint = key_hint(&key);
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    store::set_account(&mut tx, provider, &sealed, &hint, location.as_deref(), now).await?;
    let event = origin.event(
        "payment_account.connected",
        "payment_account",
        provider.as_str(),
        json!({"key_hint": hint, "location_id": location}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(AccountOut {
        provider,
        key_hint: hint,
        location_id: location,
        connected_at: now,
    })
}

/// Disconnects it; `false` when none was connected.
pub async fn disconnect(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    provider: AccountProvider,
) -> AppResult<bool> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    if !store::delete_account(&mut tx, provider).await? {
        return Ok(false);
    }
    let event = origin.event(
        "payment_account.disconnected",
        "payment_account",
        provider.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The account's key, opened, and its location.
async fn account_key(
    state: &App,
    tenant: &Tenant,
    provider: AccountProvider,
) -> AppResult<Option<(String, Option<String>)>> {
    let mut tx = state.db.read(tenant).await?;
    let row = store::account_secret(&mut tx, provider).await?;
    tx.commit().await?;
    let Some((sealed, location)) = row else {
        return Ok(None);
    };
    let key = state
        .sealer
        .open(&sealed, &secret_context(tenant, provider))
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unavailable,
                "the payment account's key cannot be opened with this server's keys; connect the account again",
            )
        })?;
    Ok(Some((key, location)))
}

fn unavailable(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, detail)
}

/// A checkout opened by a member: it answers the open amount, so a role that may not write
/// amounts may not open one.
pub async fn checkout_for_staff(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    invoice_id: &str,
    return_to: &str,
) -> AppResult<CheckoutOut> {
    crate::invoicing::invoices::check_amount_write(actor, true)?;
    open_checkout(state, &actor.tenant, origin, invoice_id, return_to).await
}

/// Whether a customer can pay this invoice online now: an invoice (not a credit note) with
/// money open on it, and a connected payment account that opens checkouts. What a Pay button
/// is shown for, on an invoice's public page and in the client portal.
pub fn payable_online(invoice: &Invoice, accounts: &[AccountOut]) -> bool {
    invoice.kind == DocumentKind::Invoice
        && matches!(
            invoice.status,
            InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid
        )
        && invoice.settlement.balance_due() > 0
        && accounts.iter().any(|a| a.provider.opens_checkouts())
}

/// A customer pressed Pay (on an invoice's public page or in the client portal): the caller
/// found invoice `id` within the customer's reach first. Opens a checkout for the open amount,
/// coming back to `return_to`; refused with a 409 in the customer's words, and nothing
/// opened, when nothing is open on the invoice (paid, void) or no payment account that opens
/// checkouts is connected. Paying there records nothing: only the provider's verified event
/// does ([`take_in`]).
pub async fn checkout_for_customer(
    state: &App,
    tenant: &Tenant,
    origin: &Origin,
    id: &InvoiceId,
    return_to: &str,
) -> AppResult<CheckoutOut> {
    let mut tx = state.db.read(tenant).await?;
    let invoice = invoice_store::get(&mut tx, id, Lock::Read)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))?;
    let accounts = store::accounts(&mut tx).await?;
    tx.commit().await?;
    if !payable_online(&invoice, &accounts) {
        let why = match invoice.status {
            InvoiceStatus::Paid => "this invoice is paid: nothing is open to pay",
            InvoiceStatus::Void => "this invoice was cancelled (void): nothing is open to pay",
            InvoiceStatus::Draft => "this invoice is not issued yet",
            InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid
                if invoice.settlement.balance_due() <= 0 =>
            {
                "nothing is open to pay on this invoice"
            }
            InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid => {
                "this invoice cannot be paid online: the business has not connected a payment \
                 account; pay as its payment instructions say"
            }
        };
        return Err(ApiError::new(ErrorCode::Conflict, why));
    }
    open_checkout(state, tenant, origin, id.as_str(), return_to).await
}

/// Opens a checkout for the invoice's open amount with the workspace's connected account
/// (Stripe first, then Square); `return_to` is where the provider sends the customer back.
/// Who asked is recorded by `origin`.
pub async fn open_checkout(
    state: &App,
    tenant: &Tenant,
    origin: &Origin,
    invoice_id: &str,
    return_to: &str,
) -> AppResult<CheckoutOut> {
    let id = InvoiceId::parse(invoice_id).ok_or_else(|| ApiError::not_found("invoice"))?;
    let mut tx = state.db.read(tenant).await?;
    let invoice = invoice_store::get(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))?;
    tx.commit().await?;
    let balance = invoice.settlement.balance_due();
    if invoice.kind != DocumentKind::Invoice
        || !matches!(
            invoice.status,
            InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid
        )
        || balance <= 0
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "nothing is open to pay on this invoice (it is {})",
                invoice.status.as_str()
            ),
        ));
    }
    let currency = invoice.fields.currency;
    let number = invoice.number.clone().unwrap_or_default();
    let (provider, key, location) = match account_key(state, tenant, AccountProvider::Stripe)
        .await?
    {
        Some((key, _)) => (AccountProvider::Stripe, key, None),
        None => match account_key(state, tenant, AccountProvider::Square).await? {
            Some((key, location)) => (AccountProvider::Square, key, location),
            None => {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "no payment account is connected: connect Stripe or Square in the invoicing settings first",
                ));
            }
        },
    };
    let base = api_base(state, provider);
    let (provider_ref, url) = match provider {
        AccountProvider::Stripe => {
            stripe_takes(balance, currency)
                .map_err(|why| ApiError::new(ErrorCode::Conflict, why))?;
            let form = stripe_session_form(
                id.as_str(),
                &number,
                tenant.workspace_id().as_str(),
                balance,
                currency.code(),
                return_to,
            );
            let body = serde_urlencoded::to_string(&form)
                .map_err(|_| ApiError::internal())?
                .into_bytes();
            let request = OutboundRequest::post(format!("{base}/v1/checkout/sessions"), body)
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("idempotency-key", format!("{}-{balance}", id.as_str()));
            let session: Value = client(state)
                .send_json(request)
                .await
                .map_err(|e| unavailable(format!("Stripe did not open a checkout: {e}")))?;
            (session["id"].as_str(), session["url"].as_str())
                .into_pair()
                .ok_or_else(|| unavailable("Stripe's answer lacks the session's id or URL"))?
        }
        AccountProvider::Square | AccountProvider::Mercadopago => {
            let body = json!({
                "idempotency_key": format!("{}-{balance}", id.as_str()),
                "quick_pay": {
                    "name": format!("Invoice {number}"),
                    "price_money": {"amount": balance, "currency": currency.code()},
                    "location_id": location.unwrap_or_default(),
                },
                "payment_note": format!("Holdfast invoice {}", id.as_str()),
                "checkout_options": {"redirect_url": return_to},
            });
            let request = OutboundRequest::post(
                format!("{base}/v2/online-checkout/payment-links"),
                body.to_string().into_bytes(),
            )
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("square-version", "2024-01-18");
            let link: Value = client(state)
                .send_json(request)
                .await
                .map_err(|e| unavailable(format!("Square did not open a payment link: {e}")))?;
            let link = &link["payment_link"];
            (link["order_id"].as_str(), link["url"].as_str())
                .into_pair()
                .ok_or_else(|| unavailable("Square's answer lacks the link's order or URL"))?
        }
    };
    if !checkout_url_ok(provider, &url) {
        return Err(unavailable(
            "the provider answered a checkout address that is not its own https page",
        ));
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    store::insert_checkout(
        &mut tx,
        &NewCheckout {
            invoice: &id,
            provider,
            provider_ref: &provider_ref,
            amount_minor: balance,
            currency: currency.code(),
            url: &url,
        },
        now,
    )
    .await?;
    let event = origin.event(
        "invoice.checkout_opened",
        "invoice",
        id.as_str(),
        json!({"provider": provider.as_str(), "amount_minor": balance}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(CheckoutOut {
        provider,
        url,
        amount: amount_text(balance, currency),
        currency: currency.code().to_owned(),
    })
}

/// Whether `url` is the provider's own https checkout page (where a customer's browser is
/// sent): no control characters, no user info, a host of the provider's.
fn checkout_url_ok(provider: AccountProvider, url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let hosts: &[&str] = match provider {
        AccountProvider::Stripe => &["checkout.stripe.com"],
        AccountProvider::Square => &["square.link", "checkout.square.site", "squareup.com"],
        AccountProvider::Mercadopago => &["mercadopago.com"],
    };
    let host = parsed.host_str().unwrap_or_default();
    url.len() <= 2000
        && !url.chars().any(char::is_control)
        && parsed.scheme() == "https"
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.port().is_none()
        && hosts
            .iter()
            .any(|h| host == *h || host.ends_with(&format!(".{h}")))
}

trait IntoPair {
    fn into_pair(self) -> Option<(String, String)>;
}

impl IntoPair for (Option<&str>, Option<&str>) {
    fn into_pair(self) -> Option<(String, String)> {
        match self {
            (Some(a), Some(b)) if !a.is_empty() && a.len() <= 255 && !b.is_empty() => {
                Some((a.to_owned(), b.to_owned()))
            }
            _ => None,
        }
    }
}

/// What a provider event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Money recorded on an invoice.
    Applied(String),
    /// About money, never applied: why.
    Unmatched(String),
    /// Nothing to do for invoices.
    Ignored(String),
}

/// Whether invoices consume this provider's events.
pub fn consumes(provider: &str) -> bool {
    matches!(
        Provider::from_slug(provider),
        Some(Provider::Stripe | Provider::Square | Provider::Paddle | Provider::MercadoPago)
    )
}

/// Reads a verified provider event and applies the money it moved, if it fits an invoice of
/// this workspace. A failure to reach Mercado Pago's API is an error (the job retries).
pub async fn take_in(
    state: &App,
    tenant: &Tenant,
    event: &InboundEventOut,
    invoicing_on: bool,
) -> Result<Outcome, ApiError> {
    const OFF: &str = "the invoicing module is off in this workspace: nothing was recorded; \
                       turn it on and record the payment by hand";
    if event.body_encoding != "utf8" {
        return Ok(Outcome::Ignored("not a JSON event".into()));
    }
    let Ok(body) = serde_json::from_str::<Value>(&event.body) else {
        return Ok(Outcome::Ignored("not a JSON event".into()));
    };
    let reading = match Provider::from_slug(&event.provider) {
        Some(Provider::Stripe) => read_stripe(&body),
        Some(Provider::Square) => read_square(&body),
        Some(Provider::Paddle) => read_paddle(&body),
        Some(Provider::MercadoPago) => match mercadopago_payment_id(&body) {
            None => Reading::Ignored("not a payment notification"),
            Some(_) if !invoicing_on => return Ok(Outcome::Unmatched(OFF.into())),
            Some(payment) => {
                match account_key(state, tenant, AccountProvider::Mercadopago).await? {
                    None => {
                        return Ok(Outcome::Unmatched(
                            "connect a Mercado Pago account so Holdfast can look the payment up: \
                             its notification proves only the payment's id"
                                .into(),
                        ));
                    }
                    Some((key, _)) => {
                        let base = api_base(state, AccountProvider::Mercadopago);
                        let request = OutboundRequest::get(format!("{base}/v1/payments/{payment}"))
                            .header("authorization", format!("Bearer {key}"));
                        let fetched: Value =
                            client(state).send_json(request).await.map_err(|e| {
                                unavailable(format!("Mercado Pago's payment lookup failed: {e}"))
                            })?;
                        if fetched["id"].as_i64().map(|n| n.to_string()).as_deref()
                            != Some(payment.as_str())
                            && fetched["id"].as_str() != Some(payment.as_str())
                        {
                            return Ok(Outcome::Unmatched(
                                "Mercado Pago answered a different payment than the one notified"
                                    .into(),
                            ));
                        }
                        read_mercadopago_payment(&fetched)
                    }
                }
            }
        },
        _ => return Ok(Outcome::Ignored("not a payment provider".into())),
    };
    match reading {
        Reading::Ignored(why) => Ok(Outcome::Ignored(why.into())),
        Reading::Unreadable(why) => Ok(Outcome::Unmatched(why.into())),
        Reading::Money(_) if !invoicing_on => Ok(Outcome::Unmatched(OFF.into())),
        Reading::Money(money) => apply(state, tenant, &event.provider, &money).await,
    }
}

async fn apply(
    state: &App,
    tenant: &Tenant,
    provider: &str,
    money: &MoneyEvent,
) -> Result<Outcome, ApiError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(tenant).await?;
    if store::recorded(&mut tx, provider, &money.reference).await? {
        return Ok(Outcome::Ignored("already recorded".into()));
    }
    // Which invoice, and (for a running refund total) how much this refund is.
    let mut amount = money.amount_minor;
    let mut provider_payment = None;
    let invoice_id = if let Some(total) = money.refunded_total_minor {
        let payment = money
            .reference
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        match store::provider_payment(&mut tx, provider, &payment).await? {
            Some((invoice, paid, refunded)) => {
                amount = total - refunded;
                if amount <= 0 {
                    return Ok(Outcome::Ignored("this refund is recorded already".into()));
                }
                if total > paid {
                    return Ok(Outcome::Unmatched(format!(
                        "{provider} reports {total} refunded on payment {payment}, which was {paid} (minor units): never applied"
                    )));
                }
                provider_payment = Some(payment);
                Some(invoice)
            }
            None => None,
        }
    } else {
        match &money.checkout_ref {
            Some(reference) => store::checkout_invoice(&mut tx, provider, reference).await?,
            None => None,
        }
        .or_else(|| money.invoice_hint.clone())
    };
    let unmatched = |why: String| Ok(Outcome::Unmatched(why));
    let Some(invoice_id) = invoice_id.as_deref().and_then(InvoiceId::parse) else {
        return unmatched(format!(
            "no invoice of this workspace is named by {provider}'s {} {}",
            money.kind.as_str(),
            money.reference
        ));
    };
    let Some(invoice) = invoice_store::get(&mut tx, &invoice_id, Lock::ForUpdate).await? else {
        return unmatched(format!(
            "no invoice of this workspace is named by {provider}'s {} {}",
            money.kind.as_str(),
            money.reference
        ));
    };
    let currency = invoice.fields.currency;
    let shown = |minor: i64| format!("{} {}", amount_text(minor, currency), currency.code());
    if invoice.kind != DocumentKind::Invoice || !invoice.status.is_open_for_money() {
        return unmatched(format!(
            "invoice {} is {}: no money can be recorded on it",
            invoice_id,
            invoice.status.as_str()
        ));
    }
    if Currency::parse("currency", &money.currency).ok() != Some(currency) {
        return unmatched(format!(
            "the {} is in {}, invoice {} in {}",
            money.kind.as_str(),
            money.currency,
            invoice_id,
            currency.code()
        ));
    }
    let mut s = invoice.settlement;
    match money.kind {
        PaymentKind::Payment => {
            if amount <= 0 || amount > s.balance_due() {
                return unmatched(format!(
                    "the payment of {} is more than the balance due on invoice {}, {}: refund the difference",
                    shown(amount),
                    invoice_id,
                    shown(s.balance_due())
                ));
            }
            s.paid += amount;
        }
        PaymentKind::Refund => {
            if amount > s.kept() {
                return unmatched(format!(
                    "the refund of {} is more than was paid on invoice {}, {}",
                    shown(amount),
                    invoice_id,
                    shown(s.kept())
                ));
            }
            s.refunded += amount;
        }
    }
    let day = today(state, &mut tx).await?;
    invoice_store::insert_payment(
        &mut tx,
        &invoice.id,
        &NewPayment {
            kind: money.kind,
            method: PaymentMethod::Online,
            amount_minor: amount,
            date: &day,
            reference: Some(&money.reference),
            provider: Some(provider),
            provider_event_id: Some(&money.reference),
            provider_payment: provider_payment.as_deref(),
            by: &format!("provider:{provider}"),
        },
        now,
    )
    .await?;
    let out = settle_whole(state, &mut tx, &invoice, s, money.kind).await?;
    let event = by_system(
        match money.kind {
            PaymentKind::Payment => "payment.recorded",
            PaymentKind::Refund => "payment.refunded",
        },
        "invoice",
        invoice.id.as_str(),
        json!({"provider": provider, "reference": money.reference, "amount_minor": amount,
               "status": out.status}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Outcome::Applied(format!(
        "{} of {} recorded on invoice {} ({})",
        money.kind.as_str(),
        shown(amount),
        invoice.number.as_deref().unwrap_or(invoice_id.as_str()),
        out.status.as_str()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_is_sent_only_to_the_providers_own_https_checkout() {
        use AccountProvider::{Square, Stripe};
        assert!(checkout_url_ok(
            Stripe,
            "https://checkout.stripe.com/c/pay/cs_test_1"
        ));
        assert!(checkout_url_ok(Square, "https://square.link/u/PL1"));
        for bad in [
            "http://checkout.stripe.com/c/pay/cs_1",
            "https://evil.example.com/pay",
            "https://checkout.stripe.com.evil.example/pay",
            "https://a@checkout.stripe.com/pay",
            "https://checkout.stripe.com:8443/pay",
            "https://checkout.stripe.com/x\r\nSet-Cookie: a=b",
            "javascript:alert(1)",
            "//checkout.stripe.com/pay",
        ] {
            assert!(!checkout_url_ok(Stripe, bad), "{bad}");
        }
        assert!(!checkout_url_ok(
            Square,
            "https://checkout.stripe.com/c/pay/cs_1"
        ));
    }
}
