//! A workspace's invoices and credit notes, the money recorded against them, and its
//! invoicing settings with the two number sequences.
//!
//! A number is taken when a document is issued, by one `UPDATE … RETURNING` on the settings
//! row inside the issuing transaction: the row stays locked until that transaction ends (a
//! PostgreSQL row lock; SQLite's single writer), so two issues never share a number, and a
//! number taken is never given again — a later void keeps it used.

use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::ids::{InvoiceId, PaymentId};
use holdfast_core::invoicing::invoices::{
    DocumentKind, DraftFields, InvoiceOut, InvoiceStatus, Line, PaymentKind, PaymentListedOut,
    PaymentMethod, PaymentOut, SettingsBody, Settlement, Sums, amount_text, lines_out, sums,
    taxes_out,
};
use holdfast_core::invoicing::money::Currency;

/// The workspace's invoicing settings (the defaults until they are first saved).
pub async fn settings(tx: &mut TenantTx<'_>) -> Result<SettingsBody, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        invoice_prefix: String,
        credit_note_prefix: String,
        next_invoice_number: i64,
        next_credit_note_number: i64,
        payment_terms_days: i64,
        currency: String,
        business_name: Option<String>,
        business_details: Option<String>,
        payment_instructions: Option<String>,
        footer: Option<String>,
    }
    let ws = tx.ws().to_owned();
    let row: Option<Row> = sqlx::query_as(
        "SELECT invoice_prefix, credit_note_prefix, next_invoice_number, next_credit_note_number, \
         payment_terms_days, currency, business_name, business_details, payment_instructions, \
         footer FROM invoice_settings WHERE workspace_id = $1",
    )
    .bind(ws)
    .fetch_optional(tx.conn())
    .await?;
    Ok(match row {
        Some(r) => SettingsBody {
            invoice_prefix: r.invoice_prefix,
            credit_note_prefix: r.credit_note_prefix,
            next_invoice_number: r.next_invoice_number,
            next_credit_note_number: r.next_credit_note_number,
            payment_terms_days: r.payment_terms_days,
            currency: r.currency,
            business_name: r.business_name,
            business_details: r.business_details,
            payment_instructions: r.payment_instructions,
            footer: r.footer,
        },
        None => SettingsBody::default(),
    })
}

async fn ensure_settings(tx: &mut TenantTx<'_>, now_ms: i64) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO invoice_settings (workspace_id, updated_at) VALUES ($1, $2) \
         ON CONFLICT (workspace_id) DO NOTHING",
    )
    .bind(ws)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Saves validated settings. The number sequences only move up: a concurrent issue that took
/// a number after the caller read them is never undone (`MAX`).
pub async fn save_settings(
    tx: &mut TenantTx<'_>,
    s: &SettingsBody,
    now_ms: i64,
) -> Result<(), StoreError> {
    ensure_settings(tx, now_ms).await?;
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE invoice_settings SET invoice_prefix = $2, credit_note_prefix = $3, \
         next_invoice_number = CASE WHEN next_invoice_number > $4 THEN next_invoice_number ELSE $4 END, \
         next_credit_note_number = CASE WHEN next_credit_note_number > $5 THEN next_credit_note_number ELSE $5 END, \
         payment_terms_days = $6, currency = $7, business_name = $8, business_details = $9, \
         payment_instructions = $10, footer = $11, updated_at = $12 WHERE workspace_id = $1",
    )
    .bind(ws)
    .bind(&s.invoice_prefix)
    .bind(&s.credit_note_prefix)
    .bind(s.next_invoice_number)
    .bind(s.next_credit_note_number)
    .bind(s.payment_terms_days)
    .bind(&s.currency)
    .bind(s.business_name.as_deref())
    .bind(s.business_details.as_deref())
    .bind(s.payment_instructions.as_deref())
    .bind(s.footer.as_deref())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Takes the next number of `kind`'s sequence, formatted with its prefix (`INV-000042`).
