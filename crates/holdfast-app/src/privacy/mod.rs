//! Data-subject rights and retention, callable with or without an HTTP actor: the export
//! document (the API, and the mailed link of "download my data"), the data subject's own
//! requests from the preference center and the client portal (`subject`: the mailed link, a
//! deletion request), erasure inside a caller's transaction plus the attachment files after
//! it, and the retention run (daily from the worker, now from the API or `holdfast
//! retention`). Design note: docs/design/privacy.md.

pub mod subject;

use crate::AppResult;
use holdfast_core::access::fields::{Field, Visible};
use holdfast_core::access::policy::{Permission, Role};
use holdfast_core::clock::Millis;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::ids::{ContactId, TicketId};
use holdfast_core::privacy::{
    ContactPrivacyOut, PrivacyChange, RetentionCounts, RetentionPreview, utc_day,
};
use holdfast_core::webhooks::EventType;
use holdfast_store::ops::audit::NewEvent;
use holdfast_store::privacy::{self as store, Erased};
use holdfast_store::{Db, Lock, StoreError, Tenant, TenantTx, crm::contacts, helpdesk::tickets};
use serde_json::{Value, json};
use std::path::Path;

/// The consent section of the export: every channel's status with its lawful basis and
/// source, the switches, the whole consent log and every outbound decision about the contact.
pub async fn export_consent(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
) -> Result<Value, StoreError> {
    use holdfast_store::crm::consent;
    let Some(standing) = consent::standing(tx, contact, Lock::Read).await? else {
        return Ok(Value::Null);
    };
    let settings = consent::settings(tx).await?;
    let mut log = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = consent::log(tx, contact, after.as_deref(), 500).await?;
        after = page.last().map(|e| e.id.clone());
        let done = page.len() < 500;
        log.extend(page);
        if done {
            break;
        }
    }
    let mut decisions = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = consent::outreach(tx, contact, after.as_deref(), 500).await?;
        after = page.last().map(|e| e.id.clone());
        let done = page.len() < 500;
        decisions.extend(page);
        if done {
            break;
        }
    }
    let current = crate::crm::consent::view(contact, &standing, &settings);
    Ok(json!({
        "current": current,
        "log": log,
        "outbound_decisions": decisions,
    }))
}

/// Who an export document is for.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    /// An operator (`GET /api/v1/contacts/{id}/export`): the contact cut to the role's field
    /// rules; internal notes included (the operator answers the person's request with them).
    Staff(&'a Role),
    /// The person themselves, through the single-use link mailed from the preference center:
    /// their profile whole, without the workspace's internal notes and staff fields.
    DataSubject,
}

