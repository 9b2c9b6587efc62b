//! An invoice as a document: its PDF (business details, customer, lines, taxes, totals,
//! payment instructions; rendered in `core::invoicing::pdf`) and the invoice mail, which
//! carries that PDF and leaves through the outreach choke point as a transactional mail (owed
//! under the contract: no consent needed, Do Not Contact still respected).
//!
//! A PDF shows every amount, so a reader whose role hides `invoices.amount` gets none; the
//! customer's email is printed only for a reader who may see `contacts.email`.

use crate::audit::Origin;
use crate::invoicing::invoices::today;
use crate::outreach::{ContactEmail, Decision, MailAttachment, queue_to_contact};
use crate::{App, AppResult};
use holdfast_core::access::fields::{self, Access, Field};
use holdfast_core::crm::consent::Purpose;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::{ContactId, InvoiceId};
use holdfast_core::invoicing::invoices::{DocumentKind, InvoiceOut, InvoiceStatus};
use holdfast_core::invoicing::pdf::{DocumentLine, InvoiceDocument, Party, TaxRow, render};
use holdfast_core::public_links::PublicLinkKind;
use holdfast_store::identity::auth::Actor;
use holdfast_store::invoicing::invoices::{self as store, BillTo, Invoice};
use holdfast_store::{Lock, Tenant, TenantTx};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A rendered document: its file name and bytes.
pub struct Pdf {
    pub filename: String,
    pub bytes: Vec<u8>,
}

fn refuse_hidden_amounts(actor: &Actor) -> AppResult<()> {
    if fields::access(&actor.role, Field::InvoicesAmount) == Access::Hidden {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "your role may not see invoice amounts, and a PDF shows every one",
        ));
    }
    Ok(())
}

/// Which of the customer's details a reader may see printed.
#[derive(Debug, Clone, Copy)]
struct Shown {
    name: bool,
    company: bool,
    email: bool,
}

impl Shown {
    const ALL: Shown = Shown {
        name: true,
        company: true,
        email: true,
    };

    fn for_reader(actor: &Actor) -> Shown {
        let sees = |field| fields::access(&actor.role, field) != Access::Hidden;
        Shown {
            name: sees(Field::ContactsName),
            company: sees(Field::ContactsCompany),
            email: sees(Field::ContactsEmail),
        }
    }
}

/// The document's figures and parties, read in `tx`, printing what `shown` allows of the
/// customer.
async fn document(
    state: &App,
    tx: &mut TenantTx<'_>,
    invoice: Invoice,
    shown: Shown,
    public_link: Option<String>,
) -> AppResult<(InvoiceDocument, InvoiceOut, Option<BillTo>)> {
    let settings = store::settings(tx).await?;
    let workspace = holdfast_store::access::workspaces::get(tx).await?;
    let bill_to = match invoice.bill_to() {
        Some(kept) => Some(kept),
        None if !invoice.fields.contact_id.is_empty() => Some(
            store::bill_to_of(
                tx,
                &invoice.fields.contact_id,
                invoice.fields.company_id.as_deref(),
            )
            .await?,
        ),
        None => None,
    };
    let day = today(state, tx).await?;
    let out = store::answer(tx, invoice, &day).await?;
    let business = Party {
        name: settings
            .business_name
            .clone()
            .or_else(|| workspace.map(|w| w.name))
            .unwrap_or_default(),
        lines: settings
            .business_details
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
    };
    let customer = match &bill_to {
        Some(b) => {
            let mut lines = Vec::new();
            if shown.company
                && let Some(company) = &b.company
            {
                lines.push(company.clone());
            }
            if shown.email
                && let Some(email) = &b.email
            {
                lines.push(email.clone());
            }
            Party {
                name: if shown.name {
                    b.name.clone()
                } else {
                    "(name hidden for your role)".into()
                },
                lines,
            }
        }
        None => Party {
            name: "(customer erased)".into(),
            lines: Vec::new(),
        },
    };
    let doc = InvoiceDocument {
        title: match out.kind {
            DocumentKind::Invoice => "Invoice".into(),
            DocumentKind::CreditNote => "Credit note".into(),
        },
        number: out.number.clone().unwrap_or_else(|| "Draft".into()),
        status: out.status.as_str().replace('_', " "),
        issue_date: out.issue_date.clone().unwrap_or_else(|| "—".into()),
        due_date: out.due_date.clone().unwrap_or_else(|| "—".into()),
        currency: out.currency.clone(),
        business,
        customer,
        lines: out
            .lines
            .iter()
            .map(|l| DocumentLine {
                description: l.description.clone(),
                quantity: l.quantity.clone(),
                unit_price: l.unit_price.clone(),
                discount_percent: Some(l.discount_percent.clone()).filter(|d| d != "0"),
                tax_percent: l.tax_percent.clone(),
                net: l.net.clone(),
            })
            .collect(),
        taxes: out
            .taxes
            .iter()
            .map(|t| TaxRow {
                rate_percent: t.rate_percent.clone(),
                net: t.net.clone(),
                tax: t.tax.clone(),
            })
            .collect(),
        net: out.net.clone(),
        tax: out.tax.clone(),
        total: out.total.clone(),
        paid: out.paid.clone(),
        balance: out.balance.clone(),
        payment_instructions: out
            .payment_instructions
            .clone()
            .or(settings.payment_instructions.clone()),
        public_link,
        notes: match out.kind {
            DocumentKind::Invoice => out.notes.clone(),
            DocumentKind::CreditNote => out.reason.clone().map(|r| format!("Credited: {r}")),
        },
        footer: settings.footer.clone(),
    };
    Ok((doc, out, bill_to))
}