pub async fn take_number(
    tx: &mut TenantTx<'_>,
    kind: DocumentKind,
    now_ms: i64,
) -> Result<String, StoreError> {
    ensure_settings(tx, now_ms).await?;
    let ws = tx.ws().to_owned();
    let sql = match kind {
        DocumentKind::Invoice => {
            "UPDATE invoice_settings SET next_invoice_number = next_invoice_number + 1, \
             updated_at = $2 WHERE workspace_id = $1 \
             RETURNING next_invoice_number - 1, invoice_prefix"
        }
        DocumentKind::CreditNote => {
            "UPDATE invoice_settings SET next_credit_note_number = next_credit_note_number + 1, \
             updated_at = $2 WHERE workspace_id = $1 \
             RETURNING next_credit_note_number - 1, credit_note_prefix"
        }
    };
    let (n, prefix): (i64, String) = sqlx::query_as(sql)
        .bind(ws)
        .bind(now_ms)
        .fetch_one(tx.conn())
        .await?;
    Ok(holdfast_core::invoicing::invoices::format_number(
        &prefix, n,
    ))
}

/// An invoice or credit note as kept.
#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: InvoiceId,
    pub kind: DocumentKind,
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub fields: DraftFields,
    pub credits_invoice_id: Option<String>,
    pub issue_date: Option<String>,
    pub settlement: Settlement,
    pub bill_to: Option<String>,
    pub reason: Option<String>,
    pub issued_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Invoice {
    pub fn sums(&self) -> Sums {
        sums(self.fields.currency, &self.fields.lines)
    }

    /// Who was billed, as kept when issued: (name, lines).
    pub fn bill_to(&self) -> Option<BillTo> {
        serde_json::from_str(self.bill_to.as_deref()?).ok()
    }
}

/// Who a document bills, kept with it when it is issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BillTo {
    pub name: String,
    pub company: Option<String>,
    pub email: Option<String>,
}

/// An `invoices` row as read with [`COLUMNS`] (the client portal's reads use it too).
#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    id: String,
    kind: String,
    number: Option<String>,
    status: String,
    contact_id: Option<String>,
    company_id: Option<String>,
    job_id: Option<String>,
    credits_invoice_id: Option<String>,
    currency: String,
    issue_date: Option<String>,
    due_date: Option<String>,
    payment_terms_days: Option<i64>,
    lines: String,
    total_minor: i64,
    credited_minor: i64,
    paid_minor: i64,
    refunded_minor: i64,
    bill_to: Option<String>,
    notes: Option<String>,
    payment_instructions: Option<String>,
    reason: Option<String>,
    issued_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

pub(crate) const COLUMNS: &str = "id, kind, number, status, contact_id, company_id, job_id, \
    credits_invoice_id, currency, issue_date, due_date, payment_terms_days, lines, total_minor, \
    credited_minor, paid_minor, refunded_minor, bill_to, notes, payment_instructions, reason, \
    issued_at, created_at, updated_at";