/// Everything the workspace holds about a contact, as one JSON document; `None` when the
/// contact does not exist. The profile goes in as a [`Visible`] for the reader. Attachments
/// are listed with the path that downloads them; visitor tokens, webhook deliveries and audit
/// entries are not personal data of the contact (the last name it only by id) and are left
/// out.
pub async fn export_document(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
    now_ms: Millis,
    reader: Reader<'_>,
) -> Result<Option<Value>, StoreError> {
    let Some(stored) = contacts::get(tx, id, Lock::Read).await? else {
        return Ok(None);
    };
    let profile = match reader {
        Reader::Staff(role) => Visible::contact(role, &stored),
        Reader::DataSubject => Visible::contact_for_data_subject(&stored),
    };
    let staff = matches!(reader, Reader::Staff(_));
    // Internal notes (and files attached to them) are the workspace's own working notes.
    let shown = |kind: &str| staff || kind != "note";
    let flags = store::contact_privacy(tx, id).await?;
    let mut threads = Vec::new();
    for ticket in store::contact_tickets(tx, id).await? {
        let ticket = TicketId::from_trusted(ticket);
        let Some(out) = tickets::get(tx, &ticket, Lock::Read).await? else {
            continue;
        };
        let messages: Vec<_> = tickets::messages(tx, &ticket)
            .await?
            .into_iter()
            .filter(|m| shown(&m.kind))
            .map(|m| match reader {
                Reader::Staff(role) => m.for_role(role),
                Reader::DataSubject => m,
            })
            .collect();
        let attachments: Vec<Value> = tickets::attachments(tx, &ticket)
            .await?
            .into_iter()
            .filter(|a| messages.iter().any(|m| m.id == a.message_id))
            .map(|a| {
                json!({
                    "id": a.id,
                    "message_id": a.message_id,
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "sha256": a.sha256,
                    "download": format!("/api/v1/tickets/{}/attachments/{}", ticket, a.id),
                })
            })
            .collect();
        let mut thread = serde_json::to_value(&out).unwrap_or_default();
        if !staff && let Some(map) = thread.as_object_mut() {
            // Which operator holds the ticket, and its internal tags, are the workspace's own.
            map.remove("assignee");
            map.remove("tags");
        }
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| {
                let mut m = serde_json::to_value(m).unwrap_or_default();
                if !staff && let Some(map) = m.as_object_mut() {
                    map.remove("author_id");
                }
                m
            })
            .collect();
        thread["messages"] = Value::Array(messages);
        thread["attachments"] = Value::Array(attachments);
        threads.push(thread);
    }
    let elsewhere = store::messages_elsewhere(tx, id).await?;
    let mut widget = store::widget_records(tx, id).await?;
    if !profile.shows(Field::ContactsEmail)
        && let Some(conversations) = widget["conversations"].as_array_mut()
    {
        // The address a visitor typed is the contact's email under another name.
        for c in conversations.iter_mut().filter_map(Value::as_object_mut) {
            c.remove("claimed_email");
        }
    }
    let mut requests = serde_json::to_value(store::contact_erasure_requests(tx, id, now_ms).await?)
        .unwrap_or_default();
    let mut consent = export_consent(tx, id).await?;
    if !staff {
        without_staff_details(&mut consent, &mut requests);
    }
    Ok(Some(json!({
        "format": "holdfast.contact-export/1",
        "generated_at": now_ms,
        "contact": profile.into_json(),
        "privacy": flags,
        "consent": consent,
        "tickets": threads,
        "messages_in_other_tickets": elsewhere,
        "widget": widget,
        "erasure_requests": requests,
    })))
}

/// An operator's export of a contact (`GET /api/v1/contacts/{id}/export` and the console's
/// download): the document for `role` ([`Reader::Staff`]) and `by`'s audit entry
/// (`contact.exported`, with the number of tickets), in one transaction so the entry names a
/// consistent document. The export holds the contact's conversations, so the role needs
/// `tickets.read` besides the route's `contacts.export`. `None` when the contact does not exist.
pub async fn staff_export(
    db: &Db,
    tenant: &Tenant,
    role: &Role,
    id: &ContactId,
    by: NewEvent,
    now_ms: Millis,
) -> AppResult<Option<Value>> {
    if !role.grants(Permission::TicketsRead) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the export holds the contact's help-desk conversations, so it needs tickets.read as well as contacts.export",
        ));
    }
    let mut tx = db.write(tenant).await?;
    let Some(document) = export_document(&mut tx, id, now_ms, Reader::Staff(role)).await? else {
        return Ok(None);
    };
    let mut summary = by.summary.clone();
    summary["tickets"] = json!(document["tickets"].as_array().map_or(0, Vec::len));
    let event = NewEvent {
        action: "contact.exported",
        entity_type: "contact",
        entity_id: id.to_string(),
        summary,
        ..by
    };
    holdfast_store::ops::audit::append(&mut tx, &event, now_ms).await?;
    tx.commit().await?;
    Ok(Some(document))
}

/// Sets or lifts a contact's legal hold or its own retention period, with `by`'s audit entry
/// (`contact.privacy_changed`: before, after and the reason), in the caller's transaction;
/// `None` when the contact does not exist.
pub async fn change_contact_privacy(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
    change: &PrivacyChange,
    by: NewEvent,
    now_ms: Millis,
) -> Result<Option<ContactPrivacyOut>, StoreError> {
    let Some(before) = store::contact_privacy(tx, id).await? else {
        return Ok(None);
    };
    let Some(after) = store::set_contact_privacy(tx, id, change).await? else {
        return Ok(None);
    };
    let event = NewEvent {
        action: "contact.privacy_changed",
        entity_type: "contact",
        entity_id: id.to_string(),
        summary: json!({
            "before": {"legal_hold": before.legal_hold, "retention_days": before.retention_days},
            "after": {"legal_hold": after.legal_hold, "retention_days": after.retention_days},
            "reason": change.reason,
        }),
        ..by
    };
    holdfast_store::ops::audit::append(tx, &event, now_ms).await?;
    Ok(Some(after))
}

