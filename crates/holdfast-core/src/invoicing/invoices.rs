//! Invoices and credit notes: the wire types, their validation, the figures (by the one
//! rounding rule of [`crate::invoicing::money`]) and the status rules.
//!
//! An invoice is a **draft** until it is issued: only then does it get its number (the
//! workspace's prefix and the next number of its sequence; never reused) and its dates, and
//! from then on its lines never change. Money kept against it moves its status:
//! `issued → partially_paid → paid`, and back when a refund reopens a balance; an issued
//! invoice on which no money is kept may be **void** (its number stays used). A **credit
//! note** is a document of its own with its own number sequence, crediting part or all of an
//! invoice (what a refund is recorded against on paper).
//!
//! The balance due is `total − credited − paid + refunded`, all in the currency's minor units.

use crate::invoicing::money::{self, Currency, Decimal, LineFigures};
use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Issued,
    PartiallyPaid,
    Paid,
    Void,
}

impl InvoiceStatus {
    pub const ALL: &'static [InvoiceStatus] = &[
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::PartiallyPaid => "partially_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Void => "void",
        }
    }

    pub fn parse(text: &str) -> Option<InvoiceStatus> {
        Self::ALL.iter().copied().find(|s| s.as_str() == text)
    }

    /// Issued and not void: money may be kept against it.
    pub fn is_open_for_money(self) -> bool {
        matches!(
            self,
            InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid | InvoiceStatus::Paid
        )
    }
}

/// An invoice or a credit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Invoice,
    CreditNote,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "invoice",
            DocumentKind::CreditNote => "credit_note",
        }
    }

    pub fn parse(text: &str) -> Option<DocumentKind> {
        [DocumentKind::Invoice, DocumentKind::CreditNote]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// At most this many lines on one document.
pub const MAX_LINES: usize = 200;

/// A line as typed. Quantities take up to 3 decimal places, prices and rates up to 4.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    #[schemars(length(min = 1, max = 500))]
    pub description: String,
    /// An exact decimal above zero, like `1`, `2.5` or `0.125`.
    pub quantity: String,
    /// The price of one unit before tax, like `49.90` (zero or more).
    pub unit_price: String,
    /// A percentage from 0 to 100, like `20` or `7.5` (default 0).
    pub tax_percent: Option<String>,
    /// A percentage off the line from 0 to 100 (default 0).
    pub discount_percent: Option<String>,
}

/// A line as kept: its exact inputs as plain decimal text; its figures are computed from
/// them whenever they are needed, by one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_percent: String,
    pub discount_percent: String,
}

/// A kept decimal (validated when it was written).
fn kept(text: &str) -> Decimal {
    Decimal::parse("kept", text, 6).unwrap_or(Decimal::ZERO)
}

impl Line {
    pub fn figures(&self, currency: Currency) -> LineFigures {
        money::line(
            currency,
            kept(&self.quantity),
            kept(&self.unit_price),
            kept(&self.discount_percent),
            kept(&self.tax_percent),
        )
    }
}

fn percent(errors: &mut Errors, field: &str, text: Option<&str>) -> String {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return "0".to_owned();
    };
    match errors.take(Decimal::parse(field, text, 4)) {
        Some(value)
            if !value.is_negative() && value <= Decimal::parse("", "100", 0).unwrap_or(value) =>
        {
            value.plain()
        }
        Some(_) => {
            errors.push(field, "must be a percentage from 0 to 100");
            "0".to_owned()
        }
        None => "0".to_owned(),
    }
}

