//! What the invoicing pages share: an invoice as the reader may see it, read back from the
//! [`Visible`] the application layer answers (so a role for which `invoices.amount` is hidden
//! has no money key here at all, exactly as in the API), what the reader may do with money,
//! the customer's name as the reader's contact field rules allow, and the words the pages use.

use crate::console::{self, Frame};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use holdfast_app::invoicing::invoices::{self, Preview};
use holdfast_core::access::fields::{self, Access, Field, Visible};
use holdfast_core::access::policy::{Permission, Role};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::ContactId;
use holdfast_core::invoicing::invoices::{
    DocumentKind, InvoiceStatus, LineIn, PaymentKind, PaymentMethod,
};
use holdfast_core::validate::FieldError;
use holdfast_store::identity::auth::Actor;
use holdfast_store::{Lock, StoreError, TenantTx};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A line as the reader sees it: prices and figures absent without `invoices.amount`.
#[derive(Debug, Clone, Deserialize)]
pub struct SeenLine {
    pub description: String,
    pub quantity: String,
    pub unit_price: Option<String>,
    pub discount_percent: String,
    pub tax_percent: String,
    pub net: Option<String>,
    pub tax: Option<String>,
}

/// Tax at one rate as the reader sees it.
#[derive(Debug, Clone, Deserialize)]
pub struct SeenTax {
    pub rate_percent: String,
    pub net: Option<String>,
    pub tax: Option<String>,
}

/// A payment or refund as the reader sees it.
#[derive(Debug, Clone, Deserialize)]
pub struct SeenPayment {
    pub id: String,
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    pub amount: Option<String>,
    pub date: String,
    pub reference: Option<String>,
    pub provider: Option<String>,
    pub by: String,
}

/// An invoice or credit note as the reader sees it (`InvoiceOut` after the field rules).
#[derive(Debug, Clone, Deserialize)]
pub struct SeenInvoice {
    pub id: String,
    pub kind: DocumentKind,
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub overdue: bool,
    pub contact_id: Option<String>,
    pub job_id: Option<String>,
    pub credits_invoice_id: Option<String>,
    pub currency: String,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub payment_terms_days: Option<i64>,
    pub lines: Vec<SeenLine>,
    #[serde(default)]
    pub taxes: Vec<SeenTax>,
    pub net: Option<String>,
    pub tax: Option<String>,
    pub total: Option<String>,
    pub credited: Option<String>,
    pub paid: Option<String>,
    pub refunded: Option<String>,
    pub balance: Option<String>,
    #[serde(default)]
    pub payments: Vec<SeenPayment>,
    #[serde(default)]
    pub credit_note_ids: Vec<String>,
    pub notes: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
}

impl SeenInvoice {
    /// Reads the application layer's answer back; `None` only if its shape changed (a bug,
    /// logged by the caller as a failed page).
    pub fn of(visible: &Visible) -> Option<SeenInvoice> {
        serde_json::from_value(visible.as_json().clone()).ok()
    }

    /// "INV-000042", or "Draft" before it is issued.
    pub fn title(&self) -> String {
        self.number.clone().unwrap_or_else(|| "Draft".to_owned())
    }

    pub fn is_draft(&self) -> bool {
        self.status == InvoiceStatus::Draft
    }

    /// An issued invoice money may still be recorded against.
    pub fn open_for_money(&self) -> bool {
        self.kind == DocumentKind::Invoice && self.status.is_open_for_money()
    }
}

/// What the reader may do with amounts (`invoices.amount`): see them, and write them (price
/// lines, record money, credit, open a checkout, hand out the public page).
#[derive(Debug, Clone, Copy)]
pub struct Money {
    pub see: bool,
    pub write: bool,
}

impl Money {
    pub fn of(role: &Role) -> Money {
        let access = fields::access(role, Field::InvoicesAmount);
        Money {
            see: access != Access::Hidden,
            write: access == Access::Write,
        }
    }
}

/// A status as people read it.
pub fn status_words(status: InvoiceStatus, overdue: bool) -> String {
    let words = match status {
        InvoiceStatus::Draft => "Draft",
        InvoiceStatus::Issued => "Issued",
        InvoiceStatus::PartiallyPaid => "Partly paid",
        InvoiceStatus::Paid => "Paid",
        InvoiceStatus::Void => "Void",
    };
    if overdue {
        format!("{words}, overdue")
    } else {
        words.to_owned()
    }
}