impl Row {
    pub(crate) fn invoice(self) -> Invoice {
        let lines: Vec<Line> = serde_json::from_str(&self.lines).unwrap_or_default();
        Invoice {
            id: InvoiceId::from_trusted(self.id),
            kind: DocumentKind::parse(&self.kind).unwrap_or(DocumentKind::Invoice),
            number: self.number,
            status: InvoiceStatus::parse(&self.status).unwrap_or(InvoiceStatus::Draft),
            fields: DraftFields {
                contact_id: self.contact_id.unwrap_or_default(),
                company_id: self.company_id,
                job_id: self.job_id,
                currency: Currency::from_trusted(&self.currency),
                lines,
                payment_terms_days: self.payment_terms_days,
                due_date: self.due_date.as_deref().and_then(|d| d.parse().ok()),
                notes: self.notes,
                payment_instructions: self.payment_instructions,
            },
            credits_invoice_id: self.credits_invoice_id,
            issue_date: self.issue_date,
            settlement: Settlement {
                total: self.total_minor,
                credited: self.credited_minor,
                paid: self.paid_minor,
                refunded: self.refunded_minor,
            },
            bill_to: self.bill_to,
            reason: self.reason,
            issued_at: self.issued_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The figures of `lines` in minor units: (net, tax, total). `None` when a total does not fit
/// the 64-bit column (refused as a validation error by the caller).
pub fn minor_figures(currency: Currency, s: &Sums) -> Option<(i64, i64, i64)> {
    Some((
        s.net.minor_i64(currency)?,
        s.tax.minor_i64(currency)?,
        s.total.minor_i64(currency)?,
    ))
}

fn lines_json(lines: &[Line]) -> String {
    serde_json::to_string(lines).unwrap_or_else(|_| "[]".into())
}

/// Stores a new draft invoice.
pub async fn insert_draft(
    tx: &mut TenantTx<'_>,
    fields: &DraftFields,
    figures: (i64, i64, i64),
    by: &str,
    now_ms: i64,
) -> Result<InvoiceId, StoreError> {
    let id = InvoiceId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO invoices (workspace_id, id, kind, number, status, contact_id, company_id, \
         job_id, currency, due_date, payment_terms_days, lines, net_minor, tax_minor, total_minor, \
         notes, payment_instructions, created_by, created_at, updated_at) VALUES ($1, $2, \
         'invoice', NULL, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(&fields.contact_id)
    .bind(fields.company_id.as_deref())
    .bind(fields.job_id.as_deref())
    .bind(fields.currency.code())
    .bind(fields.due_date.map(|d| d.to_string()))
    .bind(fields.payment_terms_days)
    .bind(lines_json(&fields.lines))
    .bind(figures.0)
    .bind(figures.1)
    .bind(figures.2)
    .bind(fields.notes.as_deref())
    .bind(fields.payment_instructions.as_deref())
    .bind(by)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Replaces a draft's fields.
pub async fn update_draft(
    tx: &mut TenantTx<'_>,
    id: &InvoiceId,
    fields: &DraftFields,
    figures: (i64, i64, i64),
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE invoices SET contact_id = $3, company_id = $4, currency = $5, due_date = $6, \
         payment_terms_days = $7, lines = $8, net_minor = $9, tax_minor = $10, total_minor = $11, \
         notes = $12, payment_instructions = $13, updated_at = $14 \
         WHERE workspace_id = $1 AND id = $2 AND status = 'draft'",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(&fields.contact_id)
    .bind(fields.company_id.as_deref())
    .bind(fields.currency.code())
    .bind(fields.due_date.map(|d| d.to_string()))
    .bind(fields.payment_terms_days)
    .bind(lines_json(&fields.lines))
    .bind(figures.0)
    .bind(figures.1)
    .bind(figures.2)
    .bind(fields.notes.as_deref())
    .bind(fields.payment_instructions.as_deref())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Deletes a draft (an issued document is never deleted).
pub async fn delete_draft(tx: &mut TenantTx<'_>, id: &InvoiceId) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let done = sqlx::query(
        "DELETE FROM invoices WHERE workspace_id = $1 AND id = $2 AND status = 'draft'",
    )
    .bind(ws)
    .bind(id.as_str())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Who a contact is, for a document's bill-to block: name (or email), company, email.
pub async fn bill_to_of(
    tx: &mut TenantTx<'_>,
    contact_id: &str,
    company_id: Option<&str>,
) -> Result<BillTo, StoreError> {
    let ws = tx.ws().to_owned();
    let contact: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT name, email, company FROM contacts WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(contact_id)
    .fetch_optional(tx.conn())
    .await?;
    let (name, email, company_text) = contact.unwrap_or_default();
    let company = match company_id {
        Some(company) => {
            sqlx::query_scalar("SELECT name FROM companies WHERE workspace_id = $1 AND id = $2")
                .bind(&ws)
                .bind(company)
                .fetch_optional(tx.conn())
                .await?
        }
        None => company_text,
    };
    Ok(BillTo {
        name: name.or_else(|| email.clone()).unwrap_or_default(),
        company,
        email,
    })
}

/// Issues a draft: its number, dates and bill-to block; its lines are final from now on.
pub async fn issue(
    tx: &mut TenantTx<'_>,
    id: &InvoiceId,
    number: &str,
    issue_date: &str,
    due_date: &str,
    bill_to: &BillTo,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE invoices SET number = $3, status = 'issued', issue_date = $4, due_date = $5, \
         bill_to = $6, issued_at = $7, updated_at = $7 \
         WHERE workspace_id = $1 AND id = $2 AND status = 'draft'",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(number)
    .bind(issue_date)
    .bind(due_date)
    .bind(serde_json::to_string(bill_to).unwrap_or_default())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

/// Writes the money kept and the status it gives.
pub async fn settle(
    tx: &mut TenantTx<'_>,
    id: &InvoiceId,
    status: InvoiceStatus,
    s: &Settlement,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE invoices SET status = $3, credited_minor = $4, paid_minor = $5, \
         refunded_minor = $6, updated_at = $7 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(status.as_str())
    .bind(s.credited)
    .bind(s.paid)
    .bind(s.refunded)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Voids an issued invoice (its number stays used).
pub async fn void(
    tx: &mut TenantTx<'_>,
    id: &InvoiceId,
    reason: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "UPDATE invoices SET status = 'void', reason = $3, updated_at = $4 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(reason)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What a new credit note carries.
pub struct CreditNote<'a> {
    pub invoice: &'a Invoice,
    pub number: &'a str,
    pub lines: &'a [Line],
    pub figures: (i64, i64, i64),
    pub reason: &'a str,
    pub issue_date: &'a str,
    pub by: &'a str,
}

/// Stores an issued credit note against `note.invoice` (same customer, currency and bill-to).
pub async fn insert_credit_note(
    tx: &mut TenantTx<'_>,
    note: &CreditNote<'_>,
    now_ms: i64,
) -> Result<InvoiceId, StoreError> {
    let id = InvoiceId::generate(now_ms);
    let ws = tx.ws().to_owned();
    let invoice = note.invoice;
    sqlx::query(
        "INSERT INTO invoices (workspace_id, id, kind, number, status, contact_id, company_id, \
         job_id, credits_invoice_id, currency, issue_date, due_date, lines, net_minor, tax_minor, \
         total_minor, bill_to, reason, created_by, created_at, updated_at, issued_at) VALUES \
         ($1, $2, 'credit_note', $3, 'issued', $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $17, $17)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(note.number)
    .bind(Some(invoice.fields.contact_id.as_str()).filter(|c| !c.is_empty()))
    .bind(invoice.fields.company_id.as_deref())
    .bind(invoice.fields.job_id.as_deref())
    .bind(invoice.id.as_str())
    .bind(invoice.fields.currency.code())
    .bind(note.issue_date)
    .bind(lines_json(note.lines))
    .bind(note.figures.0)
    .bind(note.figures.1)
    .bind(note.figures.2)
    .bind(invoice.bill_to.as_deref())
    .bind(note.reason)
    .bind(note.by)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(id)
}

/// A row of money to record.
pub struct NewPayment<'a> {
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    pub amount_minor: i64,
    pub date: &'a str,
    pub reference: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub provider_event_id: Option<&'a str>,
    /// The provider's payment a refund belongs to (Stripe's payment intent).
    pub provider_payment: Option<&'a str>,
    pub by: &'a str,
}

/// Records money against an invoice.
pub async fn insert_payment(
    tx: &mut TenantTx<'_>,
    invoice: &InvoiceId,
    p: &NewPayment<'_>,
    now_ms: i64,
) -> Result<PaymentId, StoreError> {
    let id = PaymentId::generate(now_ms);
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO invoice_payments (workspace_id, id, invoice_id, kind, method, amount_minor, \
         paid_on, reference, provider, provider_event_id, provider_payment, created_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&ws)
    .bind(id.as_str())
    .bind(invoice.as_str())
    .bind(p.kind.as_str())
    .bind(p.method.as_str())
    .bind(p.amount_minor)
    .bind(p.date)
    .bind(p.reference)
    .bind(p.provider)
    .bind(p.provider_event_id)
    .bind(p.provider_payment)
    .bind(p.by)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: String,
    kind: String,
    method: String,
    amount_minor: i64,
    paid_on: String,
    reference: Option<String>,
    provider: Option<String>,
    created_by: String,
    created_at: i64,
}

async fn payments(tx: &mut TenantTx<'_>, invoice: &Invoice) -> Result<Vec<PaymentOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<PaymentRow> = sqlx::query_as(
        "SELECT id, kind, method, amount_minor, paid_on, reference, provider, created_by, \
         created_at FROM invoice_payments WHERE workspace_id = $1 AND invoice_id = $2 ORDER BY id",
    )
    .bind(ws)
    .bind(invoice.id.as_str())
    .fetch_all(tx.conn())
    .await?;
    let currency = invoice.fields.currency;
    Ok(rows
        .into_iter()
        .map(|r| PaymentOut {
            id: r.id,
            kind: PaymentKind::parse(&r.kind).unwrap_or(PaymentKind::Payment),
            method: PaymentMethod::parse(&r.method).unwrap_or(PaymentMethod::Other),
            amount: amount_text(r.amount_minor, currency),
            date: r.paid_on,
            reference: r.reference,
            provider: r.provider,
            by: r.created_by,
            created_at: r.created_at,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    id: String,
    kind: String,
    method: String,
    amount_minor: i64,
    paid_on: String,
    reference: Option<String>,
    provider: Option<String>,
    created_by: String,
    created_at: i64,
    invoice_id: String,
    number: Option<String>,
    currency: String,
}

/// The workspace's payments and refunds across its invoices, newest first, after the cursor
/// `after` (before the caller's field rules, which the caller applies).
pub async fn recent_payments(
    tx: &mut TenantTx<'_>,
    after: Option<&PaymentId>,
    limit: i64,
) -> Result<Vec<PaymentListedOut>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<ListedRow> = sqlx::query_as(
        "SELECT p.id, p.kind, p.method, p.amount_minor, p.paid_on, p.reference, p.provider, \
         p.created_by, p.created_at, p.invoice_id, i.number, i.currency \
         FROM invoice_payments p JOIN invoices i \
         ON i.workspace_id = p.workspace_id AND i.id = p.invoice_id \
         WHERE p.workspace_id = $1 AND ($2 IS NULL OR p.id < $2) ORDER BY p.id DESC LIMIT $3",
    )
    .bind(ws)
    .bind(after.map(PaymentId::as_str))
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let currency = Currency::from_trusted(&r.currency);
            PaymentListedOut {
                id: r.id,
                kind: PaymentKind::parse(&r.kind).unwrap_or(PaymentKind::Payment),
                method: PaymentMethod::parse(&r.method).unwrap_or(PaymentMethod::Other),
                amount: amount_text(r.amount_minor, currency),
                currency: currency.code().to_owned(),
                date: r.paid_on,
                reference: r.reference,
                provider: r.provider,
                by: r.created_by,
                created_at: r.created_at,
                invoice_id: r.invoice_id,
                invoice_number: r.number,
            }
        })
        .collect())
}

async fn credit_note_ids(
    tx: &mut TenantTx<'_>,
    invoice: &InvoiceId,
) -> Result<Vec<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT id FROM invoices WHERE workspace_id = $1 AND credits_invoice_id = $2 ORDER BY id",
    )
    .bind(ws)
    .bind(invoice.as_str())
    .fetch_all(tx.conn())
    .await?)
}

/// The document, held as `lock` says.
pub async fn get(
    tx: &mut TenantTx<'_>,
    id: &InvoiceId,
    lock: Lock,
) -> Result<Option<Invoice>, StoreError> {
    let ws = tx.ws().to_owned();
    let mut sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM invoices WHERE workspace_id = $1 AND id = $2",
    ]);
    sql.push(lock.clause(tx.backend));
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(Row::invoice))
}