/// Validates typed lines (`lines[i].…` in errors). Every line must be at least one unit of
/// something at a price of zero or more; a document has 1 to [`MAX_LINES`] lines.
pub fn lines(errors: &mut Errors, items: &[LineIn]) -> Vec<Line> {
    if items.is_empty() {
        errors.push("lines", "must have at least one line");
    }
    if items.len() > MAX_LINES {
        errors.push("lines", format!("at most {MAX_LINES} lines"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |name: &str| format!("lines[{i}].{name}");
        let description = errors.take(validate::plain_text(
            &at("description"),
            &item.description,
            1,
            500,
        ));
        let quantity = match errors.take(Decimal::parse(&at("quantity"), &item.quantity, 3)) {
            Some(q) if q.is_positive() => Some(q.plain()),
            Some(_) => {
                errors.push(at("quantity"), "must be above zero");
                None
            }
            None => None,
        };
        let unit_price = match errors.take(Decimal::parse(&at("unit_price"), &item.unit_price, 4)) {
            Some(p) if !p.is_negative() => Some(p.plain()),
            Some(_) => {
                errors.push(
                    at("unit_price"),
                    "must be zero or more (credit with a credit note)",
                );
                None
            }
            None => None,
        };
        let tax_percent = percent(errors, &at("tax_percent"), item.tax_percent.as_deref());
        let discount_percent = percent(
            errors,
            &at("discount_percent"),
            item.discount_percent.as_deref(),
        );
        if let (Some(description), Some(quantity), Some(unit_price)) =
            (description, quantity, unit_price)
        {
            out.push(Line {
                description,
                quantity,
                unit_price,
                tax_percent,
                discount_percent,
            });
        }
    }
    out
}

/// A document's figures: each line's, the per-rate tax summary and the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sums {
    pub lines: Vec<LineFigures>,
    /// (rate as plain text, net at that rate, tax at that rate), by rate ascending.
    pub taxes: Vec<(String, Decimal, Decimal)>,
    pub net: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

pub fn sums(currency: Currency, lines: &[Line]) -> Sums {
    let figures: Vec<LineFigures> = lines.iter().map(|l| l.figures(currency)).collect();
    let mut taxes: Vec<(Decimal, Decimal, Decimal)> = Vec::new();
    for (line, f) in lines.iter().zip(&figures) {
        let rate = kept(&line.tax_percent);
        match taxes.iter_mut().find(|(r, _, _)| *r == rate) {
            Some(row) => {
                row.1 = row.1.plus(f.net);
                row.2 = row.2.plus(f.tax);
            }
            None => taxes.push((rate, f.net, f.tax)),
        }
    }
    taxes.sort_by_key(|row| row.0);
    let totals = money::totals(&figures);
    Sums {
        lines: figures,
        taxes: taxes
            .into_iter()
            .map(|(rate, net, tax)| (rate.plain(), net, tax))
            .collect(),
        net: totals.net,
        tax: totals.tax,
        total: totals.total,
    }
}

/// The money kept against an invoice, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settlement {
    pub total: i64,
    pub credited: i64,
    pub paid: i64,
    pub refunded: i64,
}

impl Settlement {
    /// What the customer still owes: `total − credited − paid + refunded`.
    pub fn balance_due(&self) -> i64 {
        self.total - self.credited - self.paid + self.refunded
    }

    /// What the business holds: `paid − refunded`.
    pub fn kept(&self) -> i64 {
        self.paid - self.refunded
    }
}

/// The status money kept moves an issued invoice to (drafts and void invoices keep theirs):
/// nothing owed → paid; something paid or credited → partially paid; otherwise issued.
pub fn derive_status(current: InvoiceStatus, s: &Settlement) -> InvoiceStatus {
    match current {
        InvoiceStatus::Draft | InvoiceStatus::Void => current,
        _ if s.balance_due() <= 0 => InvoiceStatus::Paid,
        _ if s.kept() > 0 || s.credited > 0 => InvoiceStatus::PartiallyPaid,
        _ => InvoiceStatus::Issued,
    }
}

/// An invoice number: the prefix and the sequence number, zero-padded to six digits.
pub fn format_number(prefix: &str, n: i64) -> String {
    format!("{prefix}{n:06}")
}

/// A calendar date as `YYYY-MM-DD`, in the years 2000 to 2099.
pub fn date(field: &str, text: &str) -> Result<jiff::civil::Date, FieldError> {
    let bad = || FieldError::new(field, "must be a date like 2026-12-31");
    let text = text.trim();
    if text.len() != 10 {
        return Err(bad());
    }
    let parsed: jiff::civil::Date = text.parse().map_err(|_| bad())?;
    if !(2000..=2099).contains(&parsed.year()) {
        return Err(FieldError::new(field, "must be in the years 2000 to 2099"));
    }
    Ok(parsed)
}

/// `days` after `day` (saturating at the end of the calendar jiff knows).
pub fn add_days(day: jiff::civil::Date, days: i64) -> jiff::civil::Date {
    day.checked_add(jiff::Span::new().days(days)).unwrap_or(day)
}

/// At most this many days between issue and due dates.
pub const MAX_TERMS_DAYS: i64 = 365;

pub use crate::validate::multiline;

fn optional_multiline(
    errors: &mut Errors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    validate::optional(errors, field, value, max, validate::Lines::Many)
}

fn terms(errors: &mut Errors, days: Option<i64>) -> Option<i64> {
    let days = days?;
    if !(0..=MAX_TERMS_DAYS).contains(&days) {
        errors.push(
            "payment_terms_days",
            format!("must be from 0 to {MAX_TERMS_DAYS} days"),
        );
        return None;
    }
    Some(days)
}

/// Body of `POST /api/v1/invoices`: a draft, by hand or from a job (then its line items are
/// copied when `lines` is absent, at a unit price of zero to fill in).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceIn {
    /// Who is billed; taken from the job when absent.
    pub contact_id: Option<String>,
    pub company_id: Option<String>,
    /// The job this bills.
    pub job_id: Option<String>,
    /// ISO 4217, like EUR (default: the workspace's invoicing currency).
    pub currency: Option<String>,
    pub lines: Option<Vec<LineIn>>,
    /// Days from issue to due (default: the workspace's terms).
    pub payment_terms_days: Option<i64>,
    /// A fixed due date instead of terms, like 2026-12-31.
    pub due_date: Option<String>,
    #[schemars(length(max = 2000))]
    pub notes: Option<String>,
}