/// The data subject's copy names no staff member: a consent change made by staff or a key
/// shows as `staff`, without the staff member's address and browser (their personal data, not
/// the contact's); an erasure request keeps its decision and reason but not who decided.
fn without_staff_details(consent: &mut Value, requests: &mut Value) {
    if let Some(log) = consent.get_mut("log").and_then(Value::as_array_mut) {
        for entry in log.iter_mut().filter_map(Value::as_object_mut) {
            let by_staff = !matches!(
                entry.get("actor").and_then(Value::as_str),
                Some("contact" | "system")
            );
            if by_staff {
                entry.insert("actor".into(), json!("staff"));
                entry.insert("ip".into(), Value::Null);
                entry.insert("user_agent".into(), Value::Null);
            }
        }
    }
    if let Some(requests) = requests.as_array_mut() {
        for request in requests.iter_mut().filter_map(Value::as_object_mut) {
            request.remove("decided_by");
        }
    }
}

/// Erases a contact in the caller's transaction (see [`store::erase_contact`]; with what an
/// erasure request remembers, [`store::erase_requested`], which also erases what a contact
/// whose row is gone left behind) and publishes `contact.erased` (only the id) for each contact
/// erased. The caller audits and commits, then calls [`crate::attachments::remove_files`] with
/// the report's blobs.
pub async fn erase_in(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
    remembered: Option<&store::Remembered>,
    now_ms: Millis,
) -> Result<Erased, StoreError> {
    let erased = match remembered {
        Some(remembered) => store::erase_requested(tx, id, remembered).await?,
        None => store::erase_contact(tx, id).await?,
    };
    if let Erased::Done(report) = &erased {
        for contact in &report.contacts {
            holdfast_store::webhooks::publish(
                tx,
                EventType::ContactErased,
                json!({"id": contact}),
                now_ms,
            )
            .await?;
        }
    }
    Ok(erased)
}

/// The one erasure every operator route takes (`POST …/erase`, `DELETE /api/v1/contacts/{id}`,
/// an approved erasure request): [`erase_in`], then the `contact.erased` audit entry as `by`
/// (its summary gains the counts; ids only), and the contact's open erasure request answered
/// as approved by the same actor — all in the caller's transaction. The caller commits, then
/// calls [`crate::attachments::remove_files`] with the report's blobs.
pub async fn erase_audited(
    tx: &mut TenantTx<'_>,
    id: &ContactId,
    remembered: Option<&store::Remembered>,
    by: NewEvent,
    now_ms: Millis,
) -> Result<Erased, StoreError> {
    let erased = erase_in(tx, id, remembered, now_ms).await?;
    let decided_by = format!("{}:{}", by.actor_type, by.actor_id);
    let Erased::Done(report) = &erased else {
        return Ok(erased);
    };
    let mut summary = by.summary.clone();
    summary["linked_contacts"] = json!(report.contacts.get(1..).unwrap_or_default());
    summary["tickets"] = json!(report.tickets);
    summary["messages"] = json!(report.messages);
    let event = NewEvent {
        action: "contact.erased",
        entity_type: "contact",
        entity_id: id.to_string(),
        summary,
        ..by
    };
    holdfast_store::ops::audit::append(tx, &event, now_ms).await?;
    for open in store::contact_erasure_requests(tx, id, now_ms).await? {
        if open.status == "open" {
            let open = holdfast_core::ids::ErasureRequestId::from_trusted(open.id);
            store::decide_erasure_request(tx, &open, "approved", &decided_by, None, now_ms).await?;
        }
    }
    Ok(erased)
}

/// What retention would remove from the workspace now, with the ids.
pub async fn retention_preview(
    db: &Db,
    tenant: &Tenant,
    now_ms: Millis,
) -> Result<RetentionPreview, StoreError> {
    let mut tx = db.read(tenant).await?;
    let (settings, _) = store::retention(&mut tx).await?;
    let expired = store::expired(&mut tx, &settings, now_ms).await?;
    tx.commit().await?;
    Ok(RetentionPreview {
        counts: RetentionCounts {
            tickets: expired.tickets.len() as u64,
            messages: expired.messages.len() as u64,
            contacts: expired.contacts.len() as u64,
        },
        ticket_ids: expired.tickets,
        message_ids: expired.messages,
        contact_ids: expired.contacts,
    })
}