fn filename(out: &InvoiceOut) -> String {
    let name: String = out
        .number
        .clone()
        .unwrap_or_else(|| format!("draft-{}", out.id))
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}.pdf")
}

/// The invoice's PDF, for a staff reader.
pub async fn pdf(state: &App, actor: &Actor, id: &str) -> AppResult<Pdf> {
    let id = InvoiceId::parse(id).ok_or_else(|| ApiError::not_found("invoice"))?;
    refuse_hidden_amounts(actor)?;
    let shown = Shown::for_reader(actor);
    let mut tx = state.db.read(&actor.tenant).await?;
    let invoice = store::get(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))?;
    let (doc, out, _) = document(state, &mut tx, invoice, shown, None).await?;
    tx.commit().await?;
    Ok(Pdf {
        filename: filename(&out),
        bytes: render(&doc),
    })
}

/// The invoice's PDF for its customer (the public link's page), whole: the customer sees
/// their own invoice. `public_link` is printed on it.
pub async fn pdf_for_customer(
    state: &App,
    tenant: &Tenant,
    id: &InvoiceId,
    public_link: Option<String>,
) -> AppResult<Option<Pdf>> {
    let mut tx = state.db.read(tenant).await?;
    let Some(invoice) = store::get(&mut tx, id, Lock::Read).await? else {
        return Ok(None);
    };
    let pdf = customer_pdf(state, &mut tx, invoice, public_link).await?;
    tx.commit().await?;
    Ok(Some(pdf))
}

/// The PDF of an invoice its customer reads whole, already found within the customer's reach
/// in `tx` (a public link's invoice, or a client portal customer's own): the renderer the
/// staff's PDF uses, every detail of the customer printed.
pub async fn customer_pdf(
    state: &App,
    tx: &mut TenantTx<'_>,
    invoice: Invoice,
    public_link: Option<String>,
) -> AppResult<Pdf> {
    let (doc, out, _) = document(state, tx, invoice, Shown::ALL, public_link).await?;
    Ok(Pdf {
        filename: filename(&out),
        bytes: render(&doc),
    })
}

/// Body of `POST /api/v1/invoices/{id}/send`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendIn {
    /// A note above the invoice's summary in the mail.
    #[schemars(length(max = 2000))]
    pub message: Option<String>,
    /// Include the invoice's public link (view, PDF, Pay) in the mail and on its PDF (default
    /// true). A fresh link is issued for the mail: the link of an earlier mail opens nothing
    /// from then on.
    pub with_link: Option<bool>,
}

/// What became of the mail.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SendOut {
    /// `queued`: it leaves with the next mail run.
    pub decision: String,
    pub attachment: String,
}

fn sendable(invoice: &Invoice) -> AppResult<()> {
    if matches!(invoice.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a {} invoice is not sent to the customer: issue it first",
                invoice.status.as_str()
            ),
        ));
    }
    if ContactId::parse(&invoice.fields.contact_id).is_none() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this invoice's customer was erased: there is no one to send it to",
        ));
    }
    Ok(())
}