/// A draft's fields after validation (ids checked for shape; their existence in the workspace
/// is the store's to check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftFields {
    pub contact_id: String,
    pub company_id: Option<String>,
    pub job_id: Option<String>,
    pub currency: Currency,
    pub lines: Vec<Line>,
    pub payment_terms_days: Option<i64>,
    pub due_date: Option<jiff::civil::Date>,
    pub notes: Option<String>,
    /// Kept for invoices written by earlier versions; new invoices print the workspace's
    /// instructions (`PUT /api/v1/invoicing/settings`, which needs a step-up: where customers
    /// send money is never changed by an ordinary invoice write).
    pub payment_instructions: Option<String>,
}

fn contact_id(errors: &mut Errors, text: &str) -> String {
    if crate::ids::ContactId::parse(text).is_none() {
        errors.push("contact_id", "is not a contact id");
    }
    text.to_owned()
}

fn company_id(errors: &mut Errors, text: Option<&str>) -> Option<String> {
    let text = text?;
    if crate::ids::CompanyId::parse(text).is_none() {
        errors.push("company_id", "is not a company id");
    }
    Some(text.to_owned())
}

/// A job's line items as invoice lines to price: each at a unit price of zero, no tax.
pub fn from_job_items(items: &[crate::field_service::jobs::LineItem]) -> Vec<Line> {
    items
        .iter()
        .map(|item| Line {
            description: item.description.clone(),
            quantity: item.quantity.clone(),
            unit_price: "0".to_owned(),
            tax_percent: "0".to_owned(),
            discount_percent: "0".to_owned(),
        })
        .collect()
}

impl InvoiceIn {
    /// The draft, given the job's contact and line items when it names a job (`job`), and the
    /// workspace's default currency.
    pub fn validate(
        &self,
        job: Option<(&str, &[crate::field_service::jobs::LineItem])>,
        default_currency: Currency,
    ) -> Result<DraftFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        if let Some(job) = &self.job_id
            && crate::ids::JobId::parse(job).is_none()
        {
            errors.push("job_id", "is not a job id");
        }
        let contact = match (&self.contact_id, job) {
            (Some(c), _) => contact_id(&mut errors, c),
            (None, Some((job_contact, _))) => job_contact.to_owned(),
            (None, None) => {
                errors.push("contact_id", "is required (or a job_id to bill)");
                String::new()
            }
        };
        let currency = match &self.currency {
            Some(c) => errors
                .take(Currency::parse("currency", c))
                .unwrap_or(default_currency),
            None => default_currency,
        };
        let lines = match (&self.lines, job) {
            (Some(items), _) => lines(&mut errors, items),
            (None, Some((_, items))) if !items.is_empty() => from_job_items(items),
            (None, _) => {
                errors.push(
                    "lines",
                    "must have at least one line (or bill a job with line items)",
                );
                Vec::new()
            }
        };
        let fields = DraftFields {
            contact_id: contact,
            company_id: company_id(&mut errors, self.company_id.as_deref()),
            job_id: self.job_id.clone(),
            currency,
            lines,
            payment_terms_days: terms(&mut errors, self.payment_terms_days),
            due_date: self
                .due_date
                .as_deref()
                .and_then(|d| errors.take(date("due_date", d))),
            notes: optional_multiline(&mut errors, "notes", self.notes.as_deref(), 2000),
            payment_instructions: None,
        };
        errors.finish(fields)
    }
}

/// Body of `PATCH /api/v1/invoices/{id}` (drafts only; absent = unchanged, null = clear).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicePatch {
    pub contact_id: Option<String>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub company_id: Option<Option<String>>,
    pub currency: Option<String>,
    pub lines: Option<Vec<LineIn>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<i64>")]
    pub payment_terms_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub due_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::absent_null_or")]
    #[schemars(with = "Option<String>")]
    pub notes: Option<Option<String>>,
}

