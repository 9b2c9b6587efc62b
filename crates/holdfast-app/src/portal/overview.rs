//! What a signed-in customer sees first (the portal's home, and later its API): their own
//! tickets, jobs and invoices, read in one transaction through their scope, with times in the
//! workspace's zone and money in the invoice's currency.

use crate::{App, AppResult};
use holdfast_core::access::modules::Module;
use holdfast_core::field_service::jobs::{Window, WindowOut};
use holdfast_core::invoicing::money::{Currency, Decimal};
use holdfast_store::portal::auth::PortalActor;
use holdfast_store::portal::overview;

/// A ticket as the customer sees it.
pub struct TicketLine {
    pub id: String,
    pub subject: String,
    pub status: String,
    /// In the workspace's zone, like `2026-12-08 09:00`.
    pub last_activity: String,
}

/// A job as the customer sees it.
pub struct JobLine {
    pub id: String,
    pub title: String,
    pub status: String,
    /// `2026-12-08 09:00 to 2026-12-08 11:00 (Europe/Paris)`, when scheduled.
    pub when: Option<String>,
}

/// An invoice as the customer sees it.
pub struct InvoiceLine {
    pub id: String,
    pub number: String,
    pub status: String,
    /// Like `120.00 EUR`.
    pub total: String,
    /// What is still to pay, like `20.00 EUR`.
    pub open: String,
    pub due_date: Option<String>,
}

/// The overview. Visits and invoices are there only while their module is on (`None`
/// otherwise: the section is left out, as their pages answer 404 then). The customer's past
/// requests are always there: reading them does not need the help desk, only writing does
/// (`super::tickets::may_write`), so the list agrees with the request's own page and the API.
pub struct Overview {
    pub tickets: Vec<TicketLine>,
    pub jobs: Option<Vec<JobLine>>,
    pub invoices: Option<Vec<InvoiceLine>>,
}

fn local(text: &str) -> String {
    text.replacen('T', " ", 1)
}

fn money(minor: i64, currency: Currency) -> String {
    format!(
        "{} {}",
        Decimal::from_minor(minor, currency).text(currency.minor_units()),
        currency.code()
    )
}

/// The customer's own tickets, jobs and invoices.
pub async fn overview(app: &App, actor: &PortalActor) -> AppResult<Overview> {
    let mut tx = app.db.read(&actor.tenant).await?;
    let zone = holdfast_store::field_service::jobs::time_zone(&mut tx).await?;
    let on = |m| actor.modules.contains(m);
    let tickets = overview::tickets(&mut tx, &actor.scope).await?;
    let jobs = match on(Module::FieldService) {
        true => Some(overview::jobs(&mut tx, &actor.scope).await?),
        false => None,
    };
    let invoices = match on(Module::Invoicing) {
        true => Some(overview::invoices(&mut tx, &actor.scope).await?),
        false => None,
    };
    tx.commit().await?;
    Ok(Overview {
        tickets: tickets
            .into_iter()
            .map(|t| TicketLine {
                id: t.id,
                subject: t.subject,
                status: t.status.replace('_', " "),
                last_activity: local(&zone.local(t.last_message_at)),
            })
            .collect(),
        jobs: jobs.map(|jobs| {
            jobs.into_iter()
                .map(|j| {
                    let when = match (j.window_start, j.window_end) {
                        (Some(start_ms), Some(end_ms)) => {
                            let w = WindowOut::of(Window { start_ms, end_ms }, &zone);
                            Some(format!(
                                "{} to {} ({})",
                                local(&w.start_local),
                                local(&w.end_local),
                                w.time_zone
                            ))
                        }
                        _ => None,
                    };
                    JobLine {
                        id: j.id,
                        title: j.title,
                        status: j.status.replace('_', " "),
                        when,
                    }
                })
                .collect()
        }),
        invoices: invoices.map(|invoices| {
            invoices
                .into_iter()
                .map(|i| {
                    let currency = Currency::from_trusted(&i.currency);
                    // Open only on an issued, unsettled invoice (never a paid or void one).
                    let open = if matches!(i.status.as_str(), "issued" | "partially_paid") {
                        i.total_minor - i.credited_minor - i.paid_minor + i.refunded_minor
                    } else {
                        0
                    };
                    InvoiceLine {
                        id: i.id,
                        number: i.number.unwrap_or_default(),
                        status: i.status.replace('_', " "),
                        total: money(i.total_minor, currency),
                        open: money(open.max(0), currency),
                        due_date: i.due_date,
                    }
                })
                .collect()
        }),
    })
}