/// Runs retention for one workspace in one transaction: erases inactive contacts (through the
/// same erasure as a request), deletes expired tickets and messages, forgets expired
/// idempotency records, records the counts as the last run, and audits `retention.purged`
/// when anything went (as `by`, or as the system). With `daily`, the run is the workspace's
/// one run for today's UTC day: `None` when it ran already.
pub async fn run_retention(
    db: &Db,
    data_dir: &Path,
    tenant: &Tenant,
    now_ms: Millis,
    daily: bool,
    by: Option<NewEvent>,
) -> Result<Option<RetentionCounts>, StoreError> {
    let day = utc_day(now_ms);
    let mut tx = db.write(tenant).await?;
    if daily && !store::claim_retention_day(&mut tx, day).await? {
        return Ok(None);
    }
    let (settings, _) = store::retention(&mut tx).await?;
    let expired = store::expired(&mut tx, &settings, now_ms).await?;
    let mut counts = RetentionCounts::default();
    let mut blobs = Vec::new();
    for contact in &expired.contacts {
        let id = ContactId::from_trusted(contact.clone());
        if let Erased::Done(report) = erase_in(&mut tx, &id, None, now_ms).await? {
            counts.contacts += 1;
            blobs.extend(report.blobs);
            let event = crate::audit::by_system(
                "contact.erased",
                "contact",
                contact.as_str(),
                json!({"by": "retention", "linked_contacts": report.contacts.len().saturating_sub(1)}),
            );
            holdfast_store::ops::audit::append(&mut tx, &event, now_ms).await?;
        }
    }
    blobs.extend(store::purge(&mut tx, &expired.tickets, &expired.messages).await?);
    counts.tickets = expired.tickets.len() as u64;
    counts.messages = expired.messages.len() as u64;
    store::prune_idempotency(&mut tx, now_ms).await?;
    store::record_retention_run(&mut tx, day, &counts).await?;
    if !counts.is_empty() {
        let summary = serde_json::to_value(&counts).unwrap_or_default();
        let ws = tenant.workspace_id().to_string();
        let event = match by {
            Some(by) => NewEvent {
                action: "retention.purged",
                entity_type: "workspace",
                entity_id: ws,
                summary,
                ..by
            },
            None => crate::audit::by_system("retention.purged", "workspace", ws, summary),
        };
        holdfast_store::ops::audit::append(&mut tx, &event, now_ms).await?;
    }
    tx.commit().await?;
    let files = crate::attachments::remove_files(db, data_dir, &blobs).await;
    if !counts.is_empty() {
        tracing::info!(
            workspace = %tenant.workspace_id(),
            tickets = counts.tickets,
            messages = counts.messages,
            contacts = counts.contacts,
            files,
            "retention purged expired data"
        );
    }
    Ok(Some(counts))
}

/// The worker's daily pass: every workspace with a retention period whose run for today has
/// not happened yet. Idempotent and safe with many workers (each run claims its day).
pub async fn retention_tick(db: &Db, data_dir: &Path, now_ms: Millis) -> u64 {
    let due = match store::unscoped_retention_due(db, utc_day(now_ms)).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "listing workspaces due for retention failed");
            return 0;
        }
    };
    let mut ran = 0;
    for tenant in due {
        match run_retention(db, data_dir, &tenant, now_ms, true, None).await {
            Ok(Some(_)) => ran += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(workspace = %tenant.workspace_id(), error = %e, "retention run failed; retried at the next tick")
            }
        }
    }
    ran
}

/// Sets the workspace's retention periods (already validated), audited with before and after —
/// for the API and the console alike. Returns the periods now and the last run.
pub async fn set_retention(
    state: &crate::App,
    actor: &holdfast_store::identity::auth::Actor,
    origin: &crate::audit::Origin,
    settings: &holdfast_core::privacy::RetentionSettings,
) -> crate::AppResult<holdfast_core::privacy::RetentionOut> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let (before, _) = store::retention(&mut tx).await?;
    store::set_retention(&mut tx, settings).await?;
    let (after, last_run) = store::retention(&mut tx).await?;
    let event = origin.event(
        "retention.settings_changed",
        "workspace",
        actor.tenant.workspace_id().as_str(),
        json!({"before": before, "after": after}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(holdfast_core::privacy::RetentionOut {
        settings: after,
        last_run,
    })
}