impl InvoicePatch {
    pub fn apply(&self, current: &DraftFields) -> Result<DraftFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let mut next = current.clone();
        if let Some(c) = &self.contact_id {
            next.contact_id = contact_id(&mut errors, c);
        }
        if let Some(c) = &self.company_id {
            next.company_id = company_id(&mut errors, c.as_deref());
        }
        if let Some(c) = &self.currency {
            next.currency = errors
                .take(Currency::parse("currency", c))
                .unwrap_or(current.currency);
        }
        if let Some(items) = &self.lines {
            next.lines = lines(&mut errors, items);
        }
        if let Some(days) = &self.payment_terms_days {
            next.payment_terms_days = terms(&mut errors, *days);
        }
        if let Some(due) = &self.due_date {
            next.due_date = due
                .as_deref()
                .and_then(|d| errors.take(date("due_date", d)));
        }
        if let Some(notes) = &self.notes {
            next.notes = optional_multiline(&mut errors, "notes", notes.as_deref(), 2000);
        }
        errors.finish(next)
    }

    /// Whether the patch sends prices or the currency they are in (for the `invoices.amount`
    /// write rule).
    pub fn sends_amounts(&self) -> bool {
        self.lines.is_some() || self.currency.is_some()
    }
}

/// Body of `POST /api/v1/invoices/{id}/issue`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueIn {
    /// The issue date, like 2026-12-07 (default: today in the workspace's time zone).
    pub issue_date: Option<String>,
}

/// The issue and due dates a draft gets when issued, or why it cannot be: a total above
/// zero, a due date not before the issue date.
pub fn check_issue(
    fields: &DraftFields,
    total: Decimal,
    issue_date: jiff::civil::Date,
    default_terms: i64,
) -> Result<(jiff::civil::Date, jiff::civil::Date), FieldError> {
    if !total.is_positive() {
        return Err(FieldError::new(
            "lines",
            "an invoice's total must be above zero to issue it: price its lines first",
        ));
    }
    let due = match fields.due_date {
        Some(due) => due,
        None => add_days(
            issue_date,
            fields.payment_terms_days.unwrap_or(default_terms),
        ),
    };
    if due < issue_date {
        return Err(FieldError::new(
            "due_date",
            format!("must not be before the issue date {issue_date}"),
        ));
    }
    Ok((issue_date, due))
}

/// Body of `POST /api/v1/invoices/{id}/void`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidIn {
    #[schemars(length(min = 1, max = 500))]
    pub reason: String,
}

/// How money changed hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Cheque,
    BankTransfer,
    Card,
    Other,
    /// Through the workspace's payment provider: recorded only by its verified webhook.
    Online,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Cheque => "cheque",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Card => "card",
            PaymentMethod::Other => "other",
            PaymentMethod::Online => "online",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentMethod> {
        use PaymentMethod::*;
        [Cash, Cheque, BankTransfer, Card, Other, Online]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// A payment received or a refund given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    Payment,
    Refund,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Payment => "payment",
            PaymentKind::Refund => "refund",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentKind> {
        [PaymentKind::Payment, PaymentKind::Refund]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// Body of `POST /api/v1/invoices/{id}/payments` and `…/refunds`: money recorded by hand.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// In the invoice's currency, like `120.00` (no more decimals than the currency has).
    pub amount: String,
    pub method: PaymentMethod,
    /// When, like 2026-12-07 (default: today in the workspace's time zone).
    pub date: Option<String>,
    /// A cheque number, a bank reference.
    #[schemars(length(max = 200))]
    pub reference: Option<String>,
}

/// A payment's validated fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFields {
    pub amount_minor: i64,
    pub method: PaymentMethod,
    pub date: Option<jiff::civil::Date>,
    pub reference: Option<String>,
}

impl PaymentIn {
    pub fn validate(&self, currency: Currency) -> Result<PaymentFields, Vec<FieldError>> {
        let mut errors = Errors::default();
        let amount = match errors.take(Decimal::parse(
            "amount",
            &self.amount,
            currency.minor_units(),
        )) {
            Some(a) if a.is_positive() => a.minor_i64(currency),
            Some(_) => {
                errors.push("amount", "must be above zero");
                None
            }
            None => None,
        };
        if self.method == PaymentMethod::Online {
            errors.push(
                "method",
                "online payments are recorded by the payment provider's verified webhook only",
            );
        }
        let date = self
            .date
            .as_deref()
            .and_then(|d| errors.take(date("date", d)));
        let reference = self
            .reference
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| errors.take(validate::plain_text("reference", r, 1, 200)));
        let fields = PaymentFields {
            amount_minor: amount.unwrap_or(0),
            method: self.method,
            date,
            reference,
        };
        errors.finish(fields)
    }
}