/// A payment method as people read it.
pub fn method_words(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::Cheque => "Cheque",
        PaymentMethod::BankTransfer => "Bank transfer",
        PaymentMethod::Card => "Card",
        PaymentMethod::Other => "Other",
        PaymentMethod::Online => "Online",
    }
}

/// The methods a person may record by hand (online payments come only from the provider's
/// verified webhook): value and words.
pub const HAND_METHODS: [(&str, &str); 5] = [
    ("bank_transfer", "Bank transfer"),
    ("cash", "Cash"),
    ("card", "Card"),
    ("cheque", "Cheque"),
    ("other", "Other"),
];

/// How the pages name each billed contact: its name, email or phone as the reader's contact
/// field rules allow (through [`Visible`]), else "Contact" and its id; "Customer (erased)" for
/// a contact the workspace no longer has.
pub async fn customer_names(
    tx: &mut TenantTx<'_>,
    role: &Role,
    ids: Vec<String>,
) -> Result<BTreeMap<String, String>, StoreError> {
    let mut names = BTreeMap::new();
    for id in ids {
        if names.contains_key(&id) {
            continue;
        }
        let name = match ContactId::parse(&id) {
            Some(contact_id) => {
                match holdfast_store::crm::contacts::get(tx, &contact_id, Lock::Read).await? {
                    Some(contact) => {
                        crate::console::contacts::title(&id, &Visible::contact(role, &contact))
                    }
                    None => "Customer (erased)".to_owned(),
                }
            }
            None => "Customer (erased)".to_owned(),
        };
        names.insert(id, name);
    }
    Ok(names)
}

/// A field's problem as a person reads it next to the editor: `lines[1].quantity` is
/// "Line 2, quantity".
pub fn friendly(errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let place = e
                .field
                .strip_prefix("lines[")
                .and_then(|rest| rest.split_once("]."))
                .and_then(|(n, name)| {
                    n.parse::<usize>()
                        .ok()
                        .map(|n| format!("Line {}, {}", n + 1, name.replace('_', " ")))
                })
                .unwrap_or_else(|| e.field.replace('_', " "));
            format!("{place}: {}", e.message)
        })
        .collect()
}

/// The figures of the totals box (`invoice_totals.html`), with the currency.
#[derive(Default)]
pub struct Totals {
    pub net: String,
    /// (rate, tax at that rate).
    pub taxes: Vec<(String, String)>,
    pub tax: String,
    pub total: String,
    /// What stops the figures from being worked out, line by line.
    pub errors: Vec<String>,
}

impl Totals {
    /// The figures of a document as the reader sees it (empty without `invoices.amount`).
    pub fn of(inv: &SeenInvoice) -> Totals {
        let with = |v: &Option<String>| {
            v.as_ref()
                .map(|v| format!("{v} {}", inv.currency))
                .unwrap_or_default()
        };
        Totals {
            net: with(&inv.net),
            taxes: inv
                .taxes
                .iter()
                .map(|t| (t.rate_percent.clone(), with(&t.tax)))
                .collect(),
            tax: with(&inv.tax),
            total: with(&inv.total),
            errors: Vec::new(),
        }
    }

    /// The figures the editor's live preview worked out.
    pub fn of_preview(p: &Preview) -> Totals {
        let code = p.currency.code();
        Totals {
            net: format!("{} {code}", p.net),
            taxes: p
                .taxes
                .iter()
                .map(|t| (t.rate_percent.clone(), format!("{} {code}", t.tax)))
                .collect(),
            tax: format!("{} {code}", p.tax),
            total: format!("{} {code}", p.total),
            errors: Vec::new(),
        }
    }
}

/// The totals box alone: the answer to the editor's live preview.
#[derive(Template)]
#[template(path = "invoice_totals.html")]
pub struct TotalsBox {
    pub totals: Totals,
}

/// One editable line of a draft.
pub struct EditorRow {
    /// Its index in the form's field names (`line.{i}.…`).
    pub i: usize,
    /// Its number as people count.
    pub n: usize,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_percent: String,
    pub discount_percent: String,
}

/// A draft's editor as sent (when the page comes back with what was typed: a line added or
/// removed, or a refused save).
#[derive(Debug, Clone, Default)]
pub struct EditorForm {
    pub action: String,
    pub currency: String,
    pub payment_terms_days: String,
    pub due_date: String,
    pub notes: String,
    pub lines: Vec<LineIn>,
}

