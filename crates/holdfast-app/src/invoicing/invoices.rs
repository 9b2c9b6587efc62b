//! Invoices and credit notes, for the API and the console alike: drafts (by hand or from a
//! job's line items), issuing (the number is taken in the issuing transaction), money
//! recorded by hand (payments, refunds), credit notes, voiding, and the workspace's invoicing
//! settings. Every answer and every event's data is cut by the reader's field rules
//! (`invoices.amount` hides every money key, at any depth); every change is audited and
//! published (`invoice.*`, `payment.*`) in its transaction.

use crate::audit::Origin;
use crate::events::publish;
use crate::idempotency::{self, Retry};
use crate::{App, AppResult};
use holdfast_core::access::fields::{self, Resource, Visible};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::time_zone::ZoneName;
use holdfast_core::ids::{InvoiceId, JobId, PaymentId};
use holdfast_core::invoicing::invoices::{
    CreditNoteIn, DocumentKind, DraftFields, InvoiceIn, InvoiceOut, InvoicePatch, InvoiceStatus,
    IssueIn, LineIn, PaymentIn, PaymentKind, SettingsBody, Settlement, TaxOut, VoidIn, check_issue,
    date, derive_status, lines, sums, taxes_out,
};
use holdfast_core::invoicing::money::Currency;
use holdfast_core::validate::{Errors, FieldError};
use holdfast_core::webhooks::EventType;
use holdfast_store::field_service::jobs::{self as job_store, JobScope};
use holdfast_store::identity::auth::Actor;
use holdfast_store::invoicing::invoices::{
    self as store, CreditNote, Filter, Invoice, NewPayment, minor_figures,
};
use holdfast_store::{Lock, TenantTx};
use serde_json::json;

fn not_found() -> ApiError {
    ApiError::not_found("invoice")
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::validation(errors)
}

fn conflict(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Conflict, detail)
}

/// Who did it, as a document and its payments keep it.
fn by(origin: &Origin) -> String {
    format!("{}:{}", origin.actor_type, origin.actor_id)
}

/// The workspace's date now, in its time zone (`YYYY-MM-DD`).
pub(crate) async fn today(state: &App, tx: &mut TenantTx<'_>) -> AppResult<String> {
    let zone: ZoneName = job_store::time_zone(tx).await?;
    Ok(zone.date(state.clock.now_ms()).to_string())
}

/// Refuses a write that sends prices or records money when the caller's role may not write
/// amounts.
pub(crate) fn check_amount_write(actor: &Actor, sends_amounts: bool) -> AppResult<()> {
    if !sends_amounts {
        return Ok(());
    }
    fields::check_write(&actor.role, Resource::Invoices, &["unit_price"]).map_err(
        |(field, access)| {
            ApiError::field(
                ErrorCode::Forbidden,
                &field,
                &format!(
                    "your role may not change invoices.amount (it is {} for you); nothing was changed",
                    access.as_str()
                ),
            )
        },
    )
}

/// The figures a document's lines give, in minor units; refused when a total is too large to
/// keep.
fn figures(fields: &DraftFields) -> AppResult<(i64, i64, i64)> {
    let s = sums(fields.currency, &fields.lines);
    minor_figures(fields.currency, &s).ok_or_else(|| {
        invalid(vec![FieldError::new(
            "lines",
            "the total is too large for one invoice",
        )])
    })
}

/// The document as `actor` may see it.
fn visible(actor: &Actor, out: &InvoiceOut) -> Visible {
    Visible::stored(
        &actor.role,
        Resource::Invoices,
        serde_json::to_value(out).unwrap_or_default(),
    )
}