/// Body of `POST /api/v1/invoices/{id}/credit-notes`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteIn {
    /// Why the customer is credited (printed on the credit note).
    #[schemars(length(min = 1, max = 500))]
    pub reason: String,
    /// What is credited; absent: every line of the invoice (a full credit).
    pub lines: Option<Vec<LineIn>>,
}

impl CreditNoteIn {
    /// The reason and lines; a full credit copies `invoice_lines`.
    pub fn validate(&self, invoice_lines: &[Line]) -> Result<(String, Vec<Line>), Vec<FieldError>> {
        let mut errors = Errors::default();
        let reason = errors.take(validate::plain_text("reason", &self.reason, 1, 500));
        let lines = match &self.lines {
            Some(items) => lines(&mut errors, items),
            None => invoice_lines.to_vec(),
        };
        errors.finish((reason.unwrap_or_default(), lines))
    }
}

/// The workspace's invoicing settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Before each invoice number, like `INV-` (letters, digits, `-`, `/`, `.`, `_`; up to 12).
    pub invoice_prefix: String,
    pub credit_note_prefix: String,
    /// The number the next issued invoice gets (may only go up: numbers are never reused).
    pub next_invoice_number: i64,
    pub next_credit_note_number: i64,
    /// Days from issue to due, by default.
    pub payment_terms_days: i64,
    /// ISO 4217, for new invoices.
    pub currency: String,
    /// The business as printed on invoices: its name, then address and tax id lines.
    #[schemars(length(max = 200))]
    pub business_name: Option<String>,
    #[schemars(length(max = 1000))]
    pub business_details: Option<String>,
    #[schemars(length(max = 2000))]
    pub payment_instructions: Option<String>,
    #[schemars(length(max = 500))]
    pub footer: Option<String>,
}

impl Default for SettingsBody {
    fn default() -> Self {
        SettingsBody {
            invoice_prefix: "INV-".into(),
            credit_note_prefix: "CN-".into(),
            next_invoice_number: 1,
            next_credit_note_number: 1,
            payment_terms_days: 14,
            currency: "EUR".into(),
            business_name: None,
            business_details: None,
            payment_instructions: None,
            footer: None,
        }
    }
}

fn prefix(errors: &mut Errors, field: &str, text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > 12
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/._".contains(c))
    {
        errors.push(
            field,
            "must be up to 12 letters, digits, '-', '/', '.' or '_', like INV-",
        );
    }
    text.to_owned()
}

impl SettingsBody {
    /// Validated and normalised; `current` is what is kept now (numbers may only go up).
    pub fn validate(&self, current: &SettingsBody) -> Result<SettingsBody, Vec<FieldError>> {
        let mut errors = Errors::default();
        let invoice_prefix = prefix(&mut errors, "invoice_prefix", &self.invoice_prefix);
        let credit_note_prefix =
            prefix(&mut errors, "credit_note_prefix", &self.credit_note_prefix);
        if invoice_prefix == credit_note_prefix {
            errors.push(
                "credit_note_prefix",
                "must differ from the invoice prefix, so numbers cannot be mistaken",
            );
        }
        for (field, next, now) in [
            (
                "next_invoice_number",
                self.next_invoice_number,
                current.next_invoice_number,
            ),
            (
                "next_credit_note_number",
                self.next_credit_note_number,
                current.next_credit_note_number,
            ),
        ] {
            if next < now {
                errors.push(
                    field,
                    format!("must be at least {now}: numbers already used are never reused"),
                );
            } else if next > 999_999_999 {
                errors.push(field, "must be at most 999999999");
            }
        }
        let currency = errors
            .take(Currency::parse("currency", &self.currency))
            .map(|c| c.code().to_owned())
            .unwrap_or_default();
        let one_line = |errors: &mut Errors, field: &str, v: Option<&str>, max| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .and_then(|v| errors.take(validate::plain_text(field, v, 1, max)))
        };
        let out = SettingsBody {
            invoice_prefix,
            credit_note_prefix,
            next_invoice_number: self.next_invoice_number,
            next_credit_note_number: self.next_credit_note_number,
            payment_terms_days: terms(&mut errors, Some(self.payment_terms_days)).unwrap_or(14),
            currency,
            business_name: one_line(
                &mut errors,
                "business_name",
                self.business_name.as_deref(),
                200,
            ),
            business_details: optional_multiline(
                &mut errors,
                "business_details",
                self.business_details.as_deref(),
                1000,
            ),
            payment_instructions: optional_multiline(
                &mut errors,
                "payment_instructions",
                self.payment_instructions.as_deref(),
                2000,
            ),
            footer: one_line(&mut errors, "footer", self.footer.as_deref(), 500),
        };
        errors.finish(out)
    }
}

