//! Online payments, the parts that are rules: the payment accounts a workspace connects (its
//! own Stripe restricted key, Square access token or Mercado Pago access token; each checked
//! for its shape, sealed, never shown again), and what a verified provider event says about
//! money — read from its JSON into one [`MoneyEvent`], or nothing when the event is not about
//! money received or returned.
//!
//! The redirect back from a provider's checkout proves nothing: only a verified webhook records
//! a payment. Each money movement carries the provider's own reference (Stripe's payment
//! intent, Square's payment or refund, Paddle's transaction, Mercado Pago's payment), and a
//! reference is recorded once, whichever of a provider's several events about it arrives
//! first and however often each is delivered.

use crate::invoicing::invoices::PaymentKind;
use crate::invoicing::money::{Currency, Decimal};
use crate::validate::FieldError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A payment provider a workspace can connect its own account of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountProvider {
    /// Checkout Sessions, paid through Stripe.
    Stripe,
    /// Payment links, paid through Square.
    Square,
    /// Payments looked up when Mercado Pago notifies (its signature covers only the id).
    Mercadopago,
}

impl AccountProvider {
    pub const ALL: &'static [AccountProvider] = &[
        AccountProvider::Stripe,
        AccountProvider::Square,
        AccountProvider::Mercadopago,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountProvider::Stripe => "stripe",
            AccountProvider::Square => "square",
            AccountProvider::Mercadopago => "mercadopago",
        }
    }

    pub fn parse(text: &str) -> Option<AccountProvider> {
        Self::ALL.iter().copied().find(|p| p.as_str() == text)
    }

    /// Whether Holdfast opens checkouts with this provider's account (Mercado Pago's is used
    /// only to look payments up).
    pub fn opens_checkouts(self) -> bool {
        matches!(self, AccountProvider::Stripe | AccountProvider::Square)
    }
}

/// Body of `PUT /api/v1/invoicing/payment-accounts/{provider}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    /// Stripe: a restricted key (`rk_live_…` or `rk_test_…`) allowed to write Checkout
    /// Sessions; Square: an access token; Mercado Pago: an access token (`APP_USR-…` or
    /// `TEST-…`). Sealed at once and never shown again.
    #[schemars(length(min = 1, max = 512))]
    pub secret_key: String,
    /// Square only: the location payments are taken at.
    #[schemars(length(max = 64))]
    pub location_id: Option<String>,
}

fn token_chars(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl AccountIn {
    /// The key and location, checked for the provider's shape.
    pub fn validate(
        &self,
        provider: AccountProvider,
    ) -> Result<(String, Option<String>), Vec<FieldError>> {
        let key = self.secret_key.trim();
        let mut errors = Vec::new();
        let shape_ok = match provider {
            AccountProvider::Stripe => {
                (key.starts_with("rk_live_") || key.starts_with("rk_test_"))
                    && (20..=255).contains(&key.len())
                    && token_chars(key)
            }
            AccountProvider::Square => (20..=255).contains(&key.len()) && token_chars(key),
            AccountProvider::Mercadopago => {
                (key.starts_with("APP_USR-") || key.starts_with("TEST-"))
                    && (20..=255).contains(&key.len())
                    && token_chars(key)
            }
        };
        if !shape_ok {
            errors.push(FieldError::new(
                "secret_key",
                match provider {
                    AccountProvider::Stripe => {
                        "must be a Stripe restricted key (rk_live_… or rk_test_…) with write access to Checkout Sessions; a full secret key is refused"
                    }
                    AccountProvider::Square => {
                        "must be a Square access token (letters, digits, '-' and '_', 20 to 255 characters)"
                    }
                    AccountProvider::Mercadopago => {
                        "must be a Mercado Pago access token (APP_USR-… or TEST-…)"
                    }
                },
            ));
        }
        let location = self
            .location_id
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty());
        let location = match (provider, location) {
            (AccountProvider::Square, Some(l)) if l.len() <= 64 && token_chars(l) => {
                Some(l.to_owned())
            }
            (AccountProvider::Square, _) => {
                errors.push(FieldError::new(
                    "location_id",
                    "is required for Square: the id of the location payments are taken at",
                ));
                None
            }
            (_, Some(_)) => {
                errors.push(FieldError::new(
                    "location_id",
                    "is for Square only; leave it out",
                ));
                None
            }
            (_, None) => None,
        };
        if errors.is_empty() {
            Ok((key.to_owned(), location))
        } else {
            Err(errors)
        }
    }
}