/// Reads the document back and publishes `events` with it whole (each endpoint gets it cut
/// to its role).
pub(crate) async fn published_whole(
    state: &App,
    tx: &mut TenantTx<'_>,
    id: &InvoiceId,
    events: &[EventType],
) -> AppResult<InvoiceOut> {
    let invoice = store::get(tx, id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let day = today(state, tx).await?;
    let out = store::answer(tx, invoice, &day).await?;
    for event in events {
        publish(tx, *event, &out, state.clock.now_ms()).await?;
    }
    Ok(out)
}

/// As [`published_whole`], answered cut for the caller.
async fn published(
    state: &App,
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    id: &InvoiceId,
    events: &[EventType],
) -> AppResult<Visible> {
    let out = published_whole(state, tx, id, events).await?;
    Ok(visible(actor, &out))
}

/// Refuses references the workspace does not have.
async fn check_references(tx: &mut TenantTx<'_>, fields: &DraftFields) -> AppResult<()> {
    let errors: Vec<FieldError> = store::missing_references(tx, fields)
        .await?
        .into_iter()
        .map(|(field, detail)| FieldError::new(field, detail))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid(errors))
    }
}

pub async fn create(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    body: &InvoiceIn,
) -> AppResult<Visible> {
    Ok(create_once(state, actor, origin, body, None).await?.0)
}

/// [`create`], once per `Idempotency-Key` (`retry`): a retry of the same request answers what
/// the first did (`true`: replayed) and makes nothing.
pub async fn create_once(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    body: &InvoiceIn,
    retry: Option<&Retry>,
) -> AppResult<(Visible, bool)> {
    check_amount_write(actor, body.lines.is_some() || body.currency.is_some())?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    if let Some(answer) = idempotency::replayed(&mut tx, retry, now).await? {
        return Ok((
            Visible::stored(&actor.role, Resource::Invoices, answer),
            true,
        ));
    }
    let settings = store::settings(&mut tx).await?;
    let job = match body.job_id.as_deref().map(JobId::parse) {
        Some(Some(job_id)) => {
            let scope = JobScope::of(actor);
            let job = job_store::get(&mut tx, &scope, &job_id, Lock::Read)
                .await?
                .ok_or_else(|| {
                    invalid(vec![FieldError::new(
                        "job_id",
                        "is not a job of this workspace you reach",
                    )])
                })?;
            Some(job)
        }
        _ => None,
    };
    let fields = body
        .validate(
            job.as_ref()
                .map(|j| (j.fields.contact_id.as_str(), j.fields.line_items.as_slice())),
            Currency::from_trusted(&settings.currency),
        )
        .map_err(invalid)?;
    check_references(&mut tx, &fields).await?;
    let figures = figures(&fields)?;
    let id = store::insert_draft(&mut tx, &fields, figures, &by(origin), now).await?;
    let out = published(state, &mut tx, actor, &id, &[EventType::InvoiceCreated]).await?;
    let event = origin.event(
        "invoice.created",
        "invoice",
        id.as_str(),
        json!({"contact_id": fields.contact_id, "job_id": fields.job_id}),
    );
    idempotency::remember(&mut tx, retry, 201, out.as_json(), now).await?;
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((out, false))
}

pub async fn get(state: &App, actor: &Actor, id: &str) -> AppResult<Visible> {
    let id = InvoiceId::parse(id).ok_or_else(not_found)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let invoice = store::get(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let day = today(state, &mut tx).await?;
    let out = store::answer(&mut tx, invoice, &day).await?;
    tx.commit().await?;
    Ok(visible(actor, &out))
}

/// What a list asks for, before the workspace's date is known.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Filter,
    pub overdue: bool,
}

/// A page of documents (`limit` + 1 read, for the caller's paging), each with its id.
pub async fn list(
    state: &App,
    actor: &Actor,
    query: ListQuery,
    after: Option<&InvoiceId>,
    limit: i64,
) -> AppResult<Vec<(String, Visible)>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let day = today(state, &mut tx).await?;
    let mut filter = query.filter;
    if query.overdue {
        filter.overdue_on = Some(day.clone());
    }
    let rows = store::list(&mut tx, &filter, after, limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for invoice in rows {
        let id = invoice.id.to_string();
        let answer = store::answer(&mut tx, invoice, &day).await?;
        out.push((id, visible(actor, &answer)));
    }
    tx.commit().await?;
    Ok(out)
}