/// A line as answered: its inputs and figures.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct LineOut {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_percent: String,
    pub tax_percent: String,
    /// Quantity × unit price less the discount, rounded to the currency's minor unit.
    pub net: String,
    pub tax: String,
}

/// Tax at one rate, summed over the lines.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct TaxOut {
    pub rate_percent: String,
    pub net: String,
    pub tax: String,
}

/// An amount as answered: exactly the currency's decimal places.
pub fn amount_text(minor: i64, currency: Currency) -> String {
    Decimal::from_minor(minor, currency).text(currency.minor_units())
}

pub fn lines_out(currency: Currency, lines: &[Line], sums: &Sums) -> Vec<LineOut> {
    let places = currency.minor_units();
    lines
        .iter()
        .zip(&sums.lines)
        .map(|(l, f)| LineOut {
            description: l.description.clone(),
            quantity: l.quantity.clone(),
            unit_price: l.unit_price.clone(),
            discount_percent: l.discount_percent.clone(),
            tax_percent: l.tax_percent.clone(),
            net: f.net.text(places),
            tax: f.tax.text(places),
        })
        .collect()
}

pub fn taxes_out(currency: Currency, sums: &Sums) -> Vec<TaxOut> {
    let places = currency.minor_units();
    sums.taxes
        .iter()
        .map(|(rate, net, tax)| TaxOut {
            rate_percent: rate.clone(),
            net: net.text(places),
            tax: tax.text(places),
        })
        .collect()
}

/// A payment or refund as answered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PaymentOut {
    pub id: String,
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    pub amount: String,
    pub date: String,
    pub reference: Option<String>,
    /// The payment provider, for online payments.
    pub provider: Option<String>,
    /// Who recorded it: `user:<id>`, `api_key:<id>` or `provider:<name>`.
    pub by: String,
    pub created_at: i64,
}

/// A payment or refund in the workspace's list of money recorded (the console's payments
/// page), with the document it was recorded against. `amount` is governed by the field rule
/// `invoices.amount` like every money key of an invoice.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PaymentListedOut {
    pub id: String,
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    pub amount: String,
    pub currency: String,
    pub date: String,
    pub reference: Option<String>,
    pub provider: Option<String>,
    pub by: String,
    pub created_at: i64,
    pub invoice_id: String,
    /// The document's number (a payment is recorded only against an issued invoice).
    pub invoice_number: Option<String>,
}

/// An invoice or credit note as answered. Every money key here (and in its lines, taxes and
/// payments) is governed by the field rule `invoices.amount` ([`AMOUNT_KEYS`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct InvoiceOut {
    pub id: String,
    pub kind: DocumentKind,
    /// Given when issued, like INV-000042; null for a draft.
    pub number: Option<String>,
    pub status: InvoiceStatus,
    /// Issued, not settled, and its due date has passed (in the workspace's time zone).
    pub overdue: bool,
    pub contact_id: Option<String>,
    pub company_id: Option<String>,
    pub job_id: Option<String>,
    /// For a credit note: the invoice it credits.
    pub credits_invoice_id: Option<String>,
    pub currency: String,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub payment_terms_days: Option<i64>,
    pub lines: Vec<LineOut>,
    pub taxes: Vec<TaxOut>,
    pub net: String,
    pub tax: String,
    pub total: String,
    pub credited: String,
    pub paid: String,
    pub refunded: String,
    /// What the customer still owes: total − credited − paid + refunded.
    pub balance: String,
    pub payments: Vec<PaymentOut>,
    /// Credit notes issued against this invoice.
    pub credit_note_ids: Vec<String>,
    pub notes: Option<String>,
    pub payment_instructions: Option<String>,
    /// Why it was voided, or (for a credit note) why the customer was credited.
    pub reason: Option<String>,
    pub issued_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Every JSON key that carries money in an invoice's answer, at any depth: what the field rule