/// A connected account as shown: never its key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct AccountOut {
    pub provider: AccountProvider,
    /// The key's last four characters, to tell keys apart.
    pub key_hint: String,
    pub location_id: Option<String>,
    pub connected_at: i64,
}

/// The key's last four characters, for [`AccountOut::key_hint`].
pub fn key_hint(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// A checkout opened for an invoice, as answered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct CheckoutOut {
    pub provider: AccountProvider,
    /// Where the customer pays (the provider's page).
    pub url: String,
    /// The open amount the checkout asks for.
    pub amount: String,
    pub currency: String,
}

/// Money a provider says moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyEvent {
    pub kind: PaymentKind,
    /// The provider's reference of this movement, recorded once: `pi_…` (a Stripe payment),
    /// `pi_…:refunded:<total>` (a Stripe refund up to that total), Square's payment or refund
    /// id, Paddle's transaction, Mercado Pago's payment.
    pub reference: String,
    /// The checkout Holdfast opened that this pays (Stripe's session, Square's order).
    pub checkout_ref: Option<String>,
    /// The invoice the provider was told this is for (metadata, custom data, external
    /// reference): looked up in the workspace that received the event only.
    pub invoice_hint: Option<String>,
    pub amount_minor: i64,
    /// Upper-case ISO 4217.
    pub currency: String,
    /// For a Stripe refund: the total refunded so far on the payment (the event carries the
    /// running total, not the refund's own amount).
    pub refunded_total_minor: Option<i64>,
}

/// What a provider event means for invoices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Money(MoneyEvent),
    /// Not money received or returned (another event type, or a payment still pending).
    Ignored(&'static str),
    /// About money, but unreadable: kept as unmatched with this reason.
    Unreadable(&'static str),
}

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .map(str::to_owned)
}

fn integer(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|n| *n >= 0)
}

fn currency(v: &Value) -> Option<String> {
    v.as_str()
        .and_then(|c| Currency::parse("currency", c).ok())
        .map(|c| c.code().to_owned())
}

/// A Stripe event (`checkout.session.completed`, `payment_intent.succeeded`,
/// `charge.refunded`). Amounts are in the currency's smallest unit, as Stripe sends them.
pub fn read_stripe(body: &Value) -> Reading {
    let object = &body["data"]["object"];
    let hint = text(&object["metadata"]["holdfast_invoice"]);
    match body["type"].as_str().unwrap_or_default() {
        "checkout.session.completed" => {
            if object["payment_status"].as_str() != Some("paid") {
                return Reading::Ignored("the checkout is completed but not paid yet");
            }
            let (Some(intent), Some(amount), Some(currency)) = (
                text(&object["payment_intent"]),
                integer(&object["amount_total"]),
                currency(&object["currency"]),
            ) else {
                return Reading::Unreadable(
                    "the checkout session lacks its payment intent, amount or currency",
                );
            };
            Reading::Money(MoneyEvent {
                kind: PaymentKind::Payment,
                reference: intent,
                checkout_ref: text(&object["id"]),
                invoice_hint: hint.or_else(|| text(&object["client_reference_id"])),
                amount_minor: amount,
                currency,
                refunded_total_minor: None,
            })
        }
        "payment_intent.succeeded" => {
            let (Some(intent), Some(amount), Some(currency)) = (
                text(&object["id"]),
                integer(&object["amount_received"]),
                currency(&object["currency"]),
            ) else {
                return Reading::Unreadable(
                    "the payment intent lacks its id, amount received or currency",
                );
            };
            Reading::Money(MoneyEvent {
                kind: PaymentKind::Payment,
                reference: intent,
                checkout_ref: None,
                invoice_hint: hint,
                amount_minor: amount,
                currency,
                refunded_total_minor: None,
            })
        }
        "charge.refunded" => {
            let (Some(intent), Some(total), Some(currency)) = (
                text(&object["payment_intent"]),
                integer(&object["amount_refunded"]),
                currency(&object["currency"]),
            ) else {
                return Reading::Unreadable(
                    "the refunded charge lacks its payment intent, amount refunded or currency",
                );
            };
            Reading::Money(MoneyEvent {
                kind: PaymentKind::Refund,
                reference: format!("{intent}:refunded:{total}"),
                checkout_ref: None,
                invoice_hint: hint,
                amount_minor: 0,
                currency,
                refunded_total_minor: Some(total),
            })
        }
        _ => Reading::Ignored("not a payment or refund event"),
    }
}