impl EditorForm {
    /// Reads the editor's fields from the form's pairs (`line.{i}.{field}` for the lines, in
    /// the order of `i`); fields it does not know are left alone.
    pub fn read(pairs: Vec<(String, String)>) -> EditorForm {
        let mut form = EditorForm::default();
        let mut lines: BTreeMap<usize, LineIn> = BTreeMap::new();
        for (name, value) in pairs {
            match name.as_str() {
                "action" => form.action = value,
                "currency" => form.currency = value,
                "payment_terms_days" => form.payment_terms_days = value,
                "due_date" => form.due_date = value,
                "notes" => form.notes = value,
                other => {
                    let Some((index, field)) = other
                        .strip_prefix("line.")
                        .and_then(|rest| rest.split_once('.'))
                    else {
                        continue;
                    };
                    // At most the lines a document may have (and a few to remove).
                    let Some(i) = index
                        .parse::<usize>()
                        .ok()
                        .filter(|i| *i < 2 * holdfast_core::invoicing::invoices::MAX_LINES)
                    else {
                        continue;
                    };
                    let line = lines.entry(i).or_insert_with(|| LineIn {
                        description: String::new(),
                        quantity: String::new(),
                        unit_price: String::new(),
                        tax_percent: None,
                        discount_percent: None,
                    });
                    match field {
                        "description" => line.description = value,
                        "quantity" => line.quantity = value,
                        "unit_price" => line.unit_price = value,
                        "tax_percent" => line.tax_percent = Some(value),
                        "discount_percent" => line.discount_percent = Some(value),
                        _ => {}
                    }
                }
            }
        }
        form.lines = lines.into_values().collect();
        form
    }
}

/// The editor of a draft, for a reader who may change it.
pub struct Editor {
    /// Prices are shown and typed (`invoices.amount` writable).
    pub prices: bool,
    pub rows: Vec<EditorRow>,
    /// (code, chosen).
    pub currencies: Vec<(String, bool)>,
    pub payment_terms_days: String,
    pub due_date: String,
    pub notes: String,
    /// The page shows what was typed, not what is saved.
    pub unsaved: bool,
}

/// A payment as the page lists it.
pub struct PaymentRow {
    pub date: String,
    pub kind: &'static str,
    pub method: String,
    pub amount: String,
    pub reference: String,
}

/// Currencies the editor offers besides the draft's own.
pub const CURRENCIES: [&str; 12] = [
    "EUR", "USD", "GBP", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "MXN", "BRL",
];

/// The currency choices with `chosen` selected (and offered, whatever it is).
pub fn currency_choices(chosen: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    if !CURRENCIES.contains(&chosen) && !chosen.is_empty() {
        out.push((chosen.to_owned(), true));
    }
    out.extend(CURRENCIES.iter().map(|c| ((*c).to_owned(), *c == chosen)));
    out
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    frame: Frame,
    title: String,
    status: String,
    customer: String,
    credit_note: bool,
    draft: bool,
    open_for_money: bool,
    money: Money,
    may_write: bool,
    editor: Option<Editor>,
    totals: Totals,
    payments: Vec<PaymentRow>,
    methods: [(&'static str, &'static str); 5],
    done: Option<String>,
    /// (which form, what went wrong).
    error: Option<(&'static str, String)>,
    /// Something shown this once: (heading, what it is, address).
    shown_once: Option<(&'static str, &'static str, String)>,
    inv: SeenInvoice,
}

impl InvoicePage {
    fn error_for(&self, form: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| *f == form)
            .map(|(_, m)| m.as_str())
    }
}