/// `invoices.amount` removes for a reader who may not see amounts.
pub const AMOUNT_KEYS: &[&str] = &[
    "amount",
    "unit_price",
    "net",
    "tax",
    "total",
    "credited",
    "paid",
    "refunded",
    "balance",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: &str, p: &str, tax: &str, discount: Option<&str>) -> LineIn {
        LineIn {
            description: "Work".into(),
            quantity: q.into(),
            unit_price: p.into(),
            tax_percent: Some(tax.into()),
            discount_percent: discount.map(Into::into),
        }
    }

    fn valid(items: &[LineIn]) -> Vec<Line> {
        let mut errors = Errors::default();
        let out = lines(&mut errors, items);
        assert!(errors.is_empty(), "{errors:?}");
        out
    }

    #[test]
    fn lines_keep_exact_plain_inputs_and_sum_by_the_rounding_rule() {
        let lines = valid(&[
            line("0.333", "10.00", "19", None),
            line("0.333", "10", "19", None),
            line("0.333", "10.0000", "19.0", None),
            line("3", "19.99", "7.625", Some("12.5")),
        ]);
        assert_eq!(lines[0].unit_price, "10");
        assert_eq!(lines[2].tax_percent, "19");
        let sums = sums(Currency::EUR, &lines);
        let out = lines_out(Currency::EUR, &lines, &sums);
        assert_eq!((out[0].net.as_str(), out[0].tax.as_str()), ("3.33", "0.63"));
        assert_eq!(
            (out[3].net.as_str(), out[3].tax.as_str()),
            ("52.47", "4.00")
        );
        // Totals are the sums of the rounded lines.
        assert_eq!(sums.net.text(2), "62.46");
        assert_eq!(sums.tax.text(2), "5.89");
        assert_eq!(sums.total.text(2), "68.35");
        let taxes = taxes_out(Currency::EUR, &sums);
        assert_eq!(taxes.len(), 2);
        assert_eq!(
            (
                taxes[0].rate_percent.as_str(),
                taxes[0].net.as_str(),
                taxes[0].tax.as_str()
            ),
            ("7.625", "52.47", "4.00")
        );
        assert_eq!(taxes[1].rate_percent, "19");
        assert_eq!(
            (taxes[1].net.as_str(), taxes[1].tax.as_str()),
            ("9.99", "1.89")
        );
    }

    #[test]
    fn bad_lines_name_each_field() {
        let mut errors = Errors::default();
        lines(
            &mut errors,
            &[
                line("0", "-1", "101", Some("-5")),
                LineIn {
                    description: "bad\u{202e}".into(),
                    quantity: "1.2345".into(),
                    unit_price: "1.23456".into(),
                    tax_percent: None,
                    discount_percent: None,
                },
            ],
        );
        let found: Vec<String> = errors
            .finish(())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        for field in [
            "lines[0].quantity",
            "lines[0].unit_price",
            "lines[0].tax_percent",
            "lines[0].discount_percent",
            "lines[1].description",
            "lines[1].quantity",
            "lines[1].unit_price",
        ] {
            assert!(found.iter().any(|f| f == field), "{field} in {found:?}");
        }
        let mut none = Errors::default();
        lines(&mut none, &[]);
        assert!(!none.is_empty());
    }

    #[test]
    fn money_kept_moves_the_status_both_ways() {
        use InvoiceStatus::*;
        let s = |paid, refunded, credited| Settlement {
            total: 10_000,
            credited,
            paid,
            refunded,
        };
        assert_eq!(derive_status(Issued, &s(0, 0, 0)), Issued);
        assert_eq!(derive_status(Issued, &s(4_000, 0, 0)), PartiallyPaid);
        assert_eq!(derive_status(PartiallyPaid, &s(10_000, 0, 0)), Paid);
        assert_eq!(derive_status(Paid, &s(10_000, 3_000, 0)), PartiallyPaid);
        // A refund recorded with a credit note for it keeps the invoice settled.
        assert_eq!(derive_status(Paid, &s(10_000, 3_000, 3_000)), Paid);
        assert_eq!(derive_status(Paid, &s(10_000, 10_000, 0)), Issued);
        assert_eq!(derive_status(Issued, &s(0, 0, 10_000)), Paid);
        assert_eq!(derive_status(Draft, &s(0, 0, 0)), Draft);
        assert_eq!(derive_status(Void, &s(0, 0, 0)), Void);
        assert_eq!(s(10_000, 3_000, 1_000).balance_due(), 2_000);
        for status in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(status.as_str()), Some(*status));
        }
    }

    #[test]
    fn numbers_dates_and_issue_rules() {
        assert_eq!(format_number("INV-", 42), "INV-000042");
        assert_eq!(format_number("", 1_234_567), "1234567");
        let day = date("d", "2026-12-07").unwrap();
        assert_eq!(add_days(day, 30).to_string(), "2027-01-06");
        assert_eq!(
            add_days(date("d", "2028-02-28").unwrap(), 1).to_string(),
            "2028-02-29"
        );
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "26-12-07",
            "2026-12-07T00:00",
            "1999-12-31",
            "",
        ] {
            assert!(date("d", bad).is_err(), "{bad}");
        }
        let fields = InvoiceIn {
            contact_id: Some("ct_x".into()),
            lines: Some(vec![line("1", "0", "0", None)]),
            ..InvoiceIn::default()
        };
        let mut draft = DraftFields {
            contact_id: "ct".into(),
            company_id: None,
            job_id: None,
            currency: Currency::EUR,
            lines: valid(fields.lines.as_deref().unwrap_or_default()),
            payment_terms_days: None,
            due_date: None,
            notes: None,
            payment_instructions: None,
        };
        let zero = check_issue(&draft, Decimal::ZERO, day, 14).unwrap_err();
        assert!(zero.message.contains("above zero"), "{}", zero.message);
        let one = Decimal::from_minor(1, Currency::EUR);
        let (issued, due) = check_issue(&draft, one, day, 14).unwrap();
        assert_eq!(
            (issued.to_string(), due.to_string()),
            ("2026-12-07".into(), "2026-12-21".into())
        );
        draft.payment_terms_days = Some(0);
        assert_eq!(check_issue(&draft, one, day, 14).unwrap().1, day);
        draft.due_date = Some(date("d", "2026-12-01").unwrap());
        assert_eq!(
            check_issue(&draft, one, day, 14).unwrap_err().field,
            "due_date"
        );
    }

    #[test]
    fn payments_are_exact_in_the_currencys_minor_units() {
        let pay = |amount: &str, method| PaymentIn {
            amount: amount.into(),
            method,
            date: None,
            reference: None,
        };
        assert_eq!(
            pay("120.5", PaymentMethod::Cash)
                .validate(Currency::EUR)
                .unwrap()
                .amount_minor,
            12_050
        );
        let yen = Currency::parse("c", "JPY").unwrap();
        assert_eq!(
            pay("1001", PaymentMethod::Card)
                .validate(yen)
                .unwrap()
                .amount_minor,
            1001
        );
        assert!(pay("10.5", PaymentMethod::Card).validate(yen).is_err());
        assert!(
            pay("1.005", PaymentMethod::Cash)
                .validate(Currency::EUR)
                .is_err()
        );
        assert!(
            pay("0", PaymentMethod::Cash)
                .validate(Currency::EUR)
                .is_err()
        );
        let online = pay("1", PaymentMethod::Online)
            .validate(Currency::EUR)
            .unwrap_err();
        assert!(online[0].message.contains("webhook"), "{online:?}");
    }

    #[test]
    fn settings_never_move_numbers_back() {
        let current = SettingsBody {
            next_invoice_number: 10,
            ..SettingsBody::default()
        };
        let back = SettingsBody {
            next_invoice_number: 9,
            invoice_prefix: "INV 2026".into(),
            credit_note_prefix: "INV 2026".into(),
            currency: "XXX".into(),
            ..SettingsBody::default()
        };
        let errors = back.validate(&current).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "next_invoice_number",
            "invoice_prefix",
            "credit_note_prefix",
            "currency",
        ] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
        let ok = SettingsBody {
            next_invoice_number: 12,
            currency: "usd".into(),
            business_details: Some("1 High St\r\nLeeds".into()),
            ..SettingsBody::default()
        }
        .validate(&current)
        .unwrap();
        assert_eq!(ok.currency, "USD");
        assert_eq!(ok.business_details.as_deref(), Some("1 High St\nLeeds"));
    }

    #[test]
    fn a_job_bills_its_line_items_at_a_price_to_fill_in() {
        let items = vec![crate::field_service::jobs::LineItem {
            kind: crate::field_service::jobs::LineKind::Material,
            description: "Valve".into(),
            quantity: "2".into(),
        }];
        let draft = InvoiceIn {
            job_id: Some("job_01".into()),
            ..InvoiceIn::default()
        }
        .validate(Some(("ct_1", &items)), Currency::EUR);
        // The job id's shape is checked; the rest comes from the job.
        assert!(draft.is_err());
        let id = crate::ids::JobId::generate(1_700_000_000_000).to_string();
        let draft = InvoiceIn {
            job_id: Some(id),
            ..InvoiceIn::default()
        }
        .validate(Some(("ct_1", &items)), Currency::EUR)
        .unwrap();
        assert_eq!(draft.contact_id, "ct_1");
        assert_eq!(draft.lines[0].quantity, "2");
        assert_eq!(draft.lines[0].unit_price, "0");
    }
}