/// The workspace's payments and refunds across its invoices, newest first (`limit` + 1 read,
/// for the caller's paging), each with its id and cut by the reader's field rules (a role
/// without amounts sees when, how and against which invoice, never how much).
pub async fn recent_payments(
    state: &App,
    actor: &Actor,
    after: Option<&PaymentId>,
    limit: i64,
) -> AppResult<Vec<(String, Visible)>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let rows = store::recent_payments(&mut tx, after, limit).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.id.clone();
            let seen = Visible::stored(
                &actor.role,
                Resource::Invoices,
                serde_json::to_value(&row).unwrap_or_default(),
            );
            (id, seen)
        })
        .collect())
}

/// A draft's figures for its lines as typed, worked out without saving anything: what the
/// console's editor shows while a person types. The same validation (`lines[i].…` errors)
/// and the same rounding as a save; only a role that may write amounts gets them.
#[derive(Debug, Clone)]
pub struct Preview {
    pub currency: Currency,
    pub taxes: Vec<TaxOut>,
    pub net: String,
    pub tax: String,
    pub total: String,
}

/// Works out [`Preview`] for the draft `id` with `items` in `currency` (the draft's own when
/// `None`). Reads the draft (404 for one this workspace does not have, 409 for an issued
/// document) and writes nothing.
pub async fn preview(
    state: &App,
    actor: &Actor,
    id: &str,
    currency: Option<&str>,
    items: &[LineIn],
) -> AppResult<Preview> {
    let id = InvoiceId::parse(id).ok_or_else(not_found)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let current = store::get(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    tx.commit().await?;
    check_amount_write(actor, true)?;
    draft_only(&current, "changed")?;
    let mut errors = Errors::default();
    let currency = match currency.map(str::trim).filter(|c| !c.is_empty()) {
        Some(text) => errors
            .take(Currency::parse("currency", text))
            .unwrap_or(current.fields.currency),
        None => current.fields.currency,
    };
    let checked = lines(&mut errors, items);
    errors.finish(()).map_err(invalid)?;
    let fields = DraftFields {
        currency,
        lines: checked,
        ..current.fields
    };
    figures(&fields)?;
    let s = sums(currency, &fields.lines);
    let places = currency.minor_units();
    Ok(Preview {
        currency,
        taxes: taxes_out(currency, &s),
        net: s.net.text(places),
        tax: s.tax.text(places),
        total: s.total.text(places),
    })
}

/// The document the caller names, locked for a change.
async fn for_change(tx: &mut TenantTx<'_>, id: &str) -> AppResult<Invoice> {
    let id = InvoiceId::parse(id).ok_or_else(not_found)?;
    store::get(tx, &id, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)
}

fn draft_only(invoice: &Invoice, what: &str) -> AppResult<()> {
    if invoice.kind == DocumentKind::Invoice && invoice.status == InvoiceStatus::Draft {
        Ok(())
    } else {
        Err(conflict(format!(
            "only a draft invoice can be {what}; this is {} {}{}",
            if invoice.kind == DocumentKind::CreditNote {
                "a credit note,"
            } else {
                "an invoice,"
            },
            invoice.status.as_str(),
            if invoice.kind == DocumentKind::Invoice {
                " (issue a credit note to correct it)"
            } else {
                ""
            }
        )))
    }
}

pub async fn update(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    patch: &InvoicePatch,
) -> AppResult<Visible> {
    check_amount_write(actor, patch.sends_amounts())?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = for_change(&mut tx, id).await?;
    draft_only(&current, "changed")?;
    let fields = patch.apply(&current.fields).map_err(invalid)?;
    check_references(&mut tx, &fields).await?;
    let figures = figures(&fields)?;
    store::update_draft(&mut tx, &current.id, &fields, figures, now).await?;
    let out = published(
        state,
        &mut tx,
        actor,
        &current.id,
        &[EventType::InvoiceUpdated],
    )
    .await?;
    let mut changed = Vec::new();
    let before = &current.fields;
    for (name, differs) in [
        ("contact_id", before.contact_id != fields.contact_id),
        ("company_id", before.company_id != fields.company_id),
        ("currency", before.currency != fields.currency),
        ("lines", before.lines != fields.lines),
        (
            "payment_terms_days",
            before.payment_terms_days != fields.payment_terms_days,
        ),
        ("due_date", before.due_date != fields.due_date),
        ("notes", before.notes != fields.notes),
        (
            "payment_instructions",
            before.payment_instructions != fields.payment_instructions,
        ),
    ] {
        if differs {
            changed.push(name);
        }
    }
    let event = origin.event(
        "invoice.updated",
        "invoice",
        current.id.as_str(),
        json!({"changed": changed}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Deletes a draft; an issued document is kept (void it or credit it instead).
pub async fn delete(state: &App, actor: &Actor, origin: &Origin, id: &str) -> AppResult<()> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = for_change(&mut tx, id).await?;
    draft_only(&current, "deleted")?;
    store::delete_draft(&mut tx, &current.id).await?;
    let event = origin.event("invoice.deleted", "invoice", current.id.as_str(), json!({}));
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Issues a draft: takes the next number of the sequence (in this transaction), fixes its
/// dates and bill-to block.
pub async fn issue(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    body: &IssueIn,
) -> AppResult<Visible> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = for_change(&mut tx, id).await?;
    draft_only(&current, "issued")?;
    let settings = store::settings(&mut tx).await?;
    let issue_date = match &body.issue_date {
        Some(text) => date("issue_date", text).map_err(|e| invalid(vec![e]))?,
        None => {
            let zone = job_store::time_zone(&mut tx).await?;
            zone.date(now)
        }
    };
    let total = current.sums().total;
    let (issued, due) = check_issue(
        &current.fields,
        total,
        issue_date,
        settings.payment_terms_days,
    )
    .map_err(|e| invalid(vec![e]))?;
    check_references(&mut tx, &current.fields).await?;
    let bill_to = store::bill_to_of(
        &mut tx,
        &current.fields.contact_id,
        current.fields.company_id.as_deref(),
    )
    .await?;
    let number = store::take_number(&mut tx, DocumentKind::Invoice, now).await?;
    store::issue(
        &mut tx,
        &current.id,
        &number,
        &issued.to_string(),
        &due.to_string(),
        &bill_to,
        now,
    )
    .await?;
    let out = published(
        state,
        &mut tx,
        actor,
        &current.id,
        &[EventType::InvoiceIssued],
    )
    .await?;
    let event = origin.event(
        "invoice.issued",
        "invoice",
        current.id.as_str(),
        json!({"number": number, "issue_date": issued.to_string(), "due_date": due.to_string()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Voids an issued invoice on which no money is kept and nothing is credited.
pub async fn void(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    body: &VoidIn,
) -> AppResult<Visible> {
    let reason = holdfast_core::validate::plain_text("reason", &body.reason, 1, 500)
        .map_err(|e| invalid(vec![e]))?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = for_change(&mut tx, id).await?;
    if current.kind != DocumentKind::Invoice || !current.status.is_open_for_money() {
        return Err(conflict(format!(
            "only an issued invoice can be voided; this one is {} (a draft can be deleted)",
            current.status.as_str()
        )));
    }
    if current.settlement.kept() != 0 || current.settlement.credited != 0 {
        return Err(conflict(
            "money is kept or credited on this invoice: refund it or issue a credit note instead",
        ));
    }
    store::void(&mut tx, &current.id, &reason, now).await?;
    let out = published(
        state,
        &mut tx,
        actor,
        &current.id,
        &[EventType::InvoiceVoided],
    )
    .await?;
    let event = origin.event(
        "invoice.voided",
        "invoice",
        current.id.as_str(),
        json!({"number": current.number, "reason": reason}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// What a document is, for a refusal: a credit note, or an invoice's status.
fn what_it_is(invoice: &Invoice) -> &'static str {
    if invoice.kind == DocumentKind::CreditNote {
        "a credit note"
    } else {
        invoice.status.as_str()
    }
}

/// Records money received (`Payment`: at most the balance due) or given back (`Refund`: at
/// most what is kept) by hand, and moves the status.
pub async fn record_money(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    kind: PaymentKind,
    body: &PaymentIn,
) -> AppResult<Visible> {
    Ok(
        record_money_once(state, actor, origin, id, kind, body, None)
            .await?
            .0,
    )
}

/// [`record_money`], once per `Idempotency-Key` (`retry`): a retry of the same request (a
/// client that lost the answer) answers what the first did (`true`: replayed) and records
/// nothing more. Checked under the invoice's lock.
pub async fn record_money_once(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    kind: PaymentKind,
    body: &PaymentIn,
    retry: Option<&Retry>,
) -> AppResult<(Visible, bool)> {
    // Money recorded is an amount written (and the refusals name the balance).
    check_amount_write(actor, true)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = for_change(&mut tx, id).await?;
    if let Some(answer) = idempotency::replayed(&mut tx, retry, now).await? {
        return Ok((
            Visible::stored(&actor.role, Resource::Invoices, answer),
            true,
        ));
    }
    let fields = body.validate(current.fields.currency).map_err(invalid)?;
    if current.kind != DocumentKind::Invoice || !current.status.is_open_for_money() {
        return Err(conflict(format!(
            "money can be recorded only against an issued invoice; this one is {}",
            what_it_is(&current)
        )));
    }
    // Money is recorded when it came in: never on a day still to come in the workspace's zone
    // (a typing mistake that would make the books wrong until someone noticed).
    let today = today(state, &mut tx).await?;
    let day = match fields.date {
        Some(d) if d.to_string() > today => {
            return Err(invalid(vec![FieldError::new(
                "date",
                format!("must not be after today ({today} in the workspace's time zone)"),
            )]));
        }
        Some(d) => d.to_string(),
        None => today,
    };
    let currency = current.fields.currency;
    let text = |minor| holdfast_core::invoicing::invoices::amount_text(minor, currency);
    let mut s = current.settlement;
    match kind {
        PaymentKind::Payment => {
            let due = s.balance_due();
            if fields.amount_minor > due {
                return Err(invalid(vec![FieldError::new(
                    "amount",
                    format!(
                        "must be at most the balance due, {} {}",
                        text(due),
                        currency.code()
                    ),
                )]));
            }
            s.paid += fields.amount_minor;
        }
        PaymentKind::Refund => {
            let kept = s.kept();
            if fields.amount_minor > kept {
                return Err(invalid(vec![FieldError::new(
                    "amount",
                    format!(
                        "must be at most what was paid and not refunded, {} {}",
                        text(kept),
                        currency.code()
                    ),
                )]));
            }
            s.refunded += fields.amount_minor;
        }
    }
    let payment = store::insert_payment(
        &mut tx,
        &current.id,
        &NewPayment {
            kind,
            method: fields.method,
            amount_minor: fields.amount_minor,
            date: &day,
            reference: fields.reference.as_deref(),
            provider: None,
            provider_event_id: None,
            provider_payment: None,
            by: &by(origin),
        },
        now,
    )
    .await?;
    let out = settle(state, &mut tx, actor, &current, s, kind).await?;
    let event = origin.event(
        match kind {
            PaymentKind::Payment => "payment.recorded",
            PaymentKind::Refund => "payment.refunded",
        },
        "invoice",
        current.id.as_str(),
        json!({"payment_id": payment.as_str(), "method": fields.method.as_str(), "amount_minor": fields.amount_minor}),
    );
    idempotency::remember(&mut tx, retry, 201, out.as_json(), now).await?;
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((out, false))
}

/// Writes the new settlement and status, and publishes what happened.
async fn settle(
    state: &App,
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    current: &Invoice,
    s: Settlement,
    kind: PaymentKind,
) -> AppResult<Visible> {
    let out = settle_whole(state, tx, current, s, kind).await?;
    Ok(visible(actor, &out))
}

/// As [`settle`], for money a provider's verified event records: the document whole.
pub(crate) async fn settle_whole(
    state: &App,
    tx: &mut TenantTx<'_>,
    current: &Invoice,
    s: Settlement,
    kind: PaymentKind,
) -> AppResult<InvoiceOut> {
    let status = derive_status(current.status, &s);
    store::settle(tx, &current.id, status, &s, state.clock.now_ms()).await?;
    let mut events = vec![match kind {
        PaymentKind::Payment => EventType::PaymentRecorded,
        PaymentKind::Refund => EventType::PaymentRefunded,
    }];
    if status == InvoiceStatus::Paid && current.status != InvoiceStatus::Paid {
        events.push(EventType::InvoicePaid);
    }
    published_whole(state, tx, &current.id, &events).await
}

/// Issues a credit note against an issued invoice (at most what is not yet credited), and
/// answers the credit note.
pub async fn credit(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    body: &CreditNoteIn,
) -> AppResult<Visible> {
    // A credit is an amount written, whichever lines it names.
    check_amount_write(actor, true)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = for_change(&mut tx, id).await?;
    if current.kind != DocumentKind::Invoice || !current.status.is_open_for_money() {
        return Err(conflict(format!(
            "a credit note can be issued only against an issued invoice; this one is {}",
            what_it_is(&current)
        )));
    }
    let (reason, lines) = body.validate(&current.fields.lines).map_err(invalid)?;
    let currency = current.fields.currency;
    let note_sums = sums(currency, &lines);
    let figures = minor_figures(currency, &note_sums)
        .ok_or_else(|| invalid(vec![FieldError::new("lines", "the total is too large")]))?;
    let open = current.settlement.total - current.settlement.credited;
    if figures.2 <= 0 || figures.2 > open {
        return Err(invalid(vec![FieldError::new(
            "lines",
            format!(
                "a credit note's total must be above zero and at most what is not yet credited, {} {}",
                holdfast_core::invoicing::invoices::amount_text(open, currency),
                currency.code()
            ),
        )]));
    }
    let number = store::take_number(&mut tx, DocumentKind::CreditNote, now).await?;
    let day = today(state, &mut tx).await?;
    let note_id = store::insert_credit_note(
        &mut tx,
        &CreditNote {
            invoice: &current,
            number: &number,
            lines: &lines,
            figures,
            reason: &reason,
            issue_date: &day,
            by: &by(origin),
        },
        now,
    )
    .await?;
    let mut s = current.settlement;
    s.credited += figures.2;
    let status = derive_status(current.status, &s);
    store::settle(&mut tx, &current.id, status, &s, now).await?;
    let mut events = vec![EventType::InvoiceUpdated];
    if status == InvoiceStatus::Paid && current.status != InvoiceStatus::Paid {
        events.push(EventType::InvoicePaid);
    }
    published(state, &mut tx, actor, &current.id, &events).await?;
    let out = published(
        state,
        &mut tx,
        actor,
        &note_id,
        &[EventType::InvoiceCredited],
    )
    .await?;
    let event = origin.event(
        "invoice.credited",
        "invoice",
        current.id.as_str(),
        json!({"credit_note_id": note_id.as_str(), "number": number, "total_minor": figures.2}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn settings(state: &App, actor: &Actor) -> AppResult<SettingsBody> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let out = store::settings(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn save_settings(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    body: &SettingsBody,
) -> AppResult<SettingsBody> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let current = store::settings(&mut tx).await?;
    let next = body.validate(&current).map_err(invalid)?;
    store::save_settings(&mut tx, &next, now).await?;
    let saved = store::settings(&mut tx).await?;
    let event = origin.event(
        "invoicing.settings_changed",
        "workspace",
        actor.tenant.workspace_id().as_str(),
        json!({
            "invoice_prefix": saved.invoice_prefix,
            "credit_note_prefix": saved.credit_note_prefix,
            "next_invoice_number": saved.next_invoice_number,
            "next_credit_note_number": saved.next_credit_note_number,
            "currency": saved.currency,
        }),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(saved)
}