/// Mails the issued invoice (or credit note) to its customer with its PDF attached, through
/// the choke point; refused when the customer may not be mailed (Do Not Contact, no address).
pub async fn send(
    state: &App,
    actor: &Actor,
    origin: &Origin,
    id: &str,
    body: &SendIn,
) -> AppResult<SendOut> {
    let id = InvoiceId::parse(id).ok_or_else(|| ApiError::not_found("invoice"))?;
    // The mail carries every amount, the PDF and a payment link: only a role that may see and
    // write amounts sends it (as only such a role hands out the link or opens the PDF), so a
    // role with amounts hidden cannot mail them to an address it chose.
    crate::invoicing::invoices::check_amount_write(actor, true)?;
    let message = match body
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(m) => Some(
            holdfast_core::invoicing::invoices::multiline("message", m, 2000)
                .map_err(|e| ApiError::validation(vec![e]))?,
        ),
        None => None,
    };
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let invoice = store::get(&mut tx, &id, Lock::Read)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))?;
    sendable(&invoice)?;
    let Some(contact) = ContactId::parse(&invoice.fields.contact_id) else {
        return Err(ApiError::not_found("invoice"));
    };
    // A fresh link for this mail, stored only if the mail may go (a refused mail leaves the
    // customer's current link as it was).
    let link = body
        .with_link
        .unwrap_or(true)
        .then(|| holdfast_core::public_links::issue(PublicLinkKind::Invoice));
    let base = state.config.public_url.trim_end_matches('/');
    let public_link = link
        .as_ref()
        .map(|l| format!("{base}{}", PublicLinkKind::Invoice.path(l.token.expose())));
    let (doc, out, bill_to) =
        document(state, &mut tx, invoice, Shown::ALL, public_link.clone()).await?;
    let pdf = render(&doc);
    let attachment = filename(&out);
    let kind = match out.kind {
        DocumentKind::Invoice => "invoice",
        DocumentKind::CreditNote => "credit note",
    };
    let greeting = bill_to
        .map(|b| b.name)
        .filter(|n| !n.is_empty())
        .map(|n| format!("Hello {n},"))
        .unwrap_or_else(|| "Hello,".into());
    let mut text = format!("{greeting}\n\n");
    if let Some(m) = &message {
        text.push_str(m);
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "Please find {kind} {} from {} attached: {} {}",
        doc.number, doc.business.name, doc.total, doc.currency
    ));
    if out.kind == DocumentKind::Invoice {
        text.push_str(&format!(
            ", due {}. Balance due: {} {}.",
            doc.due_date, doc.balance, doc.currency
        ));
    } else {
        text.push('.');
    }
    if let Some(instructions) = &doc.payment_instructions {
        text.push_str(&format!("\n\nHow to pay:\n{instructions}"));
    }
    if let Some(link) = &public_link {
        text.push_str(&format!("\n\nView and pay online: {link}"));
    }
    text.push('\n');
    let mail = ContactEmail {
        subject: format!(
            "{} {} from {}",
            capitalised(kind),
            doc.number,
            doc.business.name
        ),
        body: text,
        attachments: vec![MailAttachment {
            filename: attachment.clone(),
            content_type: "application/pdf".into(),
            data: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &pdf),
        }],
        ..ContactEmail::default()
    };
    let decision = queue_to_contact(&mut tx, &contact, Purpose::Transactional, mail, now).await?;
    if let Decision::Blocked { detail, .. } = decision {
        tx.commit().await?;
        return Err(ApiError::field(
            ErrorCode::Conflict,
            "contact_id",
            &format!("the {kind} was not sent: {detail}"),
        ));
    }
    if let Some(link) = &link {
        let issued = holdfast_store::public_links::issue(
            &mut tx,
            PublicLinkKind::Invoice,
            id.as_str(),
            &link.token_hash,
            &format!("{}:{}", origin.actor_type, origin.actor_id),
            now,
        )
        .await?;
        let event = origin.event(
            "invoice.public_link_issued",
            "invoice",
            id.as_str(),
            json!({
                "link_id": issued.id.as_str(),
                "replaced_link_id": issued.replaced.as_ref().map(|r| r.as_str()),
                "for": "mail",
            }),
        );
        holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    }
    let event = origin.event(
        "invoice.sent",
        "invoice",
        id.as_str(),
        json!({"contact_id": contact.as_str(), "attachment": attachment, "bytes": pdf.len()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(SendOut {
        decision: "queued".into(),
        attachment,
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