/// A Square event: `payment.updated` (or `.created`) once the payment is `COMPLETED`, and
/// `refund.updated` (or `.created`) once the refund is `COMPLETED`.
pub fn read_square(body: &Value) -> Reading {
    let object = &body["data"]["object"];
    match body["type"].as_str().unwrap_or_default() {
        "payment.created" | "payment.updated" => {
            let payment = &object["payment"];
            if payment["status"].as_str() != Some("COMPLETED") {
                return Reading::Ignored("the payment is not completed yet");
            }
            let (Some(id), Some(amount), Some(currency)) = (
                text(&payment["id"]),
                integer(&payment["amount_money"]["amount"]),
                currency(&payment["amount_money"]["currency"]),
            ) else {
                return Reading::Unreadable("the payment lacks its id, amount or currency");
            };
            Reading::Money(MoneyEvent {
                kind: PaymentKind::Payment,
                reference: id,
                checkout_ref: text(&payment["order_id"]),
                invoice_hint: None,
                amount_minor: amount,
                currency,
                refunded_total_minor: None,
            })
        }
        "refund.created" | "refund.updated" => {
            let refund = &object["refund"];
            if refund["status"].as_str() != Some("COMPLETED") {
                return Reading::Ignored("the refund is not completed yet");
            }
            let (Some(id), Some(amount), Some(currency)) = (
                text(&refund["id"]),
                integer(&refund["amount_money"]["amount"]),
                currency(&refund["amount_money"]["currency"]),
            ) else {
                return Reading::Unreadable("the refund lacks its id, amount or currency");
            };
            Reading::Money(MoneyEvent {
                kind: PaymentKind::Refund,
                reference: id,
                checkout_ref: text(&refund["order_id"]),
                invoice_hint: None,
                amount_minor: amount,
                currency,
                refunded_total_minor: None,
            })
        }
        _ => Reading::Ignored("not a payment or refund event"),
    }
}

/// A Paddle Billing event: `transaction.completed`, for the invoice named in its custom data.
/// Paddle's totals are strings in the currency's smallest unit.
pub fn read_paddle(body: &Value) -> Reading {
    if body["event_type"].as_str() != Some("transaction.completed") {
        return Reading::Ignored("not a completed transaction");
    }
    let data = &body["data"];
    let (Some(id), Some(amount), Some(currency)) = (
        text(&data["id"]),
        integer(&data["details"]["totals"]["grand_total"]),
        currency(&data["currency_code"]),
    ) else {
        return Reading::Unreadable("the transaction lacks its id, grand total or currency");
    };
    Reading::Money(MoneyEvent {
        kind: PaymentKind::Payment,
        reference: id,
        checkout_ref: None,
        invoice_hint: text(&data["custom_data"]["holdfast_invoice"]),
        amount_minor: amount,
        currency,
        refunded_total_minor: None,
    })
}

/// The payment id a Mercado Pago notification names (`data.id` of a `payment` notification);
/// the payment itself must be fetched from Mercado Pago's API.
pub fn mercadopago_payment_id(body: &Value) -> Option<String> {
    let kind = body["type"].as_str().or_else(|| body["topic"].as_str())?;
    if kind != "payment" {
        return None;
    }
    let id = &body["data"]["id"];
    let id = id
        .as_str()
        .map(str::to_owned)
        .or_else(|| id.as_i64().map(|n| n.to_string()))?;
    id.bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then_some(id)
        .filter(|i| !i.is_empty() && i.len() <= 64)
}

/// A payment as Mercado Pago's API answers it: `approved` counts, for the invoice named as its
/// external reference; `transaction_amount` is a decimal in the currency's units.
pub fn read_mercadopago_payment(payment: &Value) -> Reading {
    if payment["status"].as_str() != Some("approved") {
        return Reading::Ignored("the payment is not approved");
    }
    let Some(code) = payment["currency_id"]
        .as_str()
        .and_then(|c| Currency::parse("currency", c).ok())
    else {
        return Reading::Unreadable("the payment lacks a currency Holdfast knows");
    };
    let amount = match &payment["transaction_amount"] {
        Value::Number(n) => Decimal::parse("amount", &n.to_string(), 6).ok(),
        Value::String(s) => Decimal::parse("amount", s, 6).ok(),
        _ => None,
    }
    .filter(|a| *a == a.round_to(code.minor_units()))
    .and_then(|a| a.minor_i64(code));
    let (Some(id), Some(amount)) = (
        payment["id"]
            .as_i64()
            .map(|n| n.to_string())
            .or_else(|| text(&payment["id"])),
        amount,
    ) else {
        return Reading::Unreadable("the payment lacks its id or an exact amount");
    };
    Reading::Money(MoneyEvent {
        kind: PaymentKind::Payment,
        reference: id,
        checkout_ref: None,
        invoice_hint: text(&payment["external_reference"]),
        amount_minor: amount,
        currency: code.code().to_owned(),
        refunded_total_minor: None,
    })
}