/// Which documents a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<InvoiceStatus>,
    pub kind: Option<DocumentKind>,
    pub contact_id: Option<String>,
    pub job_id: Option<String>,
    /// Only issued, unsettled invoices due before this date (`YYYY-MM-DD`: today).
    pub overdue_on: Option<String>,
}

/// A page of documents, newest first, after the cursor `after`.
pub async fn list(
    tx: &mut TenantTx<'_>,
    filter: &Filter,
    after: Option<&InvoiceId>,
    limit: i64,
) -> Result<Vec<Invoice>, StoreError> {
    let ws = tx.ws().to_owned();
    // Every condition is present with its parameter; an unused filter binds NULL.
    let sql = Sql::of(&[
        "SELECT ",
        COLUMNS,
        " FROM invoices WHERE workspace_id = $1 \
         AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR kind = $3) \
         AND ($4 IS NULL OR contact_id = $4) AND ($5 IS NULL OR job_id = $5) \
         AND ($6 IS NULL OR (status IN ('issued', 'partially_paid') AND due_date < $6)) \
         AND ($7 IS NULL OR id < $7) ORDER BY id DESC LIMIT $8",
    ]);
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(ws)
        .bind(filter.status.map(InvoiceStatus::as_str))
        .bind(filter.kind.map(DocumentKind::as_str))
        .bind(filter.contact_id.as_deref())
        .bind(filter.job_id.as_deref())
        .bind(filter.overdue_on.as_deref())
        .bind(after.map(InvoiceId::as_str))
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(Row::invoice).collect())
}