/// What an invoice page shows besides the invoice: what was just done, what went wrong (next
/// to which form), something shown once, and the editor as typed.
#[derive(Default)]
pub struct Extra {
    pub done: Option<String>,
    pub error: Option<(&'static str, String)>,
    pub shown_once: Option<(&'static str, &'static str, String)>,
    pub typed: Option<EditorForm>,
    /// The live figures of the typed lines, or the problems with them.
    pub typed_totals: Option<Totals>,
}

/// The invoice `id` as the reader may see it, through the application layer (404 for a
/// document this workspace does not have).
pub async fn load(state: &AppState, actor: &Actor, id: &str) -> ApiResult<SeenInvoice> {
    let visible = invoices::get(state, actor, id).await?;
    SeenInvoice::of(&visible).ok_or_else(|| {
        Problem::new(
            ErrorCode::Internal,
            "the invoice could not be read back for its page",
        )
    })
}

/// The invoice's page: its facts, lines (the editor for a draft the reader may change),
/// totals, payments and the actions the reader's role allows, with `extra`.
pub async fn render_invoice(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    inv: SeenInvoice,
    extra: Extra,
) -> ApiResult<Response> {
    let money = Money::of(&actor.role);
    let may_write = actor.role.grants(Permission::InvoicesWrite);
    let mut tx = state.db.read(&actor.tenant).await?;
    let ids: Vec<String> = inv.contact_id.iter().cloned().collect();
    let names = customer_names(&mut tx, &actor.role, ids).await?;
    tx.commit().await?;
    let customer = inv
        .contact_id
        .as_ref()
        .and_then(|c| names.get(c).cloned())
        .unwrap_or_else(|| "Customer (erased)".to_owned());
    let draft = inv.is_draft();
    let editor = (draft && may_write).then(|| {
        let rows: Vec<EditorRow> = match &extra.typed {
            Some(typed) => typed
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| EditorRow {
                    i,
                    n: i + 1,
                    description: l.description.clone(),
                    quantity: l.quantity.clone(),
                    unit_price: l.unit_price.clone(),
                    tax_percent: l.tax_percent.clone().unwrap_or_default(),
                    discount_percent: l.discount_percent.clone().unwrap_or_default(),
                })
                .collect(),
            None => inv
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| EditorRow {
                    i,
                    n: i + 1,
                    description: l.description.clone(),
                    quantity: l.quantity.clone(),
                    unit_price: l.unit_price.clone().unwrap_or_default(),
                    tax_percent: l.tax_percent.clone(),
                    discount_percent: l.discount_percent.clone(),
                })
                .collect(),
        };
        let chosen = extra
            .typed
            .as_ref()
            .map(|t| t.currency.trim().to_uppercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| inv.currency.clone());
        Editor {
            prices: money.write,
            rows,
            currencies: currency_choices(&chosen),
            payment_terms_days: match &extra.typed {
                Some(t) => t.payment_terms_days.clone(),
                None => inv
                    .payment_terms_days
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            },
            due_date: match &extra.typed {
                Some(t) => t.due_date.clone(),
                None => inv.due_date.clone().unwrap_or_default(),
            },
            notes: match &extra.typed {
                Some(t) => t.notes.clone(),
                None => inv.notes.clone().unwrap_or_default(),
            },
            unsaved: extra.typed.is_some(),
        }
    });
    let totals = extra.typed_totals.unwrap_or_else(|| Totals::of(&inv));
    let payments = inv
        .payments
        .iter()
        .map(|p| PaymentRow {
            date: p.date.clone(),
            kind: match p.kind {
                PaymentKind::Payment => "Payment",
                PaymentKind::Refund => "Refund",
            },
            method: match &p.provider {
                Some(provider) => format!("{} ({provider})", method_words(p.method)),
                None => method_words(p.method).to_owned(),
            },
            amount: p
                .amount
                .as_ref()
                .map(|a| format!("{a} {}", inv.currency))
                .unwrap_or_default(),
            reference: p.reference.clone().unwrap_or_default(),
        })
        .collect();
    let kind_word = match inv.kind {
        DocumentKind::Invoice => "Invoice",
        DocumentKind::CreditNote => "Credit note",
    };
    let page = InvoicePage {
        frame: Frame::new(state, actor, "/app/invoices").await?,
        title: match &inv.number {
            Some(number) => format!("{kind_word} {number}"),
            None => format!("Draft {}", kind_word.to_lowercase()),
        },
        status: status_words(inv.status, inv.overdue),
        customer,
        credit_note: inv.kind == DocumentKind::CreditNote,
        draft,
        open_for_money: inv.open_for_money(),
        money,
        may_write,
        editor,
        totals,
        payments,
        methods: HAND_METHODS,
        done: extra.done,
        error: extra.error,
        shown_once: extra.shown_once,
        inv,
    };
    Ok(console::render(status, &page))
}

/// Renders the page again after a refused action, the refusal next to `form`. A refusal of
/// the reader themselves (403: the role may not; 404: no such invoice) is a page of its own,
/// as every console page answers it.
pub async fn refused(
    state: &AppState,
    actor: &Actor,
    id: &str,
    form: &'static str,
    problem: Problem,
) -> ApiResult<Response> {
    if matches!(problem.0.code.status(), 403 | 404) {
        return Err(problem);
    }
    let (status, message) = console::explain(&problem);
    let inv = load(state, actor, id).await?;
    let extra = Extra {
        error: Some((form, message)),
        ..Extra::default()
    };
    render_invoice(state, actor, status, inv, extra).await
}