/// Whether Stripe takes `amount_minor` of `currency`: an amount of a currency with three
/// decimals (BHD, JOD, KWD, OMR, TND) must end in 0, which Stripe's documentation requires;
/// `Err` says why, and what to do instead.
pub fn stripe_takes(amount_minor: i64, currency: Currency) -> Result<(), String> {
    if currency.minor_units() == 3 && amount_minor % 10 != 0 {
        return Err(format!(
            "Stripe takes {code} amounts in steps of 0.010 only, and the balance due ({amount} \
             {code}) is not one: record this payment by hand, or connect Square for it",
            code = currency.code(),
            amount = crate::invoicing::invoices::amount_text(amount_minor, currency),
        ));
    }
    Ok(())
}

/// The form fields of a Stripe Checkout Session for `amount_minor` of `currency` paying
/// invoice `invoice_id` (numbered `number`): the invoice id travels as metadata on the session
/// and its payment intent, and as the client reference.
pub fn stripe_session_form(
    invoice_id: &str,
    number: &str,
    workspace_id: &str,
    amount_minor: i64,
    currency: &str,
    return_url: &str,
) -> Vec<(String, String)> {
    let pairs = [
        ("mode", "payment".to_owned()),
        ("client_reference_id", invoice_id.to_owned()),
        ("success_url", format!("{return_url}?paid=1")),
        ("cancel_url", return_url.to_owned()),
        ("line_items[0][quantity]", "1".to_owned()),
        (
            "line_items[0][price_data][currency]",
            currency.to_ascii_lowercase(),
        ),
        (
            "line_items[0][price_data][unit_amount]",
            amount_minor.to_string(),
        ),
        (
            "line_items[0][price_data][product_data][name]",
            format!("Invoice {number}"),
        ),
        ("metadata[holdfast_invoice]", invoice_id.to_owned()),
        ("metadata[holdfast_workspace]", workspace_id.to_owned()),
        (
            "payment_intent_data[metadata][holdfast_invoice]",
            invoice_id.to_owned(),
        ),
        (
            "payment_intent_data[metadata][holdfast_workspace]",
            workspace_id.to_owned(),
        ),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn account_keys_are_checked_for_their_providers_shape() {
        let key = |k: &str, l: Option<&str>| AccountIn {
            secret_key: k.into(),
            location_id: l.map(Into::into),
        };
        assert!(
            key("rk_test_51Habcdefghijklmnop", None)
                .validate(AccountProvider::Stripe)
                .is_ok()
        );
        let full = key("sk_live_51Habcdefghijklmnop", None)
            .validate(AccountProvider::Stripe)
            .unwrap_err();
        assert!(full[0].message.contains("restricted"), "{full:?}");
        assert!(
            key("EAAAEabcdefghijklmnopqrstuvwxyz", None)
                .validate(AccountProvider::Square)
                .unwrap_err()[0]
                .field
                == "location_id"
        );
        assert!(
            key("EAAAEabcdefghijklmnopqrstuvwxyz", Some("L8XYZ"))
                .validate(AccountProvider::Square)
                .is_ok()
        );
        assert!(
            key("APP_USR-1234567890abcdefgh", Some("L1"))
                .validate(AccountProvider::Mercadopago)
                .is_err()
        );
        assert!(
            key("rk_test_51H abc<script>", None)
                .validate(AccountProvider::Stripe)
                .is_err()
        );
        assert_eq!(key_hint("rk_test_51Habcdefghijklmnop"), "…mnop");
    }

    #[test]
    fn stripe_events_say_what_money_moved() {
        let session = json!({"type": "checkout.session.completed", "data": {"object": {
            "id": "cs_test_1", "payment_status": "paid", "payment_intent": "pi_1",
            "amount_total": 6835, "currency": "eur", "client_reference_id": "ivc_x",
            "metadata": {"holdfast_invoice": "ivc_1"}}}});
        let Reading::Money(m) = read_stripe(&session) else {
            panic!("money")
        };
        assert_eq!(
            (
                m.reference.as_str(),
                m.amount_minor,
                m.currency.as_str(),
                m.invoice_hint.as_deref(),
                m.checkout_ref.as_deref()
            ),
            ("pi_1", 6835, "EUR", Some("ivc_1"), Some("cs_test_1"))
        );
        let intent = json!({"type": "payment_intent.succeeded", "data": {"object": {
            "id": "pi_1", "amount_received": 6835, "currency": "eur"}}});
        let Reading::Money(same) = read_stripe(&intent) else {
            panic!("money")
        };
        assert_eq!(same.reference, m.reference, "one payment, one reference");
        let refund = json!({"type": "charge.refunded", "data": {"object": {
            "id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 1000, "currency": "eur"}}});
        let Reading::Money(r) = read_stripe(&refund) else {
            panic!("money")
        };
        assert_eq!(r.kind, PaymentKind::Refund);
        assert_eq!(r.refunded_total_minor, Some(1000));
        assert_eq!(r.reference, "pi_1:refunded:1000");
        let unpaid = json!({"type": "checkout.session.completed", "data": {"object": {"payment_status": "unpaid"}}});
        assert!(matches!(read_stripe(&unpaid), Reading::Ignored(_)));
        let broken = json!({"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_2", "amount_received": -5, "currency": "eur"}}});
        assert!(matches!(read_stripe(&broken), Reading::Unreadable(_)));
        assert!(matches!(
            read_stripe(&json!({"type": "customer.created"})),
            Reading::Ignored(_)
        ));
        assert!(matches!(read_stripe(&json!(null)), Reading::Ignored(_)));
    }

    #[test]
    fn square_paddle_and_mercado_pago_events_are_read_the_same_way() {
        let square = json!({"type": "payment.updated", "data": {"object": {"payment": {
            "id": "sq_pay_1", "status": "COMPLETED", "order_id": "ord_1",
            "amount_money": {"amount": 1500, "currency": "USD"}}}}});
        let Reading::Money(s) = read_square(&square) else {
            panic!("money")
        };
        assert_eq!(
            (s.amount_minor, s.checkout_ref.as_deref()),
            (1500, Some("ord_1"))
        );
        let pending = json!({"type": "payment.updated", "data": {"object": {"payment": {"status": "APPROVED"}}}});
        assert!(matches!(read_square(&pending), Reading::Ignored(_)));
        let paddle = json!({"event_type": "transaction.completed", "data": {"id": "txn_1",
            "currency_code": "GBP", "custom_data": {"holdfast_invoice": "ivc_9"},
            "details": {"totals": {"grand_total": "12000"}}}});
        let Reading::Money(p) = read_paddle(&paddle) else {
            panic!("money")
        };
        assert_eq!(
            (p.amount_minor, p.invoice_hint.as_deref()),
            (12000, Some("ivc_9"))
        );
        let note =
            json!({"type": "payment", "action": "payment.updated", "data": {"id": "123456"}});
        assert_eq!(mercadopago_payment_id(&note).as_deref(), Some("123456"));
        assert_eq!(
            mercadopago_payment_id(&json!({"type": "payment", "data": {"id": "../x"}})),
            None
        );
        let fetched = json!({"id": 123456, "status": "approved", "transaction_amount": 150.5,
            "currency_id": "BRL", "external_reference": "ivc_7"});
        let Reading::Money(mp) = read_mercadopago_payment(&fetched) else {
            panic!("money")
        };
        assert_eq!((mp.amount_minor, mp.reference.as_str()), (15050, "123456"));
        let inexact = json!({"id": 1, "status": "approved", "transaction_amount": 1.005, "currency_id": "BRL"});
        assert!(matches!(
            read_mercadopago_payment(&inexact),
            Reading::Unreadable(_)
        ));
    }

    #[test]
    fn a_stripe_session_carries_the_invoice_and_the_open_amount() {
        let form = stripe_session_form("ivc_1", "INV-000007", "ws_1", 3835, "EUR", "https://x/p");
        let get = |k: &str| {
            form.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("3835"));
        let kwd = Currency::parse("amount", "KWD").unwrap();
        assert!(stripe_takes(12_340, kwd).is_ok());
        let why = stripe_takes(12_345, kwd).unwrap_err();
        assert!(why.contains("12.345 KWD"), "{why}");
        let eur = Currency::parse("amount", "EUR").unwrap();
        let jpy = Currency::parse("amount", "JPY").unwrap();
        assert!(stripe_takes(12_345, eur).is_ok() && stripe_takes(7, jpy).is_ok());
        assert_eq!(get("line_items[0][price_data][currency]"), Some("eur"));
        assert_eq!(
            get("payment_intent_data[metadata][holdfast_invoice]"),
            Some("ivc_1")
        );
        assert_eq!(get("mode"), Some("payment"));
    }
}