/// Whether the contact and company a draft names exist in the workspace: (field, detail).
pub async fn missing_references(
    tx: &mut TenantTx<'_>,
    fields: &DraftFields,
) -> Result<Vec<(String, String)>, StoreError> {
    crate::crm::references::missing_customer(
        tx,
        Some(fields.contact_id.as_str()),
        fields.company_id.as_deref(),
    )
    .await
}

/// The document as answered (before the field rule, which the caller applies); `today` is
/// the workspace's date (`YYYY-MM-DD`) for `overdue`.
pub async fn answer(
    tx: &mut TenantTx<'_>,
    invoice: Invoice,
    today: &str,
) -> Result<InvoiceOut, StoreError> {
    let payments = payments(tx, &invoice).await?;
    let credit_note_ids = credit_note_ids(tx, &invoice.id).await?;
    let currency = invoice.fields.currency;
    let s = invoice.sums();
    let money = |minor| amount_text(minor, currency);
    let due = invoice.fields.due_date.map(|d| d.to_string());
    let overdue = matches!(
        invoice.status,
        InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid
    ) && invoice.kind == DocumentKind::Invoice
        && due.as_deref().is_some_and(|d| d < today);
    Ok(InvoiceOut {
        id: invoice.id.to_string(),
        kind: invoice.kind,
        number: invoice.number.clone(),
        status: invoice.status,
        overdue,
        contact_id: Some(invoice.fields.contact_id.clone()).filter(|c| !c.is_empty()),
        company_id: invoice.fields.company_id.clone(),
        job_id: invoice.fields.job_id.clone(),
        credits_invoice_id: invoice.credits_invoice_id.clone(),
        currency: currency.code().to_owned(),
        issue_date: invoice.issue_date.clone(),
        due_date: due,
        payment_terms_days: invoice.fields.payment_terms_days,
        lines: lines_out(currency, &invoice.fields.lines, &s),
        taxes: taxes_out(currency, &s),
        net: s.net.text(currency.minor_units()),
        tax: s.tax.text(currency.minor_units()),
        total: money(invoice.settlement.total),
        credited: money(invoice.settlement.credited),
        paid: money(invoice.settlement.paid),
        refunded: money(invoice.settlement.refunded),
        balance: money(
            if invoice.kind == DocumentKind::Invoice && invoice.status.is_open_for_money() {
                invoice.settlement.balance_due()
            } else {
                0
            },
        ),
        payments,
        credit_note_ids,
        notes: invoice.fields.notes.clone(),
        payment_instructions: invoice.fields.payment_instructions.clone(),
        reason: invoice.reason.clone(),
        issued_at: invoice.issued_at,
        created_at: invoice.created_at,
        updated_at: invoice.updated_at,
    })
}
